"""With auth off, a browser's WebSocket handshake from a foreign Origin is refused with 403
before it is accepted; no Origin (not a browser), the service's own, a loopback page or a
configured origin pass. TestClient for the app, a real client on uvicorn for the 403."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from medinv_tools.cluster.local import free_port
from medinv_tools.local_pipeline import LocalPipeline
from medinv_tools.threaded_server import ThreadedServer
from serve_app.api.app import create_api
from serve_app.core.args import IngressArgs
from serve_app.core.settings import Settings
from serve_app.inventory.recorder import InventoryRecorder

SOCKETS = ["/v1/stream", "/v1/inventory/updates"]
FOREIGN = "https://evil.example"
CONSOLE = "https://console.example.com"


@pytest.fixture
def store_settings(store_settings: Settings) -> Settings:
    return store_settings.model_copy(update={"ws_allowed_origins": [CONSOLE]})


def _first_message(client: TestClient, path: str, headers: dict[str, str]) -> str:
    with client.websocket_connect(path, headers=dict(headers)) as socket:  # it adds to them
        if path == "/v1/stream":
            socket.send_json({"type": "ping"})
        return str(socket.receive_json()["type"])


@pytest.mark.parametrize("path", SOCKETS)
def test_a_foreign_origin_is_refused_before_the_handshake(client: TestClient, path: str) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(path, headers={"Origin": FOREIGN}),
    ):
        pass
    assert (refused.value.code, refused.value.reason) == (1008, "origin not allowed")


@pytest.mark.parametrize("path", SOCKETS)
@pytest.mark.parametrize(
    "headers",
    [
        {},  # not a browser
        {"Origin": "http://testserver"},  # the service's own pages (TestClient's Host)
        {"Origin": "http://localhost:5173"},
        {"Origin": CONSOLE},
    ],
    ids=["no-origin", "same-origin", "loopback", "configured"],
)
def test_other_clients_are_let_through(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    assert _first_message(client, path, headers) in {"pong", "subscribed"}


def test_with_auth_on_the_key_decides_not_the_origin(
    pipeline: LocalPipeline, store_settings: Settings
) -> None:
    settings = store_settings.model_copy(update={"auth_required": True})
    api = create_api(
        pipeline, InventoryRecorder.open(settings), IngressArgs(), settings,
        behind_serve_proxy=False,
    )  # fmt: skip
    with (
        TestClient(api) as client,
        client.websocket_connect("/v1/stream", headers={"Origin": FOREIGN}) as socket,
    ):
        refusal = socket.receive_json()
    assert refusal["code"] == "unauthorized"


@pytest.fixture
def ws_url(pipeline: LocalPipeline, store_settings: Settings) -> Iterator[str]:
    api = create_api(
        pipeline, InventoryRecorder.open(store_settings), IngressArgs(), store_settings,
        behind_serve_proxy=False,
    )  # fmt: skip
    port = free_port()
    with ThreadedServer(api, port):
        yield f"ws://127.0.0.1:{port}"


def test_a_real_server_answers_a_foreign_origin_with_403(ws_url: str) -> None:
    url = f"{ws_url}/v1/inventory/updates"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin=Origin(FOREIGN), open_timeout=10)
    with connect(url, origin=Origin(CONSOLE), open_timeout=10) as allowed:
        subscribed = allowed.recv(timeout=10)
    assert refused.value.response.status_code == 403
    assert subscribed == '{"type":"subscribed"}'
