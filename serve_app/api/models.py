"""The model registry over HTTP: list versions with their metrics, switch the active one."""

from fastapi import APIRouter, status

from serve_app.api.context import Context
from serve_app.api.guards import ADMIN, READ
from serve_app.api.responses import INVALID, MALFORMED_BODY, NOT_READY, Outcome
from serve_app.api.schemas.detection import (
    ActivateModelRequest,
    ActivateModelResponse,
    ModelRefOut,
    ModelsResponse,
)
from serve_app.core.errors import (
    ControlPlaneError,
    ModelLoadError,
    ModelNotFoundError,
    OverloadedError,
    UpstreamTimeoutError,
)
from serve_app.core.payloads import ModelRef

router = APIRouter(prefix="/v1/models", tags=["models"])
_BACKEND_BUSY = Outcome.of(OverloadedError, "the detectors are at capacity")
_NO_ANSWER = Outcome.of(UpstreamTimeoutError, "no detector answered in time")


@router.get(
    "",
    summary="Registered model versions with their metrics, and the active one",
    **READ.route(_BACKEND_BUSY, NOT_READY, _NO_ANSWER),
)
async def models(context: Context) -> ModelsResponse:
    return ModelsResponse.from_info(await context.pipeline.models())


@router.put(
    "/active",
    summary="Switch every detector replica to another registered version, without restarts",
    status_code=status.HTTP_202_ACCEPTED,
    **ADMIN.route(
        Outcome.of(ModelNotFoundError, "no such model under the models root"),
        Outcome.of(
            ControlPlaneError,
            "Ray's control plane refused the change, did not answer in time, "
            "or the application has no declared Serve config",
        ),
        Outcome.of(ModelLoadError, "the version cannot be loaded (without Ray Serve)"),
        _BACKEND_BUSY,
        NOT_READY,
        _NO_ANSWER,
        INVALID,
        MALFORMED_BODY,
    ),
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
