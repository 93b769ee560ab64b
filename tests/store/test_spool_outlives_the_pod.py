"""Records answered `queued` survive the pod that queued them (Kubernetes: a scale-down, an
upgrade, a node drain) and a restart of Redis itself.

In Kubernetes the spool is in Redis (`spool_store: redis`), run as the manifests run it: an
append-only file fsynced on every write. Here: PostgreSQL is cut (a TCP postgres_proxy), replica A
answers `queued` for every record, then A goes with its data directory, as a pod's `emptyDir`
does; Redis is killed with SIGKILL and started again from its file. Replica B, which never saw
the records, replays them once PostgreSQL is back: each is stored once.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from medinv_tools.tcp_proxy import TcpProxy
from serve_app.core.settings import Settings
from serve_app.inventory.models import DetectionRecord
from serve_app.inventory.recorder import InventoryRecorder
from tests.persistent_redis import PersistentRedis
from tests.store.conftest import count_record

RECORDS = 25
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[PersistentRedis]:
    server = PersistentRedis(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


def replica_settings(data_dir: Path, database_url: str, redis_url: str) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        spool_store="redis",
        db_write_timeout_s=0.5,
    )


async def test_queued_records_outlive_the_replica_and_a_redis_restart(
    tmp_path: Path,
    postgresql_url: str,
    session: AsyncSession,
    location_id: int,
    postgres_proxy: TcpProxy,
    redis: PersistentRedis,
) -> None:
    through_proxy = make_url(postgresql_url).set(host="127.0.0.1", port=postgres_proxy.port)
    pod_a = tmp_path / "pod-a"
    pod_a.mkdir()
    replica_a = InventoryRecorder.open(
        replica_settings(pod_a, through_proxy.render_as_string(hide_password=False), redis.url)
    )
    records = [count_record(f"k{i}", location_id, i, {"syringe": i}) for i in range(RECORDS)]
    postgres_proxy.cut()

    outcomes = [await replica_a.record(record) for record in records]

    assert outcomes == ["queued"] * RECORDS
    await replica_a.close()
    assert list(pod_a.iterdir()) == []  # nothing of the records was on the pod's disk
    shutil.rmtree(pod_a)  # the pod is deleted, its emptyDir with it
    redis.kill()
    redis.start()  # from its append-only file
    postgres_proxy.restore()
    replica_b = InventoryRecorder.open(
        replica_settings(tmp_path / "pod-b", postgresql_url, redis.url)
    )

    replayed = await replica_b.replay()

    stored = await session.execute(
        select(DetectionRecord.idempotency_key, func.count())
        .where(DetectionRecord.location_id == location_id)
        .group_by(DetectionRecord.idempotency_key)
    )
    assert replayed == RECORDS
    assert dict(stored.tuples().all()) == {record.idempotency_key: 1 for record in records}
    assert (await replica_b.status()).spooled == 0
    await replica_b.close()
