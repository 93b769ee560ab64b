"""`medinv-client stream VIDEO`: a video file made here with PyAV, decoded by PyAV, its frames
streamed over WS /v1/stream to the real service; the counts printed as they change."""

import time
from pathlib import Path

import pytest
from PIL import Image

from medinv_client import Client
from medinv_client.cli import main
from medinv_client.video import video_frames
from medinv_tools.paths import REPO_ROOT
from tests.client.conftest import Service
from tests.factories import write_video

SHELF = REPO_ROOT / "examples" / "shelf.jpg"
FRAMES = 6
FPS = 4


@pytest.fixture(scope="module")
def shelf_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "shelf.mp4"
    return write_video(path, Image.open(SHELF).convert("RGB"), FRAMES, FPS)


def test_a_file_is_paced_at_its_frame_rate(shelf_video: Path) -> None:
    started = time.monotonic()
    frames = list(video_frames(shelf_video))
    took = time.monotonic() - started

    assert len(frames) == FRAMES and all(f.startswith(b"\xff\xd8") for f in frames)
    assert took >= (FRAMES - 1) / FPS * 0.9


def test_stream_prints_the_counts_of_the_video_as_they_change(
    service: Service, shelf_video: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = next(video_frames(shelf_video, realtime=False))
    with Client(service.url, service.admin_key) as client:
        expected = client.detect(first).counts

    key = service.admin_key
    status = main(["--url", service.url, "--api-key", key, "stream", str(shelf_video)])

    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert status == 0
    # The frames are the same picture: one line, for the first frame, with its counts.
    assert len(lines) == 1 and lines[0].startswith("frame 0: ")
    summary = ", ".join(f"{label} {n}" for label, n in sorted(expected.items()))
    assert summary and summary in lines[0]
    sent = int(err.split(" frames sent")[0].rsplit(maxsplit=1)[-1])
    assert f"{sent} frames sent, {sent} answered" in err and sent >= 1


def test_video_and_camera_are_one_or_the_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["stream", "a.mp4", "--camera", "0"])
    assert "not allowed with argument" in capsys.readouterr().err
