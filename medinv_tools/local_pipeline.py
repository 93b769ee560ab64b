"""The whole pipeline in one process, without Ray: decode, preprocess, forward, postprocess.

Used by the API tests and by the benchmark's single-server baseline; it runs exactly the
functions the Serve deployments run.
"""

import asyncio
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from serve_app.core.errors import ModelNotFoundError
from serve_app.core.payloads import (
    BatchingInfo,
    DetectionResult,
    DetectParams,
    ModelRef,
    ModelsInfo,
)
from serve_app.model.imaging import ImageLimits, preprocess_image
from serve_app.model.inference import MAX_PINNED_MODELS, DetectorModel
from serve_app.model.manifest import list_manifests, model_dir
from serve_app.model.postprocess import build_result


class LocalPipeline:
    def __init__(
        self,
        model_directory: Path,
        models_root: Path,
        limits: ImageLimits,
        device: torch.device,
        workers: int = 1,
    ) -> None:
        self._model = DetectorModel(model_directory, device)
        self._models_root = models_root
        self._limits = limits
        self._device = device
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="local-pipeline")
        self._pool.submit(self._model.warm_up).result()
        # Pinned versions stay loaded, least recently used evicted, as on a Detector replica.
        self._pinned: OrderedDict[ModelRef, DetectorModel] = OrderedDict()

    async def detect(
        self, data: bytes, params: DetectParams, model: ModelRef | None = None
    ) -> DetectionResult:
        loop = asyncio.get_running_loop()
        chosen = self._model
        if model is not None and model != chosen.manifest.ref:
            chosen = await self._pinned_model(model)
        return await loop.run_in_executor(self._pool, self.detect_sync, data, params, chosen)

    async def _pinned_model(self, ref: ModelRef) -> DetectorModel:
        if ref in self._pinned:
            self._pinned.move_to_end(ref)
            return self._pinned[ref]
        loaded = await asyncio.get_running_loop().run_in_executor(self._pool, self._load, ref)
        self._pinned[ref] = loaded
        if len(self._pinned) > MAX_PINNED_MODELS:
            self._pinned.popitem(last=False)
        return loaded

    def detect_sync(
        self, data: bytes, params: DetectParams, model: DetectorModel | None = None
    ) -> DetectionResult:
        model = model or self._model
        image = preprocess_image(data, model.input_spec, self._limits)
        started = time.perf_counter()
        raws = model.predict([view.pixels for view in image.views])
        inference_ms = (time.perf_counter() - started) * 1000.0
        return build_result(raws, image, model.manifest, params, inference_ms)

    async def models(self) -> ModelsInfo:
        return ModelsInfo(
            active=self._model.manifest.summary(),
            device=str(self._device),
            available=[m.summary() for m in list_manifests(self._models_root)],
            batching=BatchingInfo(
                max_batch_size=1, batch_wait_timeout_s=0.0, concurrent_batches=self._workers
            ),
        )

    async def activate(self, ref: ModelRef) -> ModelRef:
        loaded = await asyncio.get_running_loop().run_in_executor(self._pool, self._load, ref)
        previous = self._model.manifest.ref
        self._model = loaded
        return previous

    def _load(self, ref: ModelRef) -> DetectorModel:
        directory = model_dir(self._models_root, ref)
        if not directory.is_dir():
            raise ModelNotFoundError(f"no model {ref} under the models root")
        return DetectorModel(directory, self._device)
