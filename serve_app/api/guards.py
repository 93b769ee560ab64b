"""Route guards: the API key a route's scope needs, then one token of the caller's REST budget.

A route takes its guard with `**READ.route(...outcomes)`: `DETECT`, `READ`, or `ADMIN` (which
needs an admin key even when `auth_required` is off). That one declaration is the check that
runs, the route's OpenAPI security requirement (the guard depends on the credential schemes of
`api/credentials.py`, with its scope) and the error responses it documents. A route may also
take the caller the guard authenticated (`DetectCaller`). /v1/health and /v1/ready have none.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, TypedDict

import anyio
from fastapi import Depends, Response, Security, params
from starlette.requests import HTTPConnection

from serve_app.access.authn import Principal
from serve_app.access.keys import Scope
from serve_app.access.ratelimit import BudgetName, Decision
from serve_app.api.context import ApiContext, Context
from serve_app.api.credentials import BEARER_KEY, HEADER_KEY, presented_key
from serve_app.api.errors import rate_limit_headers
from serve_app.api.responses import Outcome, Responses, error_responses
from serve_app.core.errors import (
    ForbiddenError,
    RateLimitedError,
    ServiceError,
    StoreUnavailableError,
    UnauthorizedError,
)


async def authenticate(
    connection: HTTPConnection,
    context: ApiContext,
    scope: Scope,
    presented: str | None,
    *,
    always: bool = False,
) -> Principal:
    """The caller presenting `presented` (a key from `api/credentials.py`, or None), at the
    address the configured proxies vouch for."""
    address = context.access.client_addresses.of(
        connection.client.host if connection.client else None,
        connection.headers.getlist("x-forwarded-for"),
    )
    return await context.access.authenticate(presented, scope, address=address, always=always)


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


class GuardedRoute(TypedDict):
    """The keyword arguments of a guarded route's decorator."""

    dependencies: Sequence[params.Depends]
    responses: Responses


class Guard:
    def __init__(self, scope: Scope, *, always: bool = False) -> None:
        self.scope = scope
        self.always = always  # a key is needed even with auth_required off
        self.depends = Security(self._check, scopes=[scope.value])

    def key_optional(self, auth_required: bool) -> bool:
        return not (self.always or auth_required)

    def route(self, *outcomes: Outcome) -> GuardedRoute:
        """The guard of a route that can also fail in the ways `outcomes` name."""
        return {
            "dependencies": [self.depends],
            "responses": error_responses(*self.outcomes, *outcomes),
        }

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        return (
            Outcome.of(
                UnauthorizedError,
                "no API key where one is needed, or an unknown, revoked or malformed one",
            ),
            Outcome.of(ForbiddenError, f"the API key lacks the `{self.scope}` scope"),
            Outcome.of(
                RateLimitedError,
                "the caller's request budget is spent, or this address sent too many refused keys",
            ),
            Outcome.of(
                StoreUnavailableError,
                "the database is unreachable and this replica has not seen the key recently",
            ),
        )

    async def _check(
        self,
        connection: HTTPConnection,
        response: Response,
        context: Context,
        bearer: Annotated[str | None, Depends(BEARER_KEY)],
        header: Annotated[str | None, Depends(HEADER_KEY)],
    ) -> Principal:
        principal = await authenticate(
            connection, context, self.scope, bearer or header, always=self.always
        )
        decision = await context.access.spend(principal, BudgetName.REQUESTS)
        if not decision.allowed:
            raise refused(decision, "requests")
        if decision.enforced:
            response.headers.update(
                rate_limit_headers(decision.limit, decision.remaining, decision.reset_s)
            )
        return principal


DETECT = Guard(Scope.DETECT)
READ = Guard(Scope.READ)
ADMIN = Guard(Scope.ADMIN, always=True)
# The caller of a detection route, as its guard authenticated it (the same dependency as the
# route's guard: one check per request).
DetectCaller = Annotated[Principal, DETECT.depends]


def guard_for(scope: Scope) -> Guard:
    """The guard of the routes that need this scope."""
    return next(guard for guard in (DETECT, READ, ADMIN) if guard.scope is scope)
