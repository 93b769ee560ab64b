"""What the recorder answers for a key used again, through its spool and the database: never
`written` or `queued` for a record that was not, and no record dropped without a trace."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.core.errors import IdempotencyConflictError
from serve_app.core.settings import Settings
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.local_spool import LocalSpool
from serve_app.inventory.models import DetectionRecord
from serve_app.inventory.recorder import InventoryRecorder
from tests.store.conftest import count_record

OTHER_IMAGE = "cd" * 32


@pytest.fixture
async def spool(tmp_path: Path) -> LocalSpool:
    return LocalSpool(tmp_path / "spool.db", max_records=100)


@pytest.fixture
async def recorder(database_url: str, spool: LocalSpool) -> AsyncIterator[InventoryRecorder]:
    # No background replay (start() is not called): each test replays when it means to.
    recorder = InventoryRecorder(
        Database(create_engine(database_url, Settings())),
        spool,
        write_timeout_s=10.0,
        retry_interval_s=60.0,
        zone_cache_ttl_s=5.0,
    )
    yield recorder
    await recorder.close()


async def stored_keys(session: AsyncSession) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(DetectionRecord.idempotency_key, DetectionRecord.image_sha256).order_by(
            DetectionRecord.id
        )
    )
    return list(rows.tuples())


async def test_a_retry_while_the_first_is_queued_is_a_duplicate_written_once(
    recorder: InventoryRecorder, spool: LocalSpool, session: AsyncSession, location_id: int
) -> None:
    await spool.append(count_record("earlier", location_id, 0, {}))  # as after an outage
    first = count_record("k", location_id, 1, {"mask": 1})

    assert await recorder.record(first) == "queued"
    assert await recorder.record(first) == "duplicate"
    with pytest.raises(IdempotencyConflictError):
        await recorder.record(count_record("k", location_id, 1, {}, image_sha256=OTHER_IMAGE))
    assert await spool.depth() == 2

    assert await recorder.replay() == 2
    assert await stored_keys(session) == [("earlier", "ab" * 32), ("k", "ab" * 32)]


async def test_while_the_spool_drains_a_key_the_database_holds_is_answered_from_it(
    recorder: InventoryRecorder, spool: LocalSpool, session: AsyncSession, location_id: int
) -> None:
    written = count_record("k", location_id, 0, {"mask": 1})
    assert await recorder.record(written) == "written"
    await spool.append(count_record("behind", location_id, 1, {}))

    assert await recorder.record(written) == "duplicate"  # not "queued", to be dropped later
    with pytest.raises(IdempotencyConflictError):
        await recorder.record(count_record("k", location_id, 2, {}, image_sha256=OTHER_IMAGE))
    assert await spool.depth() == 1


async def test_a_queued_record_whose_key_was_taken_meanwhile_is_a_dead_letter(
    recorder: InventoryRecorder, spool: LocalSpool, session: AsyncSession, location_id: int
) -> None:
    """Queued while the database could not be asked (an outage, or another replica wrote the
    key meanwhile): at replay it is kept as a dead letter, not dropped without a word."""
    assert await recorder.record(count_record("k", location_id, 0, {"mask": 1})) == "written"
    await spool.append(count_record("k", location_id, 1, {"mask": 2}, image_sha256=OTHER_IMAGE))
    await spool.append(count_record("after", location_id, 2, {"mask": 3}))

    assert await recorder.replay() == 1

    assert await stored_keys(session) == [("k", "ab" * 32), ("after", "ab" * 32)]
    assert await spool.depth() == 0 and await spool.dead_letters() == 1


async def test_a_queued_record_written_before_its_spool_was_trimmed_is_not_written_again(
    recorder: InventoryRecorder, spool: LocalSpool, session: AsyncSession, location_id: int
) -> None:
    record = count_record("k", location_id, 0, {"mask": 1})
    assert await recorder.record(record) == "written"
    await spool.append(record)  # as when the commit landed but its wait timed out

    assert await recorder.replay() == 0

    assert await stored_keys(session) == [("k", "ab" * 32)]
    assert await spool.depth() == 0 and await spool.dead_letters() == 0
