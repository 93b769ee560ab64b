"""The Ray Serve implementation of `DetectionPipeline`.

`ServePipeline` composes the Preprocessor and Detector handles: the preprocessor's response
is passed straight into the detector call, so the decoded image never passes through the
ingress. With `preprocess_in: detector` the encoded image goes to the Detector alone, which
decodes it on its own threads. The ingress module imports this one and never imports torch.

Every call it makes is idempotent (a detection records nothing; the ingress does), so one
that a replica's death cut short is sent once more within the same deadline. Work whose
answer is no longer wanted (the deadline passed, or the caller went away) is cancelled, so
its queued views never reach a forward.
"""

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Literal

from ray.exceptions import RayActorError, RayTaskError, WorkerCrashedError
from ray.serve.exceptions import (
    BackPressureError,
    DeploymentUnavailableError,
    RayServeException,
    ReplicaUnavailableError,
)
from ray.serve.handle import DeploymentHandle, DeploymentResponse, DeploymentResponseGenerator

from serve_app.core.errors import (
    ControlPlaneError,
    ModelNotFoundError,
    NotReadyError,
    OverloadedError,
    ReplicaLostError,
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
ATTEMPTS = 2  # the first call, and one retry when a replica died under it
_REPLICA_DEATHS = (RayActorError, WorkerCrashedError, ReplicaUnavailableError)

# One call to a deployment: it sends the request(s) and returns the response to await. Every
# response it created is listed so that all of them are cancelled when the answer is dropped.
Response = DeploymentResponse[Any] | DeploymentResponseGenerator[Any]
Send = Callable[[], tuple[Response, ...]]


class ServePipeline:
    def __init__(
        self,
        preprocessor: DeploymentHandle[Any],
        detector: DeploymentHandle[Any],
        timeout_s: float,
        control: ServeConfigClient,
        app_name: str,
        preprocess_in: Literal["preprocessor", "detector"] = "preprocessor",
    ) -> None:
        self._preprocess_in_detector = preprocess_in == "detector"
        self._preprocessor = preprocessor
        self._detector = detector
        self._timeout_s = timeout_s
        self._control = control
        self._app_name = app_name
        self._active: ModelSummary | None = None
        self._known: dict[ModelRef, ModelSummary] = {}

    async def models(self) -> ModelsInfo:
        info: ModelsInfo = await self._call(lambda: (self._detector.models.remote(),))
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

        def send() -> tuple[Response, ...]:
            if self._preprocess_in_detector:
                return (detector.detect_encoded.remote(data, params),)
            preprocessed = self._preprocessor.process.remote(data, summary.input)
            return detector.detect.remote(preprocessed, params), preprocessed

        result: DetectionResult = await self._call(send)
        if model is None and result.model != summary.ref:
            self._active = None  # the model was swapped: learn its input spec again
        return result

    async def annotate(self, data: bytes, detections: list[Detection]) -> bytes:
        annotated: bytes = await self._call(
            lambda: (self._preprocessor.annotate.remote(data, detections),)
        )
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

    async def _call(self, send: Send) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        replica_lost = False
        for attempt in range(1, ATTEMPTS + 1):
            responses = send()
            try:
                return await asyncio.wait_for(_resolve(responses[0]), deadline - loop.time())
            except BaseException as error:
                # Timed out, replica lost, or the caller went away (CancelledError): the
                # queued work stops taking replica time.
                for response in responses:
                    _cancel(response)
                replica_lost = replica_lost or replica_died(error)
                if replica_died(error) and attempt < ATTEMPTS:
                    continue
                mapped = _service_error(error, self._timeout_s, replica_lost)
                if mapped is error:
                    raise
                raise mapped from None
        raise AssertionError("unreachable: the last attempt returns or raises")


def _service_error(error: BaseException, timeout_s: float, replica_lost: bool) -> BaseException:
    if replica_lost and isinstance(error, TimeoutError | RayActorError | RayServeException):
        # The retry died too, or waited out the deadline for the replacement replica.
        return ReplicaLostError(
            "a detection replica stopped while serving this request and no other one "
            "answered in time; retry shortly"
        )
    if isinstance(error, TimeoutError):
        return UpstreamTimeoutError(f"no answer within {timeout_s:.0f} s")
    if isinstance(error, BackPressureError):
        return OverloadedError("the detection backend is at capacity; retry shortly")
    if isinstance(error, DeploymentUnavailableError):
        return NotReadyError("the detection backend is unavailable")
    return error


def replica_died(error: BaseException) -> bool:
    """Whether `error` says that a replica (or its worker process) died under the request.

    Serve reports it as the actor error itself, as a task error caused by one (a chained
    response whose upstream replica died), or as its own exception wrapping one.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, _REPLICA_DEATHS):
            return True
        if isinstance(seen, RayTaskError):
            seen = seen.cause
        elif isinstance(seen, RayServeException):
            seen = seen.__cause__
        else:
            return False
    return False


def _cancel(response: Response) -> None:
    # Cancelling a response whose routing already failed re-raises that failure: there is
    # nothing left to cancel, and the failure is handled from the awaited response.
    with contextlib.suppress(Exception):
        response.cancel()  # type: ignore[no-untyped-call]


async def _resolve(response: Response) -> Any:
    return await response
