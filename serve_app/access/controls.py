"""Who may call, and how often: the authenticator and the rate limiter of one replica, built
from the settings on the replica's shared state (Redis-backed when it has Redis)."""

import math
import time
from dataclasses import dataclass, field

from serve_app.access.authn import Authenticator, KeyResolver, Principal
from serve_app.access.client_address import ClientAddresses
from serve_app.access.key_watch import KeyWatch
from serve_app.access.keys import Scope
from serve_app.access.last_known import LastKnownKeys
from serve_app.access.ratelimit import (
    Budget,
    BudgetName,
    Decision,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from serve_app.core.errors import RateLimitedError, UnauthorizedError
from serve_app.core.metrics import AccessMetrics
from serve_app.core.settings import Settings
from serve_app.inventory.database import Database
from serve_app.state.shared_state import SharedState

_MAX_BLOCKED_ADDRESSES = 10_000


@dataclass
class AccessControls:
    authenticator: Authenticator
    limiter: RateLimiter
    client_addresses: ClientAddresses
    metrics: AccessMetrics
    _budgets: dict[BudgetName, Budget]
    # How often an open socket checks its key again: a lookup is trusted this long.
    _key_check_interval_s: float
    # Addresses whose refused keys ran out, until when: no lookups for them meanwhile.
    _blocked_until: dict[str, float] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings, database: Database, shared: SharedState) -> "AccessControls":
        limiter: RateLimiter
        if shared.redis is None:
            limiter = MemoryRateLimiter()
        else:
            limiter = RedisRateLimiter(
                shared.redis,
                settings.redis_key_prefix,
                on_outage=settings.rate_limit_on_redis_outage,
                outages=shared.outages,
            )
        resolver = KeyResolver(
            database,
            shared.key_cache(),
            settings.auth_cache_ttl_s,
            shared.outages,
            LastKnownKeys(settings.auth_stale_window_s),
        )
        budgets = {
            BudgetName.REQUESTS: Budget(
                BudgetName.REQUESTS,
                settings.rate_limit_requests_burst,
                settings.rate_limit_requests_per_minute,
            ),
            BudgetName.FRAMES: Budget(
                BudgetName.FRAMES,
                settings.rate_limit_frames_burst,
                settings.rate_limit_frames_per_minute,
            ),
            BudgetName.FAILED_AUTH: Budget(
                BudgetName.FAILED_AUTH,
                settings.rate_limit_failed_auth_burst,
                settings.rate_limit_failed_auth_per_minute,
            ),
        }
        return cls(
            authenticator=Authenticator(resolver, required=settings.auth_required),
            limiter=limiter,
            client_addresses=ClientAddresses(settings.trusted_proxies),
            metrics=AccessMetrics(),
            _budgets=budgets,
            _key_check_interval_s=settings.auth_cache_ttl_s,
        )

    def budget(self, principal: Principal, name: BudgetName) -> Budget:
        """The global budget, or the key's own per-minute rate (never a larger burst)."""
        budget = self._budgets[name]
        key = principal.key
        per_minute = None
        if key is not None:
            per_minute = (
                key.requests_per_minute if name is BudgetName.REQUESTS else key.frames_per_minute
            )
        if per_minute is None:
            return budget
        return Budget(name, min(budget.capacity, per_minute), per_minute)

    async def authenticate(
        self, presented: str | None, scope: Scope, *, address: str, always: bool = False
    ) -> Principal:
        """The authenticator's answer, with refused keys counted per client address: once an
        address has used up its failures, keys from it that this replica has not recently seen
        valid get 429 without a lookup until a token comes back. Keys seen valid still work:
        many clients may share an address (a NAT, a proxy)."""
        if presented is not None and not self.authenticator.recently_valid(presented):
            blocked_until = self._blocked_until.get(address, 0.0)
            if time.monotonic() < blocked_until:
                raise _too_many_failures(math.ceil(blocked_until - time.monotonic()))
        try:
            return await self.authenticator.principal(
                presented, scope, address=address, always=always
            )
        except UnauthorizedError:
            if presented is None:
                raise
            decision = await self.limiter.acquire(
                f"authfail:{address}", self._budgets[BudgetName.FAILED_AUTH]
            )
            if decision.allowed:
                raise
            self.metrics.rate_limited(BudgetName.FAILED_AUTH.value)
            now = time.monotonic()
            if len(self._blocked_until) >= _MAX_BLOCKED_ADDRESSES:
                self._blocked_until = {a: t for a, t in self._blocked_until.items() if t > now}
            self._blocked_until[address] = now + decision.retry_after_s
            raise _too_many_failures(decision.retry_after_s) from None

    def key_watch(self, presented: str) -> KeyWatch:
        return KeyWatch(self.authenticator, presented, self._key_check_interval_s)

    async def spend(self, principal: Principal, name: BudgetName) -> Decision:
        decision = await self.limiter.acquire(principal.identity, self.budget(principal, name))
        if not decision.allowed:
            self.metrics.rate_limited(name.value)
        return decision


def _too_many_failures(retry_after_s: int) -> RateLimitedError:
    return RateLimitedError(
        f"too many refused API keys from this address; retry in {retry_after_s} s",
        retry_after_s=max(1, retry_after_s),
    )
