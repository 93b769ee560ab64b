"""The one place the service makes Redis clients: for the shared state of the ingress replicas
(key lookups, rate limits, result cache, live updates, stream sessions) and for the spool.

A client is either for one server (`MEDINV_REDIS_URL`) or for whichever server the Sentinels
name master (`MEDINV_REDIS_SENTINELS`): a Sentinel-managed client asks a Sentinel for the
master's address each time it opens a connection, so after a failover its next connections go
to the promoted replica without a restart. A master demoted meanwhile answers writes with
READONLY, which the client turns into a ConnectionError and a fresh look-up.

Every client fails fast: the caller's timeout for connecting and for each command, no retries
inside redis-py (callers decide what an unreachable Redis means for them: fail open, bypass
the cache, spool elsewhere), the Sentinels asked with the same timeout and no retries either.
"""

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

from serve_app.core.settings import Settings


class SentinelManagedRedis(Redis):
    """A client of the master the Sentinels name, which closes its Sentinel clients with it."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        sentinels: Sentinel = self.connection_pool.sentinel_manager  # type: ignore[attr-defined]
        try:
            await super().aclose(close_connection_pool)
        finally:
            await sentinels.aclose()


def redis_client(settings: Settings, *, timeout_s: float) -> Redis | None:
    """A client for the service's Redis, or None when the settings name none. `timeout_s`
    bounds connecting and every command (the caller's budget: the cache's, the spool's)."""
    password = settings.redis_password.get_secret_value() if settings.redis_password else None
    fail_fast: dict[str, Any] = {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
        "retry": Retry(NoBackoff(), 0),
    }
    if settings.redis_sentinels:
        sentinel_password = settings.redis_sentinel_password
        sentinels = Sentinel(  # type: ignore[no-untyped-call]
            settings.sentinel_addresses,
            sentinel_kwargs={
                **fail_fast,
                "password": sentinel_password.get_secret_value() if sentinel_password else None,
            },
        )
        client: Redis = sentinels.master_for(
            settings.redis_sentinel_master,
            redis_class=SentinelManagedRedis,
            password=password,
            **fail_fast,
        )
        return client
    if settings.redis_url is None:
        return None
    return Redis.from_url(settings.redis_url, password=password, **fail_fast)
