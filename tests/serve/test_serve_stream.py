"""WS /v1/stream through Serve's proxy with a real `websockets` client.

Raw sockets on purpose: these tests drive the service's side of the protocol (bursts past any
window, config and ping messages, the 1013 cap the client would retry, resume headers, 1008,
Origin), which `medinv_client`'s stream hides; the client's own stream tests are tests/client.
"""

import asyncio
import copy
import json
import time
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Origin

from tests.assertions import assert_detections
from tests.factories import shelf_jpeg
from tests.keys import bearer, create_api_key, revoke_api_key
from tests.serve.conftest import ServeService

pytestmark = pytest.mark.serve

FRAME = shelf_jpeg(320, 240)


async def _receive(socket: ClientConnection, timeout_s: float = 60) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout_s))
    return message


def _stream_cap(service: ServeService) -> int:
    cap: int = service.config["applications"][0]["args"]["ingress"]["stream"][
        "max_streams_per_replica"
    ]
    return cap


async def test_frames_are_answered_in_order(serve_service: ServeService) -> None:
    async with websockets.connect(f"{serve_service.ws_url}/v1/stream") as socket:
        results = []
        for _ in range(5):
            await socket.send(FRAME)
            results.append(await _receive(socket))
    assert [r["frame"] for r in results] == [0, 1, 2, 3, 4]
    for result in results:
        assert result["type"] == "result" and result["dropped"] == 0
        assert_detections(result["detections"], result["counts"], 320, 240)


async def test_a_burst_of_100_frames_drops_stale_ones(serve_service: ServeService) -> None:
    # Distinct frames: identical ones would be answered at once from the result cache.
    burst = [shelf_jpeg(320 + i, 240) for i in range(100)]
    async with websockets.connect(f"{serve_service.ws_url}/v1/stream") as socket:
        for frame in burst:
            await socket.send(frame)
        results = [await _receive(socket)]
        while results[-1]["frame"] != 99:  # the newest frame is never dropped
            results.append(await _receive(socket))
    frames = [r["frame"] for r in results]
    assert all(r["type"] == "result" for r in results)
    assert frames == sorted(set(frames)), "results come in frame order, each once"
    assert results[-1]["dropped"] + len(results) == 100
    assert results[-1]["dropped"] > 50, "most of a burst is stale by the time it is processed"


async def test_bad_frame_then_good_frames(serve_service: ServeService) -> None:
    async with websockets.connect(f"{serve_service.ws_url}/v1/stream") as socket:
        await socket.send(b"\x89PNG\r\n\x1a\n but not really")
        error = await _receive(socket)
        await socket.send(FRAME)
        first = await _receive(socket)
        await socket.send(FRAME)
        second = await _receive(socket)
    assert (error["type"], error["frame"], error["code"]) == ("error", 0, "invalid_image")
    assert (first["type"], first["frame"]) == ("result", 1)
    assert (second["type"], second["frame"]) == ("result", 2)


async def test_config_message_and_protocol_ping(serve_service: ServeService) -> None:
    async with websockets.connect(f"{serve_service.ws_url}/v1/stream?min_score=0") as socket:
        await socket.send(json.dumps({"type": "config", "max_detections": 1}))
        await socket.send(FRAME)
        result = await _receive(socket)
        pong = await socket.ping()
        latency = await asyncio.wait_for(pong, 10)
    assert len(result["detections"]) == 1
    assert latency >= 0


async def test_streams_beyond_the_cap_are_closed_with_1013(serve_service: ServeService) -> None:
    cap = _stream_cap(serve_service)
    sockets = [await websockets.connect(f"{serve_service.ws_url}/v1/stream") for _ in range(cap)]
    try:
        for socket in sockets:  # every admitted stream is live
            await socket.send(json.dumps({"type": "ping"}))
            assert await _receive(socket) == {"type": "pong"}
        async with websockets.connect(f"{serve_service.ws_url}/v1/stream") as extra:
            error = await _receive(extra)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await _receive(extra)
        assert error["code"] == "overloaded"
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets))
    async with websockets.connect(f"{serve_service.ws_url}/v1/stream") as again:
        await again.send(FRAME)
        assert (await _receive(again))["type"] == "result"


