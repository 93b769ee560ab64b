"""Frames from a camera: JPEG snapshots over HTTP(S), parts of an MJPEG stream, or frames
PyAV decodes from RTSP or a video file. Each poll takes `frames_per_poll` frames at least
`frame_gap_s` apart, so that one moment (a hand in front of the shelf) is one frame of them."""

import asyncio
import io
import time
from collections.abc import Iterator
from typing import Any

import aiohttp

from serve_app.cameras.config import CameraConfig
from serve_app.cameras.credentials import CameraCredentials, with_login
from serve_app.core.settings import CameraLogin

JPEG_QUALITY = 90


class CameraSourceError(Exception):
    """The camera answered, but not with frames (a status, a type, a size)."""


class FrameFetcher:
    def __init__(self, credentials: CameraCredentials, *, max_frame_bytes: int) -> None:
        self._credentials = credentials
        self._max_frame_bytes = max_frame_bytes
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def login(self, camera: CameraConfig) -> CameraLogin | None:
        """The camera's login; `KeyError` when the settings have none of its name."""
        return self._credentials.login(camera.credential)

    async def frames(self, camera: CameraConfig) -> list[bytes]:
        """The poll's frames as encoded images; raises on any failure (the caller bounds the
        time it may take)."""
        login = self.login(camera)
        if camera.kind == "video":
            return await asyncio.to_thread(_video_frames, camera, login)
        headers = {}
        if login is not None:
            password = login.password.get_secret_value()
            headers["Authorization"] = aiohttp.encode_basic_auth(login.username, password)
        if camera.kind == "mjpeg":
            return await self._mjpeg_frames(camera, headers)
        return await self._snapshots(camera, headers)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            # No cookie jar: one camera's session cookie is never sent to another.
            self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def _snapshots(self, camera: CameraConfig, headers: dict[str, str]) -> list[bytes]:
        frames = []
        for n in range(camera.frames_per_poll):
            if n:
                await asyncio.sleep(camera.frame_gap_s)
            async with self._http().get(
                camera.url, headers=headers, allow_redirects=False
            ) as response:
                _check_answer(response)
                frames.append(await self._body(response.content))
        return frames

    async def _mjpeg_frames(self, camera: CameraConfig, headers: dict[str, str]) -> list[bytes]:
        frames: list[bytes] = []
        taken_at = 0.0
        async with self._http().get(camera.url, headers=headers, allow_redirects=False) as response:
            _check_answer(response, multipart=True)
            reader = aiohttp.MultipartReader(response.headers, response.content)
            while len(frames) < camera.frames_per_poll:
                part = await reader.next()
                if part is None:
                    raise CameraSourceError("the MJPEG stream ended")
                if not isinstance(part, aiohttp.BodyPartReader):
                    raise CameraSourceError("the MJPEG stream nests multipart parts")
                body = await self._part(part)
                if time.monotonic() - taken_at >= camera.frame_gap_s:  # else skip it
                    frames.append(body)
                    taken_at = time.monotonic()
        return frames

    async def _body(self, content: aiohttp.StreamReader) -> bytes:
        body = await content.read(self._max_frame_bytes + 1)
        while len(body) <= self._max_frame_bytes and (more := await content.read(65536)):
            body += more
        if len(body) > self._max_frame_bytes:
            raise CameraSourceError(f"a frame is over {self._max_frame_bytes} bytes")
        return body

    async def _part(self, part: aiohttp.BodyPartReader) -> bytes:
        body = bytearray()
        while chunk := await part.read_chunk(65536):
            body += chunk
            if len(body) > self._max_frame_bytes:
                raise CameraSourceError(f"a frame is over {self._max_frame_bytes} bytes")
        return bytes(body)


def _check_answer(response: aiohttp.ClientResponse, *, multipart: bool = False) -> None:
    if response.status != 200:
        raise CameraSourceError(f"the camera answered HTTP {response.status}")
    kind = response.content_type
    expected = kind.startswith("multipart/") if multipart else kind.startswith("image/")
    if not expected:
        raise CameraSourceError(f"the camera answered {kind!r}, not an image")


def _video_frames(camera: CameraConfig, login: CameraLogin | None) -> list[bytes]:
    av = _import_av()
    # FFmpeg's own socket timeout (microseconds): a dead RTSP source fails instead of hanging.
    options = (
        {"rtsp_transport": "tcp", "timeout": "5000000"} if camera.url.startswith("rtsp") else {}
    )
    with av.open(with_login(camera.url, login), options=options) as container:
        return list(_spaced_frames(container, camera.frames_per_poll, camera.frame_gap_s))


def _spaced_frames(container: Any, count: int, gap_s: float) -> Iterator[bytes]:
    taken = 0
    last: float | None = None
    for frame in container.decode(video=0):
        at = frame.time if frame.time is not None else time.monotonic()
        if last is not None and at - last < gap_s:
            continue
        buffer = io.BytesIO()
        frame.to_image().save(buffer, format="JPEG", quality=JPEG_QUALITY)
        yield buffer.getvalue()
        taken, last = taken + 1, at
        if taken == count:
            return
    if taken < count:
        raise CameraSourceError(f"the video held {taken} of the {count} frames a poll takes")


def _import_av() -> Any:
    import av  # FFmpeg's bindings: imported only by a poll of a video source

    return av
