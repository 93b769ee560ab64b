"""ServePipeline's calls: one retry when a replica died under the request, a JSON-mappable
error when it happens again, and cancellation of the work of an answer nobody waits for.

The handles are hand-written stand-ins (tests/stand_ins.py) raising Ray's real exception
types; tests/serve/test_serve_replica_death.py SIGKILLs real replicas.
"""

import asyncio
from typing import Any

import pytest
from ray.exceptions import ActorDiedError, RayTaskError
from ray.serve.exceptions import BackPressureError, RayServeException

from serve_app.core.errors import (
    ModelNotFoundError,
    OverloadedError,
    ReplicaLostError,
    UpstreamTimeoutError,
)
from serve_app.core.payloads import DetectParams, ModelsInfo
from serve_app.serving.pipeline import ServePipeline, replica_died
from serve_app.serving.serve_control import ServeConfigClient
from tests.stand_ins import stand_in_handle
from tests.unit.test_serve_pipeline import models

CONTROL = ServeConfigClient("http://127.0.0.1:1", None)


def _dying(times: int, error: BaseException) -> Any:
    calls = {"n": 0}

    async def method(*_: Any) -> ModelsInfo:
        calls["n"] += 1
        if calls["n"] <= times:
            raise error
        return await models()

    return method, calls


def _pipeline(detector: Any, preprocessor: Any = None, timeout_s: float = 5.0) -> ServePipeline:
    return ServePipeline(
        preprocessor or stand_in_handle(), detector, timeout_s, CONTROL, app_name="medinv"
    )


def _upstream_crash() -> RayServeException:
    """What Serve's router raises when a chained response's upstream replica died."""
    wrapped = RayServeException("an upstream actor died before finishing a dependent task")
    wrapped.__cause__ = ActorDiedError()
    return wrapped


@pytest.mark.parametrize(
    "error",
    [
        ActorDiedError(),
        RayTaskError("detect", "traceback", ActorDiedError()).as_instanceof_cause(),
        _upstream_crash(),
    ],
    ids=["actor-died", "task-error-caused-by-it", "serve-upstream-crash"],
)
def test_replica_deaths_are_recognised_however_serve_reports_them(error: BaseException) -> None:
    assert replica_died(error)


def test_other_errors_are_not_replica_deaths() -> None:
    assert not replica_died(ModelNotFoundError("no model"))
    assert not replica_died(RayServeException("something else"))
    assert not replica_died(BackPressureError(num_queued_requests=1, max_queued_requests=1))


async def test_a_call_cut_short_by_a_replica_death_is_sent_again() -> None:
    method, calls = _dying(1, ActorDiedError())

    info = await _pipeline(stand_in_handle(models=method)).models()

    assert calls["n"] == 2
    assert info.active.ref == (await models()).active.ref


async def test_a_second_death_is_a_replica_lost_error() -> None:
    method, calls = _dying(2, ActorDiedError())

    with pytest.raises(ReplicaLostError):
        await _pipeline(stand_in_handle(models=method)).models()

    assert calls["n"] == 2


async def test_other_errors_are_never_retried() -> None:
    method, calls = _dying(1, ModelNotFoundError("gone"))

    with pytest.raises(ModelNotFoundError):
        await _pipeline(stand_in_handle(models=method)).models()

    assert calls["n"] == 1


async def test_backpressure_is_an_overload() -> None:
    error = BackPressureError(num_queued_requests=8, max_queued_requests=8)
    method, _ = _dying(1, error)

    with pytest.raises(OverloadedError):
        await _pipeline(stand_in_handle(models=method)).models()


async def test_a_timed_out_detection_cancels_its_preprocessing_and_detection() -> None:
    async def preprocess(*_: Any) -> bytes:
        return b"views"

    async def detect_forever(*_: Any) -> None:
        await asyncio.sleep(3600)

    detector = stand_in_handle(models=models, detect=detect_forever)
    preprocessor = stand_in_handle(process=preprocess)
    pipeline = _pipeline(detector, preprocessor, timeout_s=0.2)

    with pytest.raises(UpstreamTimeoutError):
        await pipeline.detect(b"jpeg", DetectParams())

    sent = [*preprocessor.process.responses, *detector.detect.responses]  # type: ignore[attr-defined]
    assert len(sent) == 2
    assert all(response.cancelled for response in sent)


async def test_a_retry_waits_only_for_what_is_left_of_the_deadline() -> None:
    async def die_then_hang(*_: Any) -> ModelsInfo:
        if not hasattr(die_then_hang, "died"):
            die_then_hang.died = True  # type: ignore[attr-defined]
            raise ActorDiedError()
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ReplicaLostError):  # the replacement never answered in time
        await _pipeline(stand_in_handle(models=die_then_hang), timeout_s=0.3).models()
    assert loop.time() - started < 1.0
