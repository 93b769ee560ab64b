"""Several processes (as several ingress replicas would) write at once: each record lands once.

Every writer sends the same request ids in part (a retried request reaching another replica),
so the writes also race on the unique request id.
"""

import asyncio
import multiprocessing

from sqlalchemy import func, select

from serve_app.core.settings import Settings
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.models import DetectionRecord, Stock
from serve_app.inventory.records import write_records
from tests.store.conftest import count_record

WRITERS = 3
OWN_RECORDS = 30
SHARED_RECORDS = 10


async def _write(url: str, writer: int, location_id: int) -> None:
    database = Database(create_engine(url, Settings(db_pool_size=2)))
    try:
        ids = [f"shared-{i}" for i in range(SHARED_RECORDS)]
        ids += [f"w{writer}-{i}" for i in range(OWN_RECORDS)]
        for n, request_id in enumerate(ids):
            record = count_record(request_id, location_id, n, {"syringe": n % 5})
            async with database.session() as session:
                await write_records(session, records=[record])
    finally:
        await database.dispose()


def writer_process(url: str, writer: int, location_id: int) -> None:
    asyncio.run(_write(url, writer, location_id))


async def test_concurrent_writer_processes(database_url: str, location_id: int) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=writer_process, args=(database_url, w, location_id))
        for w in range(WRITERS)
    ]
    for process in processes:
        process.start()
    await asyncio.gather(*(asyncio.to_thread(p.join, 120) for p in processes))
    assert [p.exitcode for p in processes] == [0] * WRITERS

    database = Database(create_engine(database_url, Settings()))
    async with database.session() as session:
        total = await session.scalar(select(func.count()).select_from(DetectionRecord))
        distinct = await session.scalar(select(func.count(DetectionRecord.request_id.distinct())))
        stock_rows = await session.scalar(select(func.count()).select_from(Stock))
    await database.dispose()
    assert total == distinct == SHARED_RECORDS + WRITERS * OWN_RECORDS
    assert stock_rows == 1


async def test_concurrent_sessions_in_one_process(database_url: str, location_id: int) -> None:
    database = Database(create_engine(database_url, Settings()))

    async def write(writer: int) -> None:
        for i in range(10):
            record = count_record(f"s{writer}-{i}", location_id, i, {"mask": i})
            async with database.session() as session:
                await write_records(session, records=[record])

    await asyncio.gather(*(write(w) for w in range(4)))
    async with database.session() as session:
        total = await session.scalar(select(func.count()).select_from(DetectionRecord))
    await database.dispose()
    assert total == 40
