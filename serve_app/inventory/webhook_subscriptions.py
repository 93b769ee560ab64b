"""Webhook subscriptions: create (the signing secret is returned once), list, get, delete."""

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.core.errors import NotFoundError
from serve_app.inventory.webhook_models import (
    DeliveryState,
    EventType,
    WebhookOutbox,
    WebhookSubscription,
)

SECRET_PREFIX = "whsec_"

# Per subscription, how many of its events are in each delivery state.
DeliveryCounts = dict[DeliveryState, int]


async def create_subscription(
    session: AsyncSession, *, url: str, events: Iterable[EventType], report_interval_s: int | None
) -> WebhookSubscription:
    now = datetime.now(UTC)
    first_report = None if report_interval_s is None else now + timedelta(seconds=report_interval_s)
    subscription = WebhookSubscription(
        url=url,
        event_types=",".join(sorted(set(events))),
        secret=f"{SECRET_PREFIX}{secrets.token_urlsafe(32)}",
        report_interval_s=report_interval_s,
        next_report_at=first_report,
        created_at=now,
    )
    session.add(subscription)
    await session.commit()
    return subscription


async def list_subscriptions(session: AsyncSession) -> list[WebhookSubscription]:
    return list(await session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


async def get_subscription(session: AsyncSession, *, subscription_id: int) -> WebhookSubscription:
    subscription = await session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFoundError(f"no webhook with id {subscription_id}")
    return subscription


async def delete_subscription(session: AsyncSession, *, subscription_id: int) -> None:
    """Delete the subscription and (the foreign key cascades) its events, delivered or not:
    none is sent after this."""
    deleted = await session.execute(
        delete(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
    )
    if deleted.rowcount == 0:  # type: ignore[attr-defined]
        await session.rollback()
        raise NotFoundError(f"no webhook with id {subscription_id}")
    await session.commit()


async def delivery_counts(
    session: AsyncSession, *, subscription_ids: list[int]
) -> dict[int, DeliveryCounts]:
    counts: dict[int, DeliveryCounts] = {
        subscription_id: dict.fromkeys(DeliveryState, 0) for subscription_id in subscription_ids
    }
    statement = (
        select(WebhookOutbox.subscription_id, WebhookOutbox.state, func.count())
        .where(WebhookOutbox.subscription_id.in_(subscription_ids))
        .group_by(WebhookOutbox.subscription_id, WebhookOutbox.state)
    )
    for subscription_id, state, count in (await session.execute(statement)).tuples():
        counts[subscription_id][DeliveryState(state)] = count
    return counts


async def subscribers(session: AsyncSession, event_type: EventType) -> list[int]:
    """The ids of the subscriptions to this event type."""
    rows = await session.execute(select(WebhookSubscription.id, WebhookSubscription.event_types))
    return [
        subscription_id
        for subscription_id, event_types in rows.tuples()
        if event_type in event_types.split(",")
    ]
