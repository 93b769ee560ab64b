"""GET /v1/replenishment: the items below par per location and bin, as JSON or CSV."""

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from serve_app.api.context import StoreSession
from serve_app.api.guards import READ
from serve_app.api.inventory import LocationFilter
from serve_app.api.negotiation import prefers
from serve_app.api.responses import INVALID, STORE_DOWN
from serve_app.api.schemas.replenishment import (
    ReplenishmentLineOut,
    ReplenishmentResponse,
    as_csv,
)
from serve_app.inventory.replenishment import replenishment_lines

router = APIRouter(prefix="/v1", tags=["inventory"])
CSV_MEDIA_TYPE = "text/csv"


class ListFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


Format = Annotated[
    ListFormat | None,
    Query(
        alias="format",
        description="`csv`: a par-count upload (as `Accept: text/csv` asks); default: by "
        "`Accept`, else JSON",
    ),
]
_CSV_ANSWER = {
    "description": "The lines as JSON (the default), or with `Accept: text/csv` or "
    "`?format=csv` as CSV with the columns location, bin, item, sku, par, on_hand, order_qty, "
    "counted_at",
    "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
}
_GUARDED = READ.route(INVALID, STORE_DOWN)


@router.get(
    "/replenishment",
    summary="What to reorder: items below par per location and bin, with order quantities",
    response_model=ReplenishmentResponse,
    dependencies=_GUARDED["dependencies"],
    responses={200: _CSV_ANSWER, **_GUARDED["responses"]},
)
async def replenishment(
    request: Request,
    response: Response,
    session: StoreSession,
    location: LocationFilter = None,
    output: Format = None,
) -> ReplenishmentResponse | Response:
    lines = await replenishment_lines(session, location_id=location)
    response.headers["Vary"] = "Accept"
    wants_csv = output is ListFormat.CSV or (
        output is None and prefers(CSV_MEDIA_TYPE, request.headers.get("accept"))
    )
    if wants_csv:
        media_type = f"{CSV_MEDIA_TYPE}; charset=utf-8"
        return Response(as_csv(lines), media_type=media_type, headers=dict(response.headers))
    return ReplenishmentResponse(lines=[ReplenishmentLineOut.of(line) for line in lines])
