"""Everything the ingress checks before and around a detection, and the live updates it
publishes, built once per replica from the settings: Redis-backed when `MEDINV_REDIS_URL` is
set, in process otherwise."""

from dataclasses import dataclass

from redis.asyncio import Redis

from serve_app.access.authn import Authenticator, KeyResolver, Principal
from serve_app.access.backend import MemoryStore, OutageLog, RedisStore, ValueStore, connect
from serve_app.access.ratelimit import (
    Budget,
    BudgetName,
    Decision,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from serve_app.access.result_cache import CachedDetections
from serve_app.access.stream_sessions import StreamSessions
from serve_app.access.updates import MemoryBus, RedisBus, UpdateBus
from serve_app.inventory.database import Database
from serve_app.metrics import AccessMetrics
from serve_app.pipeline import DetectionPipeline
from serve_app.settings import Settings

MEMORY_CACHE_ENTRIES = 1024


@dataclass
class AccessControls:
    authenticator: Authenticator
    limiter: RateLimiter
    detections: CachedDetections
    metrics: AccessMetrics
    updates: UpdateBus
    sessions: StreamSessions
    redis: Redis | None
    _budgets: dict[BudgetName, Budget]

    @classmethod
    def open(
        cls, settings: Settings, database: Database, pipeline: DetectionPipeline
    ) -> "AccessControls":
        metrics = AccessMetrics()
        outages = OutageLog(metrics, settings.redis_outage_log_interval_s)
        redis = connect(settings)
        limiter: RateLimiter
        keys: ValueStore
        results: ValueStore
        streams: ValueStore
        updates: UpdateBus
        if redis is None:
            limiter = MemoryRateLimiter()
            keys, results = MemoryStore(MEMORY_CACHE_ENTRIES), MemoryStore(MEMORY_CACHE_ENTRIES)
            streams = MemoryStore(MEMORY_CACHE_ENTRIES)
            updates = MemoryBus()
        else:
            prefix = settings.redis_key_prefix
            limiter = RedisRateLimiter(
                redis, prefix, fail_open=settings.rate_limit_fail_open, outages=outages
            )
            keys = results = streams = RedisStore(redis, prefix)
            updates = RedisBus(redis, prefix, outages)
        resolver = KeyResolver(database, keys, settings.auth_cache_ttl_s, outages)
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
            detections=CachedDetections(
                pipeline, results, settings.result_cache_ttl_s, metrics, outages
            ),
            metrics=metrics,
            updates=updates,
            sessions=StreamSessions(streams, settings.stream_session_ttl_s, outages),
            redis=redis,
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

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
