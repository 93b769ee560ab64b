"""Route guards: the API key a route's scope needs, then one token of the caller's REST budget.

Routes name their guard in `dependencies=[...]`: `DETECT`, `READ`, or `ADMIN` (which needs an
admin key even when `auth_required` is off), or take the caller it returns (`DetectCaller`).
/v1/health and /v1/ready have none.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio
from fastapi import Depends, Response, params
from starlette.requests import HTTPConnection

from serve_app.access.authn import Principal
from serve_app.access.keys import Scope
from serve_app.access.ratelimit import BudgetName, Decision
from serve_app.api.context import ApiContext, Context
from serve_app.api.errors import rate_limit_headers
from serve_app.core.errors import RateLimitedError, ServiceError, UnauthorizedError


def presented_key(connection: HTTPConnection) -> str | None:
    """`Authorization: Bearer <key>` or `X-API-Key: <key>`; never logged."""
    authorization = connection.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthorizedError("the Authorization header must be `Bearer <API key>`")
        return token.strip()
    return connection.headers.get("x-api-key")


async def authenticate(
    connection: HTTPConnection, context: ApiContext, scope: Scope, *, always: bool = False
) -> Principal:
    address = context.access.client_addresses.of(
        connection.client.host if connection.client else None,
        connection.headers.getlist("x-forwarded-for"),
    )
    return await context.access.authenticate(
        presented_key(connection), scope, address=address, always=always
    )


def key_revocation(
    connection: HTTPConnection, context: ApiContext
) -> Callable[[], Awaitable[ServiceError | None]]:
    """What an open socket runs beside its receive loop (`first_completed`): it returns the
    error to close with once the caller's key stops authenticating, never for an anonymous
    caller."""
    presented = presented_key(connection)
    if presented is None:
        return anyio.sleep_forever
    return context.access.key_watch(presented).until_refused


def refused(decision: Decision, what: str) -> RateLimitedError:
    return RateLimitedError(
        f"{what}: rate limit reached; retry in {decision.retry_after_s} s",
        retry_after_s=decision.retry_after_s,
        limit=decision.limit if decision.enforced else 0,
        remaining=decision.remaining,
        reset_s=decision.reset_s,
    )


def _guard(scope: Scope, *, always: bool = False) -> params.Depends:
    async def guard(connection: HTTPConnection, response: Response, context: Context) -> Principal:
        principal = await authenticate(connection, context, scope, always=always)
        decision = await context.access.spend(principal, BudgetName.REQUESTS)
        if not decision.allowed:
            raise refused(decision, "requests")
        if decision.enforced:
            response.headers.update(
                rate_limit_headers(decision.limit, decision.remaining, decision.reset_s)
            )
        return principal

    dependency: params.Depends = Depends(guard)
    return dependency


DETECT = _guard(Scope.DETECT)
READ = _guard(Scope.READ)
ADMIN = _guard(Scope.ADMIN, always=True)
# The caller of a detection route, as its guard authenticated it (one call per request).
DetectCaller = Annotated[Principal, DETECT]
