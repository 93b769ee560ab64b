"""Locust users of the detection service; run by `loadtest run`, or by `locust -f` directly.

- `DetectUser`: POST /v1/detect with the repo's example images (real JPEGs), back to back,
  through the project's own client (`medinv_client.Client`, no retries: the load test counts
  every failure).
- `StreamUser`: one WebSocket per user on /v1/stream, frames at `LOADTEST_FPS` per second,
  each frame's result awaited before the next is sent (one result per frame, in order).

The load shape (`LOADTEST_STAGES`, JSON `[[until_s, users], …]`) and, when `LOADTEST_EVENTS`
names a file, one CSV line per request (`end epoch,kind,name,latency ms,ok`) — what the
runner turns into a per-second timeline — come from the environment. Without them this is a
plain locustfile: `locust -f loadtest/locustfile.py --host https://…` with Locust's own UI.
"""

import json
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import websocket
from locust import HttpUser, LoadTestShape, User, between, events, task

from loadtest.locust_events import report
from loadtest.shapes import Stage, users_at
from medinv_client import NO_RETRIES, Client, MedinvError

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


class StreamUser(HttpUser):
    """A camera streaming frames at a steady rate over one WebSocket."""

    fps = float(os.environ.get("LOADTEST_FPS", "2"))
    wait_time = between(0.0, 0.0)

    def on_start(self) -> None:
        url = (self.host or "").replace("http://", "ws://").replace("https://", "wss://")
        self.socket = websocket.create_connection(
            f"{url}/v1/stream?max_detections={MAX_DETECTIONS}", timeout=60
        )
        self.frame = 0

    def on_stop(self) -> None:
        self.socket.close()

    @task
    def frame_round_trip(self) -> None:
        started = time.perf_counter()
        exception: Exception | None = None
        try:
            self.socket.send_binary(IMAGES[self.frame % len(IMAGES)])
            message = json.loads(self.socket.recv())
            if message.get("type") != "result":
                exception = RuntimeError(f"stream answered {message}")
        except Exception as error:  # a broken socket is a failed frame; reconnect
            exception = error
            self.on_start()
        self.frame += 1
        elapsed = time.perf_counter() - started
        report(self.environment, "WS", "/v1/stream", elapsed, exception)
        time.sleep(max(0.0, 1.0 / self.fps - elapsed))


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
