"""Writing detection records: idempotent on request id, and the stock they imply."""

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.core.payloads import DetectionResult
from serve_app.inventory.models import DetectionCount, DetectionRecord, Item, Stock
from serve_app.inventory.upsert import insert_for


@dataclass(frozen=True)
class CountRecord:
    """One detection's counts at one location: what the API records and the spool keeps."""

    request_id: str
    location_id: int
    recorded_at: datetime
    model_name: str
    model_version: str
    image_sha256: str
    counts: dict[str, int]
    latency_ms: float

    @classmethod
    def from_result(
        cls,
        *,
        request_id: str,
        location_id: int,
        image: bytes,
        result: DetectionResult,
        latency_ms: float,
        counts: dict[str, int] | None = None,
    ) -> "CountRecord":
        return cls(
            request_id=request_id,
            location_id=location_id,
            recorded_at=datetime.now(UTC),
            model_name=result.model.name,
            model_version=result.model.version,
            image_sha256=hashlib.sha256(image).hexdigest(),
            counts=dict(result.counts if counts is None else counts),
            latency_ms=round(latency_ms, 2),
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "recorded_at": self.recorded_at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "CountRecord":
        return cls(**{**data, "recorded_at": datetime.fromisoformat(data["recorded_at"])})


async def write_records(session: AsyncSession, *, records: list[CountRecord]) -> int:
    """Insert the records in order and update stock; a request id seen before is skipped.

    Commits once for all of them. Returns how many were new.
    """
    inserted = 0
    for record in records:
        statement = (
            insert_for(session, DetectionRecord)
            .values(
                request_id=record.request_id,
                location_id=record.location_id,
                recorded_at=record.recorded_at,
                model_name=record.model_name,
                model_version=record.model_version,
                image_sha256=record.image_sha256,
                latency_ms=record.latency_ms,
            )
            .on_conflict_do_nothing(index_elements=["request_id"])
            .returning(DetectionRecord.id)
        )
        record_id = (await session.execute(statement)).scalar_one_or_none()
        if record_id is None:
            continue
        inserted += 1
        if record.counts:
            await session.execute(
                insert_for(session, DetectionCount),
                [
                    {"record_id": record_id, "label": label, "count": count}
                    for label, count in record.counts.items()
                ],
            )
        await _update_stock(session, record)
    await session.commit()
    return inserted


async def _update_stock(session: AsyncSession, record: CountRecord) -> None:
    known = await session.scalars(
        select(Stock.label).where(Stock.location_id == record.location_id)
    )
    counts = {label: 0 for label in known} | record.counts  # a label not seen now counts 0
    if not counts:
        return
    pars = dict(
        (await session.execute(select(Item.label, Item.par_level).where(Item.label.in_(counts))))
        .tuples()
        .all()
    )
    rows = [
        {
            "location_id": record.location_id,
            "label": label,
            "count": count,
            "updated_at": record.recorded_at,
            "below_par_since": _below_par_since(count, pars.get(label), record.recorded_at),
        }
        for label, count in counts.items()
    ]
    statement = insert_for(session, Stock)
    excluded = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["location_id", "label"],
            set_={
                "count": excluded.count,
                "updated_at": excluded.updated_at,
                # Keep the start of a low-stock period across records that stay below par.
                "below_par_since": case(
                    (excluded.below_par_since.is_(None), None),
                    else_=func.coalesce(Stock.below_par_since, excluded.below_par_since),
                ),
            },
            # A replayed older record never overwrites a newer count.
            where=Stock.updated_at <= excluded.updated_at,
        ),
        rows,
    )


def _below_par_since(count: int, par_level: int | None, at: datetime) -> datetime | None:
    return at if par_level is not None and count < par_level else None


async def items_below_par(session: AsyncSession, *, location_id: int) -> int:
    statement = select(func.count()).where(
        Stock.location_id == location_id, Stock.below_par_since.is_not(None)
    )
    return int((await session.execute(statement)).scalar_one())
