"""A camera's zones, each with its bin location and the par levels of the bin's items."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.core.errors import ConflictError, InvalidParameterError, NotFoundError
from serve_app.inventory.catalog import get_location
from serve_app.inventory.models import (
    DailyCount,
    DetectionRecord,
    Location,
    LocationKind,
    ParLevel,
    Stock,
    Zone,
)
from serve_app.inventory.par_levels import set_location_pars
from serve_app.inventory.zones import Point
from serve_app.inventory.zones import Zone as DetectZone


@dataclass(frozen=True)
class ZoneSpec:
    """What an admin says of a zone. `position` None: after the camera's other zones (on
    create), unchanged (on replace)."""

    name: str
    polygon: tuple[Point, ...]
    pars: dict[str, int]
    position: int | None = None


@dataclass(frozen=True)
class BinZone:
    bin: Location
    zone: Zone
    pars: dict[str, int]

    @property
    def polygon(self) -> tuple[Point, ...]:
        return tuple((x, y) for x, y in json.loads(self.zone.polygon))

    def for_detection(self) -> DetectZone:
        return DetectZone(
            bin_id=self.bin.id,
            name=self.bin.name,
            position=self.zone.position,
            polygon=self.polygon,
            labels=tuple(sorted(self.pars)),
        )


async def create_zone(session: AsyncSession, *, camera_location_id: int, spec: ZoneSpec) -> BinZone:
    camera = await get_location(session, location_id=camera_location_id)
    if camera.kind == LocationKind.BIN:
        raise InvalidParameterError("a bin has no zones: give the location of its camera")
    now = datetime.now(UTC)
    position = spec.position
    if position is None:
        position = await _next_position(session, camera.id)
    bin_location = Location(
        kind=LocationKind.BIN.value,
        name=spec.name,
        camera_id=None,
        parent_id=camera.id,
        created_at=now,
    )
    session.add(bin_location)
    await _flush_named(session, spec.name)
    zone = Zone(
        bin_id=bin_location.id,
        camera_location_id=camera.id,
        position=position,
        polygon=json.dumps(spec.polygon),
        updated_at=now,
    )
    session.add(zone)
    await set_location_pars(session, location_id=bin_location.id, pars=spec.pars)
    await session.commit()
    return BinZone(bin_location, zone, dict(spec.pars))


async def replace_zone(session: AsyncSession, *, bin_id: int, spec: ZoneSpec) -> BinZone:
    found = await get_zone(session, bin_id=bin_id)
    found.bin.name = spec.name
    await _flush_named(session, spec.name)
    found.zone.polygon = json.dumps(spec.polygon)
    if spec.position is not None:
        found.zone.position = spec.position
    found.zone.updated_at = datetime.now(UTC)
    await set_location_pars(session, location_id=bin_id, pars=spec.pars)
    await session.commit()
    return BinZone(found.bin, found.zone, dict(spec.pars))


async def delete_zone(session: AsyncSession, *, bin_id: int) -> None:
    """Delete the zone and its bin with all that was recorded for the bin."""
    await get_zone(session, bin_id=bin_id)
    for model in (ParLevel, Stock, DailyCount, DetectionRecord):  # counts cascade with records
        await session.execute(delete(model).where(model.location_id == bin_id))
    await session.execute(delete(Zone).where(Zone.bin_id == bin_id))
    await session.execute(delete(Location).where(Location.id == bin_id))
    await session.commit()


async def get_zone(session: AsyncSession, *, bin_id: int) -> BinZone:
    zones = await _bin_zones(session, Zone.bin_id == bin_id)
    if not zones:
        raise NotFoundError(f"no zone with id {bin_id}")
    return zones[0]


async def list_zones(session: AsyncSession, *, camera_location_id: int) -> list[BinZone]:
    await get_location(session, location_id=camera_location_id)
    return await _bin_zones(session, Zone.camera_location_id == camera_location_id)


async def zones_for_detection(
    session: AsyncSession, *, camera_location_id: int
) -> tuple[DetectZone, ...]:
    zones = await _bin_zones(session, Zone.camera_location_id == camera_location_id)
    return tuple(found.for_detection() for found in zones)


async def _bin_zones(session: AsyncSession, which: ColumnElement[bool]) -> list[BinZone]:
    rows = (
        (
            await session.execute(
                select(Location, Zone)
                .join(Zone, Zone.bin_id == Location.id)
                .where(which)
                .order_by(Zone.position, Zone.bin_id)
            )
        )
        .tuples()
        .all()
    )
    if not rows:
        return []
    pars: dict[int, dict[str, int]] = {location.id: {} for location, _ in rows}
    levels = select(ParLevel).where(ParLevel.location_id.in_(pars))
    for level in await session.scalars(levels):
        pars[level.location_id][level.label] = level.par_level
    return [BinZone(location, zone, pars[location.id]) for location, zone in rows]


async def _next_position(session: AsyncSession, camera_location_id: int) -> int:
    last = await session.scalar(
        select(func.max(Zone.position)).where(Zone.camera_location_id == camera_location_id)
    )
    return 0 if last is None else last + 1


async def _flush_named(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise ConflictError(f"a location named {name!r} exists") from None
