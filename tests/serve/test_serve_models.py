"""The model registry on a live Serve app: real detections, pinned versions, hot swaps.

A swap must not fail a single request: a client keeps sending while the active model changes,
and every response names the version that produced it.
"""

import json
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from medinv_client import (
    NO_RETRIES,
    ApiError,
    Client,
    DetectionResult,
    NotFoundError,
    StreamResult,
    TransportError,
)
from serve_app.core.demo_model import DEFAULT_MODEL, DEMO_MODEL
from serve_app.core.payloads import Detection, ModelRef
from serve_app.model.manifest import model_dir
from serve_app.model.onnx_detectors.importer import ImportOptions, import_onnx
from tests.assertions import extra_detections, match_items
from tests.conftest import UNTRAINED_MODEL
from tests.factories import copy_model
from tests.serve.conftest import ServeService
from tests.ultralytics_reference import FIXTURE, REFERENCE, assert_agrees_with_ultralytics

EXAMPLES = Path(__file__).parents[2] / "examples"
# The Serve config's model is the shipped SSDlite exported to ONNX (ONNX Runtime); DEMO_MODEL
# is the same network on torch.
ACTIVE = DEFAULT_MODEL

pytestmark = pytest.mark.serve


def _detect(client: Client, name: str, **options: Any) -> DetectionResult:
    return client.detect(EXAMPLES / f"{name}.jpg", **options)


def _boxes(result: DetectionResult | StreamResult) -> list[dict[str, Any]]:
    return [d.model_dump() for d in result.detections]


def test_the_example_shelf_gets_all_its_items_and_nothing_inside_the_frame(
    serve_service: ServeService,
) -> None:
    truth = json.loads((EXAMPLES / "shelf.json").read_text())
    with serve_service.client() as client:
        result = _detect(client, "shelf")

    matched, missed, _ = match_items(_boxes(result), truth["items"])
    assert (matched, missed) == (len(truth["items"]), 0)
    # The ground truth leaves out items less than half visible; the served model may find the
    # one that the frame's right edge cuts (1.4.0 did). Anything else is a false item.
    extras = extra_detections(_boxes(result), truth["items"])
    assert len(extras) <= 1 and all(_touches_edge(d["box"], 640, 480) for d in extras), extras


def _touches_edge(box: list[float], width: int, height: int, margin: float = 2.0) -> bool:
    x1, y1, x2, y2 = box
    return x1 <= margin or y1 <= margin or x2 >= width - margin or y2 >= height - margin


def test_a_camera_frame_seen_whole_has_most_items_found(serve_service: ServeService) -> None:
    truth = json.loads((EXAMPLES / "camera-frame.json").read_text())
    with serve_service.client() as client:
        result = _detect(client, "camera-frame")

    assert (result.image.width, result.image.height) == (1280, 720)
    matched, missed, extra = match_items(_boxes(result), truth["items"])
    # Most, not all: at its default threshold (0.3) the served model finds about 0.88 of a
    # hard frame's items (150 validation frames, seed 601: 1.8.0 0.883; at 0.5 0.829), and on
    # this frame 1.8.0 finds 40 of 46 (1.6.0 at 0.5: 36).
    assert matched >= 0.8 * len(truth["items"]), (matched, missed, extra)
    assert extra <= 0.1 * len(truth["items"]), (matched, missed, extra)


def test_a_request_pins_a_version_through_multiplexing(serve_service: ServeService) -> None:
    with serve_service.client() as client:
        pinned = _detect(client, "shelf", model=str(UNTRAINED_MODEL))
        default = _detect(client, "shelf")
        with pytest.raises(NotFoundError) as unknown:
            _detect(client, "shelf", model="nothing:1")

    assert str(pinned.model) == str(UNTRAINED_MODEL)
    assert str(default.model) == str(ACTIVE)
    assert (unknown.value.status, unknown.value.code) == (404, "model_not_found")


