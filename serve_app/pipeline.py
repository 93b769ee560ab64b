"""What the API needs from the detection backend, and its Ray Serve implementation.

`ServePipeline` composes the Preprocessor and Detector handles: the preprocessor's response
is passed straight into the detector call, so the decoded image never passes through the
ingress. The ingress module imports this one and never imports torch.
"""

import asyncio
from typing import Any, Protocol

from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError
from ray.serve.handle import DeploymentHandle, DeploymentResponse

from serve_app.errors import NotReadyError, OverloadedError, UpstreamTimeoutError
from serve_app.payloads import DetectionResult, DetectParams, ModelsInfo, ModelSummary


class DetectionPipeline(Protocol):
    async def detect(self, data: bytes, params: DetectParams) -> DetectionResult: ...

    async def models(self) -> ModelsInfo: ...


class ServePipeline:
    def __init__(
        self,
        preprocessor: DeploymentHandle[Any],
        detector: DeploymentHandle[Any],
        timeout_s: float,
    ) -> None:
        self._preprocessor = preprocessor
        self._detector = detector
        self._timeout_s = timeout_s
        self._active: ModelSummary | None = None

    async def models(self) -> ModelsInfo:
        info: ModelsInfo = await self._call(self._detector.models.remote())
        self._active = info.active
        return info

    async def detect(self, data: bytes, params: DetectParams) -> DetectionResult:
        active = self._active or (await self.models()).active
        preprocessed = self._preprocessor.process.remote(data, active.input_size)
        result: DetectionResult = await self._call(
            self._detector.detect.remote(preprocessed, params)
        )
        if result.model != active.ref:
            self._active = None  # the model was swapped: learn its input size again
        return result

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
