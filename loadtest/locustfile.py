"""Locust users of the detection service; run by `loadtest run`, or by `locust -f` directly.

- `DetectUser`: POST /v1/detect with the repo's example images (real JPEGs), back to back,
  through the project's own client (`medinv_client.Client`, no retries: the load test counts
  every failure).
- `StreamUser`: one WebSocket per user on /v1/stream, frames at `LOADTEST_FPS` per second,
  each frame's result awaited before the next is sent (one result per frame, in order), also
  through the client (`AsyncClient.stream`, on one asyncio loop in a native thread: see
  `loadtest/background_loop.py`).

The load shape (`LOADTEST_STAGES`, JSON `[[until_s, users], …]`) and, when `LOADTEST_EVENTS`
names a file, one CSV line per request (`end epoch,kind,name,latency ms,ok`) — what the
runner turns into a per-second timeline — come from the environment. Without them this is a
plain locustfile: `locust -f loadtest/locustfile.py --host https://…` with Locust's own UI.
"""

import asyncio
import contextlib
import itertools
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

from locust import LoadTestShape, User, between, events, task

from loadtest.background_loop import Outbox, start
from loadtest.locust_events import report
from loadtest.shapes import Stage, users_at
from medinv_client import (
    NO_RETRIES,
    AsyncClient,
    Client,
    FrameStream,
    MedinvError,
    StreamResult,
    TransportError,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
IMAGES = [
    (EXAMPLES / name).read_bytes()
    for name in ("shelf.jpg", "camera-frame.jpg")
    if (EXAMPLES / name).is_file()
]
MAX_DETECTIONS = 20
_events_path = os.environ.get("LOADTEST_EVENTS")
# Open for the process's lifetime: Locust exits, the file closes.
_events = Path(_events_path).open("a", buffering=1) if _events_path else None  # noqa: SIM115


@events.request.add_listener  # type: ignore[untyped-decorator]
def _record(
    request_type: str,
    name: str,
    response_time: float,
    exception: BaseException | None,
    **_: Any,
) -> None:
    if _events is not None:
        ok = 1 if exception is None else 0
        _events.write(f"{time.time():.3f},{request_type},{name},{response_time:.1f},{ok}\n")


class DetectUser(User):
    """A camera client posting shelf photos as fast as the service answers."""

    wait_time = between(0.0, 0.05)

    def on_start(self) -> None:
        self.client = Client(
            self.host or "", os.environ.get("LOADTEST_API_KEY"), timeout=60.0, retry=NO_RETRIES
        )

    def on_stop(self) -> None:
        self.client.close()

    @task
    def detect(self) -> None:
        image = IMAGES[int(time.time() * 1000) % len(IMAGES)]
        began = time.perf_counter()
        exception: Exception | None = None
        try:
            self.client.detect(image, max_detections=MAX_DETECTIONS)
        except (MedinvError, ValueError) as error:  # ValueError: an answer that is no result
            exception = error
        report(self.environment, "POST", "/v1/detect", time.perf_counter() - began, exception)


Outcomes = Outbox[tuple[float, Exception | None]]  # per frame: seconds, and why it failed


class StreamUser(User):
    """A camera streaming frames at a steady rate over one WebSocket, through the project's own
    client (`medinv_client.AsyncClient.stream` on the background loop): each frame's result is
    awaited before the next frame is sent, a broken connection is resumed with its session."""

    fps = float(os.environ.get("LOADTEST_FPS", "2"))
    wait_time = between(0.0, 0.0)

    def on_start(self) -> None:
        self.outcomes: Outcomes = Outbox()
        self.running = start(
            _stream_frames(
                self.host or "", os.environ.get("LOADTEST_API_KEY"), self.fps, self.outcomes
            )
        )

    def on_stop(self) -> None:
        self.running.cancel()

    @task
    def frame_round_trip(self) -> None:
        elapsed, exception = self.outcomes.get(self.running)
        report(self.environment, "WS", "/v1/stream", elapsed, exception)


async def _stream_frames(host: str, api_key: str | None, fps: float, outcomes: Outcomes) -> None:
    """Frames at `fps` on one stream, each sent once the last was answered (and never before
    its time); each frame's round trip, or why it failed, goes to `outcomes`. A stream that gives
    up (its reconnects spent, or refused) is one more failure, and a new stream starts."""
    async with AsyncClient(host, api_key, timeout=60.0) as client:
        while True:
            paced = _PacedFrames(fps, outcomes)
            stream = client.stream(paced.frames(), max_detections=MAX_DETECTIONS, latest_wins=False)
            paced.stream = stream
            try:
                async for message in stream:
                    if isinstance(message, StreamResult):
                        paced.answered(None)
                    else:
                        paced.answered(RuntimeError(f"{message.code}: {message.message}"))
            except MedinvError as error:
                paced.answered(error, always=True)
                await asyncio.sleep(1.0)
            finally:
                await stream.aclose()


class _PacedFrames:
    """The frames of one stream, one at a time: the next when the last was answered (or lost
    with a broken connection), and at most `fps` a second."""

    def __init__(self, fps: float, outcomes: Outcomes) -> None:
        self.stream: FrameStream | None = None
        self._period_s = 1.0 / fps
        self._outcomes = outcomes
        self._sent_at = time.perf_counter() - self._period_s
        self._in_flight = False
        self._answer = asyncio.Event()

    async def frames(self) -> AsyncIterator[bytes]:
        for frame in itertools.count():
            await asyncio.sleep(max(0.0, self._sent_at + self._period_s - time.perf_counter()))
            lost = self.stream.stats.lost if self.stream is not None else 0
            self._answer.clear()
            self._sent_at, self._in_flight = time.perf_counter(), True
            yield IMAGES[frame % len(IMAGES)]
            while not self._answer.is_set():
                if self.stream is not None and self.stream.stats.lost > lost:
                    self.answered(TransportError("the connection broke with the frame in flight"))
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._answer.wait(), 0.05)

    def answered(self, exception: Exception | None, *, always: bool = False) -> None:
        """The frame in flight was answered, or failed with `exception`."""
        if self._in_flight or always:
            self._outcomes.put((time.perf_counter() - self._sent_at, exception))
        self._in_flight = False
        self._answer.set()


def _log_users(users: int) -> None:
    if _events is not None:
        _events.write(f"{time.time():.3f},USERS,users,{users},1\n")


class StagesShape(LoadTestShape):
    """Users per stage from `LOADTEST_STAGES`; absent, Locust's --users/--run-time apply.

    Once the file `LOADTEST_CONTROL` names exists, the main load is over: `LOADTEST_TAIL_USERS`
    users run until the last stage ends (the autoscaling test ends a step when it has seen
    what it waits for, instead of guessing a duration)."""

    plan: ClassVar[list[Stage]] = [
        Stage(float(u), int(n)) for u, n in json.loads(os.environ.get("LOADTEST_STAGES", "[]"))
    ]
    abstract = not plan
    control = Path(os.environ.get("LOADTEST_CONTROL", "/nonexistent"))
    tail_users = int(os.environ.get("LOADTEST_TAIL_USERS", "0"))
    last = -1

    def tick(self) -> tuple[int, float] | None:
        users = users_at(self.plan, self.get_run_time())  # type: ignore[no-untyped-call]
        if users is None:
            return None
        if self.control.exists():
            users = self.tail_users
        if users != self.last:
            _log_users(users)
            self.last = users
        return users, 100.0  # every stage starts at once
