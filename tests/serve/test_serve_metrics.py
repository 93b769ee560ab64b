"""Custom metrics reach the Ray metrics port next to Ray's own `ray_serve_*` metrics."""

import asyncio
import json
import re
import time

import httpx
import pytest
import websockets

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


async def _one_stream_round(service: ServeService) -> None:
    async with websockets.connect(f"{service.ws_url}/v1/stream") as socket:
        await socket.send(b"not an image")
        await asyncio.wait_for(socket.recv(), 60)
        await socket.send(shelf_jpeg(320, 240))
        assert json.loads(await asyncio.wait_for(socket.recv(), 60))["type"] == "result"


def test_custom_metrics_are_exported(serve_service: ServeService) -> None:
    base = serve_service.base_url
    ok = httpx.post(
        f"{base}/v1/detect",
        content=shelf_jpeg(),
        headers={"Content-Type": "image/jpeg"},
        timeout=30,
    )
    refused = httpx.post(
        f"{base}/v1/detect", content=b"x", headers={"Content-Type": "image/gif"}, timeout=30
    )
    assert (ok.status_code, refused.status_code) == (200, 415)
    location = httpx.post(
        f"{base}/v1/locations",
        json={"kind": "shelf", "name": "metrics"},
        headers=serve_service.admin,
        timeout=30,
    ).json()["id"]
    recorded = httpx.post(
        f"{base}/v1/detect?location={location}",
        content=shelf_jpeg(),
        headers={"Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert recorded.json()["recorded"] == "written"
    asyncio.run(_one_stream_round(serve_service))

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
