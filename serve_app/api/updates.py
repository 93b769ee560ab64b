"""WS /v1/inventory/updates: what any replica records, pushed to every subscriber."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, WebSocket

from serve_app.access.keys import Scope
from serve_app.access.ratelimit import BudgetName
from serve_app.api.context import get_context
from serve_app.api.credentials import accepted_subprotocol, presented_key
from serve_app.api.errors import ws_close_code
from serve_app.api.first_completed import first_completed
from serve_app.api.guards import authenticate, key_revocation, refused
from serve_app.api.schemas.detection import StreamErrorMessage
from serve_app.core.errors import ServiceError, UpdatesUnavailableError
from serve_app.state.backend import REDIS_ERRORS
from serve_app.state.update_bus import Update

router = APIRouter(prefix="/v1", tags=["inventory"])


@router.websocket("/inventory/updates")
async def inventory_updates(websocket: WebSocket) -> None:
    context = get_context(websocket)
    await websocket.accept(accepted_subprotocol(websocket))
    try:
        principal = await authenticate(websocket, context, Scope.READ, presented_key(websocket))
        opening = await context.access.spend(principal, BudgetName.REQUESTS)
        if not opening.allowed:
            raise refused(opening, "live-update sockets")
        # Each socket holds an ingress slot for its life: a cap keeps idle ones from taking
        # them all.
        with context.subscribers.hold():
            async with context.state.updates.subscribe() as updates:
                await websocket.send_json({"type": "subscribed"})
                await _forward_until_disconnect(
                    websocket, updates, key_revocation(websocket, context)
                )
    except REDIS_ERRORS as error:  # subscribing failed
        await _close(websocket, UpdatesUnavailableError(f"live updates are unavailable: {error}"))
    except ServiceError as error:
        await _close(websocket, error)


async def _forward_until_disconnect(
    websocket: WebSocket,
    updates: AsyncIterator[Update],
    until_refused: Callable[[], Awaitable[ServiceError | None]],
) -> None:
    """Updates to the client until it leaves, the subscription is lost or its key revoked."""

    async def forward() -> ServiceError | None:
        try:
            async for update in updates:
                await websocket.send_json(update)
        except REDIS_ERRORS as error:
            return UpdatesUnavailableError(f"live updates are unavailable: {error}")
        return None

    async def until_disconnect() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # subscribers have nothing to say

    ended: ServiceError | None = await first_completed(forward, until_disconnect, until_refused)
    if ended is not None:
        raise ended


async def _close(websocket: WebSocket, error: ServiceError) -> None:
    with contextlib.suppress(RuntimeError):  # the client may be gone already
        message = StreamErrorMessage(frame=None, code=error.code, message=error.message)
        await websocket.send_json(message.model_dump())
        await websocket.close(code=ws_close_code(error), reason=error.code)
