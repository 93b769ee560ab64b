"""GET /v1/inventory (current stock), its history per location, and /v1/alerts (below par)."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from serve_app.api.context import StoreSession
from serve_app.api.guards import READ
from serve_app.api.locations import STORE_DOWN, LocationId
from serve_app.api.schemas.detection import ErrorResponse
from serve_app.api.schemas.inventory import (
    AlertsResponse,
    HistoryResponse,
    InventoryResponse,
    StockOut,
)
from serve_app.core.errors import InvalidParameterError
from serve_app.inventory import catalog, queries
from serve_app.inventory.models import MAX_INTEGER
from serve_app.inventory.queries import Bucket

router = APIRouter(prefix="/v1", tags=["inventory"])
DEFAULT_HISTORY = timedelta(days=7)

LocationFilter = Annotated[
    int | None, Query(ge=1, le=MAX_INTEGER, description="only this location")
]
ItemFilter = Annotated[str | None, Query(min_length=1, max_length=100, description="a label")]
Time = Annotated[datetime | None, Query(description="ISO 8601; without an offset: UTC")]


@router.get(
    "/inventory",
    summary="Current stock per location and item",
    responses=STORE_DOWN,
    dependencies=[READ],
)
async def inventory(
    session: StoreSession, location: LocationFilter = None, item: ItemFilter = None
) -> InventoryResponse:
    levels = await queries.stock_levels(session, location_id=location, label=item)
    return InventoryResponse(stock=[StockOut.of(level) for level in levels])


@router.get(
    "/inventory/{location_id}/history",
    summary="One item's counts at one location over time, bucketed and paginated",
    responses={404: {"model": ErrorResponse}, **STORE_DOWN},
    dependencies=[READ],
)
async def history(
    location_id: LocationId,
    session: StoreSession,
    item: Annotated[str, Query(min_length=1, max_length=100, description="the label")],
    since: Time = None,
    until: Time = None,
    bucket: Bucket = Bucket.HOUR,
    limit: Annotated[int, Query(ge=1, le=5000, description="buckets per page")] = 500,
    cursor: Annotated[datetime | None, Query(description="`next_cursor` of the last page")] = None,
) -> HistoryResponse:
    end = _utc(until) or datetime.now(UTC)
    start = _utc(since) or end - DEFAULT_HISTORY
    if start >= end:
        raise InvalidParameterError("since must be before until")
    await catalog.get_location(session, location_id=location_id)
    page = await queries.history(
        session,
        location_id=location_id,
        label=item,
        since=max(start, _utc(cursor) or start),
        until=end,
        bucket=bucket,
        limit=limit,
    )
    return HistoryResponse.of(location_id, item, bucket, page)


@router.get(
    "/alerts",
    summary="Items below their par level, and since when",
    responses=STORE_DOWN,
    dependencies=[READ],
)
async def alerts(session: StoreSession, location: LocationFilter = None) -> AlertsResponse:
    levels = await queries.stock_levels(session, location_id=location, below_par_only=True)
    return AlertsResponse(alerts=[StockOut.of(level) for level in levels])


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
