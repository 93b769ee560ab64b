"""Wire models of API v1: what clients code against. Changing a field here is an API change."""

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from serve_app.core.payloads import (
    DetectionResult,
    ModelRef,
    ModelsInfo,
    ModelSummary,
    Resize,
    Tiling,
    TilingPlan,
)
from serve_app.inventory.zones import Zone

_DETECTION_EXAMPLE: dict[str, Any] = {
    "label": "syringe",
    "score": 0.91,
    "box": [412.0, 88.5, 530.0, 140.2],
}


Recorded = Literal["written", "queued", "duplicate"] | None

# `name:version`, each a directory name under the models root: no path separators, no leading
# dot (no `..`), short enough for any file system.
MODEL_REF = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}:[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$"


class ModelRefOut(BaseModel):
    name: str = Field(examples=["medical-supplies-ssdlite"])
    version: str = Field(examples=["1.0.0"])

    @classmethod
    def from_ref(cls, ref: ModelRef) -> "ModelRefOut":
        return cls(name=ref.name, version=ref.version)


class ImageInfo(BaseModel):
    width: int = Field(description="after EXIF orientation", examples=[1280])
    height: int = Field(examples=[960])


class DetectionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": _DETECTION_EXAMPLE})

    label: str
    score: float = Field(ge=0.0, le=1.0)
    box: list[float] = Field(
        min_length=4, max_length=4, description="[x1, y1, x2, y2] in original-image pixels"
    )


class TimingMs(BaseModel):
    preprocess: float
    inference: float = Field(description="the batched forward pass this image was part of")
    total: float = Field(description="as measured by the ingress")


class ZoneCountsOut(BaseModel):
    id: int = Field(description="the zone's bin location")
    name: str
    counts: dict[str, int] = Field(description="per label, the bin's expected items included")


def zones_out(zones: Sequence[Zone], bins: dict[int, dict[str, int]]) -> list[ZoneCountsOut] | None:
    """Each zone's counts, in position order; None for a camera without zones."""
    if not zones:
        return None
    return [
        ZoneCountsOut(id=zone.bin_id, name=zone.name, counts=bins[zone.bin_id]) for zone in zones
    ]


class DetectResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "request_id": "5f0c6f0e4a7b4f0f9d7e1c2b3a4d5e6f",
                "model": {"name": "medical-supplies-ssdlite", "version": "1.8.0"},
                "image": {"width": 1280, "height": 960},
                "detections": [_DETECTION_EXAMPLE],
                "counts": {"syringe": 1},
                "timing_ms": {"preprocess": 6.1, "inference": 24.8, "total": 35.2},
            }
        }
    )

    request_id: str
    model: ModelRefOut
    image: ImageInfo
    detections: list[DetectionOut]
    counts: dict[str, int] = Field(description="detections per label; agrees with detections")
    timing_ms: TimingMs
    recorded: Recorded = Field(
        default=None,
        description="with ?location: the counts were written to the inventory, or queued on "
        "disk while the database is unreachable, or are a duplicate: the Idempotency-Key's "
        "record of this image, written or queued before, and nothing new was recorded; null "
        "without ?location",
    )
    zones: list[ZoneCountsOut] | None = Field(
        default=None,
        description="with ?location of a camera that has zones: each zone's counts (a "
        "detection counts toward the zone holding its box centre), recorded at its bin; null "
        "otherwise",
    )

    @classmethod
    def from_result(
        cls, result: DetectionResult, request_id: str, total_ms: float
    ) -> "DetectResponse":
        return cls(
            request_id=request_id,
            model=ModelRefOut(name=result.model.name, version=result.model.version),
            image=ImageInfo(width=result.image_width, height=result.image_height),
            detections=detections_out(result),
            counts=result.counts,
            timing_ms=TimingMs(
                preprocess=round(result.preprocess_ms, 2),
                inference=round(result.inference_ms, 2),
                total=round(total_ms, 2),
            ),
        )


def detections_out(result: DetectionResult) -> list[DetectionOut]:
    return [DetectionOut(label=d.label, score=d.score, box=list(d.box)) for d in result.detections]


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_image"])
    message: str = Field(examples=["the data is not a JPEG, PNG or WebP image"])
    request_id: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


class TilingOut(BaseModel):
    tile: int = Field(description="window side in original pixels")
    overlap: int
    above: int = Field(description="tile images whose longer side exceeds this")
    plan: TilingPlan = Field(
        description="tiles: cut into windows; whole: one input scaled as a window would be"
    )

    @classmethod
    def from_tiling(cls, tiling: Tiling | None) -> "TilingOut | None":
        if tiling is None:
            return None
        return cls(tile=tiling.tile, overlap=tiling.overlap, above=tiling.above, plan=tiling.plan)


