"""History: bucketing, pagination, and daily aggregates that outlive raw records."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.inventory.models import DetectionRecord
from serve_app.inventory.queries import Bucket, HistoryPage, history
from serve_app.inventory.records import write_records
from serve_app.inventory.retention import cleanup
from tests.store.conftest import T0, count_record

# Minutes after T0 (08:00) and syringe counts; absent means none seen.
SAMPLES = [(0, 4), (10, 2), (50, None), (70, 6), (130, 1), (24 * 60 + 5, 3)]


@pytest.fixture
async def recorded(session: AsyncSession, location_id: int) -> None:
    records = [
        count_record(f"r{i}", location_id, minutes, {"syringe": n} if n is not None else {})
        for i, (minutes, n) in enumerate(SAMPLES)
    ]
    await write_records(session, records=records)


async def series(
    session: AsyncSession, location_id: int, bucket: Bucket, limit: int = 100, days: int = 3
) -> HistoryPage:
    return await history(
        session,
        location_id=location_id,
        label="syringe",
        since=T0 - timedelta(hours=8),
        until=T0 + timedelta(days=days),
        bucket=bucket,
        limit=limit,
    )


def figures(page: HistoryPage) -> list[tuple[int, int, int, int, int]]:
    return [(p.start.day, p.start.hour, p.samples, p.min_count, p.max_count) for p in page.points]


@pytest.mark.usefixtures("recorded")
async def test_hour_buckets(session: AsyncSession, location_id: int) -> None:
    page = await series(session, location_id, Bucket.HOUR)
    assert figures(page) == [(1, 8, 3, 0, 4), (1, 9, 1, 6, 6), (1, 10, 1, 1, 1), (2, 8, 1, 3, 3)]
    assert [p.total for p in page.points] == [6, 6, 1, 3]
    assert page.next_cursor is None


@pytest.mark.usefixtures("recorded")
async def test_minute_and_day_buckets(session: AsyncSession, location_id: int) -> None:
    minutes = await series(session, location_id, Bucket.MINUTE)
    days = await series(session, location_id, Bucket.DAY)
    assert [p.start - T0 for p in minutes.points][:2] == [timedelta(0), timedelta(minutes=10)]
    assert len(minutes.points) == len(SAMPLES)
    assert figures(days) == [(1, 0, 5, 0, 6), (2, 0, 1, 3, 3)]


@pytest.mark.usefixtures("recorded")
async def test_pages_follow_the_cursor(session: AsyncSession, location_id: int) -> None:
    first = await series(session, location_id, Bucket.HOUR, limit=2)
    assert first.next_cursor == T0 + timedelta(hours=2)
    rest = await history(
        session,
        location_id=location_id,
        label="syringe",
        since=first.next_cursor,
        until=T0 + timedelta(days=3),
        bucket=Bucket.HOUR,
        limit=2,
    )
    whole = await series(session, location_id, Bucket.HOUR)
    assert first.points + rest.points == whole.points
    assert rest.next_cursor is None


@pytest.mark.usefixtures("recorded")
async def test_cleanup_keeps_daily_aggregates(session: AsyncSession, location_id: int) -> None:
    before = await series(session, location_id, Bucket.DAY)

    # Three days after T0 with 2 days kept: the day of T0 goes, the day after stays.
    report = await cleanup(session, older_than_days=2, now=T0 + timedelta(days=3))

    assert report.records_deleted == len(SAMPLES) - 1
    assert report.cutoff == (T0 + timedelta(days=1)).replace(hour=0)
    remaining = await session.scalar(select(func.count()).select_from(DetectionRecord))
    assert remaining == 1
    assert await series(session, location_id, Bucket.DAY) == before
    hours = await series(session, location_id, Bucket.HOUR)
    assert figures(hours) == [(2, 8, 1, 3, 3)]  # finer buckets only within retention


@pytest.mark.usefixtures("recorded")
async def test_late_record_for_an_aggregated_day_is_merged(
    session: AsyncSession, location_id: int
) -> None:
    await cleanup(session, older_than_days=2, now=T0 + timedelta(days=3))
    await write_records(session, records=[count_record("late", location_id, 90, {"syringe": 9})])

    (day, _) = (await series(session, location_id, Bucket.DAY)).points
    assert (day.samples, day.min_count, day.max_count, day.total) == (6, 0, 9, 22)

    await cleanup(session, older_than_days=2, now=T0 + timedelta(days=3))
    (again, _) = (await series(session, location_id, Bucket.DAY)).points
    assert again == day
