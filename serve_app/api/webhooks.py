"""POST/GET/DELETE /v1/webhooks: where signed inventory events are delivered (admin only)."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from serve_app.api.context import StoreSession
from serve_app.api.guards import ADMIN
from serve_app.api.responses import INVALID, MALFORMED_BODY, STORE_DOWN, Outcome
from serve_app.api.schemas.webhooks import (
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhooksResponse,
)
from serve_app.core.errors import NotFoundError
from serve_app.inventory import webhook_subscriptions
from serve_app.inventory.models import MAX_INTEGER
from serve_app.inventory.webhook_models import DeliveryState

router = APIRouter(prefix="/v1", tags=["webhooks"])
WebhookId = Annotated[int, Path(ge=1, le=MAX_INTEGER)]
NO_SUCH_WEBHOOK = Outcome.of(NotFoundError, "no webhook has this id")


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a URL to inventory events",
    **ADMIN.route(INVALID, MALFORMED_BODY, STORE_DOWN),
)
async def create_webhook(body: WebhookCreate, session: StoreSession) -> WebhookCreated:
    """The answer holds the signing secret, the only time it is shown."""
    subscription = await webhook_subscriptions.create_subscription(
        session, url=str(body.url), events=body.events, report_interval_s=body.report_interval_s
    )
    created = WebhookOut.of(subscription, dict.fromkeys(DeliveryState, 0))
    return WebhookCreated(**created.model_dump(), secret=subscription.secret)


@router.get("/webhooks", summary="All webhook subscriptions", **ADMIN.route(STORE_DOWN))
async def list_webhooks(session: StoreSession) -> WebhooksResponse:
    subscriptions = await webhook_subscriptions.list_subscriptions(session)
    counts = await webhook_subscriptions.delivery_counts(
        session, subscription_ids=[subscription.id for subscription in subscriptions]
    )
    return WebhooksResponse(
        webhooks=[WebhookOut.of(s, counts[s.id]) for s in subscriptions],
    )


@router.get(
    "/webhooks/{webhook_id}",
    summary="One webhook subscription and its deliveries",
    **ADMIN.route(NO_SUCH_WEBHOOK, INVALID, STORE_DOWN),
)
async def get_webhook(webhook_id: WebhookId, session: StoreSession) -> WebhookOut:
    subscription = await webhook_subscriptions.get_subscription(session, subscription_id=webhook_id)
    counts = await webhook_subscriptions.delivery_counts(session, subscription_ids=[webhook_id])
    return WebhookOut.of(subscription, counts[webhook_id])


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook subscription and its undelivered events",
    **ADMIN.route(NO_SUCH_WEBHOOK, INVALID, STORE_DOWN),
)
async def delete_webhook(webhook_id: WebhookId, session: StoreSession) -> Response:
    await webhook_subscriptions.delete_subscription(session, subscription_id=webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
