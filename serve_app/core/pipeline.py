"""What the API needs from the detection backend: an interface with two implementations,
`serving.pipeline.ServePipeline` (Ray Serve handles) and the tooling's in-process
`LocalPipeline` (tests, the benchmark's plain-FastAPI baseline)."""

from typing import Protocol

from serve_app.core.payloads import (
    Detection,
    DetectionResult,
    DetectParams,
    ModelRef,
    ModelsInfo,
)


class DetectionPipeline(Protocol):
    async def detect(
        self, data: bytes, params: DetectParams, model: ModelRef | None = None
    ) -> DetectionResult:
        """Detect with the active model, or with `model` if the request pins a version."""
        ...

    async def annotate(self, data: bytes, detections: list[Detection]) -> bytes:
        """`data` as a JPEG of its original size with `detections` drawn on it; decoded where
        images are decoded (the preprocessing stage), never in the ingress."""
        ...

    async def models(self) -> ModelsInfo: ...

    async def activate(self, ref: ModelRef) -> ModelRef:
        """Make `ref` the active model everywhere; returns the model it replaces."""
        ...
