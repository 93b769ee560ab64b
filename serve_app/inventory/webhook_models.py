"""ORM models of the webhooks: the subscriptions an admin made, and the outbox of events waiting
to be delivered to them (schema: migration 0006)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from serve_app.inventory.models import Base, BigId, UtcDateTime

MAX_URL_CHARS = 2048
MAX_ERROR_CHARS = 500


class EventType(StrEnum):
    BELOW_PAR = "below_par"  # a (location, label) dropped below its par level
    REPLENISHMENT_REPORT = "replenishment_report"  # every report interval: what is below par


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (or in one, while leased)
    DELIVERED = "delivered"  # a 2xx came back
    DEAD = "dead"  # every attempt failed: kept, never sent again


class WebhookSubscription(Base):
    """Where events are POSTed, which types, and the secret that signs them.

    The secret is kept as is (HMAC needs it to sign): the API shows it once, at creation.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(MAX_URL_CHARS))
    event_types: Mapped[str] = mapped_column(String(200))  # comma-separated EventType values
    secret: Mapped[str] = mapped_column(String(100))
    report_interval_s: Mapped[int | None] = mapped_column(Integer)
    next_report_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    @property
    def events(self) -> list[EventType]:
        return [EventType(name) for name in self.event_types.split(",")]


class WebhookOutbox(Base):
    """One event for one subscription: the exact body every attempt sends, and its delivery.

    A dispatcher leases a row (`lease_owner`, `lease_expires_at`) while it sends it, so that
    no other one sends it at the same time; a lease that ran out (its dispatcher died) is
    free again.
    """

    __tablename__ = "webhook_outbox"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'delivered', 'dead')", name="ck_webhook_outbox_state"
        ),
        UniqueConstraint("event_id", "subscription_id", name="uq_webhook_outbox_event"),
        Index("ix_webhook_outbox_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))  # a UUID, the same for every subscription
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_type: Mapped[str] = mapped_column(String(50))
    payload: Mapped[str] = mapped_column(Text)  # the JSON body, byte for byte what is sent
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(String(MAX_ERROR_CHARS))
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
