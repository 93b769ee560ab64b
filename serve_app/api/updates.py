"""WS /v1/inventory/updates: what any replica records, pushed to every subscriber."""

import contextlib
from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter, WebSocket

from serve_app.access.keys import Scope
from serve_app.access.ratelimit import BudgetName
from serve_app.api.context import get_context
from serve_app.api.credentials import accepted_subprotocol, presented_key
from serve_app.api.errors import ws_close_code
from serve_app.api.guards import authenticate, refused
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
                await _forward_until_disconnect(websocket, updates)
    except REDIS_ERRORS as error:  # subscribing failed
        await _close(websocket, UpdatesUnavailableError(f"live updates are unavailable: {error}"))
    except ServiceError as error:
        await _close(websocket, error)


async def _forward_until_disconnect(websocket: WebSocket, updates: AsyncIterator[Update]) -> None:
    lost: Exception | None = None
    # anyio, not asyncio tasks: Starlette cancels a handler through anyio cancel scopes.
    async with anyio.create_task_group() as group:

        async def forward() -> None:
            nonlocal lost
            try:
                async for update in updates:
                    await websocket.send_json(update)
            except REDIS_ERRORS as error:
                lost = error
            group.cancel_scope.cancel()

        group.start_soon(forward)
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # subscribers have nothing to say
        group.cancel_scope.cancel()
    if lost is not None:
        raise UpdatesUnavailableError(f"live updates are unavailable: {lost}")


async def _close(websocket: WebSocket, error: ServiceError) -> None:
    with contextlib.suppress(RuntimeError):  # the client may be gone already
        message = StreamErrorMessage(frame=None, code=error.code, message=error.message)
        await websocket.send_json(message.model_dump())
        await websocket.close(code=ws_close_code(error), reason=error.code)
