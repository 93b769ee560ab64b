"""POST/GET /v1/locations: the shelves, cabinets and rooms whose stock is recorded."""

from typing import Annotated

from fastapi import APIRouter, Path

from serve_app.api.context import StoreSession
from serve_app.api.guards import ADMIN, READ
from serve_app.api.responses import INVALID, MALFORMED_BODY, STORE_DOWN, Outcome
from serve_app.api.schemas.inventory import LocationCreate, LocationOut, LocationsResponse
from serve_app.core.errors import ConflictError, NotFoundError
from serve_app.inventory import catalog
from serve_app.inventory.models import MAX_INTEGER

router = APIRouter(prefix="/v1", tags=["inventory"])
LocationId = Annotated[int, Path(ge=1, le=MAX_INTEGER)]
NO_SUCH_LOCATION = Outcome.of(NotFoundError, "no location has this id")


@router.post(
    "/locations",
    status_code=201,
    summary="Create a location",
    **ADMIN.route(
        Outcome.of(ConflictError, "the name is taken"), INVALID, MALFORMED_BODY, STORE_DOWN
    ),
)
async def create_location(body: LocationCreate, session: StoreSession) -> LocationOut:
    location = await catalog.create_location(
        session, kind=body.kind, name=body.name, camera_id=body.camera_id
    )
    return LocationOut.of(location)


@router.get("/locations", summary="All locations", **READ.route(STORE_DOWN))
async def list_locations(session: StoreSession) -> LocationsResponse:
    locations = await catalog.list_locations(session)
    return LocationsResponse(locations=[LocationOut.of(location) for location in locations])


@router.get(
    "/locations/{location_id}",
    summary="One location",
    **READ.route(NO_SUCH_LOCATION, INVALID, STORE_DOWN),
)
async def get_location(location_id: LocationId, session: StoreSession) -> LocationOut:
    return LocationOut.of(await catalog.get_location(session, location_id=location_id))
