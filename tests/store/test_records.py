"""Writing records: exactly once per caller and key, what a key used again says, and the stock
and low-stock state they imply."""

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.inventory.catalog import put_item
from serve_app.inventory.models import DetectionRecord
from serve_app.inventory.queries import stock_levels
from serve_app.inventory.records import write_records
from tests.store.conftest import T0, count_record


async def stock(session: AsyncSession, location_id: int) -> dict[str, int]:
    return {s.label: s.count for s in await stock_levels(session, location_id=location_id)}


async def records_stored(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(DetectionRecord)) or 0)


async def test_a_key_is_written_once(session: AsyncSession, location_id: int) -> None:
    records = [count_record(f"r{i}", location_id, i, {"syringe": i}) for i in range(3)]
    assert await write_records(session, records=records) == ["written"] * 3
    assert await write_records(session, records=records) == ["duplicate"] * 3
    assert await records_stored(session) == 3


async def test_a_key_used_for_another_image_or_location_is_a_conflict(
    session: AsyncSession, location_id: int
) -> None:
    other_location = location_id + 1
    await session.execute(
        text(
            "INSERT INTO locations (id, kind, name, created_at) VALUES (:id, 'room', 'other', :at)"
        ),
        {"id": other_location, "at": T0.replace(tzinfo=None)},
    )
    await write_records(session, records=[count_record("k", location_id, 0, {"mask": 1})])

    outcomes = await write_records(
        session,
        records=[
            count_record("k", location_id, 1, {"mask": 2}, image_sha256="cd" * 32),
            count_record("k", other_location, 1, {"mask": 2}),
            count_record("k", location_id, 1, {"mask": 9}),  # same image: a retry
        ],
    )

    assert outcomes == ["conflict", "conflict", "duplicate"]
    assert await records_stored(session) == 1
    assert await stock(session, location_id) == {"mask": 1}


async def test_keys_are_per_caller(session: AsyncSession, location_id: int) -> None:
    records = [
        count_record("k", location_id, 0, {"mask": 1}, caller=caller)
        for caller in ("key:a", "key:b", "anonymous")
    ]
    assert await write_records(session, records=records) == ["written"] * 3
    assert await records_stored(session) == 3


async def test_stock_is_the_latest_record_and_absent_labels_count_zero(
    session: AsyncSession, location_id: int
) -> None:
    await write_records(
        session, records=[count_record("a", location_id, 0, {"syringe": 4, "mask": 2})]
    )
    await write_records(session, records=[count_record("b", location_id, 1, {"syringe": 3})])
    assert await stock(session, location_id) == {"mask": 0, "syringe": 3}


async def test_an_older_record_replayed_late_does_not_overwrite_stock(
    session: AsyncSession, location_id: int
) -> None:
    await write_records(session, records=[count_record("new", location_id, 10, {"vial": 7})])
    await write_records(session, records=[count_record("old", location_id, 5, {"vial": 1})])
    assert await stock(session, location_id) == {"vial": 7}


async def test_below_par_since_starts_with_the_first_low_record(
    session: AsyncSession, location_id: int
) -> None:
    await put_item(
        session, label="iv_bag", display_name="IV bag", sku=None, unit="bag", par_level=5
    )

    async def write(name: str, minutes: int, count: int) -> object:
        await write_records(
            session, records=[count_record(name, location_id, minutes, {"iv_bag": count})]
        )
        (level,) = await stock_levels(session, location_id=location_id)
        return level.below_par_since

    assert await write("full", 0, 6) is None
    assert await write("low", 10, 4) == T0.replace(minute=10)
    assert await write("still-low", 20, 2) == T0.replace(minute=10)
    assert await write("at-par", 30, 5) is None  # par is the minimum wanted: not below it
    assert await write("low-again", 40, 0) == T0.replace(minute=40)


async def test_changing_a_par_level_re_evaluates_stock(
    session: AsyncSession, location_id: int
) -> None:
    await write_records(session, records=[count_record("a", location_id, 0, {"mask": 3})])

    async def below_par(par_level: int | None) -> bool:
        await put_item(
            session, label="mask", display_name="Mask", sku="M-1", unit="box", par_level=par_level
        )
        levels = await stock_levels(session, location_id=location_id, below_par_only=True)
        return bool(levels)

    assert await below_par(4) is True
    assert await below_par(3) is False
    assert await below_par(None) is False