async def test_a_stream_resumes_after_its_ingress_replica_restarts(
    serve_service: ServeService,
) -> None:
    if serve_service.redis_url is None:
        pytest.skip("no Redis for the replicas to share stream sessions through")
    url = f"{serve_service.ws_url}/v1/stream"
    async with websockets.connect(url, max_size=None) as socket:
        session_id = socket.response.headers["X-Stream-Session"]
        before = [await _result_of(socket, shelf_jpeg(320, 240)) for _ in range(2)]
    replica_before = serve_service.replica_ids()["Ingress"]
    config = copy.deepcopy(serve_service.config)
    ingress = next(d for d in config["applications"][0]["deployments"] if d["name"] == "Ingress")
    ingress["ray_actor_options"]["num_cpus"] = 0.2  # a resource change: a new replica
    serve_service.cluster.deploy(config)
    try:
        await _wait_for_new_replica(serve_service, replica_before)
        async with websockets.connect(f"{url}?session_id={session_id}", max_size=None) as socket:
            resumed = socket.response.headers["X-Stream-Resumed"]
            after = [await _result_of(socket, shelf_jpeg(320, 240)) for _ in range(2)]
    finally:
        replaced = serve_service.replica_ids()["Ingress"]
        serve_service.cluster.deploy(serve_service.config)
        await _wait_for_new_replica(serve_service, replaced)

    assert resumed == "true"
    assert [m["frame"] for m in before + after] == [0, 1, 2, 3]


async def _result_of(socket: ClientConnection, frame: bytes) -> dict[str, Any]:
    await socket.send(frame)
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), 60))
    assert message["type"] == "result", message
    return message


async def _wait_for_new_replica(service: ServeService, old: set[str]) -> None:
    """Until the Ingress runs one replica, not one of `old`, and the app answers again."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        details = service.application().get("deployments", {}).get("Ingress", {})
        replicas = details.get("replicas", [])
        ids = {r["replica_id"] for r in replicas if r["state"] == "RUNNING"}
        if len(replicas) == 1 and ids and not ids & old:
            return
        await asyncio.sleep(1)
    raise AssertionError("the Ingress replica was not replaced")


async def test_a_revoked_key_closes_its_stream_through_the_proxy(
    serve_service: ServeService,
) -> None:
    """Within MEDINV_AUTH_CACHE_TTL_S (5 s) plus a lookup: an error message, then 1008."""
    key = await asyncio.to_thread(create_api_key, serve_service.database_url, "detect")
    async with websockets.connect(
        f"{serve_service.ws_url}/v1/stream", additional_headers=bearer(key)
    ) as socket:
        await socket.send(FRAME)
        assert (await _receive(socket))["type"] == "result"
        await asyncio.to_thread(revoke_api_key, serve_service.database_url, key)
        revoked_at = time.monotonic()
        message = await _receive(socket, timeout_s=10)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
        waited_s = time.monotonic() - revoked_at
    assert message["code"] == "key_revoked"
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert waited_s < 5 + 2


async def test_a_foreign_origin_gets_403_from_the_proxy(serve_service: ServeService) -> None:
    """Auth is off here: a browser page of another site may not open a socket."""
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            f"{serve_service.ws_url}/v1/stream", origin=Origin("https://evil.example")
        )
    own = Origin(serve_service.base_url)
    async with websockets.connect(f"{serve_service.ws_url}/v1/stream", origin=own) as socket:
        await socket.send(json.dumps({"type": "ping"}))
        pong = await _receive(socket)
    assert refused.value.response.status_code == 403
    assert pong == {"type": "pong"}
