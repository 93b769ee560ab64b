"""Inventory recording through the deployed application (SQLite in the run directory)."""

import asyncio

import httpx
import pytest

from tests.assertions import assert_error
from tests.factories import shelf_jpeg
from tests.serve.conftest import ServeService

pytestmark = pytest.mark.serve

JPEG = {"Content-Type": "image/jpeg"}
CONCURRENT = 16


async def test_concurrent_detections_at_a_location_are_each_recorded_once(
    serve_service: ServeService,
) -> None:
    async with httpx.AsyncClient(base_url=serve_service.base_url, timeout=120) as client:
        created = await client.post(
            "/v1/locations",
            json={"kind": "cabinet", "name": "OR 2"},
            headers=serve_service.admin,
        )
        assert created.status_code == 201, created.text
        location = created.json()["id"]
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/v1/detect?location={location}",
                    content=shelf_jpeg(320, 240),
                    headers={**JPEG, "X-Request-ID": f"serve-{i}"},
                )
                for i in range(CONCURRENT)
            )
        )
        retried = await client.post(
            f"/v1/detect?location={location}",
            content=shelf_jpeg(320, 240),
            headers={**JPEG, "X-Request-ID": "serve-0"},
        )
        history = await client.get(
            f"/v1/inventory/{location}/history", params={"item": "syringe", "bucket": "day"}
        )
        stock = await client.get("/v1/inventory", params={"location": location})
        ready = await client.get("/v1/ready")

    assert [r.json()["recorded"] for r in responses] == ["written"] * CONCURRENT
    assert retried.json()["recorded"] == "written"  # accepted, and a no-op in the database
    assert sum(point["samples"] for point in history.json()["points"]) == CONCURRENT
    assert stock.json()["stock"], "the counts became stock"
    assert ready.json()["store"] == {"status": "ok", "spooled": 0}


def test_detection_at_an_unknown_location_is_404(serve_service: ServeService) -> None:
    response = httpx.post(
        f"{serve_service.base_url}/v1/detect?location=987654",
        content=shelf_jpeg(),
        headers=JPEG,
        timeout=30,
    )
    assert response.status_code == 404
    assert_error(response.json(), "not_found")
