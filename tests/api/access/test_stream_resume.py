"""WS /v1/stream session resume: a client that reconnects with its session id continues the
stream — frame numbers, location, parameters, smoothing — on any replica that shares Redis.

Two apps built from the same settings stand for two ingress replicas (one Redis, one
database); the first one's client is closed before the second connects, as when a replica
restarts.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from serve_app.core.args import IngressArgs, StreamArgs
from serve_app.core.settings import Settings
from tests.api.access.conftest import ApiFactory
from tests.factories import shelf_jpeg
from tests.keys import bearer, create_api_key

FRAME = shelf_jpeg(320, 240)


def _header(socket: WebSocketTestSession, name: str) -> str:
    headers = {k.decode(): v.decode() for k, v in socket.extra_headers or []}
    return headers[name.lower()]


def _send_frames(socket: WebSocketTestSession, count: int) -> list[dict[str, Any]]:
    results = []
    for _ in range(count):
        socket.send_bytes(FRAME)
        results.append(socket.receive_json())
    return results


def _location(client: TestClient, admin: dict[str, str]) -> int:
    response = client.post(
        "/v1/locations",
        json={"kind": "shelf", "name": f"resume {uuid.uuid4().hex[:6]}"},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    location: int = response.json()["id"]
    return location


def test_a_stream_resumes_on_another_replica_where_it_left_off(
    make_client: ApiFactory, settings: Settings
) -> None:
    database = settings.resolved_database_url
    detect = bearer(create_api_key(database, "detect,read"))
    admin = bearer(create_api_key(database, "admin"))
    # A record is due on every frame: what each replica records is easy to count.
    args = IngressArgs(stream=StreamArgs(record_interval_s=0.001, record_window_frames=3))
    first, second = make_client(settings, args=args), make_client(settings, args=args)
    location = _location(first, admin)

    with first.websocket_connect(f"/v1/stream?location={location}", headers=detect) as socket:
        session_id = _header(socket, "X-Stream-Session")
        assert _header(socket, "X-Stream-Resumed") == "false"
        before = _send_frames(socket, 3)
    first.__exit__(None, None, None)  # that replica is gone

    # No ?location on the way back: the session remembers it.
    with second.websocket_connect(f"/v1/stream?session_id={session_id}", headers=detect) as socket:
        assert _header(socket, "X-Stream-Session") == session_id
        assert _header(socket, "X-Stream-Resumed") == "true"
        after = _send_frames(socket, 2)

    assert [r["frame"] for r in before + after] == [0, 1, 2, 3, 4]
    assert [r["recorded"] for r in before + after] == ["written"] * 5
    # Record ids continue (<session>:4, :5), so none collides with the first replica's.
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    history = second.get(
        f"/v1/inventory/{location}/history",
        params={"item": "syringe", "since": since},
        headers=detect,
    ).json()
    assert sum(point["samples"] for point in history["points"]) == 5


def test_a_client_may_name_a_new_session_and_resume_it(
    make_client: ApiFactory, settings: Settings
) -> None:
    detect = bearer(create_api_key(settings.resolved_database_url, "detect"))
    client = make_client(settings)
    chosen = uuid.uuid4().hex

    with client.websocket_connect(f"/v1/stream?session_id={chosen}", headers=detect) as socket:
        assert _header(socket, "X-Stream-Resumed") == "false"
        socket.send_text('{"type": "config", "max_detections": 2}')
        first = _send_frames(socket, 1)
    with client.websocket_connect(f"/v1/stream?session_id={chosen}", headers=detect) as socket:
        assert _header(socket, "X-Stream-Resumed") == "true"
        second = _send_frames(socket, 1)

    assert (first[0]["frame"], second[0]["frame"]) == (0, 1)
    assert len(second[0]["detections"]) <= 2, "the parameters set mid-stream were kept"


def test_another_key_cannot_take_over_a_session(
    make_client: ApiFactory, settings: Settings
) -> None:
    database = settings.resolved_database_url
    owner, other = (
        bearer(create_api_key(database, "detect")),
        bearer(create_api_key(database, "detect")),
    )
    client = make_client(settings)
    with client.websocket_connect("/v1/stream", headers=owner) as socket:
        session_id = _header(socket, "X-Stream-Session")
        _send_frames(socket, 1)

    with client.websocket_connect(f"/v1/stream?session_id={session_id}", headers=other) as socket:
        announced = _header(socket, "X-Stream-Resumed")
        error = socket.receive_json()
        closed = socket.receive()
    with client.websocket_connect(f"/v1/stream?session_id={session_id}") as socket:
        announced_to_anonymous = _header(socket, "X-Stream-Resumed")
        unauthorized = socket.receive_json()

    assert (error["type"], error["code"]) == ("error", "invalid_parameters")
    assert closed["code"] == 1008
    # Neither another key nor a caller without one learns that the session exists.
    assert announced == announced_to_anonymous == "false"
    assert unauthorized["code"] == "unauthorized"


def test_a_malformed_session_id_is_refused(make_client: ApiFactory, settings: Settings) -> None:
    detect = bearer(create_api_key(settings.resolved_database_url, "detect"))
    client = make_client(settings)
    with client.websocket_connect("/v1/stream?session_id=not-hex", headers=detect) as socket:
        error = socket.receive_json()
    assert error["code"] == "invalid_parameters"
    assert "session_id" in error["message"]


def test_without_redis_a_session_resumes_on_the_same_replica(
    make_client: ApiFactory, settings: Settings
) -> None:
    embedded = settings.model_copy(update={"redis_url": None, "auth_required": False})
    client = make_client(embedded)
    with client.websocket_connect("/v1/stream") as socket:
        session_id = _header(socket, "X-Stream-Session")
        _send_frames(socket, 2)
    with client.websocket_connect(f"/v1/stream?session_id={session_id}") as socket:
        assert [r["frame"] for r in _send_frames(socket, 1)] == [2]
