"""Wire models of the inventory routes of API v1 (locations, items, stock, history, alerts)."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from serve_app.inventory.models import MAX_INTEGER, Item, Location, LocationKind
from serve_app.inventory.queries import Bucket, HistoryPage, StockLevel

# Text the inventory stores: no control characters (PostgreSQL refuses NUL in text, and the
# others have no place in a name).
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
# A detector label is also a path segment (`/v1/items/{label}`): no slash, no leading dot.
LABEL = r"^[^./\x00-\x1f\x7f][^/\x00-\x1f\x7f]*$"
MAX_LABEL_CHARS = 100


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _not_a_bin(kind: LocationKind) -> LocationKind:
    if kind is LocationKind.BIN:
        raise ValueError("a bin is made with its zone: POST /v1/locations/{id}/zones")
    return kind


class LocationCreate(_Input):
    kind: Annotated[LocationKind, AfterValidator(_not_a_bin)] = Field(
        description="shelf, cabinet or room (a bin is made with its zone)"
    )
    name: str = Field(
        min_length=1, max_length=200, pattern=PRINTABLE, examples=["Ward 3 - supply shelf B"]
    )
    camera_id: str | None = Field(default=None, min_length=1, max_length=100, pattern=PRINTABLE)


class LocationOut(BaseModel):
    id: int
    kind: LocationKind
    name: str
    camera_id: str | None
    parent_id: int | None = Field(description="a bin's camera location; null for the others")
    created_at: datetime

    @classmethod
    def of(cls, location: Location) -> "LocationOut":
        return cls(
            id=location.id,
            kind=LocationKind(location.kind),
            name=location.name,
            camera_id=location.camera_id,
            parent_id=location.parent_id,
            created_at=location.created_at,
        )


class LocationsResponse(BaseModel):
    locations: list[LocationOut]


class ItemUpdate(_Input):
    display_name: str = Field(
        min_length=1, max_length=200, pattern=PRINTABLE, examples=["Syringe 5 ml"]
    )
    sku: str | None = Field(default=None, min_length=1, max_length=100, pattern=PRINTABLE)
    unit: str = Field(
        default="each", min_length=1, max_length=50, pattern=PRINTABLE, examples=["box of 100"]
    )
    par_level: int | None = Field(
        default=None,
        ge=0,
        le=MAX_INTEGER,
        description="reorder threshold: fewer than this raises an alert",
    )


class ItemOut(BaseModel):
    label: str = Field(description="the detector label")
    display_name: str
    sku: str | None
    unit: str
    par_level: int | None
    updated_at: datetime

    @classmethod
    def of(cls, item: Item) -> "ItemOut":
        return cls(
            label=item.label,
            display_name=item.display_name,
            sku=item.sku,
            unit=item.unit,
            par_level=item.par_level,
            updated_at=item.updated_at,
        )


class StockOut(BaseModel):
    location_id: int
    item: str = Field(description="the detector label")
    display_name: str
    unit: str | None
    count: int = Field(description="in the latest record of this location")
    par_level: int | None
    below_par_since: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, level: StockLevel) -> "StockOut":
        return cls(
            location_id=level.location_id,
            item=level.label,
            display_name=level.display_name,
            unit=level.unit,
            count=level.count,
            par_level=level.par_level,
            below_par_since=level.below_par_since,
            updated_at=level.updated_at,
        )


class InventoryResponse(BaseModel):
    stock: list[StockOut]


class AlertsResponse(BaseModel):
    alerts: list[StockOut] = Field(description="stock below its item's par level, by location")


class HistoryPointOut(BaseModel):
    start: datetime = Field(description="start of the bucket (UTC)")
    samples: int = Field(description="records in the bucket")
    min: int
    max: int
    mean: float


class HistoryResponse(BaseModel):
    location_id: int
    item: str
    bucket: Bucket
    points: list[HistoryPointOut]
    next_cursor: datetime | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )

    @classmethod
    def of(
        cls, location_id: int, item: str, bucket: Bucket, page: HistoryPage
    ) -> "HistoryResponse":
        return cls(
            location_id=location_id,
            item=item,
            bucket=bucket,
            points=[
                HistoryPointOut(
                    start=p.start,
                    samples=p.samples,
                    min=p.min_count,
                    max=p.max_count,
                    mean=round(p.total / p.samples, 3),
                )
                for p in page.points
            ],
            next_cursor=page.next_cursor,
        )
