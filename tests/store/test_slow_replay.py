"""A database that answers, slowly, still takes the whole spool: the replay halves its batch
when one does not commit within its time, instead of retrying the same batch for ever while
every new record queues behind it (seen in the chaos run after a 60 s PostgreSQL cut).

PostgreSQL only: a trigger makes each inserted record cost 10 ms, so the replay's first batch
of 200 needs 2 s where it is given 1 s, and batches of 50 fit.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from serve_app.core.settings import Settings
from serve_app.inventory.catalog import create_location
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.local_spool import LocalSpool
from serve_app.inventory.models import DetectionRecord, LocationKind
from serve_app.inventory.recorder import REPLAY_BATCH, InventoryRecorder
from tests.databases import empty_tables
from tests.store.conftest import count_record

SLOW_INSERTS = (
    """
    CREATE FUNCTION medinv_test_slow_insert() RETURNS trigger AS $$
    BEGIN PERFORM pg_sleep(0.01); RETURN NEW; END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER medinv_test_slow_insert BEFORE INSERT ON detection_records
    FOR EACH ROW EXECUTE FUNCTION medinv_test_slow_insert()
    """,
)
FAST_AGAIN = (
    "DROP TRIGGER IF EXISTS medinv_test_slow_insert ON detection_records",
    "DROP FUNCTION IF EXISTS medinv_test_slow_insert()",
)


@pytest.fixture
def empty_postgresql(postgresql_url: str) -> str:
    empty_tables(postgresql_url)
    return postgresql_url


@pytest.fixture
async def slow_database(empty_postgresql: str) -> AsyncIterator[Database]:
    database = Database(create_engine(empty_postgresql, Settings()))
    async with database.session() as session:
        for statement in SLOW_INSERTS:
            await session.execute(text(statement))
    try:
        yield database
    finally:
        async with database.session() as session:
            for statement in FAST_AGAIN:
                await session.execute(text(statement))
        await database.dispose()


async def test_a_slow_database_takes_the_spool_in_smaller_batches(
    slow_database: Database, tmp_path: Path
) -> None:
    async with slow_database.session() as session:
        location = await create_location(
            session, kind=LocationKind.SHELF, name="slow", camera_id=None
        )
        location_id = location.id
    spool = LocalSpool(tmp_path / "spool.db", max_records=1000)
    for n in range(REPLAY_BATCH):
        await spool.append(count_record(f"k{n}", location_id, n, {"mask": 1}))
    recorder = InventoryRecorder(
        slow_database, spool, write_timeout_s=0.2, retry_interval_s=60, zone_cache_ttl_s=5.0
    )

    # How many of them count as new depends on timing: a batch can commit just as its time
    # runs out, and is then replayed as duplicates. What matters is that the spool drains.
    await recorder.replay()

    assert await spool.depth() == 0
    async with slow_database.session() as session:
        stored = await session.scalar(select(func.count()).select_from(DetectionRecord))
    assert stored == REPLAY_BATCH
