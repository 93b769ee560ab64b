"""The whole pipeline in one process, without Ray: decode, preprocess, forward, postprocess.

Used by the API tests and by the benchmark's single-server baseline; it runs exactly the
functions the Serve deployments run.
"""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from serve_app.imaging import ImageLimits, preprocess_image
from serve_app.inference import DetectorModel
from serve_app.model_manifest import list_manifests
from serve_app.payloads import BatchingInfo, DetectionResult, DetectParams, ModelsInfo
from serve_app.postprocess import build_result


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

    async def detect(self, data: bytes, params: DetectParams) -> DetectionResult:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self.detect_sync, data, params
        )

    def detect_sync(self, data: bytes, params: DetectParams) -> DetectionResult:
        image = preprocess_image(data, self._model.input_size, self._limits)
        started = time.perf_counter()
        (raw,) = self._model.predict([image.pixels])
        inference_ms = (time.perf_counter() - started) * 1000.0
        return build_result(raw, image, self._model.manifest, params, inference_ms)

    async def models(self) -> ModelsInfo:
        return ModelsInfo(
            active=self._model.manifest.summary(),
            device=str(self._device),
            available=[m.summary() for m in list_manifests(self._models_root)],
            batching=BatchingInfo(
                max_batch_size=1, batch_wait_timeout_s=0.0, concurrent_batches=self._workers
            ),
        )
