"""Cameras through the API: registration with its checks, and a camera with zones and a
snapshot URL that, polled by a real poller in the app's event loop, yields per-bin counts and
below-par alerts on its own. On SQLite and PostgreSQL."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from medinv_tools.camera_server import PASSWORD, USERNAME, CameraServer
from medinv_tools.local_pipeline import LocalPipeline
from serve_app.api.app import create_api
from serve_app.api.camera_polls import enabled_cameras, record_poll
from serve_app.cameras.config import CameraConfig
from serve_app.cameras.credentials import CameraCredentials
from serve_app.cameras.poller import CameraPoller, PollerTimings
from serve_app.cameras.sources import FrameFetcher
from serve_app.core.args import IngressArgs
from serve_app.core.settings import CameraLogin, Settings
from serve_app.inventory.recorder import InventoryRecorder
from tests.assertions import assert_error

LEFT = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
PAR = 10_000


@pytest.fixture
def store_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        zone_cache_ttl_s=0.001,
        camera_credentials={
            "shelf-cam": CameraLogin(username=USERNAME, password=SecretStr(PASSWORD))
        },
    )


@pytest.fixture
def client(
    pipeline: LocalPipeline, store_settings: Settings, camera_server: CameraServer
) -> Iterator[TestClient]:
    """The API with a camera poller beside it, as the Serve deployment runs it: the poller
    reads the registered cameras and records each poll through the API's own path."""
    inventory = InventoryRecorder.open(store_settings)
    apps: list[FastAPI] = []

    async def record(camera: CameraConfig, frames: list[bytes], slot: int) -> str:
        return await record_poll(apps[0].state.context, camera, frames, slot)

    poller = CameraPoller(
        lambda: enabled_cameras(inventory.database),
        FrameFetcher(CameraCredentials.load(store_settings), max_frame_bytes=2**22),
        record,
        PollerTimings(refresh_s=0.2, poll_timeout_s=30, backoff_base_s=0.2, backoff_max_s=1),
    )
    apps.append(
        create_api(
            pipeline,
            inventory,
            IngressArgs(),
            store_settings,
            behind_serve_proxy=False,
            camera_statuses=poller,
        )
    )
    with TestClient(apps[0]) as test_client:
        test_client.portal.call(poller.start)
        try:
            yield test_client
        finally:
            test_client.portal.call(poller.close)


@pytest.fixture(autouse=True)
def _as_admin(client: TestClient, admin: dict[str, str]) -> None:
    client.headers.update(admin)


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def eventually(check: Any, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_camera_with_zones_counts_its_bins_and_raises_alerts_on_its_own(
    client: TestClient, camera_server: CameraServer
) -> None:
    location = post(client, "/v1/locations", {"kind": "shelf", "name": "Ward 3 shelf B"})["id"]
    bin_id = post(
        client,
        f"/v1/locations/{location}/zones",
        {"name": "left bin", "polygon": LEFT, "items": [{"label": "syringe", "par_level": PAR}]},
    )["id"]
    camera = post(
        client,
        "/v1/cameras",
        {
            "location_id": location,
            "kind": "snapshot",
            "url": f"{camera_server.url}/secure.jpg",
            "credential": "shelf-cam",
            "interval_s": 3600,
            "frames_per_poll": 3,
            "frame_gap_s": 0.1,
        },
    )

    alerts = eventually(lambda: client.get(f"/v1/alerts?location={bin_id}").json()["alerts"])

    assert [(a["item"], a["par_level"]) for a in alerts] == [("syringe", PAR)]
    assert camera_server.requests["secure"] == 3  # one poll of three frames
    status = client.get(f"/v1/cameras/{camera['id']}/status").json()
    assert status["state"] == "ok" and status["last_outcome"] == "written"
    assert status["next_poll_at"] is not None and status["polls"] == 1
    camera_counts = client.get(f"/v1/inventory?location={location}").json()["stock"]
    assert camera_counts, "the camera's own counts are recorded too"
    assert PASSWORD not in client.get(f"/v1/cameras/{camera['id']}").text


def test_a_failing_camera_reports_why_and_when_it_is_polled_next(
    client: TestClient, camera_server: CameraServer
) -> None:
    camera_server.script = ["500"] * 100
    location = post(client, "/v1/locations", {"kind": "shelf", "name": "Ward 4"})["id"]
    url = f"{camera_server.url}/snapshot.jpg"
    camera = post(client, "/v1/cameras", {"location_id": location, "kind": "snapshot", "url": url})

    status = eventually(
        lambda: (s := client.get(f"/v1/cameras/{camera['id']}/status").json())["polls"] >= 2 and s
    )

    assert status["state"] == "failing" and status["consecutive_failures"] >= 2
    assert "HTTP 500" in status["last_error"] and status["last_success_at"] is None
    assert client.get(f"/v1/inventory?location={location}").json() == {"stock": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "snapshot", "url": "rtsp://cam/1"}, "one of http, https"),
        ({"kind": "snapshot", "url": "http://admin:pw@cam/snap.jpg"}, "no credentials"),
        ({"kind": "video", "url": "file:///etc/hosts"}, "file:// cameras are off"),
        (
            {"kind": "snapshot", "url": "http://cam/s.jpg", "credential": "nope"},
            "no camera credential",
        ),
        (
            {"kind": "snapshot", "url": "http://cam/s.jpg", "interval_s": 0.1},
            "greater than or equal",
        ),
        ({"kind": "mjpeg", "url": "http://cam/m", "frames_per_poll": 99}, "less than or equal"),
    ],
    ids=["scheme", "userinfo", "file", "unknown-credential", "interval", "frames"],
)
def test_an_invalid_camera_is_422_with_the_reason(
    client: TestClient, body: dict[str, Any], message: str
) -> None:
    location = post(client, "/v1/locations", {"kind": "shelf", "name": "Ward 5"})["id"]
    response = client.post("/v1/cameras", json={"location_id": location, **body})
    assert response.status_code == 422, response.text
    assert_error(response.json(), "invalid_parameters")
    assert message in response.json()["error"]["message"]


def test_cameras_crud(client: TestClient) -> None:
    location = post(client, "/v1/locations", {"kind": "room", "name": "Supply room"})["id"]
    body = {
        "location_id": location,
        "kind": "mjpeg",
        "url": "http://127.0.0.1:9/m",
        "enabled": False,
    }
    camera = post(client, "/v1/cameras", body)

    assert client.post("/v1/cameras", json=body).status_code == 409  # one per location
    assert client.post("/v1/cameras", json={**body, "location_id": 999}).status_code == 404
    assert [c["id"] for c in client.get("/v1/cameras").json()["cameras"]] == [camera["id"]]
    assert client.get(f"/v1/cameras/{camera['id']}/status").json()["state"] == "disabled"
    replaced = client.put(f"/v1/cameras/{camera['id']}", json={**body, "interval_s": 60})
    assert replaced.status_code == 200 and replaced.json()["interval_s"] == 60
    anonymous = client.post("/v1/cameras", json=body, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert client.delete(f"/v1/cameras/{camera['id']}").status_code == 204
    assert client.get(f"/v1/cameras/{camera['id']}").status_code == 404
