"""The CameraPoller deployment on the real cluster: a camera registered through the API is
polled by it, and the Ingress records the poll per bin, with no client sending a frame."""

import time

import pytest

from medinv_tools.camera_server import CameraServer
from tests.serve.conftest import ServeService

pytestmark = pytest.mark.serve

LEFT = [(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]
# The poller reads the cameras every `refresh_s` (30 s in configs/serve_config.yaml).
POLLED_WITHIN_S = 90


def test_a_registered_camera_is_polled_and_recorded_per_bin(
    serve_service: ServeService, camera_server: CameraServer
) -> None:
    with serve_service.client(admin=True) as client:
        location = client.create_location("Polled shelf")
        zone = client.create_zone(location.id, "Polled shelf left", LEFT, {"syringe": 10_000})
        camera = client.register_camera(
            location.id,
            "snapshot",
            f"{camera_server.url}/snapshot.jpg",
            interval_s=3600,
            frames_per_poll=2,
            frame_gap_s=0.1,
        )

        deadline = time.monotonic() + POLLED_WITHIN_S
        while (status := client.camera_status(camera.id)).state != "ok":
            assert time.monotonic() < deadline, status
            time.sleep(1)

        assert status.last_outcome == "written" and camera_server.requests["snapshot"] == 2
        assert [alert.item for alert in client.alerts(zone.id)] == ["syringe"]
