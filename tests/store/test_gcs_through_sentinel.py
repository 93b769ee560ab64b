"""Ray 2.60's own Redis client (the C++ RedisContext that the GCS uses for fault tolerance, here
through KubeRay's storage cleanup, which connects the same way) given a Sentinel's address:
it asks the Sentinel for the master and works on the master. The Sentinel must require the
data password: Ray sends one password to both (production's Sentinels do; with another one
Ray aborts the process, so that is documented, not tested here)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from ray._private.gcs_utils import cleanup_redis_storage

from tests.sentinel_redis import PASSWORD, SentinelRedis


@pytest.fixture
def same_password(tmp_path: Path) -> Iterator[SentinelRedis]:
    redis = SentinelRedis(tmp_path / "redis", PASSWORD, PASSWORD, replicas=1)
    try:
        redis.start()
        yield redis
    finally:
        redis.stop()


def test_rays_redis_client_finds_the_master_through_a_sentinel(
    same_password: SentinelRedis,
) -> None:
    with same_password.server(same_password.master.port) as master:
        master.hset("RAYmedinv-gcs@KV", "key", "value")  # a GCS table of namespace medinv-gcs
        master.hset("RAYother@KV", "key", "value")

    sentinel = same_password.sentinels[0].port
    assert cleanup_redis_storage("127.0.0.1", sentinel, PASSWORD, False, "medinv-gcs")

    with same_password.server(same_password.master.port) as master:
        assert master.keys("RAY*") == [b"RAYother@KV"]
