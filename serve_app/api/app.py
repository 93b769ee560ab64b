"""Assemble the FastAPI application of API v1 around any `DetectionPipeline`."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from serve_app.access.controls import AccessControls
from serve_app.api import (
    cameras,
    console,
    detect,
    fhir,
    health,
    inventory,
    items,
    locations,
    models,
    replenishment,
    stream,
    updates,
    webhooks,
    zones,
)
from serve_app.api.camera_policy import CameraService
from serve_app.api.context import ApiContext
from serve_app.api.errors import install_error_handlers
from serve_app.api.openapi import install_openapi
from serve_app.api.origin_check import OriginCheckMiddleware
from serve_app.api.request_id import RequestIdMiddleware
from serve_app.api.request_metrics import RequestMetricsMiddleware
from serve_app.cameras.config import CameraStatusSource
from serve_app.core.args import IngressArgs
from serve_app.core.pipeline import DetectionPipeline
from serve_app.core.settings import Settings
from serve_app.inventory.recorder import InventoryRecorder
from serve_app.inventory.webhook_dispatcher import WebhookDispatcher
from serve_app.state.shared_state import SharedState

DESCRIPTION = """\
Detect medical supply items (syringes, glove boxes, masks, vials, IV bags, ...) on shelf
images and count them per label.

* `POST /v1/detect` takes one image (raw body or multipart field `image`); with
  `Accept: image/jpeg` or `?format=jpeg` it answers the image with the detections drawn.
* `WS /v1/stream` takes a stream of binary frames and answers each processed frame with a
  `{"type": "result", ...}` message; when frames arrive faster than they can be processed,
  stale ones are dropped (latest wins) and counted in `dropped`. Send
  `{"type": "config", "min_score": 0.5}` to change parameters mid-stream,
  `{"type": "ping"}` for an application-level `{"type": "pong"}`.
* `POST /v1/detect?model=name:version` pins a registered version; `GET /v1/models` lists
  them with their evaluation metrics; `PUT /v1/models/active` switches the active one.
* `POST /v1/detect?location=<id>` and `WS /v1/stream?location=<id>` also record the counts
  in the inventory (`/v1/locations`, `/v1/inventory`, `/v1/alerts`, `/v1/items`).
* API keys go in `Authorization: Bearer <key>` or `X-API-Key` (**Authorize** above; a
  browser's WebSocket: the subprotocol `medinv.bearer.<base64url(key)>` beside `medinv.v1`);
  scopes `detect`, `read`, `admin`, named on each operation. 401 without a valid key where one
  is needed, 403 without the scope, 429 over the rate limit (`Retry-After`, `RateLimit-*`).
* `WS /v1/inventory/updates` pushes what any replica records (`counts`) and what is then
  below par there (`below_par`); `read` scope when auth is on.
* `POST /v1/webhooks` (admin) subscribes a URL to signed `below_par` events and periodic
  `replenishment_report`s, delivered at least once with retries (`Medinv-Signature`).
* Errors are `{"error": {"code", "message", "request_id"}}`; every response carries
  `X-Request-ID`.
* The operator console (live detection, inventory, models) is at `/console/`.
"""
logger = logging.getLogger("ray.serve")


def create_api(
    pipeline: DetectionPipeline,
    store: InventoryRecorder,
    args: IngressArgs,
    settings: Settings,
    *,
    behind_serve_proxy: bool,
    camera_statuses: CameraStatusSource | None = None,
) -> FastAPI:
    """The API of one replica around `pipeline`, with the shared state and access controls the
    settings describe (Redis-backed with `MEDINV_REDIS_URL` or `MEDINV_REDIS_SENTINELS`; they
    connect lazily)."""
    state = SharedState.open(settings, pipeline)
    access = AccessControls.open(settings, store.database, state)
    dispatcher = WebhookDispatcher.open(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not access.authenticator.required:
            logger.warning(
                "auth_required is off: detection and read routes answer without an API key "
                "(admin routes still need one). Set MEDINV_AUTH_REQUIRED=true outside a "
                "local embedded run."
            )
        await store.start()  # replays what an earlier process left in the spool
        await dispatcher.start()
        try:
            yield
        finally:
            await dispatcher.close()
            await store.close()
            await state.close()

    # With auth on, only /v1/health and /v1/ready answer without a key: no open docs either.
    docs = not access.authenticator.required
    app = FastAPI(
        lifespan=lifespan,
        title="Medical Inventory Detection API",
        version="1.3.0",
        description=DESCRIPTION,
        docs_url="/docs" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    camera_service = CameraService.of(settings, camera_statuses)
    app.state.context = ApiContext.create(pipeline, store, args, access, state, camera_service)
    app.add_middleware(RequestMetricsMiddleware, metrics=app.state.context.metrics)
    app.add_middleware(RequestIdMiddleware, echo=not behind_serve_proxy)
    if not access.authenticator.required:
        app.add_middleware(OriginCheckMiddleware, allowed=settings.ws_allowed_origins)
    install_error_handlers(app)
    routers = [detect, stream, health, models, locations, zones, items, inventory]
    routers += [cameras, replenishment, fhir, webhooks, updates, console]
    for module in routers:
        app.include_router(module.router)
    install_openapi(app, auth_required=access.authenticator.required)
    return app
