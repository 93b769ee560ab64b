"""serve_app.core.redis_client: every client the service makes fails fast (the caller's
timeout, no retries inside redis-py), for one server or for the master the Sentinels name.
Nothing here connects: the clients are inspected as built (connections open lazily)."""

from pydantic import SecretStr
from redis.asyncio import Redis
from redis.asyncio.sentinel import SentinelConnectionPool

from serve_app.core.redis_client import SentinelManagedRedis, redis_client
from serve_app.core.settings import Settings


def _fails_fast(kwargs: dict[str, object], timeout_s: float) -> None:
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == timeout_s
    retry = kwargs["retry"]
    assert retry is not None and retry.get_retries() == 0  # type: ignore[attr-defined]


async def test_no_redis_configured_no_client() -> None:
    assert redis_client(Settings(), timeout_s=0.25) is None


async def test_one_server_from_its_url() -> None:
    settings = Settings(redis_url="redis://redis:6379/2", redis_password=SecretStr("data"))
    client = redis_client(settings, timeout_s=0.25)
    assert type(client) is Redis
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "redis", 6379, 2, "data"
    )  # fmt: skip
    _fails_fast(kwargs, 0.25)
    await client.aclose()


async def test_the_master_the_sentinels_name() -> None:
    settings = Settings(
        redis_sentinels=["sentinel-a:26379", "sentinel-b:26379"],
        redis_sentinel_master="inventory",
        redis_password=SecretStr("data"),
        redis_sentinel_password=SecretStr("sentinel"),
    )
    client = redis_client(settings, timeout_s=2.0)
    assert isinstance(client, SentinelManagedRedis)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool) and pool.is_master
    assert pool.service_name == "inventory"
    assert pool.connection_kwargs["password"] == "data"
    _fails_fast(pool.connection_kwargs, 2.0)
    sentinels = pool.sentinel_manager.sentinels
    assert [
        (s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
        for s in sentinels
    ] == [("sentinel-a", 26379), ("sentinel-b", 26379)]
    for sentinel in sentinels:
        assert sentinel.connection_pool.connection_kwargs["password"] == "sentinel"
        _fails_fast(sentinel.connection_pool.connection_kwargs, 2.0)
    await client.aclose()  # closes the Sentinels' clients too
