"""Wire models of a camera's zones: polygons of its image, each a bin with its items' par
levels."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from serve_app.api.schemas.inventory import LABEL, MAX_LABEL_CHARS, PRINTABLE
from serve_app.inventory.models import MAX_INTEGER
from serve_app.inventory.zone_catalog import BinZone, ZoneSpec
from serve_app.inventory.zones import MAX_VERTICES, Point, polygon_problem

MAX_BIN_ITEMS = 50


def _valid_polygon(points: list[Point]) -> list[Point]:
    problem = polygon_problem(points)
    if problem is not None:
        raise ValueError(problem)
    return points


Polygon = Annotated[
    list[tuple[float, float]],
    Field(
        min_length=3,
        max_length=MAX_VERTICES,
        description="the zone's vertices in order, as [x, y] fractions of the image's width and "
        "height (0 to 1, origin top left); a simple (not self-crossing) polygon",
        examples=[[[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.5]]],
    ),
    AfterValidator(_valid_polygon),
]


class BinItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(max_length=MAX_LABEL_CHARS, pattern=LABEL, description="detector label")
    par_level: int = Field(
        ge=0, le=MAX_INTEGER, description="reorder point in this bin: fewer raises an alert"
    )


def _distinct_labels(items: list[BinItem]) -> list[BinItem]:
    labels = [item.label for item in items]
    if len(set(labels)) != len(labels):
        raise ValueError("each item is listed once per bin")
    return items


class ZoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=PRINTABLE,
        description="the bin's location name (unique among locations)",
        examples=["Ward 3 - shelf B - top left bin"],
    )
    polygon: Polygon
    items: Annotated[list[BinItem], AfterValidator(_distinct_labels)] = Field(
        max_length=MAX_BIN_ITEMS, description="the items expected in the bin, with par levels"
    )
    position: int | None = Field(
        default=None,
        ge=0,
        le=MAX_INTEGER,
        description="where zones overlap, a detection counts toward the lowest position; "
        "default: after the camera's other zones (on replace: unchanged)",
    )

    def spec(self) -> ZoneSpec:
        return ZoneSpec(
            name=self.name,
            polygon=tuple(self.polygon),
            pars={item.label: item.par_level for item in self.items},
            position=self.position,
        )


class ZoneOut(BaseModel):
    id: int = Field(description="the zone's bin: a location id (kind `bin`)")
    camera_location_id: int
    name: str
    position: int
    polygon: list[tuple[float, float]]
    items: list[BinItem]
    updated_at: datetime

    @classmethod
    def of(cls, found: BinZone) -> "ZoneOut":
        return cls(
            id=found.bin.id,
            camera_location_id=found.zone.camera_location_id,
            name=found.bin.name,
            position=found.zone.position,
            polygon=list(found.polygon),
            items=[
                BinItem(label=label, par_level=par) for label, par in sorted(found.pars.items())
            ],
            updated_at=found.zone.updated_at,
        )


class ZonesResponse(BaseModel):
    zones: list[ZoneOut]
