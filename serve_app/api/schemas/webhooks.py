"""Wire models of the webhook routes of API v1."""

from datetime import datetime
from typing import Annotated

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, UrlConstraints, model_validator

from serve_app.inventory.webhook_models import (
    MAX_URL_CHARS,
    DeliveryState,
    EventType,
    WebhookSubscription,
)
from serve_app.inventory.webhook_subscriptions import DeliveryCounts

MIN_REPORT_INTERVAL_S = 60
MAX_REPORT_INTERVAL_S = 30 * 24 * 3600

WebhookUrl = Annotated[
    AnyUrl,
    UrlConstraints(max_length=MAX_URL_CHARS, allowed_schemes=["http", "https"], host_required=True),
]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl = Field(
        description="http or https; each event is POSTed here",
        examples=["https://erp.example.com/hooks/medinv"],
    )
    events: list[EventType] = Field(
        min_length=1,
        max_length=len(EventType),
        description="`below_par`: a count went below its item's par level; "
        "`replenishment_report`: every `report_interval_s`, what is below par",
    )
    report_interval_s: int | None = Field(
        default=None,
        ge=MIN_REPORT_INTERVAL_S,
        le=MAX_REPORT_INTERVAL_S,
        description="seconds between replenishment reports; needed with that event, "
        "refused without it",
    )

    @model_validator(mode="after")
    def _interval_with_reports(self) -> "WebhookCreate":
        reports = EventType.REPLENISHMENT_REPORT in self.events
        if reports != (self.report_interval_s is not None):
            raise ValueError(
                "report_interval_s is needed with the replenishment_report event, and only then"
            )
        return self


class DeliveriesOut(BaseModel):
    pending: int = Field(description="waiting for an attempt, or being sent")
    delivered: int = Field(description="answered 2xx")
    dead: int = Field(description="every attempt failed: not sent again")


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[EventType]
    report_interval_s: int | None
    next_report_at: datetime | None = Field(description="when the next report is due")
    created_at: datetime
    deliveries: DeliveriesOut = Field(description="this subscription's events by state")

    @classmethod
    def of(cls, subscription: WebhookSubscription, counts: DeliveryCounts) -> "WebhookOut":
        return cls(
            id=subscription.id,
            url=subscription.url,
            events=subscription.events,
            report_interval_s=subscription.report_interval_s,
            next_report_at=subscription.next_report_at,
            created_at=subscription.created_at,
            deliveries=DeliveriesOut(
                pending=counts[DeliveryState.PENDING],
                delivered=counts[DeliveryState.DELIVERED],
                dead=counts[DeliveryState.DEAD],
            ),
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="signs every event (`Medinv-Signature`); shown in this answer only, "
        "never again: keep it"
    )


class WebhooksResponse(BaseModel):
    webhooks: list[WebhookOut]
