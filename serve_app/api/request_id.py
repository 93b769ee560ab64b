"""Give every request an id (the client's `X-Request-ID` when it is sane) and echo it back."""

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(connection: HTTPConnection) -> str:
    return str(connection.scope.get("state", {}).get("request_id", ""))


class RequestIdMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware) so WebSockets and streaming pass through untouched.

    Behind Ray Serve's proxy the header always arrives (the proxy takes the client's or makes
    one) and the proxy echoes it, so `echo=False` there; a plain server needs `echo=True`.
    """

    def __init__(self, app: ASGIApp, echo: bool) -> None:
        self.app = app
        self.echo = echo

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        supplied = HTTPConnection(scope).headers.get(HEADER, "")
        # Serve's proxy passes any id on: the one the app uses, logs and records is bounded.
        request_id = supplied if _SANE_ID.match(supplied) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        if not self.echo:
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)
