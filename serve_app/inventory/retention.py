"""Retention: raw detection records older than N days become daily aggregates."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.inventory.models import DailyCount, DetectionCount, DetectionRecord, Stock
from serve_app.inventory.queries import Bucket, bucket_start
from serve_app.inventory.upsert import insert_for


@dataclass(frozen=True)
class CleanupReport:
    cutoff: datetime
    records_deleted: int
    aggregates_written: int


async def cleanup(session: AsyncSession, *, older_than_days: int, now: datetime) -> CleanupReport:
    """Aggregate, then delete, every record of a UTC day that ended `older_than_days` ago.

    The cutoff is a UTC midnight so that a day is aggregated whole; a record that arrives
    later for an aggregated day (a late spool replay) is added to its aggregate next time.
    """
    cutoff = datetime.combine((now - timedelta(days=older_than_days)).date(), time(), UTC)
    old = DetectionRecord.recorded_at < cutoff
    day = bucket_start(session, Bucket.DAY)

    totals = (
        await session.execute(
            select(DetectionRecord.location_id, day, func.count())
            .where(old)
            .group_by(DetectionRecord.location_id, day)
        )
    ).tuples()
    per_label = (
        await session.execute(
            select(
                DetectionRecord.location_id,
                day,
                DetectionCount.label,
                func.count(),
                func.sum(DetectionCount.count),
                func.min(DetectionCount.count),
                func.max(DetectionCount.count),
            )
            .join(DetectionCount, DetectionCount.record_id == DetectionRecord.id)
            .where(old)
            .group_by(DetectionRecord.location_id, day, DetectionCount.label)
        )
    ).tuples()
    seen: dict[tuple[int, datetime, str], tuple[int, int, int, int]] = {
        (location, start, label): (present, int(total), low, high)
        for location, start, label, present, total, low, high in per_label
    }
    labels: dict[int, set[str]] = defaultdict(set)
    for location, _start, label in seen:
        labels[location].add(label)
    for location, label in (await session.execute(select(Stock.location_id, Stock.label))).tuples():
        labels[location].add(label)

    rows = []
    for location, start, samples in totals:
        for label in sorted(labels[location]):
            present, total, low, high = seen.get((location, start, label), (0, 0, 0, 0))
            rows.append(
                {
                    "location_id": location,
                    "label": label,
                    "day": start.date(),
                    "samples": samples,
                    "total": total,
                    # Records without the label counted 0 of it.
                    "min_count": low if present == samples else 0,
                    "max_count": high,
                }
            )
    if rows:
        statement = insert_for(session, DailyCount)
        excluded = statement.excluded
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["location_id", "label", "day"],
                set_={
                    "samples": DailyCount.samples + excluded.samples,
                    "total": DailyCount.total + excluded.total,
                    "min_count": case(
                        (DailyCount.min_count < excluded.min_count, DailyCount.min_count),
                        else_=excluded.min_count,
                    ),
                    "max_count": case(
                        (DailyCount.max_count > excluded.max_count, DailyCount.max_count),
                        else_=excluded.max_count,
                    ),
                },
            ),
            rows,
        )
    old_ids = select(DetectionRecord.id).where(old).scalar_subquery()
    await session.execute(delete(DetectionCount).where(DetectionCount.record_id.in_(old_ids)))
    deleted = await session.execute(delete(DetectionRecord).where(old))
    await session.commit()
    return CleanupReport(
        cutoff=cutoff,
        records_deleted=int(getattr(deleted, "rowcount", 0)),
        aggregates_written=len(rows),
    )
