"""Identical image bytes + model version + parameters → the result detected before.

The ingress cannot know which version will answer before it asks, so the key uses the version
it last saw: from the last result, or asked of the detector at most every `VERSION_CHECK_S`.
The cached value names its version too, and a mismatch is a miss. After a model swap the first
detection (or check) brings the new version, and old entries are never looked up again.
"""

import hashlib
import json
import time
from dataclasses import asdict, replace
from typing import Literal

from serve_app.core.metrics import SharedStateMetrics
from serve_app.core.payloads import Detection, DetectionResult, DetectParams, ModelRef
from serve_app.core.pipeline import DetectionPipeline
from serve_app.state.backend import REDIS_ERRORS, OutageLog, ValueStore

CacheOutcome = Literal["hit", "miss", "bypass"]
VERSION_CHECK_S = 2.0


class CachedDetections:
    def __init__(
        self,
        pipeline: DetectionPipeline,
        store: ValueStore,
        ttl_s: float,
        metrics: SharedStateMetrics,
        outages: OutageLog,
    ) -> None:
        self._pipeline = pipeline
        self._store = store
        self._ttl_s = ttl_s
        self._metrics = metrics
        self._outages = outages
        self._active: ModelRef | None = None
        self._active_seen_at = 0.0

    def forget_active_model(self) -> None:
        """This replica switched the model: ask which one answers before the next lookup."""
        self._active = None

    async def detect(
        self, data: bytes, params: DetectParams, model: ModelRef | None = None
    ) -> tuple[DetectionResult, CacheOutcome]:
        if self._ttl_s == 0:
            return await self._pipeline.detect(data, params, model), "bypass"
        expected = model or await self._active_model()
        key = _key(data, expected, params)
        try:
            cached = await self._store.get(key)
        except REDIS_ERRORS as error:
            self._outages.failed("result_cache", error, "detecting without the cache")
            return await self._pipeline.detect(data, params, model), "bypass"
        if cached is not None:
            result = _decode(cached)
            if result.model == expected:
                self._metrics.cache("hit")
                # Nothing was preprocessed or inferred for this request.
                return replace(result, preprocess_ms=0.0, inference_ms=0.0), "hit"
        self._metrics.cache("miss")
        result = await self._pipeline.detect(data, params, model)
        if model is None:
            self._saw_active(result.model)
        try:
            await self._store.set(_key(data, result.model, params), _encode(result), self._ttl_s)
        except REDIS_ERRORS as error:
            self._outages.failed("result_cache", error, "detecting without the cache")
        return result, "miss"

    async def _active_model(self) -> ModelRef:
        if self._active is None or time.monotonic() - self._active_seen_at > VERSION_CHECK_S:
            self._saw_active((await self._pipeline.models()).active.ref)
        assert self._active is not None
        return self._active

    def _saw_active(self, ref: ModelRef) -> None:
        self._active = ref
        self._active_seen_at = time.monotonic()


def _key(data: bytes, model: ModelRef, params: DetectParams) -> str:
    digest = hashlib.sha256(data)
    digest.update(f"\0{model}\0{params.min_score}\0{params.max_detections}".encode())
    return f"result:{digest.hexdigest()}"


def _encode(result: DetectionResult) -> bytes:
    return json.dumps(asdict(result)).encode()


def _decode(value: bytes) -> DetectionResult:
    data = json.loads(value)
    return DetectionResult(
        model=ModelRef(**data["model"]),
        image_width=data["image_width"],
        image_height=data["image_height"],
        detections=[
            Detection(label=d["label"], score=d["score"], box=tuple(d["box"]))
            for d in data["detections"]
        ],
        preprocess_ms=data["preprocess_ms"],
        inference_ms=data["inference_ms"],
        counts=data["counts"],
    )
