"""WS /v1/inventory/updates: a detection recorded through one replica reaches subscribers on
every replica through Redis pub/sub (two apps sharing one Redis stand in for two replicas)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from serve_app.core.args import IngressArgs
from serve_app.core.settings import Settings
from tests.api.access.conftest import ApiFactory
from tests.factories import shelf_jpeg
from tests.keys import bearer, create_api_key

JPEG = {"Content-Type": "image/jpeg"}


def _detect_at(client: TestClient, location: int, key: dict[str, str]) -> dict[str, Any]:
    image = shelf_jpeg(320, 240)
    headers = {**JPEG, **key}
    response = client.post(f"/v1/detect?location={location}", content=image, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_updates_fan_out_to_subscribers_on_every_replica(
    make_client: ApiFactory, settings: Settings
) -> None:
    replica_a, replica_b = make_client(settings), make_client(settings)
    key = bearer(create_api_key(settings.resolved_database_url))
    location = replica_a.post(
        "/v1/locations", json={"kind": "shelf", "name": "fan-out"}, headers=key
    ).json()["id"]
    label, count = next(iter(_detect_at(replica_a, location, key)["counts"].items()))
    replica_a.put(
        f"/v1/items/{label}", json={"display_name": label, "par_level": count + 1}, headers=key
    )

    with (
        replica_a.websocket_connect("/v1/inventory/updates", headers=key) as on_a,
        replica_b.websocket_connect("/v1/inventory/updates", headers=key) as on_b,
    ):
        assert on_a.receive_json() == on_b.receive_json() == {"type": "subscribed"}
        detection = _detect_at(replica_a, location, key)
        received = [[s.receive_json(), s.receive_json()] for s in (on_a, on_b)]

    for updates in received:
        counts, below_par = updates
        assert counts == {
            "type": "counts",
            "location_id": location,
            "counts": detection["counts"],
            "recorded": "written",
            "request_id": detection["request_id"],
        }
        assert below_par["type"] == "below_par" and below_par["location_id"] == location
        [alert] = below_par["alerts"]
        assert (alert["item"], alert["count"], alert["par_level"]) == (label, count, count + 1)


def test_updates_need_a_read_key_when_auth_is_on(
    make_client: ApiFactory, settings: Settings
) -> None:
    client = make_client(settings)
    with client.websocket_connect("/v1/inventory/updates") as socket:
        assert socket.receive_json()["code"] == "unauthorized"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 1008


def test_without_redis_updates_reach_the_replicas_own_subscribers(
    make_client: ApiFactory, settings: Settings
) -> None:
    client = make_client(settings.model_copy(update={"redis_url": None, "auth_required": False}))
    key = bearer(create_api_key(settings.resolved_database_url, "admin"))
    location = client.post(
        "/v1/locations", json={"kind": "shelf", "name": "embedded"}, headers=key
    ).json()["id"]
    with client.websocket_connect("/v1/inventory/updates") as socket:
        assert socket.receive_json() == {"type": "subscribed"}
        detection = _detect_at(client, location, {})
        update = socket.receive_json()
    assert update["type"] == "counts" and update["request_id"] == detection["request_id"]


def test_a_duplicate_is_not_published_again(make_client: ApiFactory, settings: Settings) -> None:
    client = make_client(settings.model_copy(update={"redis_url": None, "auth_required": False}))
    key = bearer(create_api_key(settings.resolved_database_url, "admin"))
    location = client.post(
        "/v1/locations", json={"kind": "shelf", "name": "retried"}, headers=key
    ).json()["id"]
    with client.websocket_connect("/v1/inventory/updates") as socket:
        assert socket.receive_json() == {"type": "subscribed"}
        first = _detect_at(client, location, {"Idempotency-Key": "k1"})
        retried = _detect_at(client, location, {"Idempotency-Key": "k1"})
        then = _detect_at(client, location, {"Idempotency-Key": "k2"})
        counts: list[dict[str, Any]] = []
        while len(counts) < 2:  # below_par messages too, if an earlier test set par levels
            if (update := socket.receive_json())["type"] == "counts":
                counts.append(update)
    assert retried["recorded"] == "duplicate"
    assert [u["request_id"] for u in counts] == [first["request_id"], then["request_id"]]


def test_subscribers_beyond_the_cap_are_closed_with_1013_and_opening_spends_a_token(
    make_client: ApiFactory, settings: Settings
) -> None:
    client = make_client(
        settings.model_copy(
            update={
                "rate_limit_requests_burst": 3,
                "rate_limit_requests_per_minute": 1,
                "auth_required": False,
            }
        ),
        args=IngressArgs(max_update_subscribers=2),
    )
    with (
        client.websocket_connect("/v1/inventory/updates") as first,
        client.websocket_connect("/v1/inventory/updates") as second,
    ):
        assert first.receive_json() == second.receive_json() == {"type": "subscribed"}
        with client.websocket_connect("/v1/inventory/updates") as third:
            over_cap = third.receive_json()
            with pytest.raises(WebSocketDisconnect) as closed:
                third.receive_json()
    # Three openings spent the burst of 3: the fourth is refused for its budget.
    with client.websocket_connect("/v1/inventory/updates") as fourth:
        over_budget = fourth.receive_json()

    assert (over_cap["code"], closed.value.code) == ("overloaded", 1013)
    assert "live-update sockets" in over_cap["message"]
    assert over_budget["code"] == "rate_limited"
