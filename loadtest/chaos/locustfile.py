"""The Locust users of `loadtest chaos`: load that keeps a record of every answer.

Every image is one of the examples with a comment of its own (`unique_jpeg`), so the load
runs the whole pipeline instead of hitting the result cache.

- `RecordingDetectUser`: POST /v1/detect?location=ID through the project's own client
  (`medinv_client.Client`), each detection with an idempotency key of its own that the
  client reuses on its retries (the retry policy is `RETRY_POLICY`).
- `ResilientStreamUser`: frames on WS /v1/stream; a frame whose socket broke is sent again on
  a new socket after a backoff (`FRAME_ATTEMPTS` tries; a frame without a location records
  nothing, so resending it is safe).

Each logical request (all of its attempts) is one Locust request event, which the runner's
request log turns into the timeline, and one JSON line of `LOADTEST_OUTCOMES`: its start and
end, final status, the idempotency key, what the service said it `recorded`, and the status
of every attempt. The accounting (`loadtest/chaos/accounting.py`) reads those lines.
"""

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

import httpx
import websocket
from locust import User, between, task

from loadtest.chaos.images import unique_jpeg
from loadtest.chaos.outcomes import Outcome
from loadtest.locust_events import report
from loadtest.locustfile import IMAGES, MAX_DETECTIONS, StagesShape
from medinv_client import Client, RetryPolicy
from medinv_client.errors import ApiError, TransportError

__all__ = ["RecordingDetectUser", "ResilientStreamUser", "StagesShape"]

# 429 and 503 are retried after their Retry-After (at most 30 s), connection resets and
# refusals after 0.5, 1, 2, 4, 8 s (with jitter): six tries in all, never a timeout.
RETRY_POLICY = RetryPolicy(attempts=6, backoff_s=0.5, max_backoff_s=8.0, max_wait_s=30.0)
FRAME_ATTEMPTS = 6
CLIENT_TIMEOUT_S = 60.0  # above the service's own 30 s, so its 504 is what a slow call gets
RUN_ID = os.environ.get("LOADTEST_RUN_ID", uuid.uuid4().hex[:8])
API_KEY = os.environ.get("LOADTEST_API_KEY") or None
LOCATION = int(os.environ.get("LOADTEST_LOCATION", "0")) or None
_outcomes_path = os.environ.get("LOADTEST_OUTCOMES")
# Open for the process's lifetime: Locust exits, the file closes.
_outcomes = Path(_outcomes_path).open("a", buffering=1) if _outcomes_path else None  # noqa: SIM115


def _write(outcome: Outcome) -> None:
    if _outcomes is not None:
        _outcomes.write(outcome.to_json() + "\n")


class AttemptLog(httpx.BaseTransport):
    """The HTTP transport under the client, noting each attempt's status or error."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.seen: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self._inner.handle_request(request)
        except Exception as error:
            self.seen.append(type(error).__name__)
            raise
        self.seen.append(str(response.status_code))
        return response

    def close(self) -> None:
        self._inner.close()


class RecordingDetectUser(User):
    """A camera client recording shelf counts at one location, back to back."""

    fixed_count = int(os.environ.get("LOADTEST_DETECT_USERS", "3"))
    wait_time = between(0.0, 0.05)

    def on_start(self) -> None:
        self.attempts = AttemptLog()
        self.client = Client(
            self.host or "",
            API_KEY,
            timeout=CLIENT_TIMEOUT_S,
            retry=RETRY_POLICY,
            transport=self.attempts,
        )
        self.sent = 0

    def on_stop(self) -> None:
        self.client.close()

    @task
    def detect(self) -> None:
        key = f"chaos-{RUN_ID}-{uuid.uuid4().hex}"
        image = unique_jpeg(IMAGES[self.sent % len(IMAGES)], key)
        self.sent += 1
        self.attempts.seen = []
        started, began = time.time(), time.perf_counter()
        status, recorded = "200", None
        exception: Exception | None = None
        try:
            result = self.client.detect(
                image,
                location=LOCATION,
                idempotency_key=key,
                request_id=key,
                max_detections=MAX_DETECTIONS,
            )
            recorded = result.recorded
        except ApiError as error:
            status, exception = str(error.status), error
        except TransportError as error:
            cause = error.__cause__
            status, exception = (type(cause).__name__ if cause else "TransportError"), error
        elapsed = time.perf_counter() - began
        report(self.environment, "POST", "/v1/detect", elapsed, exception)
        _write(
            Outcome(
                kind="detect",
                started=started,
                ended=started + elapsed,
                status=status,
                key=key,
                recorded=recorded,
                attempts=tuple(self.attempts.seen),
            )
        )


class ResilientStreamUser(User):
    """A camera streaming frames at a steady rate, reconnecting when its socket breaks."""

    fixed_count = int(os.environ.get("LOADTEST_STREAM_USERS", "1"))
    fps = float(os.environ.get("LOADTEST_FPS", "2"))
    wait_time = between(0.0, 0.0)
    headers: ClassVar[list[str]] = [f"Authorization: Bearer {API_KEY}"] if API_KEY else []

    def on_start(self) -> None:
        self.socket: websocket.WebSocket | None = None
        self.frame = 0

    def on_stop(self) -> None:
        if self.socket is not None:
            self.socket.close()

    def _connected(self) -> websocket.WebSocket:
        if self.socket is None:
            url = (self.host or "").replace("http://", "ws://").replace("https://", "wss://")
            self.socket = websocket.create_connection(
                f"{url}/v1/stream?max_detections={MAX_DETECTIONS}",
                timeout=CLIENT_TIMEOUT_S,
                header=self.headers,
            )
        return self.socket

    def _round_trip(self, image: bytes) -> dict[str, Any]:
        socket = self._connected()
        socket.send_binary(image)
        answer: dict[str, Any] = json.loads(socket.recv())
        return answer

    @task
    def frame_round_trip(self) -> None:
        image = unique_jpeg(IMAGES[self.frame % len(IMAGES)], f"chaos-{RUN_ID}-{uuid.uuid4().hex}")
        self.frame += 1
        started, began = time.time(), time.perf_counter()
        seen: list[str] = []
        status = "ok"
        for attempt in range(1, FRAME_ATTEMPTS + 1):
            try:
                answer = self._round_trip(image)
            except Exception as error:  # a broken or refused socket: a new one, after a pause
                seen.append(type(error).__name__)
                status = seen[-1]
                if self.socket is not None:
                    self.socket.close()
                self.socket = None
                if attempt < FRAME_ATTEMPTS:
                    time.sleep(RETRY_POLICY.delay(attempt, None))
                continue
            status = "ok" if answer.get("type") == "result" else f"ws-{answer.get('code')}"
            seen.append(status)
            break
        elapsed = time.perf_counter() - began
        failure = None if status == "ok" else RuntimeError(status)
        report(self.environment, "WS", "/v1/stream", elapsed, failure)
        _write(
            Outcome(
                kind="frame",
                started=started,
                ended=started + elapsed,
                status=status,
                attempts=tuple(seen),
            )
        )
        time.sleep(max(0.0, 1.0 / self.fps - elapsed))
