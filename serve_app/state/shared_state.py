"""What the ingress replicas share beyond the database, built once per replica from the
settings: in Redis when `MEDINV_REDIS_URL` or `MEDINV_REDIS_SENTINELS` is set, in process
otherwise."""

from dataclasses import dataclass

from redis.asyncio import Redis

from serve_app.core.metrics import SharedStateMetrics
from serve_app.core.pipeline import DetectionPipeline
from serve_app.core.settings import Settings
from serve_app.state.backend import MemoryStore, OutageLog, RedisStore, ValueStore, connect
from serve_app.state.result_cache import CachedDetections
from serve_app.state.stream_state import StreamStateStore
from serve_app.state.update_bus import MemoryBus, RedisBus, UpdateBus

MEMORY_CACHE_ENTRIES = 1024


@dataclass
class SharedState:
    results: CachedDetections  # the detection pipeline behind the result cache
    updates: UpdateBus  # live inventory updates, fanned out to every replica
    streams: StreamStateStore  # resumable WebSocket stream state
    redis: Redis | None
    outages: OutageLog
    metrics: SharedStateMetrics
    key_prefix: str

    @classmethod
    def open(cls, settings: Settings, pipeline: DetectionPipeline) -> "SharedState":
        metrics = SharedStateMetrics()
        outages = OutageLog(metrics, settings.redis_outage_log_interval_s)
        redis = connect(settings)
        results: ValueStore
        streams: ValueStore
        updates: UpdateBus
        if redis is None:
            results = MemoryStore(MEMORY_CACHE_ENTRIES)
            streams = MemoryStore(MEMORY_CACHE_ENTRIES)
            updates = MemoryBus()
        else:
            results = streams = RedisStore(redis, settings.redis_key_prefix)
            updates = RedisBus(redis, settings.redis_key_prefix, outages)
        return cls(
            results=CachedDetections(
                pipeline, results, settings.result_cache_ttl_s, metrics, outages
            ),
            updates=updates,
            streams=StreamStateStore(streams, settings.stream_session_ttl_s, outages),
            redis=redis,
            outages=outages,
            metrics=metrics,
            key_prefix=settings.redis_key_prefix,
        )

    def key_cache(self) -> ValueStore:
        """Where API-key lookups are cached: the same Redis, or a store of this replica."""
        if self.redis is None:
            return MemoryStore(MEMORY_CACHE_ENTRIES)
        return RedisStore(self.redis, self.key_prefix)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
