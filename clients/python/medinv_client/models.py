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


class ZoneCounts(_Model):
    """One zone's counts in a detection at a camera location that has zones."""

    id: int
    """The zone's bin (a location id, where these counts are recorded)."""
    name: str
    counts: dict[str, int]
    """Per label, the bin's expected items included (0 when none was seen)."""


class DetectionResult(_Detections):
    """The answer of `POST /v1/detect`."""

    request_id: str
    timing_ms: Timing
    recorded: Recorded = None
    zones: list[ZoneCounts] | None = None
    """With `location` of a camera that has zones: each zone's counts (a detection counts
    toward the zone holding its box centre); None otherwise, or from a service before 1.1."""


class StreamResult(_Detections):
    """One processed frame of `WS /v1/stream`."""

    type: Literal["result"] = "result"
    frame: int
    latency_ms: float
    dropped: int
    """Frames the service dropped on this connection so far (latest wins)."""
    recorded: Recorded = None
    zones: list[ZoneCounts] | None = None
    """With `location` of a camera that has zones: this frame's counts per zone (API 1.3;
    None from an older service)."""


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
    plan: Literal["tiles", "whole"] = "tiles"
    """`tiles`: large images are cut into windows; `whole`: one input, scaled as a window
    would be (API 1.2; a 1.1 service tiles)."""


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


# Zones: a camera location's bins


class ZoneItem(_Model):
    """An item expected in a zone's bin, with the bin's own par level."""

    label: str
    par_level: int


class Zone(_Model):
    """A polygon of a camera location's image that is a bin (a location of its own, `id`)."""

    id: int
    """The zone's bin: a location id (kind `bin`)."""
    camera_location_id: int
    name: str
    position: int
    """Where zones overlap, a detection counts toward the lowest position."""
    polygon: list[tuple[float, float]]
    """Vertices as [x, y] fractions of the image's width and height (0 to 1, top left)."""
    items: list[ZoneItem]
    updated_at: datetime

    @property
    def par_levels(self) -> dict[str, int]:
        return {item.label: item.par_level for item in self.items}


# Replenishment


class ReplenishmentLine(_Model):
    """An item below par at a location or bin, with how many to order."""

    location_id: int
    location: str
    """The location; for a bin, its camera's location."""
    bin_id: int | None
    bin: str | None
    item: str
    display_name: str
    sku: str | None
    unit: str
    par_level: int
    on_hand: int
    order_quantity: int
    """Par level minus on hand."""
    counted_at: datetime
    below_par_since: datetime


# Cameras

CameraKind = Literal["snapshot", "mjpeg", "video"]
CameraState = Literal["pending", "ok", "failing", "disabled"]


class Camera(_Model):
    """A camera the service polls itself, recording its counts at `location_id`."""

    id: int
    location_id: int
    kind: str
    """`snapshot`, `mjpeg` or `video` (`CameraKind`)."""
    url: str
    credential: str | None
    """The name of a login in the service's settings; the login itself is never shown."""
    interval_s: float
    frames_per_poll: int
    frame_gap_s: float
    enabled: bool
    updated_at: datetime


class CameraStatus(_Model):
    camera_id: int
    state: str
    """`pending` (not polled yet), `ok`, `failing` (its last poll failed) or `disabled`
    (`CameraState`)."""
    polls: int
    last_success_at: datetime | None
    last_outcome: str | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_poll_at: datetime | None


# Webhooks

WebhookEvent = Literal["below_par", "replenishment_report"]


class WebhookDeliveries(_Model):
    pending: int
    delivered: int
    dead: int


class Webhook(_Model):
    id: int
    url: str
    events: list[str]
    """`below_par`, `replenishment_report` (`WebhookEvent`)."""
    report_interval_s: int | None
    next_report_at: datetime | None
    created_at: datetime
    deliveries: WebhookDeliveries


class CreatedWebhook(Webhook):
    """The answer of `create_webhook`: the only time the signing secret is shown."""

    secret: str


class _Locations(_Model):
    locations: list[Location]


class _Inventory(_Model):
    stock: list[Stock]


class _Alerts(_Model):
    alerts: list[Stock]


class _Zones(_Model):
    zones: list[Zone]


class _Replenishment(_Model):
    lines: list[ReplenishmentLine]


class _Cameras(_Model):
    cameras: list[Camera]


class _Webhooks(_Model):
    webhooks: list[Webhook]
