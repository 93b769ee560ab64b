"""Read an image upload (raw body or multipart field `image`) without exceeding the limit."""

import asyncio

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive

from serve_app.core.errors import (
    ClientClosedRequestError,
    InvalidParameterError,
    PayloadTooLargeError,
    RequestTimeoutError,
)
from serve_app.model.imaging import check_media_type

MULTIPART_OVERHEAD_BYTES = 64 * 1024  # boundaries and part headers around the file


async def read_image_upload(request: Request, max_bytes: int, timeout_s: float) -> bytes:
    """The image, if the whole body arrives within `timeout_s`: a slow upload would otherwise
    hold an admission slot for as long as its sender likes."""
    content_type = request.headers.get("content-type", "")
    multipart = content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"
    if not multipart:
        check_media_type(content_type)
    limit = max_bytes + MULTIPART_OVERHEAD_BYTES if multipart else max_bytes
    try:
        async with asyncio.timeout(timeout_s):
            body = await _read_limited(request, limit)
    except TimeoutError:
        raise RequestTimeoutError(
            f"the request body did not arrive within {timeout_s:g} s"
        ) from None
    except ClientDisconnect:
        raise ClientClosedRequestError("the client closed the connection mid-upload") from None
    if not multipart:
        return body
    # The stream is consumed: parse the form from a request over the same scope whose
    # `receive` replays the bytes read (the scope keeps "app", so a malformed body is 400).
    return await _multipart_image(Request(request.scope, receive=_replay(body)), max_bytes)


async def _read_limited(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLargeError(f"body is {declared} bytes; the limit is {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLargeError(f"body exceeds the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    """An ASGI `receive` that hands over `body` as one message, then a disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _multipart_image(request: Request, max_bytes: int) -> bytes:
    async with request.form(max_files=1, max_fields=8) as form:
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise InvalidParameterError("multipart body needs a file in the field 'image'")
        if upload.content_type and upload.content_type != "application/octet-stream":
            check_media_type(upload.content_type)
        data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"image exceeds the limit of {max_bytes} bytes")
    return data
