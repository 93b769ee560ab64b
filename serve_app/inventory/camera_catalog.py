"""The cameras the snapshot poller polls: one per location at most."""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.core.errors import ConflictError, InvalidParameterError, NotFoundError
from serve_app.inventory.catalog import get_location
from serve_app.inventory.models import Camera, CameraSourceKind, LocationKind


@dataclass(frozen=True)
class CameraSpec:
    location_id: int
    kind: CameraSourceKind
    url: str
    credential: str | None
    interval_s: float
    frames_per_poll: int
    frame_gap_s: float
    enabled: bool


async def create_camera(session: AsyncSession, *, spec: CameraSpec) -> Camera:
    await _check_location(session, spec.location_id)
    camera = Camera(**_columns(spec))
    session.add(camera)
    await _commit_for(session, spec.location_id)
    return camera


async def replace_camera(session: AsyncSession, *, camera_id: int, spec: CameraSpec) -> Camera:
    camera = await get_camera(session, camera_id=camera_id)
    await _check_location(session, spec.location_id)
    for column, value in _columns(spec).items():
        setattr(camera, column, value)
    await _commit_for(session, spec.location_id)
    return camera


async def delete_camera(session: AsyncSession, *, camera_id: int) -> None:
    await get_camera(session, camera_id=camera_id)
    await session.execute(delete(Camera).where(Camera.id == camera_id))
    await session.commit()


async def get_camera(session: AsyncSession, *, camera_id: int) -> Camera:
    camera = await session.get(Camera, camera_id)
    if camera is None:
        raise NotFoundError(f"no camera with id {camera_id}")
    return camera


async def list_cameras(session: AsyncSession, *, enabled_only: bool = False) -> list[Camera]:
    statement = select(Camera).order_by(Camera.id)
    if enabled_only:
        statement = statement.where(Camera.enabled.is_(True))
    return list(await session.scalars(statement))


def _columns(spec: CameraSpec) -> dict[str, object]:
    return {
        "location_id": spec.location_id,
        "kind": spec.kind.value,
        "url": spec.url,
        "credential": spec.credential,
        "interval_s": spec.interval_s,
        "frames_per_poll": spec.frames_per_poll,
        "frame_gap_s": spec.frame_gap_s,
        "enabled": spec.enabled,
        "updated_at": datetime.now(UTC),
    }


async def _check_location(session: AsyncSession, location_id: int) -> None:
    location = await get_location(session, location_id=location_id)
    if location.kind == LocationKind.BIN:
        raise InvalidParameterError("a camera is at a location, not at a zone's bin")


async def _commit_for(session: AsyncSession, location_id: int) -> None:
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ConflictError(f"location {location_id} has a camera already") from None
