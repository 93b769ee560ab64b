"""`serve deploy` of configs/serve_config.yaml on a real local cluster, and hot reconfiguration."""

import copy
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from medinv_client import DetectionResult
from tests.serve.conftest import APP_NAME, ServeService

EXAMPLE_IMAGE = Path(__file__).parents[2] / "examples" / "shelf.jpg"

pytestmark = pytest.mark.serve


def _detector(config: dict[str, Any]) -> dict[str, Any]:
    deployments = config["applications"][0]["deployments"]
    detector: dict[str, Any] = next(d for d in deployments if d["name"] == "Detector")
    return detector


def _wait_for_batching(service: ServeService, expected: dict[str, Any]) -> None:
    deadline = time.monotonic() + 90
    seen: dict[str, Any] = {}
    with service.client() as client:
        while time.monotonic() < deadline:
            seen = client.models().batching.model_dump()
            if all(seen[key] == value for key, value in expected.items()):
                return
            time.sleep(1)
    raise AssertionError(f"batching is {seen}, expected {expected}")


def _detect_example(service: ServeService) -> DetectionResult:
    with service.client() as client:
        return client.detect(EXAMPLE_IMAGE)


def test_serve_status_cli_reports_every_deployment_healthy(serve_service: ServeService) -> None:
    serve_cli = str(Path(sys.executable).with_name("serve"))
    result = subprocess.run(
        [serve_cli, "status", "--address", serve_service.cluster.dashboard_url],
        env={**os.environ, **serve_service.cluster.client_env()},
        capture_output=True,
        text=True,
        check=True,
    )
    application = yaml.safe_load(result.stdout)["applications"][APP_NAME]
    assert application["status"] == "RUNNING"
    assert {name: d["status"] for name, d in application["deployments"].items()} == {
        "Ingress": "HEALTHY",
        "Preprocessor": "HEALTHY",
        "Detector": "HEALTHY",
        "CameraPoller": "HEALTHY",
    }


def test_batching_changes_in_place_through_user_config(serve_service: ServeService) -> None:
    original = serve_service.config
    replicas_before = serve_service.replica_ids()
    changed = copy.deepcopy(original)
    _detector(changed)["user_config"].update(max_batch_size=2, batch_wait_timeout_s=0.005)
    try:
        serve_service.cluster.deploy(changed)
        _wait_for_batching(serve_service, {"max_batch_size": 2, "batch_wait_timeout_s": 0.005})
        assert serve_service.replica_ids()["Detector"] == replicas_before["Detector"]
        _detect_example(serve_service)  # answers 200, or raises
    finally:
        serve_service.cluster.deploy(original)
        restored = _detector(original)["user_config"]
        _wait_for_batching(
            serve_service,
            {
                "max_batch_size": restored["max_batch_size"],
                "batch_wait_timeout_s": restored["batch_wait_timeout_s"],
            },
        )
    assert serve_service.replica_ids()["Detector"] == replicas_before["Detector"]


def test_a_model_that_cannot_load_leaves_the_current_one_serving(
    serve_service: ServeService,
) -> None:
    original = serve_service.config
    active = _detector(original)["user_config"]["model"]
    replicas_before = serve_service.replica_ids()
    broken = copy.deepcopy(original)
    _detector(broken)["user_config"].update(model="no-such-model:9.9.9", max_batch_size=3)
    try:
        serve_service.cluster.deploy(broken)
        # max_batch_size is applied in the same reconfigure, after which the load is tried.
        _wait_for_batching(serve_service, {"max_batch_size": 3})
        with serve_service.client() as client:
            assert client.models().active.ref == active
        assert str(_detect_example(serve_service).model) == active
        assert serve_service.replica_ids()["Detector"] == replicas_before["Detector"]
    finally:
        serve_service.cluster.deploy(original)
        _wait_for_batching(
            serve_service, {"max_batch_size": _detector(original)["user_config"]["max_batch_size"]}
        )


def _ingress_args(config: dict[str, Any]) -> dict[str, Any]:
    ingress: dict[str, Any] = config["applications"][0]["args"]["ingress"]
    return ingress


def test_either_preprocessing_placement_gives_the_same_detections(
    serve_service: ServeService,
) -> None:
    original = serve_service.config
    placement = _ingress_args(original)["preprocess_in"]
    before = _detect_example(serve_service)
    other = copy.deepcopy(original)
    _ingress_args(other)["preprocess_in"] = (
        "preprocessor" if placement == "detector" else "detector"
    )
    try:
        after = _redeploy_and_detect(serve_service, other)
    finally:
        _redeploy_and_detect(serve_service, original)

    assert after.counts == before.counts and after.detections, "the example shows supplies"
    for a, b in zip(after.detections, before.detections, strict=True):
        assert a.label == b.label
        assert a.score == pytest.approx(b.score, abs=1e-4)
        assert a.box == pytest.approx(b.box, abs=0.05)


def _redeploy_and_detect(service: ServeService, config: dict[str, Any]) -> DetectionResult:
    """Deploy changed application args (every replica restarts), then detect once the new
    Ingress and Detector replicas serve."""
    before = service.replica_ids()
    service.cluster.deploy(config)
    deadline = time.monotonic() + 180
    while True:
        now = service.replica_ids()
        restarted = all(
            now.get(name) and not now[name] & before[name] for name in ("Ingress", "Detector")
        )
        if restarted and service.cluster.serve_status(APP_NAME) == "RUNNING":
            try:
                return _detect_example(service)
            except Exception:
                if time.monotonic() > deadline:
                    raise
        elif time.monotonic() > deadline:
            raise AssertionError(f"replicas {now} did not replace {before} in time")
        time.sleep(1)
