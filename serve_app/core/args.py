"""Typed arguments of the application builder (`args:` in the Serve config) and the
Detector's `user_config`. Unknown keys are rejected: Ray itself would ignore a typo."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from serve_app.core.demo_model import DEFAULT_MODEL
from serve_app.core.payloads import ModelRef


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitsArgs(_Strict):
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_pixels: int = Field(default=40_000_000, ge=1)
    max_views_per_image: int = Field(
        default=64, ge=1, description="tiles one image may become (a forward each); 413 above"
    )
    body_timeout_s: float = Field(
        default=10.0, gt=0, description="the whole request body must arrive within this; 408"
    )


class StreamArgs(_Strict):
    max_streams_per_replica: int = Field(default=16, ge=1)
    max_pending_frames: int = Field(
        default=1, ge=1, description="frames waiting per stream; older ones are dropped"
    )
    max_in_flight_frames: int = Field(
        default=2, ge=1, description="frames of one stream being processed at once"
    )
    record_interval_s: float = Field(
        default=10.0, gt=0, description="with ?location: at most one inventory record per this"
    )
    record_window_frames: int = Field(
        default=5, ge=1, description="a stream records the median count over this many frames"
    )


class IngressArgs(_Strict):
    request_timeout_s: float = Field(default=30.0, gt=0)
    preprocess_in: Literal["preprocessor", "detector"] = Field(
        default="preprocessor",
        description="where an image is decoded and cut into model inputs: the Preprocessor "
        "deployment (CPU workers beside a GPU Detector), or the Detector replica itself (one "
        "process hop fewer, for nodes where both would share the same CPUs)",
    )
    max_in_flight_requests: int = Field(
        default=64, ge=1, description="REST detections per ingress replica before 503"
    )
    max_update_subscribers: int = Field(
        default=16, ge=1, description="WS /v1/inventory/updates sockets per ingress replica"
    )
    limits: LimitsArgs = LimitsArgs()
    stream: StreamArgs = StreamArgs()


class CameraPollerArgs(_Strict):
    refresh_s: float = Field(
        default=30.0, gt=0, description="a camera registered or changed is polled within this"
    )
    poll_timeout_s: float = Field(
        default=60.0, gt=0, description="one poll's frames and its record, at most"
    )
    backoff_base_s: float = Field(default=10.0, gt=0, description="the wait after one failure")
    backoff_max_s: float = Field(
        default=900.0, gt=0, description="the longest wait between polls of a failing camera"
    )
    max_frame_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)


class DetectorArgs(_Strict):
    forward_workers: int = Field(
        default=1,
        ge=1,
        le=8,
        description="batches run at once in one replica, each in its own thread",
    )
    forward_threads: int | None = Field(
        default=None,
        ge=1,
        description="intra-op threads per forward (torch's, or ONNX Runtime's); None: theirs",
    )


class DetectorUserConfig(_Strict):
    """Hot knobs: applied by `reconfigure()` without restarting the replica."""

    model: str = str(DEFAULT_MODEL)
    max_batch_size: int = Field(default=4, ge=1, le=256)
    batch_wait_timeout_s: float = Field(default=0.0, ge=0.0, le=1.0)

    @field_validator("model")
    @classmethod
    def _model_is_a_reference(cls, value: str) -> str:
        ModelRef.parse(value)
        return value

    @property
    def model_ref(self) -> ModelRef:
        return ModelRef.parse(self.model)


class AppArgs(_Strict):
    ingress: IngressArgs = IngressArgs()
    detector: DetectorArgs = DetectorArgs()
    cameras: CameraPollerArgs = CameraPollerArgs()
