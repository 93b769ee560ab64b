"""Events into the webhook outbox, in the transaction of the change they tell of.

A below-par event is added by the same transaction that writes the stock it reports, so it is
committed exactly when that stock is, and lost with nothing short of the database. Each event
gets one outbox row per subscription to its type; its body, serialized once, is what every
attempt sends.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.inventory.replenishment import replenishment_lines
from serve_app.inventory.webhook_models import (
    DeliveryState,
    EventType,
    WebhookOutbox,
    WebhookSubscription,
)
from serve_app.inventory.webhook_subscriptions import subscribers


@dataclass(frozen=True)
class BelowPar:
    """A (location, label) whose count a record took below its item's par level."""

    location_id: int
    label: str
    count: int
    par_level: int
    below_par_since: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "location_id": self.location_id,
            "label": self.label,
            "count": self.count,
            "par_level": self.par_level,
            "below_par_since": self.below_par_since.isoformat(),
        }


async def add_below_par(session: AsyncSession, changes: list[BelowPar]) -> None:
    """One `below_par` event per change, for every subscription to them; not committed."""
    if not changes:
        return
    subscription_ids = await subscribers(session, EventType.BELOW_PAR)
    for change in changes:
        await _add_event(session, EventType.BELOW_PAR, change.to_json(), subscription_ids)


async def add_due_reports(session: AsyncSession, *, now: datetime) -> int:
    """A `replenishment_report` event for each subscription whose report is due, and its next
    report one interval from now; not committed. How many were added.

    A report is claimed by moving its subscription's `next_report_at` on from the value read:
    of several replicas that find it due, one moves it and adds the report.
    """
    due = (
        await session.execute(
            select(
                WebhookSubscription.id,
                WebhookSubscription.report_interval_s,
                WebhookSubscription.next_report_at,
            ).where(WebhookSubscription.next_report_at <= now)
        )
    ).all()
    added = 0
    for subscription_id, interval_s, scheduled in due:
        assert interval_s is not None  # a subscription with a next report has an interval
        claimed = await session.execute(
            update(WebhookSubscription)
            .where(
                WebhookSubscription.id == subscription_id,
                WebhookSubscription.next_report_at == scheduled,
            )
            .values(next_report_at=now + timedelta(seconds=interval_s))
        )
        if claimed.rowcount:  # type: ignore[attr-defined]
            await _add_event(
                session, EventType.REPLENISHMENT_REPORT, await _report(session), [subscription_id]
            )
            added += 1
    return added


async def _report(session: AsyncSession) -> dict[str, Any]:
    """The replenishment list (GET /v1/replenishment's lines) as the report's data."""
    lines = [
        {
            "location_id": line.location_id,
            "location": line.location,
            "bin_id": line.bin_id,
            "bin": line.bin,
            "label": line.label,
            "sku": line.sku,
            "unit": line.unit,
            "par_level": line.par_level,
            "count": line.on_hand,
            "order_quantity": line.order_quantity,
            "counted_at": line.counted_at.isoformat(),
        }
        for line in await replenishment_lines(session)
    ]
    return {"lines": lines}


async def _add_event(
    session: AsyncSession, event_type: EventType, data: dict[str, Any], subscription_ids: list[int]
) -> None:
    if not subscription_ids:
        return
    event_id = str(uuid.uuid4())
    created_at = datetime.now(UTC)
    body = {"id": event_id, "type": event_type.value, "created_at": created_at.isoformat()}
    payload = json.dumps(body | {"data": data}, separators=(",", ":"))
    await session.execute(
        insert(WebhookOutbox),
        [
            {
                "event_id": event_id,
                "subscription_id": subscription_id,
                "event_type": event_type.value,
                "payload": payload,
                "created_at": created_at,
                "state": DeliveryState.PENDING.value,
                "attempts": 0,
                "next_attempt_at": created_at,
            }
            for subscription_id in subscription_ids
        ],
    )
