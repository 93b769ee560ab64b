"""WS /v1/stream: binary frames in, one result (or error) message per processed frame out."""

import asyncio
import json
import logging
import time

from fastapi import APIRouter, WebSocket
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serve_app.access.authn import Principal
from serve_app.access.keys import Scope
from serve_app.access.ratelimit import BudgetName, Decision
from serve_app.api.context import ApiContext, get_context
from serve_app.api.credentials import accepted_subprotocol, presented_key
from serve_app.api.errors import ws_close_code
from serve_app.api.first_completed import first_completed
from serve_app.api.frame_scheduler import Frame, FrameScheduler, Message, elapsed_ms
from serve_app.api.guards import authenticate, key_revocation, refused
from serve_app.api.recording import StreamRecorder
from serve_app.api.request_id import request_id_of
from serve_app.api.schemas.detection import (
    ImageInfo,
    ModelRefOut,
    StreamConfigMessage,
    StreamErrorMessage,
    StreamResultMessage,
    detections_out,
)
from serve_app.core.errors import InvalidParameterError, PayloadTooLargeError, ServiceError
from serve_app.core.payloads import DetectParams
from serve_app.inventory.models import MAX_INTEGER
from serve_app.state.stream_state import SESSION_ID, StreamState, new_session_id

router = APIRouter(prefix="/v1", tags=["stream"])
logger = logging.getLogger("ray.serve")


SESSION_HEADER = "X-Stream-Session"
RESUMED_HEADER = "X-Stream-Resumed"
# A config or ping message is a few dozen bytes; anything this large is refused unparsed.
MAX_TEXT_MESSAGE_BYTES = 64 * 1024
# What an error reply may say about an invalid message: a few problems, never the message.
_MAX_PROBLEMS = 5
_MAX_PROBLEM_CHARS = 120


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
        await _send_error(websocket, None, error)
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
        await _send_error(websocket, None, error)
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
        raise InvalidParameterError(_describe(exc)) from None
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


