"""serve_app.inventory.spool: bounded, durable, ordered, one entry per request id."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from serve_app.core.errors import SpoolFullError
from serve_app.inventory.records import CountRecord
from serve_app.inventory.spool import Spool


def count_record(request_id: str, location_id: int = 1) -> CountRecord:
    return CountRecord(
        request_id=request_id,
        location_id=location_id,
        recorded_at=datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
        model_name="demo-ssdlite",
        model_version="0.0.0-untrained",
        image_sha256="ab" * 32,
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
    assert [r.request_id for _, r in await spool.oldest(10)] == ["r2"]
    spool.close()


async def test_a_request_id_is_spooled_once(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", max_records=10)
    await spool.append(count_record("same"))
    await spool.append(count_record("same"))
    assert await spool.depth() == 1
    spool.close()


async def test_a_full_spool_refuses_instead_of_dropping(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", max_records=2)
    await spool.append(count_record("a"))
    await spool.append(count_record("b"))
    with pytest.raises(SpoolFullError):
        await spool.append(count_record("c"))
    assert [r.request_id for _, r in await spool.oldest(10)] == ["a", "b"]
    spool.close()


async def test_records_survive_a_restart(tmp_path: Path) -> None:
    first = Spool(tmp_path / "spool.db", max_records=10)
    await first.append(count_record("kept"))
    first.close()
    second = Spool(tmp_path / "spool.db", max_records=10)
    assert await second.has_records()
    assert [r.request_id for _, r in await second.oldest(10)] == ["kept"]
    second.close()
