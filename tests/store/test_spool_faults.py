"""The spool's faults on real databases: a record the database refuses for good goes to the
dead letters instead of blocking the records behind it; a corrupt spool file is set aside."""

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.core.settings import Settings
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.local_spool import LocalSpool
from serve_app.inventory.models import DetectionRecord
from serve_app.inventory.recorder import InventoryRecorder
from tests.store.conftest import count_record

NO_SUCH_LOCATION = 2_000_000_000


async def test_a_poison_record_is_dead_lettered_and_the_rest_replayed_in_order(
    tmp_path: Path, database_url: str, session: AsyncSession, location_id: int
) -> None:
    spool = LocalSpool(tmp_path / "spool.db", max_records=100)
    records = [
        count_record("good-1", location_id, 1, {"syringe": 1}),
        count_record("poison", NO_SUCH_LOCATION, 2, {"syringe": 2}),  # a foreign key refuses it
        count_record("good-2", location_id, 3, {"syringe": 3}),
    ]
    for record in records:
        await spool.append(record)
    recorder = InventoryRecorder(
        Database(create_engine(database_url, Settings())),
        spool,
        write_timeout_s=10.0,
        retry_interval_s=60.0,
        zone_cache_ttl_s=5.0,
    )

    replayed = await recorder.replay()

    stored = await session.scalars(
        select(DetectionRecord.request_id)
        .where(DetectionRecord.request_id.in_(["good-1", "poison", "good-2"]))
        .order_by(DetectionRecord.id)
    )
    assert replayed == 2
    assert list(stored) == ["good-1", "good-2"]
    assert await spool.depth() == 0 and await spool.dead_letters() == 1
    await recorder.close()


async def test_a_corrupt_spool_file_is_set_aside_and_a_new_one_started(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    path.write_bytes(b"this is not a SQLite database" * 100)

    spool = LocalSpool(path, max_records=10)

    assert spool.quarantined is not None and spool.quarantined.read_bytes().startswith(b"this is")
    assert await spool.depth() == 0
    await spool.close()