class _Traffic:
    """One client sending the example shelf back to back, recording status and version."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.results: list[tuple[int, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with Client(self.base_url, timeout=60, retry=NO_RETRIES) as client:
            while not self._stop.is_set():
                # Distinct parameters per request: each one misses the result cache and
                # reaches a detector.
                try:
                    result = _detect(client, "shelf", max_detections=100 + len(self.results) % 900)
                except ApiError as error:
                    self.results.append((error.status or 0, str(error)))
                    continue
                except TransportError as error:
                    self.results.append((0, repr(error)))
                    continue
                self.results.append((200, str(result.model)))

    def wait_for(self, version: str, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(v == version for _, v in self.results[-3:]):
                return
            time.sleep(0.2)
        raise AssertionError(f"responses never came from {version}: {self.results[-5:]}")

    @contextmanager
    def running(self) -> Iterator["_Traffic"]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=60)


def _assert_clean_switch(results: list[tuple[int, str]], old: str, new: str) -> None:
    failures = [r for r in results if r[0] != 200]
    assert not failures, f"{len(failures)} of {len(results)} requests failed: {failures[:3]}"
    versions = [v for _, v in results]
    assert versions[0] == old and versions[-1] == new
    first_new = versions.index(new)
    assert set(versions[first_new:]) == {new}, "a response came from the old model after the swap"


def _detector_user_config(config: dict[str, Any]) -> dict[str, Any]:
    deployments = config["applications"][0]["deployments"]
    user_config: dict[str, Any] = next(d for d in deployments if d["name"] == "Detector")[
        "user_config"
    ]
    return user_config


@pytest.fixture
def new_version(serve_service: ServeService, models_root: Path) -> Iterator[ModelRef]:
    """A new version of the demo model dropped into the models root, as an operator would;
    removed again (and the original config restored) afterwards."""
    ref = ModelRef(ACTIVE.name, "1.1.1")
    copy_model(models_root, model_dir(models_root, ACTIVE), ref.version)
    try:
        yield ref
    finally:
        serve_service.cluster.deploy(serve_service.config)
        with serve_service.client() as client:
            deadline = time.monotonic() + 90
            while str(_detect(client, "shelf").model) != str(ACTIVE):
                assert time.monotonic() < deadline, "the original model did not come back"
                time.sleep(0.5)
        shutil.rmtree(model_dir(models_root, ref))


def test_serve_deploy_of_a_new_version_swaps_in_place_without_a_failed_request(
    serve_service: ServeService, new_version: ModelRef
) -> None:
    replicas_before = serve_service.replica_ids()
    config = json.loads(json.dumps(serve_service.config))
    _detector_user_config(config)["model"] = str(new_version)

    with _Traffic(serve_service.base_url).running() as traffic:
        traffic.wait_for(str(ACTIVE))
        started = time.monotonic()
        serve_service.cluster.deploy(config)
        traffic.wait_for(str(new_version))
        switch_s = time.monotonic() - started
        time.sleep(1)

    _assert_clean_switch(traffic.results, str(ACTIVE), str(new_version))
    assert serve_service.replica_ids() == replicas_before, "replicas were restarted"
    print(f"serve deploy swap: {len(traffic.results)} requests, switched in {switch_s:.1f} s")


def test_put_models_active_swaps_every_replica_without_a_failed_request(
    serve_service: ServeService, new_version: ModelRef
) -> None:
    replicas_before = serve_service.replica_ids()

    with _Traffic(serve_service.base_url).running() as traffic:
        traffic.wait_for(str(ACTIVE))
        _activate(serve_service, new_version)
        traffic.wait_for(str(new_version))
        time.sleep(1)

    _assert_clean_switch(traffic.results, str(ACTIVE), str(new_version))
    assert serve_service.replica_ids() == replicas_before, "replicas were restarted"
    declared = serve_service.application()["deployed_app_config"]
    assert _detector_user_config({"applications": [declared]})["model"] == str(new_version)


def _activate(service: ServeService, ref: ModelRef) -> None:
    with service.client(admin=True) as client:
        change = client.activate_model(str(ref))  # 202, or an ApiError
    assert change.status == "switching" and str(change.requested) == str(ref)


def _stream_one(service: ServeService, frame: bytes) -> StreamResult:
    with service.client() as client:
        (message,) = list(client.stream([frame], latest_wins=False, max_reconnects=0))
    assert isinstance(message, StreamResult), message
    return message


def test_swapping_onnx_to_torch_and_back_fails_no_request(serve_service: ServeService) -> None:
    """The ONNX export (active) to the torch model and back, under traffic; in the middle,
    REST and WebSocket answers come from torch and find the shelf's items."""
    truth = json.loads((EXAMPLES / "shelf.json").read_text())
    replicas_before = serve_service.replica_ids()

    with _Traffic(serve_service.base_url).running() as traffic:
        traffic.wait_for(str(ACTIVE))
        _activate(serve_service, DEMO_MODEL)
        traffic.wait_for(str(DEMO_MODEL))
        with serve_service.client() as client:
            rest = _detect(client, "shelf")
        streamed = _stream_one(serve_service, (EXAMPLES / "shelf.jpg").read_bytes())
        _activate(serve_service, ACTIVE)
        traffic.wait_for(str(ACTIVE))
        time.sleep(1)

    failures = [r for r in traffic.results if r[0] != 200]
    assert not failures, f"{len(failures)} of {len(traffic.results)} failed: {failures[:3]}"
    versions = [v for _, v in traffic.results]
    switches = [v for i, v in enumerate(versions) if i == 0 or v != versions[i - 1]]
    assert switches == [str(ACTIVE), str(DEMO_MODEL), str(ACTIVE)]
    assert serve_service.replica_ids() == replicas_before, "replicas were restarted"
    for answer in (rest, streamed):
        assert str(answer.model) == str(DEMO_MODEL)
        matched, missed, extra = match_items(_boxes(answer), truth["items"])
        assert (matched, missed, extra) == (len(truth["items"]), 0, 0)


def _detections(answer: DetectionResult | StreamResult) -> list[Detection]:
    return [Detection(d.label, d.score, d.box) for d in answer.detections]


def test_an_ultralytics_export_is_served_over_rest_and_websocket(
    serve_service: ServeService, models_root: Path
) -> None:
    """Imported with the command's code, pinned over REST, then active for a stream: its boxes
    agree with Ultralytics' own predictions (tests/fixtures/ultralytics)."""
    ref = ModelRef("shelf-yolov8n", "1.0.0")
    import_onnx(FIXTURE / "yolov8n-shelves.onnx", models_root, ImportOptions(ref.name, ref.version))
    image = "std_val_000001.jpg"
    data = (FIXTURE / "images" / image).read_bytes()
    try:
        with serve_service.client() as client:
            pinned = client.detect(
                data,
                model=str(ref),
                min_score=REFERENCE["predict_args"]["conf"],
                max_detections=300,
            )
            _activate(serve_service, ref)
            deadline = time.monotonic() + 90
            while str(_detect(client, "shelf").model) != str(ref):
                assert time.monotonic() < deadline, f"{ref} never became active"
                time.sleep(0.5)
        streamed = _stream_one(serve_service, data)
    finally:
        _activate(serve_service, ACTIVE)
        shutil.rmtree(model_dir(models_root, ref).parent)

    assert_agrees_with_ultralytics(image, _detections(pinned))
    assert str(streamed.model) == str(ref)
    # A stream reports at the model's default threshold, which is Ultralytics' conf.
    assert_agrees_with_ultralytics(image, _detections(streamed))
