"""Frames of a video file or a camera, as JPEG bytes for `stream()` (the `video` extra: PyAV).

A file is paced at its own frame times, so it reaches the service as its camera would have
sent it (latest wins drops what the service cannot keep up with); `realtime=False` sends frames
as fast as they decode. A camera is a V4L2 device (`/dev/videoN`), read as it delivers.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

JPEG_QUALITY = 85


def video_frames(
    source: str | Path | None = None, *, camera: int | None = None, realtime: bool = True
) -> Iterator[bytes]:
    if (source is None) == (camera is None):
        raise ValueError("give a video source or a camera number, not both")
    av = _import_av()
    if camera is not None:
        container = av.open(f"/dev/video{camera}", format="v4l2")
    else:
        container = av.open(str(source))
    with container:
        started: float | None = None
        for frame in container.decode(container.streams.video[0]):
            if realtime and camera is None and frame.time is not None:
                if started is None:
                    started = time.monotonic() - frame.time
                time.sleep(max(0.0, started + frame.time - time.monotonic()))
            yield _jpeg(frame)


def _jpeg(frame: Any) -> bytes:
    buffer = io.BytesIO()
    frame.to_image().save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def _import_av() -> Any:
    try:
        import av
    except ImportError as error:
        raise ImportError("reading video needs PyAV: pip install 'medinv-client[video]'") from error
    return av
