"""Inventory recording through the deployed application (SQLite in the run directory)."""

import asyncio
import copy
import time

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
                    headers={**JPEG, "Idempotency-Key": f"serve-{i}"},
                )
                for i in range(CONCURRENT)
            )
        )
        retried = await client.post(
            f"/v1/detect?location={location}",
            content=shelf_jpeg(320, 240),
            headers={**JPEG, "Idempotency-Key": "serve-0"},
        )
        history = await client.get(
            f"/v1/inventory/{location}/history", params={"item": "syringe", "bucket": "day"}
        )
        stock = await client.get("/v1/inventory", params={"location": location})
        ready = await client.get("/v1/ready")

    assert [r.json()["recorded"] for r in responses] == ["written"] * CONCURRENT
    assert retried.json()["recorded"] == "duplicate"  # accepted, and not written again
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


async def test_two_ingress_replicas_writing_at_once_record_each_detection_once(
    serve_service: ServeService,
) -> None:
    """Scale the Ingress to two replicas (two processes, one database) and write from both."""
    config = copy.deepcopy(serve_service.config)
    ingress = next(d for d in config["applications"][0]["deployments"] if d["name"] == "Ingress")
    ingress.pop("autoscaling_config", None)
    ingress["num_replicas"] = 2
    serve_service.cluster.deploy(config)
    try:
        await _wait_for_replicas(serve_service, "Ingress", 2)
        async with httpx.AsyncClient(base_url=serve_service.base_url, timeout=120) as client:
            created = await client.post(
                "/v1/locations", json={"kind": "room", "name": "ICU 4"}, headers=serve_service.admin
            )
            location = created.json()["id"]
            responses = await asyncio.gather(
                *(
                    client.post(
                        f"/v1/detect?location={location}",
                        content=shelf_jpeg(320, 240),
                        headers={**JPEG, "Idempotency-Key": f"two-replicas-{i}"},
                    )
                    for i in range(2 * CONCURRENT)
                )
            )
            history = await _wait_for_samples(client, location, 2 * CONCURRENT)
    finally:
        # Back to one replica first: the autoscaler alone would keep two until its downscale
        # delay passed, and the other Serve tests count on one Ingress replica.
        ingress["num_replicas"] = 1
        serve_service.cluster.deploy(config)
        await _wait_for_replicas(serve_service, "Ingress", 1)
        serve_service.cluster.deploy(serve_service.config)
        await _wait_for_replicas(serve_service, "Ingress", 1)

    assert all(r.status_code == 200 for r in responses), [r.text for r in responses][:3]
    assert {r.json()["recorded"] for r in responses} <= {"written", "queued"}
    assert history == 2 * CONCURRENT  # each accepted detection exactly once


async def _wait_for_replicas(service: ServeService, deployment: str, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # While the new config is applied, the deployment may be missing from the details.
        details = service.application().get("deployments", {}).get(deployment, {})
        replicas = details.get("replicas", [])
        if sum(r["state"] == "RUNNING" for r in replicas) == count and len(replicas) == count:
            return
        await asyncio.sleep(1)
    raise AssertionError(f"{deployment} did not reach {count} running replicas")


async def _wait_for_samples(client: httpx.AsyncClient, location: int, expected: int) -> int:
    """Samples recorded at `location` once queued records (if any) have been replayed."""
    deadline = time.monotonic() + 60
    samples = -1
    while time.monotonic() < deadline:
        history = await client.get(
            f"/v1/inventory/{location}/history", params={"item": "syringe", "bucket": "day"}
        )
        samples = sum(point["samples"] for point in history.json()["points"])
        if samples >= expected:
            return samples
        await asyncio.sleep(1)
    return samples
