"""Liveness and readiness."""

import asyncio

from fastapi import APIRouter

from serve_app.api.context import Context
from serve_app.api.schemas.detection import (
    ErrorResponse,
    HealthResponse,
    ModelRefOut,
    ReadyResponse,
    StoreStatusOut,
)
from serve_app.core.errors import NotReadyError

router = APIRouter(prefix="/v1", tags=["health"])
READY_TIMEOUT_S = 2.0


@router.get("/health", summary="Liveness: the ingress answers")
async def health() -> HealthResponse:
    return HealthResponse()


@router.get(
    "/ready",
    summary="Readiness: a detector has its model loaded and warmed up; the inventory store's state",
    responses={503: {"model": ErrorResponse, "description": "not ready yet"}},
)
async def ready(context: Context) -> ReadyResponse:
    try:
        info = await asyncio.wait_for(context.pipeline.models(), READY_TIMEOUT_S)
    except TimeoutError:
        raise NotReadyError(f"no detector answered within {READY_TIMEOUT_S:.0f} s") from None
    active = info.active.ref
    store = await context.inventory.status()
    return ReadyResponse(
        model=ModelRefOut(name=active.name, version=active.version),
        device=info.device,
        store=StoreStatusOut(status=store.status, spooled=store.spooled),
    )
