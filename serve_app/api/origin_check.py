"""With auth off, which browser pages may open this service's WebSockets.

A browser lets any site's page open a WebSocket to any address, the visitor's loopback and
LAN included, and sends the page's `Origin` with the handshake; without an API key to stop
it, a page of any site could stream frames into, or read updates from, a service it reaches
through the visitor (cross-site WebSocket hijacking). So with auth off a handshake whose Origin
is not the service's own (the Host it was asked for), a loopback page, or one configured in
`ws_allowed_origins` is refused with 403 before it is accepted. Clients that send no Origin
are not browsers and pass. With auth on the key decides: browsers cannot attach one on their
own.
"""

import ipaddress
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from serve_app.api.errors import WS_CLOSE_POLICY_VIOLATION

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_allowed(origin: str, host: str | None, allowed: frozenset[str]) -> bool:
    """Whether a browser page of `origin` may open a socket reached as `host` (the Host
    header); `allowed` holds lowercase origins without a trailing slash."""
    normalized = origin.strip().lower().rstrip("/")
    if normalized in allowed:
        return True
    page = _authority(urlsplit(normalized))  # None for "null" (sandboxed pages, files)
    if page is None:
        return False
    page_host, page_port, scheme = page
    if _is_loopback(page_host):
        return True
    own = _authority(urlsplit(f"{scheme}://{host}")) if host else None
    return own is not None and own[:2] == (page_host, page_port)


def _authority(parts: SplitResult) -> tuple[str, int, str] | None:
    """(host, port, scheme) of an http(s) URL, the scheme's port when none is given."""
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return None
    return parts.hostname, port, parts.scheme


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OriginCheckMiddleware:
    """Pure ASGI: a refused WebSocket handshake is closed before `websocket.accept`, which the
    server (uvicorn, in Serve's proxy or the replica) answers with HTTP 403."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self._allowed = frozenset(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not origin_allowed(
                origin, headers.get("host"), self._allowed
            ):
                await send(
                    {
                        "type": "websocket.close",
                        "code": WS_CLOSE_POLICY_VIOLATION,
                        "reason": "origin not allowed",
                    }
                )
                return
        await self.app(scope, receive, send)
