"""WS /v1/stream: binary frames in, one result (or error) message per processed frame out."""

from fastapi import APIRouter, WebSocket
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serve_app.access.authn import Principal
from serve_app.access.keys import Scope
from serve_app.access.ratelimit import BudgetName
from serve_app.api.context import ApiContext, get_context
from serve_app.api.credentials import accepted_subprotocol, presented_key
from serve_app.api.errors import ws_close_code
from serve_app.api.guards import authenticate, refused
from serve_app.api.recording import StreamRecorder
from serve_app.api.request_id import request_id_of
from serve_app.api.stream_connection import StreamConnection, describe, send_error
from serve_app.core.errors import InvalidParameterError, ServiceError
from serve_app.inventory.models import MAX_INTEGER
from serve_app.state.stream_state import SESSION_ID, StreamState, new_session_id

router = APIRouter(prefix="/v1", tags=["stream"])


SESSION_HEADER = "X-Stream-Session"
RESUMED_HEADER = "X-Stream-Resumed"


class StreamQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    min_score: float | None = Field(default=None, ge=0.0, le=1.0)
    max_detections: int = Field(default=100, ge=1, le=1000)
    location: int | None = Field(default=None, ge=1, le=MAX_INTEGER)
    session_id: str | None = Field(default=None, pattern=SESSION_ID.pattern)


@router.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    context = get_context(websocket)
    # The session id goes back in the handshake; a client may also choose it (32 hex digits)
    # on its first connection, which is how a browser, blind to those headers, learns it.
    asked = websocket.query_params.get("session_id", "")
    session_id = asked if SESSION_ID.match(asked) else new_session_id()
    # Who is calling comes first: a session is looked up, and its resumption announced, only
    # for its own caller.
    try:
        principal = await authenticate(websocket, context, Scope.DETECT, presented_key(websocket))
    except ServiceError as error:
        await websocket.accept(
            accepted_subprotocol(websocket), headers=_handshake(session_id, resumed=False)
        )
        await send_error(websocket, None, error)
        await websocket.close(code=ws_close_code(error), reason=error.code)
        return
    saved = await context.state.streams.load(session_id) if asked == session_id else None
    resumed = saved is not None and saved.owner == principal.identity
    await websocket.accept(
        accepted_subprotocol(websocket), headers=_handshake(session_id, resumed=resumed)
    )
    try:
        with context.streams.hold():
            await _serve_stream(websocket, context, principal, session_id, saved)
    except ServiceError as error:
        await send_error(websocket, None, error)
        await websocket.close(code=ws_close_code(error), reason=error.code)


def _handshake(session_id: str, *, resumed: bool) -> list[tuple[bytes, bytes]]:
    return [
        (SESSION_HEADER.lower().encode(), session_id.encode()),
        (RESUMED_HEADER.lower().encode(), b"true" if resumed else b"false"),
    ]


async def _serve_stream(
    websocket: WebSocket,
    context: ApiContext,
    principal: Principal,
    session_id: str,
    saved: StreamState | None,
) -> None:
    opening = await context.access.spend(principal, BudgetName.REQUESTS)
    if not opening.allowed:
        raise refused(opening, "streams")
    try:
        query = StreamQuery.model_validate(dict(websocket.query_params))
    except ValidationError as exc:
        raise InvalidParameterError(describe(exc)) from None
    state = _session_state(session_id, principal, query, saved, set(websocket.query_params))
    recorder = None
    if state.location_id is not None:
        await context.inventory.locations.zones_at(state.location_id)
        recorder = StreamRecorder(
            context, state, caller=principal.caller, request_id=request_id_of(websocket)
        )
    await context.state.streams.save(state)
    await StreamConnection(websocket, context, principal, state, recorder).run()


def _session_state(
    session_id: str,
    principal: Principal,
    query: StreamQuery,
    saved: StreamState | None,
    given: set[str],
) -> StreamState:
    """A new session from the query, or the saved one with what the query names changed."""
    if saved is None:
        return StreamState(
            session_id=session_id,
            owner=principal.identity,
            location_id=query.location,
            min_score=query.min_score,
            max_detections=query.max_detections,
        )
    if saved.owner != principal.identity:
        raise InvalidParameterError("session_id belongs to another client")
    if query.location is not None and query.location != saved.location_id:
        raise InvalidParameterError(
            f"session {session_id} records at location {saved.location_id}, not {query.location}"
        )
    if "min_score" in given:
        saved.min_score = query.min_score
    if "max_detections" in given:
        saved.max_detections = query.max_detections
    return saved
