"""POST/GET /v1/locations: the shelves, cabinets and rooms whose stock is recorded."""

from typing import Annotated, Any

from fastapi import APIRouter, Path

from serve_app.api.context import StoreSession
from serve_app.api.guards import ADMIN, READ
from serve_app.api.schemas.detection import ErrorResponse
from serve_app.api.schemas.inventory import LocationCreate, LocationOut, LocationsResponse
from serve_app.inventory import catalog
from serve_app.inventory.models import MAX_INTEGER

router = APIRouter(prefix="/v1", tags=["inventory"])
LocationId = Annotated[int, Path(ge=1, le=MAX_INTEGER)]
STORE_DOWN: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorResponse, "description": "the database is unreachable"}
}


@router.post(
    "/locations",
    status_code=201,
    summary="Create a location",
    responses={409: {"model": ErrorResponse, "description": "the name is taken"}, **STORE_DOWN},
    dependencies=[ADMIN],
)
async def create_location(body: LocationCreate, session: StoreSession) -> LocationOut:
    location = await catalog.create_location(
        session, kind=body.kind, name=body.name, camera_id=body.camera_id
    )
    return LocationOut.of(location)


@router.get("/locations", summary="All locations", responses=STORE_DOWN, dependencies=[READ])
async def list_locations(session: StoreSession) -> LocationsResponse:
    locations = await catalog.list_locations(session)
    return LocationsResponse(locations=[LocationOut.of(location) for location in locations])


@router.get(
    "/locations/{location_id}",
    summary="One location",
    responses={404: {"model": ErrorResponse}, **STORE_DOWN},
    dependencies=[READ],
)
async def get_location(location_id: LocationId, session: StoreSession) -> LocationOut:
    return LocationOut.of(await catalog.get_location(session, location_id=location_id))
