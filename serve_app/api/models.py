"""The model registry over HTTP: list versions with their metrics, switch the active one."""

from fastapi import APIRouter, status

from serve_app.api.context import Context
from serve_app.api.guards import ADMIN, READ
from serve_app.api.schemas.detection import (
    ActivateModelRequest,
    ActivateModelResponse,
    ErrorResponse,
    ModelRefOut,
    ModelsResponse,
)
from serve_app.core.payloads import ModelRef

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.get(
    "",
    summary="Registered model versions with their metrics, and the active one",
    responses={503: {"model": ErrorResponse}},
    dependencies=[READ],
)
async def models(context: Context) -> ModelsResponse:
    return ModelsResponse.from_info(await context.pipeline.models())


@router.put(
    "/active",
    summary="Switch every detector replica to another registered version, without restarts",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        404: {"model": ErrorResponse, "description": "no such model under the models root"},
        502: {
            "model": ErrorResponse,
            "description": "Ray's control plane refused the change, did not answer in time, "
            "or the application has no declared Serve config",
        },
    },
    dependencies=[ADMIN],
)
async def activate(body: ActivateModelRequest, context: Context) -> ActivateModelResponse:
    """Replicas switch within seconds; requests in flight finish on the model they started
    with, and each response names the version that produced it. Watch `GET /v1/models`."""
    requested = ModelRef.parse(body.model)
    previous = await context.pipeline.activate(requested)
    context.state.results.forget_active_model()
    return ActivateModelResponse(
        previous=ModelRefOut.from_ref(previous), requested=ModelRefOut.from_ref(requested)
    )