class ResizeOut(BaseModel):
    mode: Literal["stretch", "letterbox"]
    interpolation: Literal["antialias", "linear"] = Field(
        description="antialias: Pillow's bilinear; linear: OpenCV's INTER_LINEAR (Ultralytics)"
    )
    pad_value: int | None = Field(description="letterbox padding gray level")
    stride: int | None = Field(description="letterbox pads to a multiple of this, if set")

    @classmethod
    def from_resize(cls, resize: Resize) -> "ResizeOut":
        letterbox = resize.mode == "letterbox"
        return cls(
            mode=resize.mode,
            interpolation=resize.interpolation,
            pad_value=resize.pad_value if letterbox else None,
            stride=resize.stride,
        )


class ModelOut(BaseModel):
    name: str
    version: str
    format: str = Field(description="the runtime that serves it: torchvision or onnx")
    architecture: str
    labels: list[str]
    input_size: tuple[int, int]
    resize: ResizeOut = Field(description="how an image (or a tile) becomes the model input")
    tiling: TilingOut | None = Field(description="how images larger than the input are cut")
    score_threshold: float
    description: str
    metrics: dict[str, Any] = Field(description="evaluation figures per split (COCO mAP)")
    training: dict[str, Any] = Field(description="provenance: data, steps, device, wall time")

    @classmethod
    def from_summary(cls, summary: ModelSummary) -> "ModelOut":
        return cls(
            name=summary.ref.name,
            version=summary.ref.version,
            format=summary.format,
            architecture=summary.architecture,
            labels=summary.labels,
            input_size=summary.input.size,
            resize=ResizeOut.from_resize(summary.input.resize),
            tiling=TilingOut.from_tiling(summary.input.tiling),
            score_threshold=summary.score_threshold,
            description=summary.description,
            metrics=summary.metrics,
            training=summary.training,
        )


class BatchingOut(BaseModel):
    max_batch_size: int = Field(description="Detector user_config; changes without restarts")
    batch_wait_timeout_s: float
    concurrent_batches: int = Field(description="forward passes one replica runs at once")


class ModelsResponse(BaseModel):
    active: ModelOut
    device: str = Field(examples=["cpu", "cuda"])
    available: list[ModelOut]
    batching: BatchingOut

    @classmethod
    def from_info(cls, info: ModelsInfo) -> "ModelsResponse":
        return cls(
            active=ModelOut.from_summary(info.active),
            device=info.device,
            available=[ModelOut.from_summary(s) for s in info.available],
            batching=BatchingOut(
                max_batch_size=info.batching.max_batch_size,
                batch_wait_timeout_s=info.batching.batch_wait_timeout_s,
                concurrent_batches=info.batching.concurrent_batches,
            ),
        )


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ActivateModelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        pattern=MODEL_REF,
        examples=["medical-supplies-ssdlite:1.1.0"],
        description="name:version of a model under the models root",
    )


class ActivateModelResponse(BaseModel):
    status: Literal["switching"] = "switching"
    previous: ModelRefOut
    requested: ModelRefOut


class StoreStatusOut(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded while inventory records wait in the spool for the database"
    )
    spooled: int = Field(description="records waiting in the spool")


class ReadyResponse(BaseModel):
    status: Literal["ready"] = "ready"
    model: ModelRefOut
    device: str
    store: StoreStatusOut


class StreamConfigMessage(BaseModel):
    """Client → server text message; fields left out keep their current value."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["config"]
    min_score: float | None = Field(default=None, ge=0.0, le=1.0)
    max_detections: int | None = Field(default=None, ge=1, le=1000)


class StreamResultMessage(BaseModel):
    type: Literal["result"] = "result"
    frame: int = Field(description="0-based index of the binary frame this answers")
    model: ModelRefOut
    image: ImageInfo
    detections: list[DetectionOut]
    counts: dict[str, int]
    latency_ms: float = Field(description="from frame received to result ready")
    dropped: int = Field(description="frames of this stream dropped so far (latest wins)")
    recorded: Recorded = Field(
        default=None,
        description="with ?location: set on the frames that recorded the smoothed counts",
    )
    zones: list[ZoneCountsOut] | None = Field(
        default=None,
        description="with ?location of a camera that has zones: this frame's counts per zone "
        "(a detection counts toward the zone holding its box centre); what is recorded at a "
        "bin is their median over the stream's window; null otherwise",
    )


class StreamErrorMessage(BaseModel):
    type: Literal["error"] = "error"
    frame: int | None = Field(description="the frame it concerns; null for a bad text message")
    code: str
    message: str
