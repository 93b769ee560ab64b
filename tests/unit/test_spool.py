"""serve_app.inventory.spool: bounded, durable, ordered, one entry per caller and key."""

import json
import sqlite3
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from serve_app.core.errors import IdempotencyConflictError, SpoolFullError
from serve_app.inventory.records import LEGACY_CALLER, CountRecord
from serve_app.inventory.spool import Spool


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


async def test_records_come_back_in_order_and_intact(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", max_records=10)
    for i in range(3):
        await spool.append(count_record(f"r{i}", location_id=i))
    batch = await spool.oldest(10)
    assert [record for _, record in batch] == [count_record(f"r{i}", i) for i in range(3)]
    await spool.remove(batch[1][0])
    assert [r.idempotency_key for _, r in await spool.oldest(10)] == ["r2"]
    spool.close()


async def test_a_key_is_spooled_once_and_a_retry_is_a_duplicate(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", max_records=1)
    assert await spool.append(count_record("same")) == "queued"
    assert await spool.append(count_record("same")) == "duplicate"  # even with the spool full
    assert await spool.depth() == 1
    spool.close()


@pytest.mark.parametrize(
    "other",
    [count_record("same", image_sha256="cd" * 32), count_record("same", location_id=2)],
    ids=["another-image", "another-location"],
)
async def test_a_queued_key_for_another_record_is_a_conflict(
    tmp_path: Path, other: CountRecord
) -> None:
    spool = Spool(tmp_path / "spool.db", max_records=10)
    await spool.append(count_record("same"))
    with pytest.raises(IdempotencyConflictError):
        await spool.append(other)
    assert [r for _, r in await spool.oldest(10)] == [count_record("same")]
    spool.close()


async def test_keys_are_per_caller(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", max_records=10)
    for caller in ("key:a", "key:b", "anonymous"):
        assert await spool.append(count_record("same", caller=caller)) == "queued"
    assert await spool.depth() == 3
    spool.close()


async def test_a_full_spool_refuses_instead_of_dropping(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", max_records=2)
    await spool.append(count_record("a"))
    await spool.append(count_record("b"))
    with pytest.raises(SpoolFullError):
        await spool.append(count_record("c"))
    assert [r.idempotency_key for _, r in await spool.oldest(10)] == ["a", "b"]
    spool.close()


async def test_records_survive_a_restart(tmp_path: Path) -> None:
    first = Spool(tmp_path / "spool.db", max_records=10)
    await first.append(count_record("kept"))
    first.close()
    second = Spool(tmp_path / "spool.db", max_records=10)
    assert await second.has_records()
    assert [r.idempotency_key for _, r in await second.oldest(10)] == ["kept"]
    second.close()


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

    spool = Spool(path, max_records=10)

    (record,) = [r for _, r in await spool.oldest(10)]
    assert (record.caller, record.idempotency_key, record.request_id) == (
        LEGACY_CALLER,
        "trace-x",
        "trace-x",
    )
    assert await spool.append(record) == "duplicate"
    assert spool.quarantined is None
    spool.close()
