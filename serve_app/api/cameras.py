"""The cameras the snapshot poller polls (admin to register), and each one's poll status."""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from serve_app.api.context import Context, StoreSession
from serve_app.api.guards import ADMIN, READ
from serve_app.api.responses import INVALID, MALFORMED_BODY, STORE_DOWN, Outcome
from serve_app.api.schemas.cameras import CameraIn, CameraOut, CamerasResponse, CameraStatusOut
from serve_app.core.errors import ConflictError, NotFoundError, NotReadyError
from serve_app.inventory import camera_catalog
from serve_app.inventory.models import MAX_INTEGER

router = APIRouter(prefix="/v1", tags=["cameras"])
CameraId = Annotated[int, Path(ge=1, le=MAX_INTEGER)]
NO_SUCH_CAMERA = Outcome.of(NotFoundError, "no camera has this id")
WRITE_OUTCOMES = (
    Outcome.of(NotFoundError, "no such camera, or no such `location_id`"),
    Outcome.of(ConflictError, "the location has a camera already"),
    INVALID,
    MALFORMED_BODY,
    STORE_DOWN,
)


@router.post(
    "/cameras", status_code=201, summary="Register a camera", **ADMIN.route(*WRITE_OUTCOMES)
)
async def create_camera(body: CameraIn, context: Context, session: StoreSession) -> CameraOut:
    context.cameras.policy.check(body)
    return CameraOut.of(await camera_catalog.create_camera(session, spec=body.spec()))


@router.get("/cameras", summary="All cameras", **READ.route(STORE_DOWN))
async def list_cameras(session: StoreSession) -> CamerasResponse:
    cameras = await camera_catalog.list_cameras(session)
    return CamerasResponse(cameras=[CameraOut.of(camera) for camera in cameras])


@router.get(
    "/cameras/{camera_id}",
    summary="One camera",
    **READ.route(NO_SUCH_CAMERA, INVALID, STORE_DOWN),
)
async def get_camera(camera_id: CameraId, session: StoreSession) -> CameraOut:
    return CameraOut.of(await camera_catalog.get_camera(session, camera_id=camera_id))


@router.put(
    "/cameras/{camera_id}",
    summary="Replace a camera's registration",
    **ADMIN.route(*WRITE_OUTCOMES),
)
async def replace_camera(
    camera_id: CameraId, body: CameraIn, context: Context, session: StoreSession
) -> CameraOut:
    context.cameras.policy.check(body)
    camera = await camera_catalog.replace_camera(session, camera_id=camera_id, spec=body.spec())
    return CameraOut.of(camera)


@router.delete(
    "/cameras/{camera_id}",
    status_code=204,
    summary="Stop polling a camera and forget it (its records stay)",
    response_class=Response,
    **ADMIN.route(NO_SUCH_CAMERA, INVALID, STORE_DOWN),
)
async def delete_camera(camera_id: CameraId, session: StoreSession) -> Response:
    await camera_catalog.delete_camera(session, camera_id=camera_id)
    return Response(status_code=204)


@router.get(
    "/cameras/{camera_id}/status",
    summary="A camera's polls: last success, last error, next poll",
    **READ.route(
        NO_SUCH_CAMERA,
        INVALID,
        STORE_DOWN,
        Outcome.of(NotReadyError, "no camera poller runs beside this API, or it is starting"),
    ),
)
async def camera_status(
    camera_id: CameraId, context: Context, session: StoreSession
) -> CameraStatusOut:
    camera = await camera_catalog.get_camera(session, camera_id=camera_id)
    if context.cameras.statuses is None:
        raise NotReadyError("no camera poller runs beside this API")
    return CameraStatusOut.of(camera, await context.cameras.statuses.status(camera_id))
