"""Run a socket's jobs side by side until the first one finishes, then cancel the rest.

A WebSocket handler waits on several things at once: the client's messages, a subscription,
its key's revocation. Whichever ends first decides, and the others must stop before the
handler answers or closes: a receive loop left waiting on a closed socket never returns (as
under Starlette's TestClient). One anyio task group holds them all, so a cancellation of the
handler itself (Starlette cancels through anyio scopes) cancels every job too.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio

T = TypeVar("T")


@dataclass(frozen=True)
class _Raised:
    error: Exception


async def first_completed(*jobs: Callable[[], Awaitable[T]]) -> T:
    """The value of the first job to return; the first job's exception, raised as itself
    (never wrapped in an ExceptionGroup), if it raised."""
    finished: list[T | _Raised] = []
    async with anyio.create_task_group() as group:

        async def settle(job: Callable[[], Awaitable[T]]) -> None:
            try:
                finished.append(await job())
            except Exception as error:
                finished.append(_Raised(error))
            group.cancel_scope.cancel()

        for job in jobs:
            group.start_soon(settle, job)
    first = finished[0]
    if isinstance(first, _Raised):
        raise first.error
    return first
