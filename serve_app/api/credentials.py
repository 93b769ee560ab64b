"""Where a caller's API key is: `Authorization: Bearer <key>` or `X-API-Key: <key>`, or, on a
WebSocket opened by a browser (which cannot set headers there), a subprotocol.

Each header is a FastAPI security scheme, so the dependency that reads the key is also what
OpenAPI declares (`components.securitySchemes`, and each guarded operation's `security`).
WebSocket routes read the key with the same objects.

The browser offers `medinv.v1` and `medinv.bearer.<base64url(key)>` (the Kubernetes API
server's pattern) and the server accepts `medinv.v1`: the key is never echoed, and never in a
URL that logs would keep. Keys are never logged.
"""

import base64
import binascii

from fastapi.openapi.models import APIKey, APIKeyIn, HTTPBearer
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection

from serve_app.core.errors import UnauthorizedError

KEY_FORMAT = "mik_<id>_<secret>"
_MADE_BY = "made by `medinv keys create`"
BROWSER_SUBPROTOCOL = "medinv.v1"
_KEY_SUBPROTOCOL_PREFIX = "medinv.bearer."


class BearerKey(SecurityBase):
    """`Authorization: Bearer <key>`; any other Authorization header is refused (401)."""

    def __init__(self) -> None:
        self.model = HTTPBearer(
            bearerFormat=KEY_FORMAT, description=f"An API key ({KEY_FORMAT}), {_MADE_BY}."
        )
        self.scheme_name = "BearerKey"

    async def __call__(self, connection: HTTPConnection) -> str | None:
        return self.read(connection)

    def read(self, connection: HTTPConnection) -> str | None:
        authorization = connection.headers.get("authorization")
        if authorization is None:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthorizedError("the Authorization header must be `Bearer <API key>`")
        return token.strip()


class HeaderKey(SecurityBase):
    """`X-API-Key: <key>`, for clients that cannot set Authorization."""

    HEADER = "X-API-Key"

    def __init__(self) -> None:
        self.model = APIKey.model_validate(
            {
                "in": APIKeyIn.header,
                "name": self.HEADER,
                "description": f"The same API key ({KEY_FORMAT}) in a header of its own.",
            }
        )
        self.scheme_name = "HeaderKey"

    async def __call__(self, connection: HTTPConnection) -> str | None:
        return self.read(connection)

    def read(self, connection: HTTPConnection) -> str | None:
        return connection.headers.get(self.HEADER)


BEARER_KEY = BearerKey()
HEADER_KEY = HeaderKey()


def presented_key(connection: HTTPConnection) -> str | None:
    """The key the caller sent (Authorization, then X-API-Key, then a browser's WebSocket
    subprotocol); None without one."""
    from_headers = BEARER_KEY.read(connection) or HEADER_KEY.read(connection)
    if from_headers is not None:
        return from_headers
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
