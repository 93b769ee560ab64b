"""The spool in a Sentinel-managed Redis with `spool_min_replicas`: a record is answered
`queued` only once a replica has it too (WAIT on the append's own connection), so a failover
cannot lose it; with no replica to confirm it, 503 store_unavailable, the record left queued on
the master (a retry answers `duplicate`, a replay writes it once)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from serve_app.core.errors import StoreUnavailableError
from serve_app.core.settings import Settings
from serve_app.inventory.records import CountRecord
from serve_app.inventory.redis_spool import RedisSpool
from tests.sentinel_redis import MASTER_NAME, PASSWORD, SENTINEL_PASSWORD, SentinelRedis


def record(key: str) -> CountRecord:
    return CountRecord(
        caller="key:test",
        idempotency_key=key,
        request_id=f"trace-{key}",
        location_id=1,
        recorded_at=datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
        model_name="demo-ssdlite",
        model_version="0.0.0-untrained",
        image_sha256="ab" * 32,
        counts={"syringe": 3},
        latency_ms=41.5,
    )


@pytest.fixture
async def spool(tmp_path: Path, sentinel_redis: SentinelRedis) -> AsyncIterator[RedisSpool]:
    settings = Settings(
        data_dir=tmp_path,
        redis_sentinels=sentinel_redis.sentinel_addresses,
        redis_sentinel_master=MASTER_NAME,
        redis_password=PASSWORD,
        redis_sentinel_password=SENTINEL_PASSWORD,
        spool_store="redis",
        spool_min_replicas=2,
        db_write_timeout_s=0.5,
    )
    spool = RedisSpool.connect(settings)
    yield spool
    await spool.close()


async def test_queued_means_on_the_replicas_too(
    spool: RedisSpool, sentinel_redis: SentinelRedis
) -> None:
    assert await spool.append(record("r1")) == "queued"
    for replica in sentinel_redis.replicas:
        with sentinel_redis.server(replica.port) as client:
            assert client.hexists("medinv:spool:records", "key:test/r1")

    sentinel_redis.replicas[0].stop()
    with pytest.raises(StoreUnavailableError, match="on 1 replicas, fewer than the 2 required"):
        await spool.append(record("r2"))

    assert [r.idempotency_key for r in await spool.oldest(10)] == ["r1", "r2"]
    assert await spool.append(record("r2")) == "duplicate"
