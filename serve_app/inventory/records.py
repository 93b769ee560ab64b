"""Writing detection records: idempotent per caller and key, and the stock they imply."""

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.core.errors import IdempotencyConflictError
from serve_app.core.payloads import DetectionResult
from serve_app.inventory.models import DetectionCount, DetectionRecord, Stock
from serve_app.inventory.outbox import BelowPar, add_below_par
from serve_app.inventory.par_levels import pars_at
from serve_app.inventory.upsert import insert_for

# What writing a record did: stored it, or found its key taken by the same request (a
# duplicate: same location and image) or by another one (a conflict); neither is stored.
WriteOutcome = Literal["written", "duplicate", "conflict"]
# The caller of records made before keys were scoped (migration 0003): no request is made as it.
LEGACY_CALLER = "unscoped"


@dataclass(frozen=True)
class CountRecord:
    """One detection's counts at one location: what the API records and the spool keeps.

    `(caller, idempotency_key)` identifies it; `request_id` is the trace id of its request.
    """

    caller: str
    idempotency_key: str
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
        caller: str,
        idempotency_key: str,
        request_id: str,
        location_id: int,
        image: bytes,
        result: DetectionResult,
        latency_ms: float,
        counts: dict[str, int] | None = None,
    ) -> "CountRecord":
        return cls(
            caller=caller,
            idempotency_key=idempotency_key,
            request_id=request_id,
            location_id=location_id,
            recorded_at=datetime.now(UTC),
            model_name=result.model.name,
            model_version=result.model.version,
            image_sha256=hashlib.sha256(image).hexdigest(),
            counts=dict(result.counts if counts is None else counts),
            latency_ms=round(latency_ms, 2),
        )

    @property
    def scoped_key(self) -> str:
        # A caller never contains "/": the key after it may hold anything.
        return f"{self.caller}/{self.idempotency_key}"

    def repeats(self, location_id: int, image_sha256: str) -> bool:
        """Whether a record of this location and image is this one made again (a retry)."""
        return (location_id, image_sha256) == (self.location_id, self.image_sha256)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "recorded_at": self.recorded_at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "CountRecord":
        # A spool written before keys were scoped holds records keyed by their request id.
        keyed = {"caller": LEGACY_CALLER, "idempotency_key": data["request_id"]} | data
        return cls(**{**keyed, "recorded_at": datetime.fromisoformat(data["recorded_at"])})


def idempotency_conflict(record: CountRecord) -> IdempotencyConflictError:
    return IdempotencyConflictError(
        f"the idempotency key {record.idempotency_key!r} was used for another image or "
        "location: send a new key for a new detection"
    )


async def write_records(session: AsyncSession, *, records: list[CountRecord]) -> list[WriteOutcome]:
    """Insert the records in order and update stock; a key the caller used before is not
    written again (`duplicate` or `conflict`). Stock that a record takes below par becomes a
    webhook event in the same transaction. Commits once for all of them."""
    outcomes: list[WriteOutcome] = []
    went_below_par: list[BelowPar] = []
    for record in records:
        statement = (
            insert_for(session, DetectionRecord)
            .values(
                caller=record.caller,
                idempotency_key=record.idempotency_key,
                request_id=record.request_id,
                location_id=record.location_id,
                recorded_at=record.recorded_at,
                model_name=record.model_name,
                model_version=record.model_version,
                image_sha256=record.image_sha256,
                latency_ms=record.latency_ms,
            )
            .on_conflict_do_nothing(index_elements=["caller", "idempotency_key"])
            .returning(DetectionRecord.id)
        )
        record_id = (await session.execute(statement)).scalar_one_or_none()
        if record_id is None:
            # None: it was there a moment ago, and retention has deleted it since.
            outcomes.append(await recorded_before(session, record) or "duplicate")
            continue
        outcomes.append("written")
        if record.counts:
            await session.execute(
                insert_for(session, DetectionCount),
                [
                    {"record_id": record_id, "label": label, "count": count}
                    for label, count in record.counts.items()
                ],
            )
        went_below_par += await _update_stock(session, record)
    await add_below_par(session, went_below_par)
    await session.commit()
    return outcomes


async def recorded_before(session: AsyncSession, record: CountRecord) -> WriteOutcome | None:
    """`duplicate` or `conflict` when the record's caller has used its key, else None."""
    earlier = (
        await session.execute(
            select(DetectionRecord.location_id, DetectionRecord.image_sha256).where(
                DetectionRecord.caller == record.caller,
                DetectionRecord.idempotency_key == record.idempotency_key,
            )
        )
    ).one_or_none()
    if earlier is None:
        return None
    return "duplicate" if record.repeats(*earlier) else "conflict"


async def _update_stock(session: AsyncSession, record: CountRecord) -> list[BelowPar]:
    """Update the location's stock to the record's counts; what went below par with it."""
    known = await session.scalars(
        select(Stock.label).where(Stock.location_id == record.location_id)
    )
    counts = {label: 0 for label in known} | record.counts  # a label not seen now counts 0
    if not counts:
        return []
    pars = await pars_at(session, location_id=record.location_id, labels=counts)
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
    updated = await session.execute(
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
        ).returning(Stock.label, Stock.count, Stock.below_par_since),
        rows,
    )
    # A low-stock period this record started is one that starts at its time; one that began
    # earlier (or with a concurrent record) was reported by the record that began it.
    return [
        BelowPar(record.location_id, label, count, par_level, since)
        for label, count, since in updated.tuples()
        if since == record.recorded_at and (par_level := pars.get(label)) is not None
    ]


def _below_par_since(count: int, par_level: int | None, at: datetime) -> datetime | None:
    return at if par_level is not None and count < par_level else None


async def items_below_par(session: AsyncSession, *, location_id: int) -> int:
    statement = select(func.count()).where(
        Stock.location_id == location_id, Stock.below_par_since.is_not(None)
    )
    return int((await session.execute(statement)).scalar_one())
