"""The batched detection deployment. It runs on CUDA when the replica has a GPU, else on CPU,
with whichever runtime the model's format needs (torchvision or ONNX Runtime)."""

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from ray import serve

from serve_app.core.args import DetectorArgs, DetectorUserConfig, LimitsArgs
from serve_app.core.errors import ModelLoadError, ModelNotFoundError, NotReadyError
from serve_app.core.metrics import DetectorMetrics
from serve_app.core.payloads import (
    BatchingInfo,
    DetectionResult,
    DetectParams,
    ModelRef,
    ModelsInfo,
    PreprocessedImage,
)
from serve_app.core.settings import get_settings
from serve_app.model.imaging import ImageLimits, preprocess_image
from serve_app.model.inference import MAX_PINNED_MODELS, DetectionModel
from serve_app.model.loader import load_registered
from serve_app.model.manifest import list_manifests
from serve_app.model.postprocess import RawDetections
from serve_app.model.runtime import RuntimeOptions

logger = logging.getLogger("ray.serve")


@dataclass(frozen=True)
class _Job:
    """One model input of one request, and the model it must run on."""

    pixels: npt.NDArray[np.uint8]
    model: DetectionModel


@serve.deployment(name="Detector")
class Detector:
    def __init__(self, args: DetectorArgs, limits: LimitsArgs) -> None:
        self._model: DetectionModel | None = None
        self._limits = ImageLimits.of(limits)
        self._swap: asyncio.Task[None] | None = None
        self._config = DetectorUserConfig()
        self._forward_workers = args.forward_workers
        # ONNX Runtime sessions take their thread count when they open; torch's belongs to
        # the thread that runs a forward, so the pools below set it.
        self._runtime_options = RuntimeOptions(threads=args.forward_threads)
        self._metrics = DetectorMetrics()
        # Forwards run off the event loop so the next batch gathers meanwhile. On a small CPU,
        # several single-threaded forwards side by side use the cores better than one forward
        # with several intra-op threads (whose OpenMP workers spin and fight other processes).
        self._forward_pool = ThreadPoolExecutor(
            max_workers=args.forward_workers,
            thread_name_prefix="forward",
            initializer=_set_forward_threads,
            initargs=(args.forward_threads,),
        )
        # Loads and warm-ups get a thread of their own: on the forward pool (one thread in
        # every Kubernetes environment) a swap would stall every detection on the replica.
        # Single-threaded: an intra-op team of its own would spin against the forwards'.
        self._load_pool = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="model-load",
            initializer=_set_forward_threads,
            initargs=(1,),
        )
        # `detect_encoded` decodes here (Pillow and NumPy release the GIL), beside the forwards.
        self._preprocess_pool = ThreadPoolExecutor(
            max_workers=args.forward_workers, thread_name_prefix="preprocess"
        )
        _set_forward_threads(args.forward_threads)
        # serve.batch applied here rather than as a decorator: max_concurrent_batches comes
        # from the application's args.
        self.detect_batch = serve.batch(
            max_batch_size=self._config.max_batch_size,
            batch_wait_timeout_s=self._config.batch_wait_timeout_s,
            max_concurrent_batches=args.forward_workers,
        )(self._run_batch)

    async def reconfigure(self, user_config: dict[str, Any]) -> None:
        config = DetectorUserConfig.model_validate(user_config)
        batcher: Any = self.detect_batch  # serve.batch adds these setters; its types do not say so
        batcher.set_max_batch_size(config.max_batch_size)
        batcher.set_batch_wait_timeout_s(config.batch_wait_timeout_s)
        self._config = config
        if self._model is None:  # the replica is not ready before its first model is loaded
            self._install(await self._load_on_load_thread(config.model_ref))
        elif self._model.ref != config.model_ref:
            # Serve routes nothing to a replica while reconfigure() runs, so a swap that waited
            # here would stall every detection for the length of a load; the active model
            # serves on meanwhile and the new one takes over once it is loaded and warm.
            self._swap = asyncio.create_task(self._swap_to(config.model_ref))

    async def _swap_to(self, ref: ModelRef) -> None:
        try:
            model = await self._load_on_load_thread(ref)
        except (ModelLoadError, ModelNotFoundError):
            logger.exception("keeping %s: could not load %s", self._require_model().ref, ref)
            return
        if self._config.model_ref == ref:  # else a later swap was asked for meanwhile
            self._install(model)

    async def _load_on_load_thread(self, ref: ModelRef) -> DetectionModel:
        loop = asyncio.get_running_loop()
        model: DetectionModel = await loop.run_in_executor(self._load_pool, self._load, ref)
        return model

    def _install(self, model: DetectionModel) -> None:
        self._model = model
        self._metrics.set_model(model.ref, model.device)

    def _load(self, ref: ModelRef) -> DetectionModel:
        model = load_registered(get_settings().models_root, ref, self._runtime_options)
        warm_ms = model.warm_up()
        logger.info("loaded %s on %s, warm-up %.0f ms", model.ref, model.device, warm_ms)
        return model

    async def detect(self, image: PreprocessedImage, params: DetectParams) -> DetectionResult:
        """Detect on every view of `image` (one, or its tiles) with one model throughout.

        `image` arrives resolved: the ingress passed the Preprocessor's response straight in.
        A request routed with a multiplexed model id runs on that version; others on the
        active model as it was when the request arrived, even if a swap lands meanwhile.
        """
        model = await self._request_model()
        return await self._detect_views(model, image, params)

    async def detect_encoded(self, data: bytes, params: DetectParams) -> DetectionResult:
        """`detect` on an encoded image, decoded and cut into views in this replica
        (`ingress.preprocess_in: detector`)."""
        model = await self._request_model()
        loop = asyncio.get_running_loop()
        image = await loop.run_in_executor(
            self._preprocess_pool, preprocess_image, data, model.manifest.input_spec, self._limits
        )
        return await self._detect_views(model, image, params)

    async def _request_model(self) -> DetectionModel:
        pinned = serve.get_multiplexed_model_id()
        return await self._pinned_model(pinned) if pinned else self._require_model()

    async def _detect_views(
        self, model: DetectionModel, image: PreprocessedImage, params: DetectParams
    ) -> DetectionResult:
        started = time.perf_counter()
        raws = await asyncio.gather(
            *(self.detect_batch(_Job(view.pixels, model)) for view in image.views)
        )
        inference_ms = (time.perf_counter() - started) * 1000.0
        return model.postprocess(list(raws), image, params, inference_ms)

    @serve.multiplexed(max_num_models_per_replica=MAX_PINNED_MODELS)  # type: ignore[untyped-decorator]
    async def _pinned_model(self, model_id: str) -> DetectionModel:
        active = self._require_model()
        ref = ModelRef.parse(model_id)
        if active.ref == ref:
            return active
        return await self._load_on_load_thread(ref)

    async def _run_batch(self, jobs: list[_Job]) -> list[RawDetections]:
        """One forward pass per model among the jobs (usually one: the active model)."""
        loop = asyncio.get_running_loop()
        outputs: dict[int, RawDetections] = {}
        by_model: dict[int, list[int]] = {}
        for index, job in enumerate(jobs):
            by_model.setdefault(id(job.model), []).append(index)
        for indices in by_model.values():
            model = jobs[indices[0]].model
            started = time.perf_counter()
            raws = await loop.run_in_executor(
                self._forward_pool, model.predict, [jobs[i].pixels for i in indices]
            )
            self._metrics.observe_batch(len(indices), time.perf_counter() - started)
            for index, raw in zip(indices, raws, strict=True):
                outputs[index] = raw
        return [outputs[index] for index in range(len(jobs))]

    def models(self) -> ModelsInfo:
        model = self._require_model()
        return ModelsInfo(
            active=model.manifest.summary(),
            device=model.device,
            available=[m.summary() for m in list_manifests(get_settings().models_root)],
            batching=BatchingInfo(
                max_batch_size=self._config.max_batch_size,
                batch_wait_timeout_s=self._config.batch_wait_timeout_s,
                concurrent_batches=self._forward_workers,
            ),
        )

    def check_health(self) -> None:
        self._require_model()

    def _require_model(self) -> DetectionModel:
        if self._model is None:
            raise NotReadyError("no model is loaded yet")
        return self._model


def _set_forward_threads(threads: int | None) -> None:
    if threads is not None:
        torch.set_num_threads(threads)
