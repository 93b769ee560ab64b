"""A camera location's zones: CRUD of the polygons that are its bins."""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from serve_app.api.context import StoreSession
from serve_app.api.guards import ADMIN, READ
from serve_app.api.locations import NO_SUCH_LOCATION, LocationId
from serve_app.api.responses import INVALID, MALFORMED_BODY, STORE_DOWN, Outcome
from serve_app.api.schemas.zones import ZoneIn, ZoneOut, ZonesResponse
from serve_app.core.errors import ConflictError, NotFoundError
from serve_app.inventory import zone_catalog
from serve_app.inventory.models import MAX_INTEGER

router = APIRouter(prefix="/v1", tags=["inventory"])
ZoneId = Annotated[int, Path(ge=1, le=MAX_INTEGER, description="the zone's bin location id")]
NO_SUCH_ZONE = Outcome.of(NotFoundError, "no zone has this id")
NAME_TAKEN = Outcome.of(ConflictError, "a location has the bin's name")


@router.post(
    "/locations/{location_id}/zones",
    status_code=201,
    summary="Add a zone (a bin with its items' par levels) to a camera location",
    **ADMIN.route(NO_SUCH_LOCATION, NAME_TAKEN, INVALID, MALFORMED_BODY, STORE_DOWN),
)
async def create_zone(location_id: LocationId, body: ZoneIn, session: StoreSession) -> ZoneOut:
    created = await zone_catalog.create_zone(
        session, camera_location_id=location_id, spec=body.spec()
    )
    return ZoneOut.of(created)


@router.get(
    "/locations/{location_id}/zones",
    summary="A camera location's zones, in position order",
    **READ.route(NO_SUCH_LOCATION, INVALID, STORE_DOWN),
)
async def list_zones(location_id: LocationId, session: StoreSession) -> ZonesResponse:
    zones = await zone_catalog.list_zones(session, camera_location_id=location_id)
    return ZonesResponse(zones=[ZoneOut.of(found) for found in zones])


@router.get("/zones/{zone_id}", summary="One zone", **READ.route(NO_SUCH_ZONE, INVALID, STORE_DOWN))
async def get_zone(zone_id: ZoneId, session: StoreSession) -> ZoneOut:
    return ZoneOut.of(await zone_catalog.get_zone(session, bin_id=zone_id))


@router.put(
    "/zones/{zone_id}",
    summary="Replace a zone's name, polygon, items and par levels (and position)",
    **ADMIN.route(NO_SUCH_ZONE, NAME_TAKEN, INVALID, MALFORMED_BODY, STORE_DOWN),
)
async def replace_zone(zone_id: ZoneId, body: ZoneIn, session: StoreSession) -> ZoneOut:
    replaced = await zone_catalog.replace_zone(session, bin_id=zone_id, spec=body.spec())
    return ZoneOut.of(replaced)


@router.delete(
    "/zones/{zone_id}",
    status_code=204,
    summary="Delete a zone and its bin, with everything recorded for the bin",
    response_class=Response,
    **ADMIN.route(NO_SUCH_ZONE, INVALID, STORE_DOWN),
)
async def delete_zone(zone_id: ZoneId, session: StoreSession) -> Response:
    await zone_catalog.delete_zone(session, bin_id=zone_id)
    return Response(status_code=204)
