"""Liveness and readiness."""

from fastapi import APIRouter

from serve_app.api.context import Context
from serve_app.api.responses import NOT_READY, error_responses
from serve_app.api.schemas.detection import (
    HealthResponse,
    ModelRefOut,
    ReadyResponse,
    StoreStatusOut,
)

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", summary="Liveness: the ingress answers")
async def health() -> HealthResponse:
    return HealthResponse()


@router.get(
    "/ready",
    summary="Readiness: a detector has its model loaded and warmed up; the inventory store's state",
    responses=error_responses(NOT_READY),
)
async def ready(context: Context) -> ReadyResponse:
    info = await context.readiness.models()
    active = info.active.ref
    store = await context.inventory.status()
    return ReadyResponse(
        model=ModelRefOut(name=active.name, version=active.version),
        device=info.device,
        store=StoreStatusOut(status=store.status, spooled=store.spooled),
    )
