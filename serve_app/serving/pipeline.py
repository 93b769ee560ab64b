"""The Ray Serve implementation of `DetectionPipeline`.

`ServePipeline` composes the Preprocessor and Detector handles: the preprocessor's response
is passed straight into the detector call, so the decoded image never passes through the
ingress. The ingress module imports this one and never imports torch.
"""

import asyncio
from typing import Any

from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError
from ray.serve.handle import DeploymentHandle, DeploymentResponse

from serve_app.core.errors import (
    ControlPlaneError,
    ModelNotFoundError,
    NotReadyError,
    OverloadedError,
    UpstreamTimeoutError,
)
from serve_app.core.payloads import (
    Detection,
    DetectionResult,
    DetectParams,
    ModelRef,
    ModelsInfo,
    ModelSummary,
)
from serve_app.serving.serve_control import ServeConfigClient

DETECTOR_DEPLOYMENT = "Detector"


class ServePipeline:
    def __init__(
        self,
        preprocessor: DeploymentHandle[Any],
        detector: DeploymentHandle[Any],
        timeout_s: float,
        control: ServeConfigClient,
        app_name: str,
    ) -> None:
        self._preprocessor = preprocessor
        self._detector = detector
        self._timeout_s = timeout_s
        self._control = control
        self._app_name = app_name
        self._active: ModelSummary | None = None
        self._known: dict[ModelRef, ModelSummary] = {}

    async def models(self) -> ModelsInfo:
        info: ModelsInfo = await self._call(self._detector.models.remote())
        self._active = info.active
        self._known = {summary.ref: summary for summary in info.available}
        return info

    async def detect(
        self, data: bytes, params: DetectParams, model: ModelRef | None = None
    ) -> DetectionResult:
        if model is None:
            summary = self._active or (await self.models()).active
            detector = self._detector
        else:
            summary = await self._summary(model)
            # Serve routes it to a replica that has this version loaded, if one has.
            detector = self._detector.options(multiplexed_model_id=str(model))
        preprocessed = self._preprocessor.process.remote(data, summary.input)
        result: DetectionResult = await self._call(detector.detect.remote(preprocessed, params))
        if model is None and result.model != summary.ref:
            self._active = None  # the model was swapped: learn its input spec again
        return result

    async def annotate(self, data: bytes, detections: list[Detection]) -> bytes:
        annotated: bytes = await self._call(self._preprocessor.annotate.remote(data, detections))
        return annotated

    async def activate(self, ref: ModelRef) -> ModelRef:
        info = await self.models()
        if ref not in self._known:
            raise ModelNotFoundError(f"no model {ref} under the models root")
        loop = asyncio.get_running_loop()
        change = loop.run_in_executor(
            None, self._control.set_detector_model, self._app_name, DETECTOR_DEPLOYMENT, ref
        )
        # The client times out each request; this bounds the whole change (GET and PUT) too.
        deadline_s = self._control.operation_timeout_s
        try:
            await asyncio.wait_for(change, deadline_s)
        except TimeoutError:
            # The thread cannot be stopped: its PUT may still land after this answer.
            raise ControlPlaneError(
                f"Ray's control plane did not complete the change within {deadline_s:g} s; "
                "it may still apply: check GET /v1/models before retrying"
            ) from None
        return info.active.ref

    async def _summary(self, ref: ModelRef) -> ModelSummary:
        if ref not in self._known:
            await self.models()  # a version dropped into the models root since
        try:
            return self._known[ref]
        except KeyError:
            raise ModelNotFoundError(f"no model {ref} under the models root") from None

    async def _call(self, response: DeploymentResponse[Any] | Any) -> Any:
        try:
            return await asyncio.wait_for(_resolve(response), self._timeout_s)
        except TimeoutError:
            raise UpstreamTimeoutError(f"no answer within {self._timeout_s:.0f} s") from None
        except BackPressureError:
            raise OverloadedError("the detection backend is at capacity; retry shortly") from None
        except DeploymentUnavailableError:
            raise NotReadyError("the detection backend is unavailable") from None


async def _resolve(response: DeploymentResponse[Any] | Any) -> Any:
    return await response
