"""Who may call, and how often: the authenticator and the rate limiter of one replica, built
from the settings on the replica's shared state (Redis-backed when it has Redis)."""

from dataclasses import dataclass

from serve_app.access.authn import Authenticator, KeyResolver, Principal
from serve_app.access.last_known import LastKnownKeys
from serve_app.access.ratelimit import (
    Budget,
    BudgetName,
    Decision,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from serve_app.core.metrics import AccessMetrics
from serve_app.core.settings import Settings
from serve_app.inventory.database import Database
from serve_app.state.shared_state import SharedState


@dataclass
class AccessControls:
    authenticator: Authenticator
    limiter: RateLimiter
    metrics: AccessMetrics
    _budgets: dict[BudgetName, Budget]

    @classmethod
    def open(cls, settings: Settings, database: Database, shared: SharedState) -> "AccessControls":
        limiter: RateLimiter
        if shared.redis is None:
            limiter = MemoryRateLimiter()
        else:
            limiter = RedisRateLimiter(
                shared.redis,
                settings.redis_key_prefix,
                fail_open=settings.rate_limit_fail_open,
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
        }
        return cls(
            authenticator=Authenticator(resolver, required=settings.auth_required),
            limiter=limiter,
            metrics=AccessMetrics(),
            _budgets=budgets,
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

    async def spend(self, principal: Principal, name: BudgetName) -> Decision:
        decision = await self.limiter.acquire(principal.identity, self.budget(principal, name))
        if not decision.allowed:
            self.metrics.rate_limited(name.value)
        return decision
