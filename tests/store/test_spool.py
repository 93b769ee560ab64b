"""The spool, in both its stores (a SQLite file, a Redis queue): bounded, durable, ordered, one
entry per caller and key. The local file's own concerns (restarts, old files) at the end."""

import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from serve_app.core.errors import IdempotencyConflictError, SpoolFullError
from serve_app.inventory.local_spool import LocalSpool
from serve_app.inventory.records import LEGACY_CALLER, CountRecord
from serve_app.inventory.redis_spool import RedisSpool
from serve_app.inventory.spool import Spool
from tests.redis_server import REDIS_URL, delete_keys, new_prefix

MakeSpool = Callable[[int], Awaitable[Spool]]


def count_record(
    key: str, location_id: int = 1, *, caller: str = "key:test", image_sha256: str = "ab" * 32
) -> CountRecord:
    return CountRecord(
        caller=caller,
        idempotency_key=key,
        request_id=f"trace-{key}",
        location_id=location_id,
        recorded_at=datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
        model_name="demo-ssdlite",
        model_version="0.0.0-untrained",
        image_sha256=image_sha256,
        counts={"syringe": 3},
        latency_ms=41.5,
    )


@pytest.fixture(params=["local", "redis"])
async def make_spool(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeSpool]:
    made: list[Spool] = []
    prefix = new_prefix("spool")

    async def make(max_records: int) -> Spool:
        spool: Spool
        if request.param == "local":
            spool = LocalSpool(tmp_path / "spool.db", max_records)
        else:
            spool = RedisSpool(Redis.from_url(REDIS_URL), prefix, max_records)
        made.append(spool)
        return spool

    yield make
    for spool in made:
        await spool.close()
    delete_keys(prefix)


async def test_records_come_back_in_order_and_intact(make_spool: MakeSpool) -> None:
    spool = await make_spool(10)
    for i in range(3):
        await spool.append(count_record(f"r{i}", location_id=i))
    batch = await spool.oldest(10)
    assert batch == [count_record(f"r{i}", i) for i in range(3)]
    await spool.remove(batch[:2])
    assert [r.idempotency_key for r in await spool.oldest(10)] == ["r2"]


async def test_a_key_is_spooled_once_and_a_retry_is_a_duplicate(make_spool: MakeSpool) -> None:
    spool = await make_spool(1)
    assert await spool.append(count_record("same")) == "queued"
    assert await spool.append(count_record("same")) == "duplicate"  # even with the spool full
    assert await spool.depth() == 1


@pytest.mark.parametrize(
    "other",
    [count_record("same", image_sha256="cd" * 32), count_record("same", location_id=2)],
    ids=["another-image", "another-location"],
)
async def test_a_queued_key_for_another_record_is_a_conflict(
    make_spool: MakeSpool, other: CountRecord
) -> None:
    spool = await make_spool(10)
    await spool.append(count_record("same"))
    with pytest.raises(IdempotencyConflictError):
        await spool.append(other)
    assert await spool.oldest(10) == [count_record("same")]


async def test_keys_are_per_caller(make_spool: MakeSpool) -> None:
    spool = await make_spool(10)
    for caller in ("key:a", "key:b", "anonymous"):
        assert await spool.append(count_record("same", caller=caller)) == "queued"
    assert await spool.depth() == 3


async def test_a_full_spool_refuses_instead_of_dropping(make_spool: MakeSpool) -> None:
    spool = await make_spool(2)
    await spool.append(count_record("a"))
    await spool.append(count_record("b"))
    with pytest.raises(SpoolFullError):
        await spool.append(count_record("c"))
    assert [r.idempotency_key for r in await spool.oldest(10)] == ["a", "b"]


async def test_a_removal_takes_the_records_named_and_keeps_those_queued_since(
    make_spool: MakeSpool,
) -> None:
    spool = await make_spool(10)
    await spool.append(count_record("a"))
    batch = await spool.oldest(10)
    await spool.append(count_record("b"))
    await spool.remove(batch)
    await spool.remove(batch)  # as a second replica replaying the same batch would
    assert [r.idempotency_key for r in await spool.oldest(10)] == ["b"]


async def test_a_dead_letter_leaves_the_queue(make_spool: MakeSpool) -> None:
    spool = await make_spool(10)
    await spool.append(count_record("poison"))
    await spool.append(count_record("good"))
    await spool.dead_letter(count_record("poison"), "IntegrityError: no such location")
    assert [r.idempotency_key for r in await spool.oldest(10)] == ["good"]
    assert (await spool.depth(), await spool.dead_letters()) == (1, 1)


async def test_records_survive_a_restart(tmp_path: Path) -> None:
    first = LocalSpool(tmp_path / "spool.db", max_records=10)
    await first.append(count_record("kept"))
    await first.close()
    second = LocalSpool(tmp_path / "spool.db", max_records=10)
    assert await second.has_records()
    assert [r.idempotency_key for r in await second.oldest(10)] == ["kept"]
    await second.close()


async def test_a_spool_from_before_scoped_keys_replays_its_records(tmp_path: Path) -> None:
    """Records queued by the previous release, keyed by request id alone, are kept: scoped to
    the caller the database's migration gives records of that time."""
    path = tmp_path / "spool.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE spooled (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
        "request_id TEXT NOT NULL UNIQUE, record TEXT NOT NULL)"
    )
    legacy = asdict(count_record("x")) | {"recorded_at": "2026-05-01T12:00:00+00:00"}
    for name in ("caller", "idempotency_key"):
        del legacy[name]
    old.execute(
        "INSERT INTO spooled (request_id, record) VALUES (?, ?)",
        ("trace-x", json.dumps(legacy)),
    )
    old.commit()
    old.close()

    spool = LocalSpool(path, max_records=10)

    (record,) = await spool.oldest(10)
    assert (record.caller, record.idempotency_key, record.request_id) == (
        LEGACY_CALLER,
        "trace-x",
        "trace-x",
    )
    assert await spool.append(record) == "duplicate"
    assert spool.quarantined is None
    await spool.close()
