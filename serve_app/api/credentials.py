"""Where a request carries its API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`.

Each place is a FastAPI security scheme, so the dependency that reads the key is also what
OpenAPI declares (`components.securitySchemes`, and each guarded operation's `security`).
WebSocket routes read the key with the same objects.
"""

from fastapi.openapi.models import APIKey, APIKeyIn, HTTPBearer
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection

from serve_app.core.errors import UnauthorizedError

KEY_FORMAT = "mik_<id>_<secret>"
_MADE_BY = "made by `medinv keys create`"


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
    """The key of a request or WebSocket handshake (Authorization first); never logged."""
    return BEARER_KEY.read(connection) or HEADER_KEY.read(connection)
