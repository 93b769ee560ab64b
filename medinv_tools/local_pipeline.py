"""The whole pipeline in one process, without Ray: the inference contract behind the
`DetectionPipeline` interface the API uses.

Used by the API tests and by the benchmark's single-server baseline; it runs exactly the
functions the Serve deployments run.
"""

import asyncio
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from serve_app.core.payloads import (
    BatchingInfo,
    Detection,
    DetectionResult,
    DetectParams,
    ModelRef,
    ModelsInfo,
)
from serve_app.model.annotate import annotate_image
from serve_app.model.imaging import ImageLimits
from serve_app.model.inference import MAX_PINNED_MODELS, DetectionModel
from serve_app.model.loader import load_directory, load_registered
from serve_app.model.manifest import list_manifests
from serve_app.model.runtime import RuntimeOptions


class LocalPipeline:
    def __init__(
        self,
        model_directory: Path,
        models_root: Path,
        limits: ImageLimits,
        device: str = "cpu",
        workers: int = 1,
        threads: int | None = None,
    ) -> None:
        self._options = RuntimeOptions(device, threads)
        self._model = load_directory(model_directory, self._options)
        self._models_root = models_root
        self._limits = limits
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="local-pipeline")
        # As on a Detector replica, loads do not wait behind (or hold up) detections.
        self._load_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-load")
        self._pool.submit(self._model.warm_up).result()
        # Pinned versions stay loaded, least recently used evicted, as on a Detector replica.
        self._pinned: OrderedDict[ModelRef, DetectionModel] = OrderedDict()

    async def detect(
        self, data: bytes, params: DetectParams, model: ModelRef | None = None
    ) -> DetectionResult:
        loop = asyncio.get_running_loop()
        chosen = self._model
        if model is not None and model != chosen.ref:
            chosen = await self._pinned_model(model)
        return await loop.run_in_executor(self._pool, chosen.infer, data, params, self._limits)

    async def annotate(self, data: bytes, detections: list[Detection]) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, annotate_image, data, detections, self._limits
        )

    async def _pinned_model(self, ref: ModelRef) -> DetectionModel:
        if ref in self._pinned:
            self._pinned.move_to_end(ref)
            return self._pinned[ref]
        loaded = await asyncio.get_running_loop().run_in_executor(self._load_pool, self._load, ref)
        self._pinned[ref] = loaded
        if len(self._pinned) > MAX_PINNED_MODELS:
            self._pinned.popitem(last=False)
        return loaded

    async def models(self) -> ModelsInfo:
        return ModelsInfo(
            active=self._model.manifest.summary(),
            device=self._model.device,
            available=[m.summary() for m in list_manifests(self._models_root)],
            batching=BatchingInfo(
                max_batch_size=1, batch_wait_timeout_s=0.0, concurrent_batches=self._workers
            ),
        )

    async def activate(self, ref: ModelRef) -> ModelRef:
        loaded = await asyncio.get_running_loop().run_in_executor(self._load_pool, self._load, ref)
        previous = self._model.ref
        self._model = loaded
        return previous

    def _load(self, ref: ModelRef) -> DetectionModel:
        return load_registered(self._models_root, ref, self._options)
