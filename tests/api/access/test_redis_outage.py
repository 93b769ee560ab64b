"""Redis becomes unreachable mid-test (a TCP proxy in front of it is cut; the shared server is
never stopped): requests keep being answered, never with a 500. By default each replica then
counts the rate limits itself; `open` lets requests through, `closed` refuses them with 429.
The result cache is bypassed and key lookups fall back to the database.
Every failure is counted, and logged at most once per interval."""

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from redis.asyncio.connection import parse_url
from starlette.websockets import WebSocketDisconnect

from medinv_tools.tcp_proxy import TcpProxy
from serve_app.core.settings import Settings
from tests.api.access.conftest import ApiFactory
from tests.factories import shelf_jpeg
from tests.keys import bearer, create_api_key

JPEG = {"Content-Type": "image/jpeg"}
REQUESTS_DURING_OUTAGE = 10


@pytest.fixture
def proxy(redis_url: str) -> Iterator[TcpProxy]:
    server = parse_url(redis_url)
    proxy = TcpProxy(str(server.get("host", "127.0.0.1")), int(server.get("port", 6379)))
    proxy.start()
    yield proxy
    proxy.close()


@pytest.fixture
def through_proxy(settings: Settings, proxy: TcpProxy, redis_url: str) -> Settings:
    database = redis_url.rsplit("/", 1)[1]
    return settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{proxy.port}/{database}"})


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings() -> Iterator[_Warnings]:
    handler = _Warnings()
    logger = logging.getLogger("ray.serve")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def _detect(client: TestClient, headers: dict[str, str], image: bytes) -> tuple[int, str, str]:
    response = client.post("/v1/detect", content=image, headers={**JPEG, **headers})
    return (
        response.status_code,
        response.headers.get("X-Cache", ""),
        response.headers.get("Retry-After", ""),
    )


@pytest.mark.parametrize("policy", ["local", "open", "closed"])
def test_requests_are_answered_while_redis_is_down(
    make_client: ApiFactory,
    through_proxy: Settings,
    proxy: TcpProxy,
    warnings: _Warnings,
    policy: str,
) -> None:
    # A burst that the outage's requests use up exactly, when the replica counts them itself.
    client = make_client(
        through_proxy.model_copy(
            update={
                "rate_limit_on_redis_outage": policy,
                "redis_outage_log_interval_s": 60,
                "rate_limit_requests_burst": REQUESTS_DURING_OUTAGE,
                "rate_limit_requests_per_minute": 1,
            }
        )
    )
    key = bearer(create_api_key(through_proxy.resolved_database_url, "detect,read"))
    image = shelf_jpeg(160, 120)
    proxy.cut()
    during = [_detect(client, key, image) for _ in range(REQUESTS_DURING_OUTAGE)]
    read = client.get("/v1/models", headers=key)
    proxy.restore()
    flush_redis_budget = {"rate_limit_requests_burst": 200, "rate_limit_requests_per_minute": 6000}
    after = make_client(through_proxy.model_copy(update=flush_redis_budget))
    after_status = [_detect(after, key, image)[:2] for _ in range(2)]

    if policy == "local":
        assert set(during) == {(200, "bypass", "")}, "within the replica's own bucket"
        assert read.status_code == 429, "the replica's bucket is spent: still limited"
        assert read.json()["error"]["code"] == "rate_limited"
    elif policy == "open":
        assert set(during) == {(200, "bypass", "")}, "through, detected without the cache"
        assert read.status_code == 200
        assert "RateLimit-Limit" not in read.headers, "no figures it does not know"
    else:
        assert set(during) == {(429, "", "1")}, "refused, with a retry hint"
        assert read.status_code == 429
        assert read.json()["error"]["code"] == "rate_limited"
    assert after_status == [(200, "miss"), (200, "hit")], "the cache is back with Redis"
    outage_logs = [m for m in warnings.messages if "Redis unreachable" in m]
    components = [m.split("(")[1].split(";")[0] for m in outage_logs]
    assert len(components) == len(set(components)), f"logged more than once: {outage_logs}"
    assert "rate_limiter" in components


def test_key_lookups_fall_back_to_the_database(
    make_client: ApiFactory, through_proxy: Settings, proxy: TcpProxy
) -> None:
    client = make_client(through_proxy)
    key = bearer(create_api_key(through_proxy.resolved_database_url, "read"))
    proxy.cut()
    try:
        valid = client.get("/v1/models", headers=key)
        invalid = client.get("/v1/models", headers=bearer("mik_000000000000_nope"))
    finally:
        proxy.restore()

    assert valid.status_code == 200
    assert invalid.status_code == 401


def test_a_lost_subscription_tells_the_subscriber_and_closes_1013(
    make_client: ApiFactory, through_proxy: Settings, proxy: TcpProxy
) -> None:
    client = make_client(through_proxy)
    key = bearer(create_api_key(through_proxy.resolved_database_url, "read"))
    with client.websocket_connect("/v1/inventory/updates", headers=key) as socket:
        assert socket.receive_json() == {"type": "subscribed"}
        proxy.cut()
        error = socket.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    proxy.restore()

    assert error["type"] == "error" and error["code"] == "updates_unavailable"
    assert closed.value.code == 1013
