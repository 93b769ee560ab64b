"""ServePipeline.activate: every control-plane failure, a hang included, ends as a
ControlPlaneError within a bound.

The Detector and Preprocessor handles are hand-written stand-ins (tests/stand_ins.py): no Ray
cluster runs here.
"""

import asyncio
import threading
import time

import pytest

from serve_app.core.errors import ControlPlaneError, ModelNotFoundError
from serve_app.core.payloads import BatchingInfo, InputSpec, ModelRef, ModelsInfo, ModelSummary
from serve_app.serving.pipeline import DETECTOR_DEPLOYMENT, ServePipeline
from serve_app.serving.serve_control import ServeConfigClient
from tests.fake_dashboard import APP, Dashboard, instance_details
from tests.stand_ins import stand_in_handle

ACTIVE = ModelRef(name="medical-supplies-ssdlite", version="1.0.0")
OTHER = ModelRef(name="medical-supplies-ssdlite", version="2.0.0")
# Guards the tests themselves: without the pipeline's own bound they would hang.
TEST_GUARD_S = 10.0


def summary(ref: ModelRef) -> ModelSummary:
    return ModelSummary(
        ref=ref,
        format="torchvision",
        architecture="ssdlite320_mobilenet_v3_large",
        labels=["syringe"],
        score_threshold=0.5,
        input=InputSpec(size=(320, 320)),
        description="",
        metrics={},
        training={},
    )


async def models() -> ModelsInfo:
    return ModelsInfo(
        active=summary(ACTIVE),
        device="cpu",
        available=[summary(ACTIVE), summary(OTHER)],
        batching=BatchingInfo(max_batch_size=8, batch_wait_timeout_s=0.01, concurrent_batches=2),
    )


class BlockingControl(ServeConfigClient):
    """A control client whose call blocks until released, with a short operation bound."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:1", None, timeout_s=0.2)
        self.called = threading.Event()
        self.release = threading.Event()

    @property
    def operation_timeout_s(self) -> float:
        return 0.5

    def set_detector_model(self, app_name: str, deployment: str, ref: ModelRef) -> None:
        self.called.set()
        self.release.wait(TEST_GUARD_S)


class RecordingControl(ServeConfigClient):
    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:1", None)
        self.calls: list[tuple[str, str, ModelRef]] = []

    def set_detector_model(self, app_name: str, deployment: str, ref: ModelRef) -> None:
        self.calls.append((app_name, deployment, ref))


def pipeline_with(control: ServeConfigClient) -> ServePipeline:
    return ServePipeline(
        stand_in_handle(), stand_in_handle(models=models), 5.0, control, app_name=APP
    )


async def test_activate_declares_the_change_and_returns_the_previous_model() -> None:
    control = RecordingControl()

    previous = await pipeline_with(control).activate(OTHER)

    assert previous == ACTIVE
    assert control.calls == [(APP, DETECTOR_DEPLOYMENT, OTHER)]


async def test_activate_of_an_unknown_model_never_calls_the_control_plane() -> None:
    control = RecordingControl()

    with pytest.raises(ModelNotFoundError):
        await pipeline_with(control).activate(ModelRef(name="nope", version="9"))

    assert control.calls == []


async def test_a_control_call_that_never_returns_is_bounded() -> None:
    blocking = BlockingControl()
    started = time.monotonic()
    try:
        with pytest.raises(ControlPlaneError) as caught:
            await asyncio.wait_for(pipeline_with(blocking).activate(OTHER), TEST_GUARD_S)
    finally:
        blocking.release.set()  # the loop's shutdown waits for the executor's thread

    assert blocking.called.is_set()
    assert time.monotonic() - started < 2.0
    assert "within 0.5 s" in caught.value.message
    assert "GET /v1/models" in caught.value.message


async def test_an_app_without_a_declared_config_is_a_control_plane_error() -> None:
    """The real client against a local dashboard: the app is listed (`serve run`) without a
    deployed_app_config. This used to raise StopIteration into the executor's future, which
    asyncio cannot carry: the request hung."""
    dashboard = Dashboard()
    try:
        dashboard.answer(instance_details({APP: {"name": APP, "deployed_app_config": None}}))
        control = ServeConfigClient(dashboard.url, None, timeout_s=1.0)

        with pytest.raises(ControlPlaneError) as caught:
            await asyncio.wait_for(pipeline_with(control).activate(OTHER), TEST_GUARD_S)
    finally:
        dashboard.close()

    assert "serve deploy" in caught.value.message
    assert dashboard.puts == []
