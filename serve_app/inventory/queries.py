"""Read side: current stock, low-stock alerts and bucketed history."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.inventory.models import (
    DailyCount,
    DetectionCount,
    DetectionRecord,
    Item,
    ParLevel,
    Stock,
    UtcDateTime,
)
from serve_app.inventory.par_levels import effective_par, par_join_on_item, par_join_on_location


@dataclass(frozen=True)
class StockLevel:
    location_id: int
    label: str
    display_name: str
    sku: str | None
    unit: str | None
    count: int
    par_level: int | None
    updated_at: datetime
    below_par_since: datetime | None


async def stock_levels(
    session: AsyncSession,
    *,
    location_id: int | None = None,
    label: str | None = None,
    below_par_only: bool = False,
) -> list[StockLevel]:
    statement = (
        select(Stock, Item, effective_par())
        .outerjoin(Item, par_join_on_item())
        .outerjoin(ParLevel, par_join_on_location())
        .order_by(Stock.location_id, Stock.label)
    )
    if location_id is not None:
        statement = statement.where(Stock.location_id == location_id)
    if label is not None:
        statement = statement.where(Stock.label == label)
    if below_par_only:
        statement = statement.where(Stock.below_par_since.is_not(None))
    return [
        StockLevel(
            location_id=stock.location_id,
            label=stock.label,
            display_name=item.display_name if item else stock.label,
            sku=item.sku if item else None,
            unit=item.unit if item else None,
            count=stock.count,
            par_level=par_level,
            updated_at=stock.updated_at,
            below_par_since=stock.below_par_since,
        )
        for stock, item, par_level in (await session.execute(statement)).tuples()
    ]


class Bucket(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"

    @property
    def width(self) -> timedelta:
        return {"minute": timedelta(minutes=1), "hour": timedelta(hours=1)}.get(
            self.value, timedelta(days=1)
        )


_SQLITE_FORMATS = {
    Bucket.MINUTE: "%Y-%m-%d %H:%M:00",
    Bucket.HOUR: "%Y-%m-%d %H:00:00",
    Bucket.DAY: "%Y-%m-%d 00:00:00",
}


@dataclass(frozen=True)
class HistoryPoint:
    start: datetime
    samples: int
    min_count: int
    max_count: int
    total: int

    def merged(self, other: "HistoryPoint") -> "HistoryPoint":
        return HistoryPoint(
            start=self.start,
            samples=self.samples + other.samples,
            min_count=min(self.min_count, other.min_count),
            max_count=max(self.max_count, other.max_count),
            total=self.total + other.total,
        )


@dataclass(frozen=True)
class HistoryPage:
    points: list[HistoryPoint]
    next_cursor: datetime | None


async def history(
    session: AsyncSession,
    *,
    location_id: int,
    label: str,
    since: datetime,
    until: datetime,
    bucket: Bucket,
    limit: int,
) -> HistoryPage:
    """Counts of one label at one location per bucket, oldest first, at most `limit` buckets.

    Raw records are bucketed in SQL; for day buckets the daily aggregates that retention kept
    are merged in. `next_cursor` is the `since` of the next page, None on the last one.
    """
    points: dict[datetime, HistoryPoint] = {}
    sources = [_raw_buckets(session, location_id, label, since, until, bucket, limit + 1)]
    if bucket is Bucket.DAY:
        sources.append(_daily_buckets(location_id, label, since, until, limit + 1))
    for source in sources:
        for start, *figures in (await session.execute(source)).tuples():
            if not isinstance(start, datetime):  # a daily aggregate's date
                start = datetime.combine(start, time(), UTC)
            point = HistoryPoint(start, *figures)
            previous = points.get(point.start)
            points[point.start] = previous.merged(point) if previous else point
    ordered = sorted(points.values(), key=lambda p: p.start)
    if len(ordered) <= limit:
        return HistoryPage(points=ordered, next_cursor=None)
    page = ordered[:limit]
    return HistoryPage(points=page, next_cursor=page[-1].start + bucket.width)


def _raw_buckets(
    session: AsyncSession,
    location_id: int,
    label: str,
    since: datetime,
    until: datetime,
    bucket: Bucket,
    limit: int,
) -> Select[Any]:
    start = bucket_start(session, bucket)
    count = func.coalesce(DetectionCount.count, 0)
    return (
        select(start, func.count(), func.min(count), func.max(count), func.sum(count))
        .select_from(DetectionRecord)
        .outerjoin(
            DetectionCount,
            and_(DetectionCount.record_id == DetectionRecord.id, DetectionCount.label == label),
        )
        .where(
            DetectionRecord.location_id == location_id,
            DetectionRecord.recorded_at >= since,
            DetectionRecord.recorded_at < until,
        )
        .group_by(start)
        .order_by(start)
        .limit(limit)
    )


def _daily_buckets(
    location_id: int, label: str, since: datetime, until: datetime, limit: int
) -> Select[Any]:
    first_day = since.astimezone(UTC).date()
    if datetime.combine(first_day, time(), UTC) < since:
        first_day += timedelta(days=1)  # only days that start inside the range
    return (
        select(
            DailyCount.day,
            DailyCount.samples,
            DailyCount.min_count,
            DailyCount.max_count,
            DailyCount.total,
        )
        .where(
            DailyCount.location_id == location_id,
            DailyCount.label == label,
            DailyCount.day >= first_day,
            DailyCount.day < _day_after_last_start(until),
        )
        .order_by(DailyCount.day)
        .limit(limit)
    )


def _day_after_last_start(until: datetime) -> date:
    day = until.astimezone(UTC).date()
    return day if datetime.combine(day, time(), UTC) >= until else day + timedelta(days=1)


def bucket_start(session: AsyncSession, bucket: Bucket) -> ColumnElement[datetime]:
    """The start of the bucket a record's `recorded_at` falls in, computed by the database."""
    column = DetectionRecord.recorded_at
    # Inline literals, not bound parameters: PostgreSQL only matches the GROUP BY expression
    # to the selected one when both are textually identical.
    if session.get_bind().dialect.name == "postgresql":
        expression = func.date_trunc(literal_column(f"'{bucket.value}'"), column)
    else:
        expression = func.strftime(literal_column(f"'{_SQLITE_FORMATS[bucket]}'"), column)
    return type_coerce(expression, UtcDateTime()).label("start")
