"""The poller: one task per camera, each on its own schedule, so one slow or dead camera
never delays another. A poll takes the camera's frames within `poll_timeout_s` and hands them
to `record`; a failure backs that camera off exponentially and is kept in its status."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from serve_app.cameras.config import CameraConfig, CameraStatus
from serve_app.cameras.credentials import redacted
from serve_app.cameras.schedule import backoff_s, next_poll_at, slot_of
from serve_app.cameras.sources import FrameFetcher

logger = logging.getLogger("ray.serve")

# Records a poll's frames for its camera and slot; answers the record's outcome.
RecordPoll = Callable[[CameraConfig, list[bytes], int], Awaitable[str]]
LoadCameras = Callable[[], Awaitable[list[CameraConfig]]]
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class PollerTimings:
    refresh_s: float  # how often the camera list is read again
    poll_timeout_s: float  # one poll's frames and record, at most
    backoff_base_s: float
    backoff_max_s: float


class PollMetrics(Protocol):
    """What the poller reports (the Serve deployment's are Ray metrics)."""

    def poll(self, outcome: str, seconds: float) -> None: ...

    def failing(self, cameras: int) -> None: ...


class NoMetrics:
    def poll(self, outcome: str, seconds: float) -> None:
        pass

    def failing(self, cameras: int) -> None:
        pass


class CameraPoller:
    def __init__(
        self,
        load_cameras: LoadCameras,
        fetcher: FrameFetcher,
        record: RecordPoll,
        timings: PollerTimings,
        metrics: PollMetrics | None = None,
    ) -> None:
        self._load_cameras = load_cameras
        self._fetcher = fetcher
        self._record = record
        self._timings = timings
        self._metrics = metrics or NoMetrics()
        self._tasks: dict[int, tuple[CameraConfig, asyncio.Task[None]]] = {}
        self._status: dict[int, CameraStatus] = {}
        self._refresher: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin polling, in the running event loop."""
        self._refresher = asyncio.create_task(self._refresh_forever())

    async def close(self) -> None:
        tasks = [task for _, task in self._tasks.values()]
        if self._refresher is not None:
            tasks.append(self._refresher)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._fetcher.close()

    async def status(self, camera_id: int) -> CameraStatus | None:
        return self._status.get(camera_id)

    @property
    def running(self) -> bool:
        return self._refresher is not None and not self._refresher.done()

    async def refresh(self) -> None:
        """Start polling new and changed cameras, stop polling removed ones."""
        cameras = {camera.id: camera for camera in await self._load_cameras()}
        for camera_id, (known, task) in list(self._tasks.items()):
            if cameras.get(camera_id) != known:
                task.cancel()
                del self._tasks[camera_id]
                if camera_id not in cameras:
                    self._status.pop(camera_id, None)
        for camera_id, camera in cameras.items():
            if camera_id not in self._tasks:
                self._tasks[camera_id] = (camera, asyncio.create_task(self._poll_forever(camera)))

    async def _refresh_forever(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as error:  # the database is down: keep polling the known cameras
                logger.warning("reading the cameras failed: %s: %s", type(error).__name__, error)
            await asyncio.sleep(self._timings.refresh_s)

    async def _poll_forever(self, camera: CameraConfig) -> None:
        status = self._status.get(camera.id) or CameraStatus.never_polled(camera.id)
        due = time.time()
        while True:
            wait = due - time.time()
            self._status[camera.id] = status = replace(status, next_poll_at=_utc(due))
            if wait > 0:
                await asyncio.sleep(wait)
            status, due = await self._poll(camera, replace(status, polls=status.polls + 1))
            self._status[camera.id] = status
            self._metrics.failing(sum(s.consecutive_failures > 0 for s in self._status.values()))

    async def _poll(self, camera: CameraConfig, status: CameraStatus) -> tuple[CameraStatus, float]:
        started = time.time()
        slot = slot_of(started, camera.interval_s)
        try:
            async with asyncio.timeout(self._timings.poll_timeout_s):
                frames = await self._fetcher.frames(camera)
                outcome = await self._record(camera, frames, slot)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failures = status.consecutive_failures + 1
            reason = self._reason(camera, error)
            self._metrics.poll(
                "timeout" if isinstance(error, TimeoutError) else "error", time.time() - started
            )
            logger.warning("camera %d poll failed (%d in a row): %s", camera.id, failures, reason)
            wait = backoff_s(failures, self._timings.backoff_base_s, self._timings.backoff_max_s)
            failed = replace(
                status,
                last_error=reason,
                last_error_at=_utc(time.time()),
                consecutive_failures=failures,
            )
            return failed, time.time() + wait
        self._metrics.poll("ok", time.time() - started)
        succeeded = replace(
            status,
            last_success_at=_utc(time.time()),
            last_outcome=outcome,
            consecutive_failures=0,
        )
        return succeeded, next_poll_at(slot, camera.interval_s)

    def _reason(self, camera: CameraConfig, error: Exception) -> str:
        if isinstance(error, TimeoutError):
            return f"no frames recorded within {self._timings.poll_timeout_s:g} s"
        try:
            login = self._fetcher.login(camera)
        except KeyError:
            login = None
        text = redacted(f"{type(error).__name__}: {error}", login).replace(camera.url, "<url>")
        return text[:MAX_ERROR_CHARS]


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
