"""The camera poller against real sources: a local HTTP camera (snapshots that sometimes fail
or hang, an MJPEG stream, basic auth) and a video file decoded by PyAV. Records go to a list."""

import asyncio
import io
import itertools
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from pydantic import SecretStr

from medinv_tools.camera_server import PASSWORD, USERNAME, CameraServer
from serve_app.cameras.config import CameraConfig, CameraStatus
from serve_app.cameras.credentials import CameraCredentials
from serve_app.cameras.poller import CameraPoller, PollerTimings
from serve_app.cameras.sources import FrameFetcher
from serve_app.core.settings import CameraLogin, Settings
from tests.factories import shelf, write_video

TIMINGS = PollerTimings(refresh_s=60, poll_timeout_s=5, backoff_base_s=0.2, backoff_max_s=0.8)
Recorded = list[tuple[int, int, int]]  # camera id, frames, slot


def camera(camera_id: int, url: str, **changes: object) -> CameraConfig:
    base = CameraConfig(
        id=camera_id,
        location_id=1,
        kind="snapshot",
        url=url,
        credential=None,
        interval_s=60.0,
        frames_per_poll=3,
        frame_gap_s=0.05,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def poller_of(
    cameras: list[CameraConfig], recorded: Recorded, timings: PollerTimings = TIMINGS
) -> CameraPoller:
    async def load() -> list[CameraConfig]:
        return list(cameras)

    async def record(camera: CameraConfig, frames: list[bytes], slot: int) -> str:
        for frame in frames:
            Image.open(io.BytesIO(frame)).verify()  # each one a whole image
        recorded.append((camera.id, len(frames), slot))
        return "written"

    credentials = CameraCredentials.load(
        Settings(
            camera_credentials={
                "shelf-cam": CameraLogin(username=USERNAME, password=SecretStr(PASSWORD)),
                "wrong": CameraLogin(username=USERNAME, password=SecretStr("not-it")),
            }
        )
    )
    return CameraPoller(load, FrameFetcher(credentials, max_frame_bytes=2**20), record, timings)


async def wait_for(condition: Callable[[], object], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.02)


async def status_of(poller: CameraPoller, camera_id: int) -> CameraStatus:
    status = await poller.status(camera_id)
    assert status is not None
    return status


async def wait_for_status(
    poller: CameraPoller, camera_ids: list[int], done: Callable[[CameraStatus], object]
) -> None:
    async with asyncio.timeout(10):
        while True:
            statuses = [await poller.status(n) for n in camera_ids]
            if all(status is not None and done(status) for status in statuses):
                return
            await asyncio.sleep(0.02)


async def test_each_slot_is_polled_once_with_its_frames(camera_server: CameraServer) -> None:
    recorded: Recorded = []
    poller = poller_of([camera(1, f"{camera_server.url}/snapshot.jpg", interval_s=0.5)], recorded)
    poller.start()
    try:
        await wait_for(lambda: len(recorded) >= 3)
    finally:
        await poller.close()

    slots = [slot for _, _, slot in recorded]
    assert all(frames == 3 for _, frames, _ in recorded)
    assert slots == sorted(set(slots)), "one poll per slot, in order"
    assert camera_server.requests["snapshot"] == 3 * len(recorded)
    status = await status_of(poller, 1)
    assert status.last_outcome == "written"
    assert status.consecutive_failures == 0 and status.next_poll_at is not None


async def test_a_failing_camera_backs_off_exponentially_then_recovers(
    camera_server: CameraServer,
) -> None:
    camera_server.script = ["500", "503", "500"]
    recorded: Recorded = []
    poller = poller_of(
        [camera(1, f"{camera_server.url}/snapshot.jpg", frames_per_poll=1)], recorded
    )
    poller.start()
    try:
        await wait_for(lambda: recorded)
    finally:
        await poller.close()

    times = camera_server.snapshot_times
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) == 4  # three failures, then the good poll
    # 0.2 s, 0.4 s, 0.8 s: each wait at least the backoff (sleep never wakes early).
    assert [gap >= wait for gap, wait in zip(gaps, [0.2, 0.4, 0.8], strict=True)] == [True] * 3
    status = await status_of(poller, 1)
    assert status.consecutive_failures == 0
    assert status.last_error is not None and "HTTP 500" in status.last_error
    assert status.last_success_at is not None and status.polls == 4


