"""The anonymous caller's identity (its rate-limit bucket) is its peer's address, or, from a
configured proxy, the right-most X-Forwarded-For address that is no trusted proxy: a client
cannot pick a fresh bucket by forging the header.

The app under TestClient with the peer address set, then under a real uvicorn server with the
environment the local cluster gives Serve's proxies (`FORWARDED_ALLOW_IPS` empty: uvicorn
itself believes no one, the app decides).
"""

import ipaddress
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from medinv_tools.cluster.local import SERVE_PROXY_ENV, free_port
from medinv_tools.local_pipeline import LocalPipeline
from medinv_tools.threaded_server import ThreadedServer
from serve_app.api.app import create_api
from serve_app.core.args import IngressArgs
from serve_app.core.settings import Settings
from serve_app.inventory.recorder import InventoryRecorder

PROXY = "10.0.0.5"  # in the trusted network below
CLIENT_A, CLIENT_B = "203.0.113.1", "203.0.113.2"


@pytest.fixture
def anonymous(settings: Settings) -> Settings:
    """Auth off, each caller's REST budget two requests (no refill within a test)."""
    return settings.model_copy(
        update={
            "auth_required": False,
            "rate_limit_requests_burst": 2,
            "rate_limit_requests_per_minute": 1,
            "trusted_proxies": [ipaddress.ip_network("10.0.0.0/8")],
        }
    )


def _app_client(pipeline: LocalPipeline, settings: Settings, peer: str) -> TestClient:
    api = create_api(
        pipeline, InventoryRecorder.open(settings), IngressArgs(), settings,
        behind_serve_proxy=False,
    )  # fmt: skip
    return TestClient(api, client=(peer, 40000))


def _statuses(client: TestClient | httpx.Client, forwarded_for: list[str]) -> list[int]:
    return [
        client.get("/v1/locations", headers={"X-Forwarded-For": value}).status_code
        for value in forwarded_for
    ]


def test_a_client_that_is_no_trusted_proxy_cannot_forge_its_address(
    pipeline: LocalPipeline, anonymous: Settings
) -> None:
    with _app_client(pipeline, anonymous, CLIENT_A) as client:
        statuses = _statuses(client, ["198.51.100.1", "198.51.100.2", "198.51.100.3"])
    assert statuses == [200, 200, 429]  # one bucket: the peer's


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(
    pipeline: LocalPipeline, anonymous: Settings
) -> None:
    with _app_client(pipeline, anonymous, PROXY) as client:
        a = _statuses(client, [CLIENT_A, CLIENT_A, CLIENT_A])
        # B writes A's address left of its own, which the proxy appended: B is still B.
        b = _statuses(client, [f"{CLIENT_A}, {CLIENT_B}", CLIENT_B, CLIENT_B])
    assert a == [200, 200, 429]
    assert b == [200, 200, 429]


@pytest.fixture
def server_url(
    pipeline: LocalPipeline, anonymous: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    for name, value in SERVE_PROXY_ENV.items():
        monkeypatch.setenv(name, value)  # read by uvicorn.Config, as in Serve's proxies
    settings = anonymous.model_copy(update={"trusted_proxies": []})
    api = create_api(
        pipeline, InventoryRecorder.open(settings), IngressArgs(), settings,
        behind_serve_proxy=False,
    )  # fmt: skip
    port = free_port()
    with ThreadedServer(api, port):
        yield f"http://127.0.0.1:{port}"


def test_through_uvicorn_a_local_client_cannot_forge_its_address_either(server_url: str) -> None:
    """uvicorn by default believes X-Forwarded-For from loopback peers, and every local client
    (and Ray's HAProxy, which forwards the header untouched) is one."""
    with httpx.Client(base_url=server_url, timeout=30) as client:
        statuses = _statuses(client, ["198.51.100.1", "198.51.100.2", "198.51.100.3"])
    assert statuses == [200, 200, 429]
