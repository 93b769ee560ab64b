"""Route guards: the API key a route's scope needs, then one token of the caller's REST budget.

Routes name their guard in `dependencies=[...]`: `DETECT`, `READ`, or `ADMIN` (which needs an
admin key even when `auth_required` is off). /v1/health and /v1/ready have none.
"""

import base64
import binascii

from fastapi import Depends, Response, params
from starlette.requests import HTTPConnection

from serve_app.access.authn import Principal
from serve_app.access.keys import Scope
from serve_app.access.ratelimit import BudgetName, Decision
from serve_app.api.context import ApiContext, Context
from serve_app.api.errors import rate_limit_headers
from serve_app.core.errors import RateLimitedError, UnauthorizedError

# Browsers cannot set headers on a WebSocket: they offer `medinv.v1` and
# `medinv.bearer.<base64url(key)>` as subprotocols instead (the Kubernetes API server's pattern),
# and the server accepts `medinv.v1`, so the key is never echoed and never put in a URL.
BROWSER_SUBPROTOCOL = "medinv.v1"
_KEY_SUBPROTOCOL_PREFIX = "medinv.bearer."


def presented_key(connection: HTTPConnection) -> str | None:
    """`Authorization: Bearer <key>`, `X-API-Key: <key>`, or on a WebSocket the key
    subprotocol; never logged."""
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
    """`medinv.v1` when the client offered it (a browser must get one of its offers back)."""
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


async def authenticate(
    connection: HTTPConnection, context: ApiContext, scope: Scope, *, always: bool = False
) -> Principal:
    address = connection.client.host if connection.client else "unknown"
    return await context.access.authenticate(
        presented_key(connection), scope, address=address, always=always
    )


def refused(decision: Decision, what: str) -> RateLimitedError:
    return RateLimitedError(
        f"{what}: rate limit reached; retry in {decision.retry_after_s} s",
        retry_after_s=decision.retry_after_s,
        limit=decision.limit if decision.enforced else 0,
        remaining=decision.remaining,
        reset_s=decision.reset_s,
    )


def _guard(scope: Scope, *, always: bool = False) -> params.Depends:
    async def guard(connection: HTTPConnection, response: Response, context: Context) -> None:
        principal = await authenticate(connection, context, scope, always=always)
        decision = await context.access.spend(principal, BudgetName.REQUESTS)
        if not decision.allowed:
            raise refused(decision, "requests")
        if decision.enforced:
            response.headers.update(
                rate_limit_headers(decision.limit, decision.remaining, decision.reset_s)
            )

    dependency: params.Depends = Depends(guard)
    return dependency


DETECT = _guard(Scope.DETECT)
READ = _guard(Scope.READ)
ADMIN = _guard(Scope.ADMIN, always=True)
