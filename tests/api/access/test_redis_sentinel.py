"""The API on a Sentinel-managed Redis (MEDINV_REDIS_SENTINELS): two apps stand in for two
ingress replicas and share rate limits and live updates through the master the Sentinels name.
When it dies, a live-updates socket is told (`updates_unavailable`, close 1013, as for any lost
subscription); once a replica is promoted, a new socket subscribes on it and the apps work on
without a restart."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from serve_app.core.settings import Settings
from serve_app.state.update_bus import CHANNEL
from tests.api.access.conftest import ApiFactory
from tests.factories import shelf_jpeg
from tests.keys import bearer, create_api_key
from tests.sentinel_redis import MASTER_NAME, PASSWORD, SENTINEL_PASSWORD, SentinelRedis

JPEG = {"Content-Type": "image/jpeg"}
PROMOTION_BOUND_S = 60.0
BURST = 3


@pytest.fixture
def through_sentinels(settings: Settings, sentinel_redis: SentinelRedis) -> Settings:
    return Settings.model_validate(
        {
            **settings.model_dump(),
            "redis_url": None,
            "redis_sentinels": sentinel_redis.sentinel_addresses,
            "redis_sentinel_master": MASTER_NAME,
            "redis_password": PASSWORD,
            "redis_sentinel_password": SENTINEL_PASSWORD,
        }
    )


def _detect_at(client: TestClient, location: int, key: dict[str, str]) -> dict[str, Any]:
    response = client.post(
        f"/v1/detect?location={location}", content=shelf_jpeg(320, 240), headers={**JPEG, **key}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_replicas_share_state_through_the_master_the_sentinels_name(
    make_client: ApiFactory, through_sentinels: Settings
) -> None:
    limits = {"rate_limit_requests_burst": BURST, "rate_limit_requests_per_minute": 1}
    limiting = through_sentinels.model_copy(update=limits)
    replica_a, replica_b = make_client(limiting), make_client(limiting)
    database = through_sentinels.resolved_database_url
    limited = bearer(create_api_key(database, "read", name="limited"))

    statuses = [(replica_a, replica_b)[i % 2].get("/v1/models", headers=limited).status_code
                for i in range(BURST + 1)]  # fmt: skip

    assert statuses == [200] * BURST + [429], "one bucket for both replicas, in the master"


def test_live_updates_resubscribe_on_the_promoted_replica(
    make_client: ApiFactory, through_sentinels: Settings, sentinel_redis: SentinelRedis
) -> None:
    replica_a, replica_b = make_client(through_sentinels), make_client(through_sentinels)
    key = bearer(create_api_key(through_sentinels.resolved_database_url))
    location = replica_a.post(
        "/v1/locations", json={"kind": "shelf", "name": "failover"}, headers=key
    ).json()["id"]

    with replica_b.websocket_connect("/v1/inventory/updates", headers=key) as socket:
        assert socket.receive_json() == {"type": "subscribed"}
        before = _detect_at(replica_a, location, key)
        assert socket.receive_json()["request_id"] == before["request_id"]
        sentinel_redis.master.kill()
        error = socket.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert error["code"] == "updates_unavailable" and closed.value.code == 1013

    promoted = sentinel_redis.wait_for_promotion(PROMOTION_BOUND_S)
    with replica_b.websocket_connect("/v1/inventory/updates", headers=key) as socket:
        assert socket.receive_json() == {"type": "subscribed"}
        with sentinel_redis.server(promoted.port) as master:
            channel = through_sentinels.redis_key_prefix + CHANNEL
            assert master.pubsub_numsub(channel) == [(channel.encode(), 1)], "on the new master"
        after = _detect_at(replica_a, location, key)
        update = socket.receive_json()
    assert update["type"] == "counts" and update["request_id"] == after["request_id"]
