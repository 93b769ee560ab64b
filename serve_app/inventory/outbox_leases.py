"""Taking due events out of the webhook outbox under a lease, and settling each attempt.

A claim is one `UPDATE … WHERE` that re-checks, row by row, that the event is still pending and
its lease free: on PostgreSQL a second claim waiting on the same rows finds them taken once
the first commits (and `SKIP LOCKED` lets it take others meanwhile); SQLite runs one writer at
a time. An attempt is counted when it is claimed, so one that never got to be settled (its
replica died) counts too, and an event that kills its sender still ends dead.

Delivery is at least once: an event is marked delivered only after its 2xx, so a crash between
the two sends it again, with the same event id, once the lease has run out.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.inventory.webhook_models import (
    MAX_ERROR_CHARS,
    DeliveryState,
    WebhookOutbox,
    WebhookSubscription,
)
from serve_app.inventory.webhook_sender import Delivery

# What an attempt came to: its 2xx, a failure to retry later, or the last failure allowed.
Settled = Literal["delivered", "failed", "dead"]


@dataclass(frozen=True)
class RetryPolicy:
    backoff_base_s: float
    backoff_max_s: float
    max_attempts: int

    def delay_after(self, attempts: int) -> timedelta:
        """How long after its `attempts`-th failure an event is tried again."""
        exponent = min(attempts - 1, 64)  # beyond any cap, and no float overflow
        return timedelta(seconds=min(self.backoff_max_s, self.backoff_base_s * 2.0**exponent))


def _lease_free(now: datetime) -> ColumnElement[bool]:
    return or_(WebhookOutbox.lease_expires_at.is_(None), WebhookOutbox.lease_expires_at <= now)


async def claim_due(
    session: AsyncSession, *, owner: str, now: datetime, lease: timedelta, limit: int
) -> list[Delivery]:
    """Lease up to `limit` due events, oldest first, to `owner` until `now + lease`. Not
    committed: commit before sending them, or the lease holds nothing."""
    due = (
        select(WebhookOutbox.id)
        .where(
            WebhookOutbox.state == DeliveryState.PENDING.value,
            WebhookOutbox.next_attempt_at <= now,
            _lease_free(now),
        )
        .order_by(WebhookOutbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite has no row locks
    )
    claimed = (
        await session.execute(
            update(WebhookOutbox)
            .where(
                WebhookOutbox.id.in_(due.scalar_subquery()),
                WebhookOutbox.state == DeliveryState.PENDING.value,
                _lease_free(now),
            )
            .values(
                lease_owner=owner,
                lease_expires_at=now + lease,
                attempts=WebhookOutbox.attempts + 1,
            )
            .returning(
                WebhookOutbox.id,
                WebhookOutbox.event_id,
                WebhookOutbox.event_type,
                WebhookOutbox.payload,
                WebhookOutbox.attempts,
                WebhookOutbox.subscription_id,
            )
        )
    ).all()
    subscription_ids = {row.subscription_id for row in claimed}
    targets = {
        subscription_id: (url, secret)
        for subscription_id, url, secret in (
            await session.execute(
                select(
                    WebhookSubscription.id, WebhookSubscription.url, WebhookSubscription.secret
                ).where(WebhookSubscription.id.in_(subscription_ids))
            )
        ).tuples()
    }
    # The subscriptions are there: deleting one deletes its events, which this has locked.
    return sorted(
        (
            Delivery(
                row.id,
                row.event_id,
                row.event_type,
                row.payload,
                row.attempts,
                *targets[row.subscription_id],
            )
            for row in claimed
        ),
        key=lambda delivery: delivery.outbox_id,
    )


async def settle(
    session: AsyncSession,
    results: list[tuple[Delivery, str | None]],
    *,
    owner: str,
    now: datetime,
    policy: RetryPolicy,
) -> list[Settled]:
    """Record each attempt's result (None: delivered, else its error); not committed.

    A failure is recorded only while `owner` still holds the event: once its lease ran out,
    the event and its next attempt are another dispatcher's.
    """
    settled: list[Settled] = []
    for delivery, error in results:
        if error is None:
            outcome: Settled = "delivered"
            values = {
                "state": DeliveryState.DELIVERED.value,
                "delivered_at": now,
                "last_error": None,
            }
            held: ColumnElement[bool] = true()  # delivered, whoever holds the event now
        else:
            dead = delivery.attempts >= policy.max_attempts
            outcome = "dead" if dead else "failed"
            values = {
                "state": (DeliveryState.DEAD if dead else DeliveryState.PENDING).value,
                "next_attempt_at": now + policy.delay_after(delivery.attempts),
                "last_error": error[:MAX_ERROR_CHARS],
            }
            held = WebhookOutbox.lease_owner == owner
        await session.execute(
            update(WebhookOutbox)
            .where(
                WebhookOutbox.id == delivery.outbox_id,
                WebhookOutbox.state == DeliveryState.PENDING.value,
                held,
            )
            .values(lease_owner=None, lease_expires_at=None, **values)
        )
        settled.append(outcome)
    return settled


async def pending_events(session: AsyncSession) -> int:
    statement = select(func.count()).where(WebhookOutbox.state == DeliveryState.PENDING.value)
    return int((await session.execute(statement)).scalar_one())
