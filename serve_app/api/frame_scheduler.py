"""Per-connection frame scheduling for the WebSocket stream, independent of the transport.

Frames wait in a small pending buffer; when it is full the oldest pending frame is dropped
(latest wins), so memory per connection stays bounded however fast a client sends. Up to
`max_in_flight` frames are processed at once and results come out in frame order.
"""

import asyncio
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from serve_app.core.payloads import DetectParams

Message = dict[str, Any]


@dataclass(frozen=True)
class Frame:
    number: int
    data: bytes
    params: DetectParams
    received_at: float  # time.perf_counter()


ProcessFrame = Callable[[Frame], Coroutine[Any, Any, Message]]


class FrameScheduler:
    def __init__(self, process: ProcessFrame, max_pending: int, max_in_flight: int) -> None:
        self._process = process
        self._max_pending = max_pending
        self._pending: deque[Frame] = deque()
        self._frame_arrived = asyncio.Event()
        self._slots = asyncio.Semaphore(max_in_flight)
        self._in_order: asyncio.Queue[asyncio.Task[Message]] = asyncio.Queue()
        self._dispatcher = asyncio.create_task(self._dispatch())
        self.dropped = 0

    def offer(self, frame: Frame) -> None:
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(frame)
        self._frame_arrived.set()

    async def next_result(self) -> Message:
        """The next result in frame order; its processing slot frees once it is handed out."""
        task = await self._in_order.get()
        try:
            return await task
        finally:
            self._slots.release()

    def cancel(self) -> list[asyncio.Task[Any]]:
        """Stop dispatching and cancel every frame still in flight; returns the tasks to await.

        Synchronous, so it completes even when the caller is itself being cancelled.
        """
        outstanding: list[asyncio.Task[Any]] = [self._dispatcher]
        while not self._in_order.empty():
            outstanding.append(self._in_order.get_nowait())
        for task in outstanding:
            task.cancel()
        return outstanding

    async def close(self) -> None:
        await asyncio.gather(*self.cancel(), return_exceptions=True)

    async def _dispatch(self) -> None:
        while True:
            await self._slots.acquire()
            while not self._pending:
                self._frame_arrived.clear()
                await self._frame_arrived.wait()
            frame = self._pending.popleft()
            self._in_order.put_nowait(asyncio.create_task(self._process(frame)))


def elapsed_ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000.0, 2)
