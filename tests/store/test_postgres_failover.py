"""A PostgreSQL failover under writes: no record answered `written` or `queued` is lost or stored
twice.

Two servers of the test's own (tests/postgres_pair.py): a primary that waits for one
synchronous standby, as the production CloudNativePG Cluster does, and that standby. The app's
URL lists both with `target_session_attrs=read-write`, so libpq connects to whichever takes
writes. Two replicas (an `InventoryRecorder` each, with its own local spool and its background
replay) take records from four concurrent writers; mid-run the standby is promoted
(`pg_ctl promote`) and the old primary crashed (`pg_ctl stop -m immediate`). Writes in flight
then fail or time out and are spooled, the records after them queue behind them, and the replay
writes them to the new primary once it answers. At the end the new primary holds every answered
record exactly once. The figures are printed (`pytest -s`): docs/operations.md quotes them.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from medinv_tools.scratch_database import create_database
from serve_app.core.errors import StoreUnavailableError
from serve_app.core.settings import Settings
from serve_app.inventory.catalog import create_location
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.local_spool import LocalSpool
from serve_app.inventory.migrate import upgrade
from serve_app.inventory.models import DetectionRecord, LocationKind
from serve_app.inventory.recorder import InventoryRecorder
from tests.postgres_pair import PostgresPair, postgres_pair
from tests.store.conftest import count_record

REPLICAS = 2
WRITERS_PER_REPLICA = 2
WRITTEN_BEFORE_THE_SWITCH = 40  # records written directly before the fault
WRITING_AFTER_RECOVERY_S = 1.0  # writers go on this long once records are written directly again
# Bounds on waits, never asserted as durations: generous for a loaded 2-core machine.
RECOVERY_DEADLINE_S = 120.0
WRITE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Answer:
    key: str
    outcome: str
    started: float
    answered: float


@pytest.fixture
def pair() -> Iterator[PostgresPair]:
    with postgres_pair() as servers:
        yield servers


@pytest.fixture
def database(pair: PostgresPair) -> str:
    """A database on the pair, migrated through the multi-host URL (as the migration Job
    would through the app's URL); its name."""
    name = create_database(pair.primary.url("postgres"), "medinv_failover").rsplit("/", 1)[1]
    upgrade(pair.multi_host_url(name))
    return name


def replica(
    pair: PostgresPair, database: str, data_dir: Path
) -> tuple[InventoryRecorder, LocalSpool]:
    """An ingress replica's recorder as `InventoryRecorder.open` makes it, on the multi-host
    URL, with a local spool and a shorter write timeout and replay interval."""
    settings = Settings(data_dir=data_dir, database_url=pair.multi_host_url(database))
    spool = LocalSpool(settings.spool_path, settings.spool_max_records)
    recorder = InventoryRecorder(
        Database(create_engine(settings.resolved_database_url, settings)),
        spool,
        write_timeout_s=WRITE_TIMEOUT_S,
        retry_interval_s=0.2,
        zone_cache_ttl_s=5.0,
    )
    return recorder, spool


async def write_until(
    recorder: InventoryRecorder,
    name: str,
    location_id: int,
    answers: list[Answer],
    stop: asyncio.Event,
) -> None:
    """One writer: records with keys of its own, one after another, until told to stop."""
    n = 0
    while not stop.is_set():
        record = count_record(f"{name}-{n}", location_id, n, {"syringe": n % 7, "mask": 1})
        started = time.monotonic()
        outcome = await recorder.record(record)
        answers.append(Answer(record.idempotency_key, outcome, started, time.monotonic()))
        n += 1
        await asyncio.sleep(0.01)


async def until(check: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    """Poll `check()` until it is true; fail past the deadline (a bound, not a measurement)."""
    deadline = time.monotonic() + RECOVERY_DEADLINE_S
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {RECOVERY_DEADLINE_S:.0f} s: {what}")
        await asyncio.sleep(0.05)


async def server_and_parameters(engine: AsyncEngine) -> tuple[int, dict[str, str]]:
    """The port of the server the engine reached, and libpq's connection parameters."""
    async with engine.connect() as connection:
        port = (await connection.execute(text("SELECT inet_server_port()"))).scalar_one()
        raw = await connection.get_raw_connection()
        return port, raw.driver_connection.info.get_parameters()  # type: ignore[union-attr]


async def test_both_multi_host_url_forms_reach_the_server_that_takes_writes(
    pair: PostgresPair,
) -> None:
    """SQLAlchemy 2.0's two multi-host forms for psycopg (`host=h:p&host=h:p`, or
    `host=h,h&port=p,p`), the standby listed first: libpq skips it (read-only), and the
    connect_args of `create_engine` (connect_timeout) still reach libpq."""
    standby, primary = pair.standby.port, pair.primary.port
    forms = [
        f"host=127.0.0.1:{standby}&host=127.0.0.1:{primary}",
        f"host=127.0.0.1,127.0.0.1&port={standby},{primary}",
    ]
    settings = Settings()
    for hosts in forms:
        url = f"postgresql+psycopg://postgres@/postgres?{hosts}&target_session_attrs=read-write"
        engine = create_engine(url, settings)
        try:
            port, parameters = await server_and_parameters(engine)
        finally:
            await engine.dispose()
        assert port == primary, hosts
        assert parameters["connect_timeout"] == str(settings.db_connect_timeout_s)
        assert parameters["target_session_attrs"] == "read-write"

    only_the_standby = Database(
        create_engine(
            f"postgresql+psycopg://postgres@/postgres?host=127.0.0.1:{standby}"
            "&target_session_attrs=read-write",
            settings,
        )
    )
    try:
        with pytest.raises(StoreUnavailableError):  # what the recorder spools on
            async with only_the_standby.session() as session:
                await session.execute(text("SELECT 1"))
    finally:
        await only_the_standby.dispose()


async def test_a_failover_loses_and_duplicates_no_answered_record(
    pair: PostgresPair, database: str, tmp_path: Path
) -> None:
    setup = Database(create_engine(pair.multi_host_url(database), Settings()))
    async with setup.session() as session:
        location_id = (
            await create_location(session, kind=LocationKind.SHELF, name="Ward 3", camera_id="c")
        ).id
    await setup.dispose()

    replicas = [replica(pair, database, tmp_path / f"replica-{i}") for i in range(REPLICAS)]
    recorders = [recorder for recorder, _ in replicas]
    for recorder in recorders:
        await recorder.start()
    answers: list[Answer] = []
    stop = asyncio.Event()
    writers = [
        asyncio.create_task(
            write_until(recorder, f"r{i}w{j}", location_id, answers, stop), name=f"r{i}w{j}"
        )
        for i, recorder in enumerate(recorders)
        for j in range(WRITERS_PER_REPLICA)
    ]
    try:
        await until(
            lambda: (
                sum(a.outcome == "written" for a in answers) >= WRITTEN_BEFORE_THE_SWITCH
                or any(w.done() for w in writers)
            ),
            "records written before the switch",
        )
        # The failover, off the event loop (pg_ctl waits): the writers keep writing meanwhile.
        switch_started = time.monotonic()
        await asyncio.to_thread(pair.standby.promote)
        await asyncio.to_thread(pair.primary.stop_immediately)
        switched = time.monotonic()
        await until(
            lambda: (
                any(a.outcome == "written" and a.started > switched for a in answers)
                or any(w.done() for w in writers)
            ),
            "a record written directly to the new primary",
        )
        await asyncio.sleep(WRITING_AFTER_RECOVERY_S)
        stop.set()
        await asyncio.gather(*writers)  # raises what a writer raised
        writing_stopped = time.monotonic()

        async def drained() -> bool:
            depths = [(await recorder.status()).spooled for recorder in recorders]
            return depths == [0] * REPLICAS

        await until(drained, "every replica's spool drained")
        drained_at = time.monotonic()
        dead_letters = [await spool.dead_letters() for _, spool in replicas]
    finally:
        stop.set()
        for writer in writers:
            writer.cancel()
        await asyncio.gather(*writers, return_exceptions=True)
        for recorder in recorders:
            await recorder.close()

    new_primary = Database(create_engine(pair.standby.url(database), Settings()))
    try:
        async with new_primary.session() as session:
            in_recovery = (await session.execute(text("SELECT pg_is_in_recovery()"))).scalar()
            rows = await session.execute(
                select(DetectionRecord.idempotency_key, func.count())
                .where(DetectionRecord.location_id == location_id)
                .group_by(DetectionRecord.idempotency_key)
            )
            stored = dict(rows.tuples().all())
    finally:
        await new_primary.dispose()

    outcomes = Counter(answer.outcome for answer in answers)
    answered = {a.key for a in answers if a.outcome in {"written", "queued", "duplicate"}}
    queued = {a.key for a in answers if a.outcome == "queued"}
    lost = sorted(answered - set(stored))
    duplicated = sum(count - 1 for count in stored.values())
    unanswered = sorted(set(stored) - {a.key for a in answers})
    last_direct_before = max(
        (a.answered for a in answers if a.outcome == "written" and a.answered <= switch_started),
        default=switch_started,
    )
    first_direct_after = min(
        a.answered for a in answers if a.outcome == "written" and a.started > switched
    )
    in_flight = [a for a in answers if a.started < switched and a.answered > switch_started]
    print(
        "\nPostgreSQL failover under writes "
        f"({REPLICAS} replicas x {WRITERS_PER_REPLICA} writers, synchronous standby promoted, "
        "old primary stopped -m immediate):\n"
        f"  records sent                      {len(answers)}\n"
        f"  written directly                  {outcomes['written']}\n"
        f"  queued (spooled)                  {outcomes['queued']}\n"
        f"  replayed into the new primary     {len(queued & set(stored))}\n"
        f"  lost                              {len(lost)}\n"
        f"  duplicated                        {duplicated}\n"
        f"  answered during the switch        {len(in_flight)} "
        f"({sum(a.outcome == 'queued' for a in in_flight)} queued)\n"
        f"  promote + stop took               {switched - switch_started:.2f} s\n"
        f"  no direct write for               {first_direct_after - last_direct_before:.2f} s "
        "(last before the switch to first after it)\n"
        f"  spool drained                     {drained_at - switch_started:.2f} s after the "
        f"switch began ({drained_at - writing_stopped:.2f} s after writing stopped)\n"
        f"  slowest answer                    {max(a.answered - a.started for a in answers):.2f} s"
    )

    assert in_recovery is False
    assert outcomes["queued"] > 0, "the switch should have spooled the records in flight"
    assert lost == []
    assert duplicated == 0
    assert unanswered == []
    assert dead_letters == [0] * REPLICAS