async def test_a_hanging_camera_delays_no_other_and_times_out(
    camera_server: CameraServer,
) -> None:
    camera_server.script = ["hang"]
    recorded: Recorded = []
    hanging = camera(1, f"{camera_server.url}/snapshot.jpg", frames_per_poll=1)
    other = camera(2, f"{camera_server.url}/mjpeg", kind="mjpeg", interval_s=0.3)
    timings = replace(TIMINGS, poll_timeout_s=1.5, backoff_base_s=60)
    poller = poller_of([hanging, other], recorded, timings)
    poller.start()
    try:
        await wait_for_status(poller, [1], lambda status: status.consecutive_failures)
        polls_during_hang = sum(camera_id == 2 for camera_id, _, _ in recorded)
    finally:
        await poller.close()

    assert polls_during_hang >= 3  # every 0.3 s while camera 1 hung for 1.5 s
    status = await status_of(poller, 1)
    assert status.last_error == "no frames recorded within 1.5 s"


async def test_an_mjpeg_stream_gives_frames_spaced_apart(camera_server: CameraServer) -> None:
    recorded: Recorded = []
    mjpeg = camera(
        1, f"{camera_server.url}/mjpeg", kind="mjpeg", frames_per_poll=4, frame_gap_s=0.2
    )
    poller = poller_of([mjpeg], recorded)
    started = asyncio.get_running_loop().time()
    poller.start()
    try:
        await wait_for(lambda: recorded)
    finally:
        await poller.close()

    assert recorded[0][1] == 4
    assert asyncio.get_running_loop().time() - started >= 0.6  # 3 gaps of 0.2 s
    assert camera_server.requests["mjpeg"] == 1  # one connection per poll


async def test_a_video_file_is_read_through_pyav(tmp_path: Path) -> None:
    video = write_video(tmp_path / "shelf.mp4", shelf(640, 480), frames=10, fps=5)
    recorded: Recorded = []
    spaced = camera(1, str(video), kind="video", frames_per_poll=3, frame_gap_s=0.5)
    too_long = camera(2, str(video), kind="video", frames_per_poll=3, frame_gap_s=1.5)
    poller = poller_of([spaced, too_long], recorded)
    poller.start()
    try:
        await wait_for(lambda: recorded)
        await wait_for_status(poller, [2], lambda status: status.last_error)
    finally:
        await poller.close()

    assert recorded[0][:2] == (1, 3)  # frames at 0, 0.6 and 1.2 s of a 2 s video
    status = await status_of(poller, 2)
    assert "held 2 of the 3 frames" in (status.last_error or "")


async def test_credentials_come_from_the_settings_and_never_show(
    camera_server: CameraServer, caplog: pytest.LogCaptureFixture
) -> None:
    recorded: Recorded = []
    secure = f"{camera_server.url}/secure.jpg"
    cameras = [
        camera(1, secure, credential="shelf-cam", frames_per_poll=1),
        camera(2, secure, credential="wrong", frames_per_poll=1),
        camera(3, secure, frames_per_poll=1),
        camera(4, "rtsp://127.0.0.1:9/shelf", kind="video", credential="shelf-cam"),
        camera(5, f"{camera_server.url}/page", frames_per_poll=1),
    ]
    poller = poller_of(cameras, recorded)
    caplog.set_level(logging.WARNING, logger="ray.serve")
    poller.start()
    try:
        await wait_for_status(poller, [2, 3, 4, 5], lambda status: status.last_error)
        await wait_for(lambda: recorded)
    finally:
        await poller.close()

    assert [camera_id for camera_id, _, _ in recorded] == [1]
    errors = {n: (await status_of(poller, n)).last_error or "" for n in (2, 3, 4, 5)}
    assert "HTTP 401" in errors[2] and "HTTP 401" in errors[3]
    assert "not an image" in errors[5]
    for shown in [*errors.values(), caplog.text]:
        assert PASSWORD not in shown and "s3cr%23t%2Fpass" not in shown
