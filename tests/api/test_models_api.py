"""GET /v1/models, PUT /v1/models/active and ?model= pinning, on the in-process pipeline."""

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medinv_tools.local_pipeline import LocalPipeline
from medinv_tools.paths import REPO_ROOT
from serve_app.api.app import create_api
from serve_app.core.args import IngressArgs
from serve_app.core.demo_model import ANNEALED_MODEL, DEFAULT_MODEL, DEMO_MODEL
from serve_app.core.settings import Settings
from serve_app.inventory.recorder import InventoryRecorder
from serve_app.model.imaging import ImageLimits
from serve_app.model.manifest import model_dir, read_manifest
from serve_app.serving.pipeline import ServePipeline
from serve_app.serving.serve_control import ServeConfigClient
from tests.conftest import UNTRAINED_MODEL
from tests.factories import shelf_jpeg
from tests.fake_dashboard import APP, Dashboard, silent_dashboard
from tests.stand_ins import stand_in_handle


def detect(client: TestClient, query: str = "") -> dict[str, object]:
    response = client.post(
        f"/v1/detect{query}", content=shelf_jpeg(), headers={"Content-Type": "image/jpeg"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_models_lists_every_version_with_its_metrics(
    client: TestClient, demo_model_dir: Path
) -> None:
    body = client.get("/v1/models").json()

    assert body["active"]["name"] == DEMO_MODEL.name
    assert body["active"]["labels"] == read_manifest(demo_model_dir).labels
    assert [(m["name"], m["version"]) for m in body["available"]] == [
        (UNTRAINED_MODEL.name, UNTRAINED_MODEL.version),
        (DEMO_MODEL.name, DEMO_MODEL.version),
        (DEFAULT_MODEL.name, DEFAULT_MODEL.version),
    ]
    demo, exported = body["available"][1:]
    assert demo["metrics"]["standard"]["map50"] >= 0.97
    assert demo["tiling"] == {"tile": 480, "overlap": 160, "above": 960, "plan": "tiles"}
    assert exported["tiling"] == {**demo["tiling"], "plan": "whole"}
    assert demo["training"]["recipe"] == "medinv-train demo"
    assert (demo["format"], exported["format"]) == ("torchvision", "onnx")
    assert (
        exported["resize"]
        == demo["resize"]
        == {
            "mode": "stretch",
            "interpolation": "antialias",
            "pad_value": None,
            "stride": None,
        }
    )
    # The served model is the export of the fine-tuned torch model, seeing camera frames whole,
    # with merge-NMS: no mAP lost on shelf images or on the hard camera frames.
    assert exported["training"]["exported_from"] == str(ANNEALED_MODEL)
    assert exported["training"]["source_training"]["recipe"] == "medinv-train demo-anneal"
    served = read_manifest(model_dir(REPO_ROOT / "models", DEFAULT_MODEL))
    assert served.onnx is not None and served.onnx.decoder.box_merge_iou == 0.65
    source = read_manifest(model_dir(REPO_ROOT / "models", ANNEALED_MODEL)).metrics
    assert exported["metrics"]["standard"]["map"] >= source["standard"]["map"] - 0.005
    assert exported["metrics"]["hard"]["map"] >= source["hard"]["map"] - 0.005
    assert body["batching"]["concurrent_batches"] == 2


def test_a_request_can_pin_a_registered_version(client: TestClient) -> None:
    pinned = detect(client, f"?model={UNTRAINED_MODEL}")
    default = detect(client)

    assert pinned["model"] == {"name": UNTRAINED_MODEL.name, "version": UNTRAINED_MODEL.version}
    assert default["model"] == {"name": DEMO_MODEL.name, "version": DEMO_MODEL.version}


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("?model=medical-supplies-ssdlite:9.9.9", 404, "model_not_found"),
        ("?model=no-version", 422, "invalid_parameters"),
    ],
)
def test_pinning_an_unknown_or_malformed_version_is_a_clear_error(
    client: TestClient, query: str, status: int, code: str
) -> None:
    response = client.post(
        f"/v1/detect{query}", content=shelf_jpeg(), headers={"Content-Type": "image/jpeg"}
    )

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


@pytest.fixture
def own_client(
    demo_model_dir: Path, models_root: Path, store_settings: Settings, admin: dict[str, str]
) -> Iterator[TestClient]:
    """A client over a pipeline of its own: activating a model changes the pipeline."""
    pipeline = LocalPipeline(demo_model_dir, models_root, ImageLimits(), "cpu")
    store = InventoryRecorder.open(store_settings)
    api = create_api(pipeline, store, IngressArgs(), store_settings, behind_serve_proxy=False)
    with TestClient(api, headers=admin) as client:
        yield client


def test_activate_switches_the_active_model(own_client: TestClient) -> None:
    response = own_client.put("/v1/models/active", json={"model": str(UNTRAINED_MODEL)})

    assert response.status_code == 202
    assert response.json() == {
        "status": "switching",
        "previous": {"name": DEMO_MODEL.name, "version": DEMO_MODEL.version},
        "requested": {"name": UNTRAINED_MODEL.name, "version": UNTRAINED_MODEL.version},
    }
    assert own_client.get("/v1/models").json()["active"]["version"] == UNTRAINED_MODEL.version
    assert detect(own_client)["model"] == {
        "name": UNTRAINED_MODEL.name,
        "version": UNTRAINED_MODEL.version,
    }


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": "medical-supplies-ssdlite:9.9.9"}, 404, "model_not_found"),
        ({"model": "nonsense"}, 422, "invalid_parameters"),
        ({"model": str(DEMO_MODEL), "extra": 1}, 422, "invalid_parameters"),
    ],
)
def test_activate_refuses_unknown_or_malformed_models(
    own_client: TestClient, body: dict[str, object], status: int, code: str
) -> None:
    response = own_client.put("/v1/models/active", json=body)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert own_client.get("/v1/models").json()["active"]["version"] == DEMO_MODEL.version


@pytest.mark.parametrize("dashboard_answer", ["not-json", "http-500", "silent"])
def test_a_control_plane_failure_is_a_json_502(
    pipeline: LocalPipeline, store_settings: Settings, admin: dict[str, str], dashboard_answer: str
) -> None:
    """ServePipeline with its real ServeConfigClient against a local dashboard that fails; the
    Detector handle is a hand-written stand-in (no Ray) that answers the in-process models."""
    with ExitStack() as stack:
        if dashboard_answer == "silent":
            url = stack.enter_context(silent_dashboard())
        else:
            dashboard = Dashboard()
            stack.callback(dashboard.close)
            dashboard.get_body = b"<html>Bad Gateway</html>"
            dashboard.get_status = 500 if dashboard_answer == "http-500" else 200
            url = dashboard.url
        control = ServeConfigClient(url, None, timeout_s=0.3)
        detector = stand_in_handle(models=pipeline.models)
        serve_pipeline = ServePipeline(stand_in_handle(), detector, 5.0, control, APP)
        store = InventoryRecorder.open(store_settings)
        api = create_api(
            serve_pipeline, store, IngressArgs(), store_settings, behind_serve_proxy=False
        )
        client = stack.enter_context(TestClient(api, headers=admin))

        response = client.put("/v1/models/active", json={"model": str(UNTRAINED_MODEL)})

    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "control_plane_error"
    assert url in error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
