"""The CameraPoller deployment on the real cluster: a camera registered through the API is
polled by it, and the Ingress records the poll per bin, with no client sending a frame."""

import time

import httpx
import pytest

from medinv_tools.camera_server import CameraServer
from tests.serve.conftest import ServeService

pytestmark = pytest.mark.serve

LEFT = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
# The poller reads the cameras every `refresh_s` (30 s in configs/serve_config.yaml).
POLLED_WITHIN_S = 90


def test_a_registered_camera_is_polled_and_recorded_per_bin(
    serve_service: ServeService, camera_server: CameraServer
) -> None:
    with httpx.Client(
        base_url=serve_service.base_url, headers=serve_service.admin, timeout=30
    ) as client:
        location = client.post("/v1/locations", json={"kind": "shelf", "name": "Polled shelf"})
        location_id = location.json()["id"]
        zone = client.post(
            f"/v1/locations/{location_id}/zones",
            json={
                "name": "Polled shelf left",
                "polygon": LEFT,
                "items": [{"label": "syringe", "par_level": 10_000}],
            },
        )
        assert zone.status_code == 201, zone.text
        camera = client.post(
            "/v1/cameras",
            json={
                "location_id": location_id,
                "kind": "snapshot",
                "url": f"{camera_server.url}/snapshot.jpg",
                "interval_s": 3600,
                "frames_per_poll": 2,
                "frame_gap_s": 0.1,
            },
        )
        assert camera.status_code == 201, camera.text
        status_url = f"/v1/cameras/{camera.json()['id']}/status"

        deadline = time.monotonic() + POLLED_WITHIN_S
        while (status := client.get(status_url).json())["state"] != "ok":
            assert time.monotonic() < deadline, status
            time.sleep(1)

        assert status["last_outcome"] == "written" and camera_server.requests["snapshot"] == 2
        alerts = client.get(f"/v1/alerts?location={zone.json()['id']}").json()["alerts"]
        assert [alert["item"] for alert in alerts] == ["syringe"]
