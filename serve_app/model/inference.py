"""The inference contract: a registered model turns an image into a `DetectionResult`.

`DetectionModel` runs preprocess → predict → postprocess with the model's manifest (input
size, tiling, labels, score threshold) and whichever runtime loaded its weights. The Detector
deployment batches `predict` across requests and calls the other two steps itself; the
in-process pipeline, the benchmark's bare loop and `medinv-train evaluate` call `infer`.
"""

import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from serve_app.core.payloads import (
    DetectionResult,
    DetectParams,
    InputSpec,
    ModelRef,
    PreprocessedImage,
)
from serve_app.model.imaging import ImageLimits, preprocess_image
from serve_app.model.manifest import ModelManifest
from serve_app.model.postprocess import RawDetections, build_result
from serve_app.model.runtime import ModelRuntime
from serve_app.model.tiling import input_size

# Versions a request may pin with `?model=` that one replica (or the local pipeline) keeps
# loaded besides the active model; the least recently used is evicted.
MAX_PINNED_MODELS = 2
# The shelf cameras' frame size: warmed up too where its input differs from the model's own.
WARM_UP_FRAME = (1280, 720)

Image = bytes | PreprocessedImage


class DetectionModel:
    def __init__(self, manifest: ModelManifest, runtime: ModelRuntime) -> None:
        self.manifest = manifest
        self.runtime = runtime

    @property
    def ref(self) -> ModelRef:
        return self.manifest.ref

    @property
    def input_spec(self) -> InputSpec:
        return self.manifest.input_spec

    @property
    def device(self) -> str:
        return self.runtime.device

    def preprocess(self, data: bytes, limits: ImageLimits) -> PreprocessedImage:
        """Decode and check `data`, then cut it into model inputs (the image, or its tiles)."""
        return preprocess_image(data, self.input_spec, limits)

    def predict(self, pixels: Sequence[npt.NDArray[np.uint8]]) -> list[RawDetections]:
        """One batched forward over model inputs of any number of images."""
        return self.runtime.predict(pixels)

    def postprocess(
        self,
        raws: list[RawDetections],
        image: PreprocessedImage,
        params: DetectParams,
        inference_ms: float,
    ) -> DetectionResult:
        """Merge the outputs of every view of `image` into the API result."""
        return build_result(raws, image, self.manifest, params, inference_ms)

    def infer(
        self, image: Image, params: DetectParams, limits: ImageLimits | None = None
    ) -> DetectionResult:
        [result] = self.infer_batch([image], params, limits)
        return result

    def infer_batch(
        self, images: Sequence[Image], params: DetectParams, limits: ImageLimits | None = None
    ) -> list[DetectionResult]:
        """Every view of every image in one forward; `inference_ms` is that forward's time."""
        limits = limits or ImageLimits()
        prepared = [
            image if isinstance(image, PreprocessedImage) else self.preprocess(image, limits)
            for image in images
        ]
        started = time.perf_counter()
        raws = self.predict([view.pixels for image in prepared for view in image.views])
        inference_ms = (time.perf_counter() - started) * 1000.0
        results = []
        for image in prepared:
            own, raws = raws[: len(image.views)], raws[len(image.views) :]
            results.append(self.postprocess(own, image, params, inference_ms))
        return results

    def warm_up(self, iterations: int = 2) -> float:
        """Run dummy forwards so the first request does not pay for lazy initialisation: at
        the model's input size, and at a camera frame's if that differs (the whole plan)."""
        sizes = {self.manifest.input_size, input_size(*WARM_UP_FRAME, self.input_spec)}
        dummies = [np.zeros((height, width, 3), dtype=np.uint8) for width, height in sizes]
        started = time.perf_counter()
        for _ in range(iterations):
            for dummy in dummies:
                self.predict([dummy])
        return (time.perf_counter() - started) * 1000.0
