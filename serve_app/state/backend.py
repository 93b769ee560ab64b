"""Redis as the ingress replicas' shared state, or a stand-in kept in process.

`connect` makes a client that fails fast (short timeouts, no retries; one server, or the
master that Redis Sentinels name: `serve_app.core.redis_client`): callers decide what an
unreachable Redis means for them (fail open, bypass the cache) and `OutageLog` reports it.
"""

import logging
import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from serve_app.core.metrics import SharedStateMetrics
from serve_app.core.redis_client import redis_client
from serve_app.core.settings import Settings

logger = logging.getLogger("ray.serve")

# What an unreachable, slow or failing Redis raises.
REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, OSError, TimeoutError)


def connect(settings: Settings) -> Redis | None:
    return redis_client(settings, timeout_s=settings.redis_timeout_s)


class OutageLog:
    """Counts every Redis failure; logs one warning per interval per component at most."""

    def __init__(self, metrics: SharedStateMetrics, interval_s: float) -> None:
        self._metrics = metrics
        self._interval_s = interval_s
        self._last_logged: dict[str, float] = {}

    def failed(self, component: str, error: Exception, consequence: str) -> None:
        self._metrics.redis_error(component)
        now = time.monotonic()
        last = self._last_logged.get(component)
        if last is None or now - last >= self._interval_s:
            self._last_logged[component] = now
            logger.warning(
                "Redis unreachable (%s; %s: %s): %s",
                component,
                type(error).__name__,
                error,
                consequence,
            )


class ValueStore(Protocol):
    """Bytes under a key for a while. Redis implementations raise one of REDIS_ERRORS."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_s: float) -> None: ...


class RedisStore:
    def __init__(self, client: Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    async def get(self, key: str) -> bytes | None:
        value = await self._client.get(self._prefix + key)
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        await self._client.set(self._prefix + key, value, px=max(1, int(ttl_s * 1000)))


class MemoryStore:
    """The embedded stand-in: a bounded LRU with expiry, one per replica."""

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if time.monotonic() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        self._entries[key] = (time.monotonic() + ttl_s, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
