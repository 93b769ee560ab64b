"""A record that arrives while a replay drains the spool's last records waits for it and is then
written directly, after them: under steady load (the failover of test_postgres_failover.py)
records would otherwise join the spool as fast as it drains, and never be written directly
again. With more than a batch waiting it queues at once: a long drain runs in the background."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.core.settings import Settings
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.local_spool import LocalSpool
from serve_app.inventory.models import DetectionRecord
from serve_app.inventory.recorder import REPLAY_BATCH, InventoryRecorder
from tests.store.conftest import count_record


@pytest.fixture
async def spool(tmp_path: Path) -> LocalSpool:
    return LocalSpool(tmp_path / "spool.db", max_records=1000)


@pytest.fixture
async def recorder(database_url: str, spool: LocalSpool) -> AsyncIterator[InventoryRecorder]:
    # No background replay (start() is not called): each test replays when it means to.
    recorder = InventoryRecorder(
        Database(create_engine(database_url, Settings())),
        spool,
        write_timeout_s=30.0,
        retry_interval_s=60.0,
        zone_cache_ttl_s=5.0,
    )
    yield recorder
    await recorder.close()


async def stored_keys(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(DetectionRecord.idempotency_key).order_by(DetectionRecord.id)
    )
    return list(rows)


async def test_a_record_during_the_replay_of_a_few_is_written_after_them(
    recorder: InventoryRecorder, spool: LocalSpool, session: AsyncSession, location_id: int
) -> None:
    for n in range(3):
        await spool.append(count_record(f"spooled-{n}", location_id, n, {"mask": 1}))
    replay = asyncio.create_task(recorder.replay())
    await asyncio.sleep(0)  # the replay has started: it holds the spool until it is empty

    outcome = await recorder.record(count_record("new", location_id, 3, {"mask": 2}))

    assert outcome == "written"
    assert await replay == 3
    assert await stored_keys(session) == ["spooled-0", "spooled-1", "spooled-2", "new"]
    assert await spool.depth() == 0


async def test_a_record_during_a_long_drain_queues_behind_it(
    recorder: InventoryRecorder, spool: LocalSpool, session: AsyncSession, location_id: int
) -> None:
    for n in range(REPLAY_BATCH + 1):
        await spool.append(count_record(f"spooled-{n}", location_id, n, {}))
    replay = asyncio.create_task(recorder.replay())
    await asyncio.sleep(0)

    outcome = await recorder.record(count_record("new", location_id, 1000, {"mask": 2}))

    assert outcome == "queued"
    # The drain takes the new record too (or the next replay does), after the others.
    assert await replay + await recorder.replay() == REPLAY_BATCH + 2
    keys = await stored_keys(session)
    assert keys[-1] == "new" and len(keys) == REPLAY_BATCH + 2


async def test_with_no_replay_running_a_record_queues_behind_the_spool(
    recorder: InventoryRecorder, spool: LocalSpool, session: AsyncSession, location_id: int
) -> None:
    await spool.append(count_record("spooled", location_id, 0, {}))

    assert await recorder.record(count_record("new", location_id, 1, {})) == "queued"
    assert await spool.depth() == 2
    assert await stored_keys(session) == []
