"""HL7 FHIR R5 reads of the inventory: an InventoryReport of a location's current counts, and
a SupplyRequest per item below par, each answered as a searchset Bundle."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from serve_app.api.context import StoreSession
from serve_app.api.guards import READ
from serve_app.api.inventory import LocationFilter
from serve_app.api.locations import NO_SUCH_LOCATION
from serve_app.api.responses import INVALID, STORE_DOWN
from serve_app.api.schemas.fhir import FHIR_JSON, inventory_report, searchset, supply_request
from serve_app.inventory import catalog, queries
from serve_app.inventory.models import MAX_INTEGER
from serve_app.inventory.replenishment import replenishment_lines

router = APIRouter(prefix="/fhir/r5", tags=["fhir"])
_BUNDLE = {
    "description": "A FHIR R5 Bundle of type searchset",
    "content": {FHIR_JSON: {"schema": {"type": "object"}}},
}


class SupplyRequestStatus(StrEnum):
    """FHIR's supplyrequest-status codes; every open request here is `active`."""

    DRAFT = "draft"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    ENTERED_IN_ERROR = "entered-in-error"
    UNKNOWN = "unknown"


_REPORT_GUARD = READ.route(NO_SUCH_LOCATION, INVALID, STORE_DOWN)
_REQUESTS_GUARD = READ.route(INVALID, STORE_DOWN)


@router.get(
    "/InventoryReport",
    summary="A snapshot InventoryReport of a location's (and its bins') current counts",
    response_class=Response,
    dependencies=_REPORT_GUARD["dependencies"],
    responses={200: _BUNDLE, **_REPORT_GUARD["responses"]},
)
async def inventory_reports(
    request: Request,
    session: StoreSession,
    location: Annotated[int, Query(ge=1, le=MAX_INTEGER, description="a location id")],
) -> Response:
    counted = await catalog.get_location(session, location_id=location)
    places = [counted, *await catalog.bins_of(session, location_id=location)]
    levels = [
        (place, await queries.stock_levels(session, location_id=place.id)) for place in places
    ]
    now = datetime.now(UTC)
    report = inventory_report(counted, levels, now)
    return _fhir(searchset([report], str(request.url), now).model_dump_json(exclude_none=True))


@router.get(
    "/SupplyRequest",
    summary="A SupplyRequest per item below par, per location and bin",
    response_class=Response,
    dependencies=_REQUESTS_GUARD["dependencies"],
    responses={200: _BUNDLE, **_REQUESTS_GUARD["responses"]},
)
async def supply_requests(
    request: Request,
    session: StoreSession,
    status: Annotated[
        SupplyRequestStatus | None, Query(description="only `active` requests exist here")
    ] = None,
    location: LocationFilter = None,
) -> Response:
    lines = await replenishment_lines(session, location_id=location)
    if status not in (None, SupplyRequestStatus.ACTIVE):
        lines = []
    now = datetime.now(UTC)
    bundle = searchset([supply_request(line) for line in lines], str(request.url), now)
    return _fhir(bundle.model_dump_json(exclude_none=True))


def _fhir(body: str) -> Response:
    return Response(body, media_type=FHIR_JSON)
