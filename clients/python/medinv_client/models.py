"""Typed results of API v1: pydantic models mirroring the service's wire schemas.

Unknown fields are ignored, so a newer service with more fields still parses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from medinv_client.export import coco_results, to_supervision

if TYPE_CHECKING:
    import supervision

Recorded = Literal["written", "queued", "duplicate"] | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, protected_namespaces=())


class ModelRef(_Model):
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


class ImageInfo(_Model):
    width: int
    height: int


class Detection(_Model):
    label: str
    score: float
    box: tuple[float, float, float, float]
    """[x1, y1, x2, y2] in original-image pixels (after EXIF orientation)."""


class Timing(_Model):
    preprocess: float
    inference: float
    total: float


class _Detections(_Model):
    model: ModelRef
    image: ImageInfo
    detections: list[Detection]
    counts: dict[str, int]

    def to_supervision(self, labels: Sequence[str] | None = None) -> supervision.Detections:
        """The detections as `supervision.Detections` (needs the `supervision` extra); class
        ids index `labels` when given (the model's labels), else follow first appearance."""
        return to_supervision(self.detections, labels)

    def to_coco(self, image_id: int, category_ids: Mapping[str, int]) -> list[dict[str, Any]]:
        """COCO results (`pycocotools` `COCO.loadRes`): image_id, category_id, bbox as
        [x, y, width, height], score. Labels missing from `category_ids` are a KeyError."""
        return coco_results(self.detections, image_id, category_ids)


class DetectionResult(_Detections):
    """The answer of `POST /v1/detect`."""

    request_id: str
    timing_ms: Timing
    recorded: Recorded = None


class StreamResult(_Detections):
    """One processed frame of `WS /v1/stream`."""

    type: Literal["result"] = "result"
    frame: int
    latency_ms: float
    dropped: int
    """Frames the service dropped on this connection so far (latest wins)."""
    recorded: Recorded = None


class StreamFrameError(_Model):
    """A frame (or text message, `frame` None) the service could not use; the stream goes on."""

    type: Literal["error"] = "error"
    frame: int | None
    code: str
    message: str


# Models


class Resize(_Model):
    mode: str
    interpolation: str
    pad_value: int | None = None
    stride: int | None = None


class Tiling(_Model):
    tile: int
    overlap: int
    above: int


class ModelInfo(_Model):
    name: str
    version: str
    format: str
    architecture: str
    labels: list[str]
    input_size: tuple[int, int]
    resize: Resize
    tiling: Tiling | None
    score_threshold: float
    description: str
    metrics: dict[str, Any]
    training: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


class Batching(_Model):
    max_batch_size: int
    batch_wait_timeout_s: float
    concurrent_batches: int


class Models(_Model):
    active: ModelInfo
    device: str
    available: list[ModelInfo]
    batching: Batching


class Activation(_Model):
    status: str
    previous: ModelRef
    requested: ModelRef


# Health


class Health(_Model):
    status: str


class StoreStatus(_Model):
    status: str
    spooled: int


class Ready(_Model):
    status: str
    model: ModelRef
    device: str
    store: StoreStatus


# Inventory


class Location(_Model):
    id: int
    kind: str
    name: str
    camera_id: str | None
    created_at: datetime


class Item(_Model):
    label: str
    display_name: str
    sku: str | None
    unit: str
    par_level: int | None
    updated_at: datetime


class Stock(_Model):
    location_id: int
    item: str
    display_name: str
    unit: str | None
    count: int
    par_level: int | None
    below_par_since: datetime | None
    updated_at: datetime

    @property
    def below_par(self) -> bool:
        return self.par_level is not None and self.count < self.par_level


class HistoryPoint(_Model):
    start: datetime
    samples: int
    min: int
    max: int
    mean: float


class History(_Model):
    location_id: int
    item: str
    bucket: str
    points: list[HistoryPoint]
    next_cursor: datetime | None


class _Locations(_Model):
    locations: list[Location]


class _Inventory(_Model):
    stock: list[Stock]


class _Alerts(_Model):
    alerts: list[Stock]
