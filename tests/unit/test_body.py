"""read_image_upload on a bare ASGI request (no app, no TestClient): bodies in several chunks,
without Content-Length, and the public-API contract with Starlette."""

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from starlette.requests import Request
from starlette.types import Message

from serve_app.api.body import MULTIPART_OVERHEAD_BYTES, read_image_upload
from serve_app.core.errors import (
    InvalidParameterError,
    PayloadTooLargeError,
    RequestTimeoutError,
)
from tests.factories import shelf_jpeg

BOUNDARY = "medinv-boundary"
TIMEOUT_S = 10.0


def multipart(fields: list[tuple[str, str | None, str | None, bytes]]) -> bytes:
    """(name, filename, content type, data) parts as multipart/form-data."""
    out = b""
    for name, filename, content_type, data in fields:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type is not None:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def receive_of(body: bytes, chunk_size: int) -> Callable[[], Awaitable[Message]]:
    chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)] or [b""]
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return receive


def request_of(
    body: bytes, content_type: str, chunk_size: int = 1000, content_length: bool = False
) -> Request:
    headers = [(b"content-type", content_type.encode())]
    if content_length:
        headers.append((b"content-length", str(len(body)).encode()))
    scope = {"type": "http", "method": "POST", "path": "/v1/detect", "headers": headers}
    return Request(scope, receive_of(body, chunk_size))


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


async def test_a_multipart_image_in_many_chunks() -> None:
    image = shelf_jpeg(320, 240)
    body = multipart([("note", None, None, b"aisle 3"), ("image", "a.jpg", "image/jpeg", image)])

    assert await read_image_upload(request_of(body, MULTIPART), 10 * len(image), TIMEOUT_S) == image


async def test_a_raw_image_in_many_chunks() -> None:
    image = shelf_jpeg(320, 240)

    assert await read_image_upload(request_of(image, "image/jpeg"), len(image), TIMEOUT_S) == image


async def test_the_multipart_image_limit_is_exact() -> None:
    image = shelf_jpeg(320, 240)
    body = multipart([("image", "a.jpg", "image/jpeg", image)])

    assert await read_image_upload(request_of(body, MULTIPART), len(image), TIMEOUT_S) == image
    with pytest.raises(PayloadTooLargeError, match="image exceeds"):
        await read_image_upload(request_of(body, MULTIPART), len(image) - 1, TIMEOUT_S)


@pytest.mark.parametrize("content_length", [True, False])
async def test_a_multipart_body_over_the_limit_and_overhead(content_length: bool) -> None:
    max_bytes = 1000
    body = multipart([("image", "a.jpg", "image/jpeg", b"\xff" * 2 * MULTIPART_OVERHEAD_BYTES)])

    with pytest.raises(PayloadTooLargeError):
        await read_image_upload(
            request_of(body, MULTIPART, content_length=content_length), max_bytes, TIMEOUT_S
        )


async def test_a_multipart_without_the_image_field() -> None:
    body = multipart([("photo", "a.jpg", "image/jpeg", shelf_jpeg(64, 48))])

    with pytest.raises(InvalidParameterError, match="'image'"):
        await read_image_upload(request_of(body, MULTIPART), 1024 * 1024, TIMEOUT_S)


async def test_starlettes_private_body_cache_is_left_alone() -> None:
    """The form is parsed from a request that replays the bytes read (public Starlette API),
    not by writing `Request._body`, a private attribute of Starlette's."""
    image = shelf_jpeg(64, 48)
    request = request_of(multipart([("image", "a.jpg", "image/jpeg", image)]), MULTIPART)

    assert await read_image_upload(request, 1024 * 1024, TIMEOUT_S) == image
    assert "_body" not in vars(request)


@pytest.mark.parametrize("content_type", ["image/jpeg", MULTIPART])
async def test_a_body_that_does_not_arrive_in_time_is_a_request_timeout(content_type: str) -> None:
    first = {"type": "http.request", "body": b"\xff\xd8\xff", "more_body": True}
    sent = False

    async def trickle() -> Message:  # the first bytes, then nothing more
        nonlocal sent
        if not sent:
            sent = True
            return first
        await asyncio.sleep(3600)
        raise AssertionError("never reached")

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/detect",
        "headers": [(b"content-type", content_type.encode())],
    }
    started = time.perf_counter()
    with pytest.raises(RequestTimeoutError, match=r"within 0\.2 s"):
        await read_image_upload(Request(scope, receive=trickle), 1024 * 1024, 0.2)
    assert time.perf_counter() - started < 1.0