class StreamConnection:
    """One open WebSocket of a stream session: reads frames, schedules them latest-wins
    (`FrameScheduler`), answers each processed one and saves the session's state, until the
    client leaves or its key is revoked."""

    def __init__(
        self,
        websocket: WebSocket,
        context: ApiContext,
        principal: Principal,
        state: StreamState,
        recorder: StreamRecorder | None,
    ) -> None:
        self._websocket = websocket
        self._context = context
        self._principal = principal
        self._state = state
        self._params = DetectParams(state.min_score, state.max_detections)
        self._recorder = recorder
        self._send_lock = asyncio.Lock()
        self._until_refused = key_revocation(websocket, context)
        stream_args = context.args.stream
        self._scheduler = FrameScheduler(
            self._process, stream_args.max_pending_frames, stream_args.max_in_flight_frames
        )

    async def run(self) -> None:
        metrics = self._context.metrics
        metrics.stream_opened()
        sender = asyncio.create_task(self._send_results())
        try:
            refusal: ServiceError | None = await first_completed(
                self._receive_until_disconnect, self._until_refused
            )
        finally:
            # Cancel everything before the first await: this cleanup may itself be cancelled.
            metrics.stream_closed()
            sender.cancel()
            outstanding = self._scheduler.cancel()
            # asyncio.wait, not gather: a gather cancelled here would raise the CancelledError
            # of a task cancelled above, which the anyio scope cancelling this handler (as
            # Starlette's does on close) does not recognise as its own and lets escape.
            await asyncio.wait([sender, *outstanding])
        if refusal is not None:
            raise refusal

    async def _receive_until_disconnect(self) -> None:
        frame_number = self._state.next_frame
        max_bytes = self._context.args.limits.max_body_bytes
        while True:
            message = await self._websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                data: bytes = message["bytes"]
                if len(data) > max_bytes:
                    too_large = PayloadTooLargeError(
                        f"frame is {len(data)} bytes; the limit is {max_bytes} bytes"
                    )
                    await self._send(_error_message(frame_number, too_large))
                elif not (budget := await self._spend_frame()).allowed:
                    await self._send(_error_message(frame_number, refused(budget, "frames")))
                else:
                    frame = Frame(frame_number, data, self._params, time.perf_counter())
                    dropped_before = self._scheduler.dropped
                    self._scheduler.offer(frame)
                    if self._scheduler.dropped > dropped_before:
                        self._context.metrics.frames("dropped")
                frame_number += 1
                self._state.next_frame = frame_number
            elif message.get("text") is not None:
                await self._handle_text(message["text"])

    async def _spend_frame(self) -> Decision:
        return await self._context.access.spend(self._principal, BudgetName.FRAMES)

    async def _handle_text(self, text: str) -> None:
        if len(text) > MAX_TEXT_MESSAGE_BYTES or len(text.encode()) > MAX_TEXT_MESSAGE_BYTES:
            error = InvalidParameterError(
                f"text messages are limited to {MAX_TEXT_MESSAGE_BYTES} bytes"
            )
            await self._send(_error_message(None, error))
            return
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            await self._send(_error_message(None, InvalidParameterError("text is not JSON")))
            return
        if isinstance(payload, dict) and payload.get("type") == "ping":
            await self._send({"type": "pong"})
            return
        try:
            config = StreamConfigMessage.model_validate(payload)
        except ValidationError as exc:
            await self._send(_error_message(None, InvalidParameterError(_describe(exc))))
            return
        self._params = DetectParams(
            min_score=config.min_score if config.min_score is not None else self._params.min_score,
            max_detections=config.max_detections or self._params.max_detections,
        )
        self._state.min_score = self._params.min_score
        self._state.max_detections = self._params.max_detections

    async def _process(self, frame: Frame) -> Message:
        metrics = self._context.metrics
        try:
            result, cache = await self._context.state.results.detect(frame.data, frame.params)
            observed = await self._recorder.observe(frame, result) if self._recorder else None
        except ServiceError as error:
            metrics.frames("error")
            return _error_message(frame.number, error)
        except Exception:
            logger.exception("frame %d failed", frame.number)
            metrics.frames("error")
            return _error_message(frame.number, ServiceError("an internal error occurred"))
        metrics.frames("answered")
        await self._save_state()
        if cache != "hit":
            metrics.observe_result(result)
        return StreamResultMessage(
            frame=frame.number,
            model=ModelRefOut(name=result.model.name, version=result.model.version),
            image=ImageInfo(width=result.image_width, height=result.image_height),
            detections=detections_out(result),
            counts=result.counts,
            latency_ms=elapsed_ms(frame.received_at),
            dropped=0,
            recorded=observed.recorded if observed else None,
            zones=observed.zones if observed else None,
        ).model_dump()

    async def _save_state(self) -> None:
        if self._recorder is not None:
            self._recorder.update(self._state)
        await self._context.state.streams.save(self._state)

    async def _send_results(self) -> None:
        while True:
            message = await self._scheduler.next_result()
            if message["type"] == "result":
                message["dropped"] = self._scheduler.dropped
            await self._send(message)

    async def _send(self, message: Message) -> None:
        async with self._send_lock:
            await self._websocket.send_json(message)


def _error_message(frame: int | None, error: ServiceError) -> Message:
    return StreamErrorMessage(frame=frame, code=error.code, message=error.message).model_dump()


async def _send_error(websocket: WebSocket, frame: int | None, error: ServiceError) -> None:
    await websocket.send_json(_error_message(frame, error))


def _describe(exc: ValidationError) -> str:
    """The first few problems, each cut short: the reply stays small whatever was sent."""
    problems = [
        f"{'.'.join(str(p) for p in err['loc']) or 'message'}: {err['msg']}"[:_MAX_PROBLEM_CHARS]
        for err in exc.errors()[:_MAX_PROBLEMS]
    ]
    more = exc.error_count() - len(problems)
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
