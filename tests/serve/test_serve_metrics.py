"""Custom metrics reach the Ray metrics port next to Ray's own `ray_serve_*` metrics."""

import re
import time

import httpx
import pytest

from tests.factories import shelf_jpeg
from tests.serve.conftest import ServeService

pytestmark = pytest.mark.serve

EXPECTED = [
    r'ray_medinv_http_requests_total\{[^}]*route="/v1/detect"[^}]*status="200"[^}]*\} [1-9]',
    r'ray_medinv_http_requests_total\{[^}]*route="/v1/detect"[^}]*status="415"[^}]*\} [1-9]',
    r'ray_medinv_http_request_duration_seconds_bucket\{[^}]*route="/v1/detect"',
    r'ray_medinv_stage_duration_seconds_bucket\{[^}]*stage="inference"',
    r'ray_medinv_detections_total\{[^}]*label="',
    r'ray_medinv_stream_frames_total\{[^}]*outcome="answered"[^}]*\} [1-9]',
    r'ray_medinv_stream_frames_total\{[^}]*outcome="error"[^}]*\} [1-9]',
    r"ray_medinv_batch_size_bucket\{",
    r"ray_medinv_forward_duration_seconds_bucket\{",
    r'ray_medinv_model_info\{[^}]*model="medical-supplies-ssdlite"[^}]*\} 1',
    r'ray_medinv_inventory_records_total\{[^}]*outcome="written"[^}]*\} [1-9]',
    r"ray_medinv_inventory_spool_records\{[^}]*\} 0",
    r'ray_medinv_inventory_items_below_par\{[^}]*location="',
    r"ray_serve_num_http_requests",
]


def _one_stream_round(service: ServeService) -> None:
    with service.client() as client:
        frames = [b"not an image", shelf_jpeg(320, 240)]
        messages = list(client.stream(frames, latest_wins=False, max_reconnects=0))
    assert [m.type for m in messages] == ["error", "result"]


def test_custom_metrics_are_exported(serve_service: ServeService) -> None:
    with serve_service.client(admin=True) as client:
        client.detect(shelf_jpeg())
        location = client.create_location("metrics").id
        assert client.detect(shelf_jpeg(), location=location).recorded == "written"
    # Raw: the client never sends a declared image/gif (it names the type from the bytes).
    refused = httpx.post(
        f"{serve_service.base_url}/v1/detect",
        content=b"x",
        headers={"Content-Type": "image/gif"},
        timeout=30,
    )
    assert refused.status_code == 415
    _one_stream_round(serve_service)

    url = f"http://127.0.0.1:{serve_service.cluster.ports.metrics}/metrics"
    missing = EXPECTED
    deadline = time.monotonic() + 90  # Ray exports metrics every few seconds
    while time.monotonic() < deadline:
        text = httpx.get(url, timeout=10).text
        missing = [pattern for pattern in EXPECTED if not re.search(pattern, text)]
        if not missing:
            return
        time.sleep(2)
    raise AssertionError(f"not exported after 90 s: {missing}")
