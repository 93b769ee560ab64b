"""Inventory recording through the deployed application (SQLite in the run directory)."""

import asyncio
import copy
import time

import pytest

from medinv_client import AsyncClient, NotFoundError
from tests.factories import shelf_jpeg
from tests.serve.conftest import ServeService

pytestmark = pytest.mark.serve

CONCURRENT = 16


async def test_concurrent_detections_at_a_location_are_each_recorded_once(
    serve_service: ServeService,
) -> None:
    async with serve_service.async_client() as client:
        async with serve_service.async_client(admin=True) as admin:
            location = (await admin.create_location("OR 2", "cabinet")).id
        results = await asyncio.gather(
            *(
                client.detect(shelf_jpeg(320, 240), location=location, idempotency_key=f"serve-{i}")
                for i in range(CONCURRENT)
            )
        )
        retried = await client.detect(
            shelf_jpeg(320, 240), location=location, idempotency_key="serve-0"
        )
        history = await client.history(location, "syringe", bucket="day")
        stock = await client.stock(location)
        ready = await client.ready()

    assert [r.recorded for r in results] == ["written"] * CONCURRENT
    assert retried.recorded == "duplicate"  # accepted, and not written again
    assert sum(point.samples for point in history.points) == CONCURRENT
    assert stock, "the counts became stock"
    assert (ready.store.status, ready.store.spooled) == ("ok", 0)


def test_detection_at_an_unknown_location_is_404(serve_service: ServeService) -> None:
    with serve_service.client() as client, pytest.raises(NotFoundError) as raised:
        client.detect(shelf_jpeg(), location=987654)
    assert (raised.value.status, raised.value.code) == (404, "not_found")
    assert raised.value.message and raised.value.request_id


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
        async with serve_service.async_client() as client:
            async with serve_service.async_client(admin=True) as admin:
                location = (await admin.create_location("ICU 4", "room")).id
            results = await asyncio.gather(
                *(
                    client.detect(
                        shelf_jpeg(320, 240),
                        location=location,
                        idempotency_key=f"two-replicas-{i}",
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

    assert {r.recorded for r in results} <= {"written", "queued"}  # and none failed
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


async def _wait_for_samples(client: AsyncClient, location: int, expected: int) -> int:
    """Samples recorded at `location` once queued records (if any) have been replayed."""
    deadline = time.monotonic() + 60
    samples = -1
    while time.monotonic() < deadline:
        history = await client.history(location, "syringe", bucket="day")
        samples = sum(point.samples for point in history.points)
        if samples >= expected:
            return samples
        await asyncio.sleep(1)
    return samples
