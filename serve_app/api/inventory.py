"""GET /v1/inventory (current stock), its history per location, and /v1/alerts (below par)."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator

from serve_app.api.context import StoreSession
from serve_app.api.guards import READ
from serve_app.api.locations import NO_SUCH_LOCATION, LocationId
from serve_app.api.responses import INVALID, STORE_DOWN
from serve_app.api.schemas.inventory import (
    LABEL,
    MAX_LABEL_CHARS,
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
# Times a history query may name, in UTC: room for the default window and a page's cursor on
# either side (Python's datetime ends at the years 1 and 9999).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def _in_utc(moment: datetime) -> datetime:
    """The moment in UTC (no offset: it is UTC), within EARLIEST and LATEST."""
    try:
        utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(f"times lie from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d} UTC")
    return utc


LocationFilter = Annotated[
    int | None, Query(ge=1, le=MAX_INTEGER, description="only this location")
]
ItemFilter = Annotated[
    str | None, Query(max_length=MAX_LABEL_CHARS, pattern=LABEL, description="a label")
]
UtcTime = Annotated[datetime, AfterValidator(_in_utc)]
Time = Annotated[
    UtcTime | None,
    Query(description="ISO 8601 (without an offset: UTC), from 1970-01-01 to 9999-01-01"),
]


@router.get(
    "/inventory",
    summary="Current stock per location and item",
    **READ.route(INVALID, STORE_DOWN),
)
async def inventory(
    session: StoreSession, location: LocationFilter = None, item: ItemFilter = None
) -> InventoryResponse:
    levels = await queries.stock_levels(session, location_id=location, label=item)
    return InventoryResponse(stock=[StockOut.of(level) for level in levels])


@router.get(
    "/inventory/{location_id}/history",
    summary="One item's counts at one location over time, bucketed and paginated",
    **READ.route(NO_SUCH_LOCATION, INVALID, STORE_DOWN),
)
async def history(
    location_id: LocationId,
    session: StoreSession,
    item: Annotated[str, Query(max_length=MAX_LABEL_CHARS, pattern=LABEL, description="the label")],
    since: Time = None,
    until: Time = None,
    bucket: Bucket = Bucket.HOUR,
    limit: Annotated[int, Query(ge=1, le=5000, description="buckets per page")] = 500,
    cursor: Annotated[UtcTime | None, Query(description="`next_cursor` of the last page")] = None,
) -> HistoryResponse:
    end = until or datetime.now(UTC)
    start = since or end - DEFAULT_HISTORY
    if start >= end:
        raise InvalidParameterError("since must be before until")
    await catalog.get_location(session, location_id=location_id)
    page = await queries.history(
        session,
        location_id=location_id,
        label=item,
        since=max(start, cursor or start),
        until=end,
        bucket=bucket,
        limit=limit,
    )
    return HistoryResponse.of(location_id, item, bucket, page)


@router.get(
    "/alerts",
    summary="Items below their par level, and since when",
    **READ.route(INVALID, STORE_DOWN),
)
async def alerts(session: StoreSession, location: LocationFilter = None) -> AlertsResponse:
    levels = await queries.stock_levels(session, location_id=location, below_par_only=True)
    return AlertsResponse(alerts=[StockOut.of(level) for level in levels])
