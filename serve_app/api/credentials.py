"""Where a caller's API key is: `Authorization: Bearer <key>` or `X-API-Key: <key>`, or, on a
WebSocket opened by a browser (which cannot set headers there), a subprotocol.

The browser offers `medinv.v1` and `medinv.bearer.<base64url(key)>` (the Kubernetes API
server's pattern) and the server accepts `medinv.v1`: the key is never echoed, and never in a
URL that logs would keep. Keys are never logged.
"""

import base64
import binascii

from starlette.requests import HTTPConnection

from serve_app.core.errors import UnauthorizedError

BROWSER_SUBPROTOCOL = "medinv.v1"
_KEY_SUBPROTOCOL_PREFIX = "medinv.bearer."


def presented_key(connection: HTTPConnection) -> str | None:
    """The key the caller sent, headers first; None without one."""
    authorization = connection.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthorizedError("the Authorization header must be `Bearer <API key>`")
        return token.strip()
    header_key = connection.headers.get("x-api-key")
    if header_key is not None:
        return header_key
    for protocol in offered_subprotocols(connection):
        if protocol.startswith(_KEY_SUBPROTOCOL_PREFIX):
            return _decode_key(protocol.removeprefix(_KEY_SUBPROTOCOL_PREFIX))
    return None


def offered_subprotocols(connection: HTTPConnection) -> list[str]:
    """The subprotocols a WebSocket upgrade request offers (none for plain HTTP)."""
    if connection.scope["type"] != "websocket":
        return []
    offered = connection.headers.getlist("sec-websocket-protocol")
    return [protocol.strip() for header in offered for protocol in header.split(",")]


def accepted_subprotocol(connection: HTTPConnection) -> str | None:
    """`medinv.v1` when the client offered it: a browser drops a connection that gets none of
    its subprotocols back, before it could read why it was refused."""
    return BROWSER_SUBPROTOCOL if BROWSER_SUBPROTOCOL in offered_subprotocols(connection) else None


def _decode_key(encoded: str) -> str:
    try:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        key = ""
    if not key.strip():
        raise UnauthorizedError(
            f"the {_KEY_SUBPROTOCOL_PREFIX}… WebSocket subprotocol must carry the API key, "
            "base64url-encoded"
        )
    return key
