"""The browser's WebSocket credential: the key as a `medinv.bearer.<base64url>` subprotocol
beside `medinv.v1`, which the server accepts (a browser cannot set headers on a WebSocket)."""

import base64

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from serve_app.core.settings import Settings
from tests.api.access.conftest import ApiFactory
from tests.factories import shelf_jpeg
from tests.keys import create_api_key


def browser_protocols(key: str) -> list[str]:
    encoded = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    return ["medinv.v1", f"medinv.bearer.{encoded}"]


@pytest.fixture
def client(make_client: ApiFactory, settings: Settings) -> TestClient:
    return make_client(settings)  # auth required


def test_a_stream_takes_its_key_from_the_subprotocol(
    client: TestClient, settings: Settings
) -> None:
    key = create_api_key(settings.resolved_database_url, "detect")
    with client.websocket_connect("/v1/stream", subprotocols=browser_protocols(key)) as socket:
        assert socket.accepted_subprotocol == "medinv.v1"
        socket.send_bytes(shelf_jpeg(160, 120))
        assert socket.receive_json()["type"] == "result"


def test_live_updates_take_their_key_from_the_subprotocol(
    client: TestClient, settings: Settings
) -> None:
    key = create_api_key(settings.resolved_database_url, "read")
    with client.websocket_connect(
        "/v1/inventory/updates", subprotocols=browser_protocols(key)
    ) as socket:
        assert socket.accepted_subprotocol == "medinv.v1"
        assert socket.receive_json() == {"type": "subscribed"}


@pytest.mark.parametrize("path", ["/v1/stream", "/v1/inventory/updates"])
@pytest.mark.parametrize(
    ("protocols", "code"),
    [
        (browser_protocols("mik_000000000000_not-a-real-secret"), "unauthorized"),
        (["medinv.v1", "medinv.bearer.!!!"], "unauthorized"),
        (["medinv.v1", "medinv.bearer."], "unauthorized"),
        (["medinv.v1"], "unauthorized"),
    ],
    ids=["unknown-key", "not-base64url", "empty", "no-key"],
)
def test_a_refused_browser_socket_is_accepted_to_hear_why(
    client: TestClient, path: str, protocols: list[str], code: str
) -> None:
    # Accepted with medinv.v1 even when refused: a browser that got none of its offered
    # subprotocols back fails the connection and never sees the error message.
    with client.websocket_connect(path, subprotocols=protocols) as socket:
        assert socket.accepted_subprotocol == "medinv.v1"
        assert socket.receive_json()["code"] == code
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 1008


def test_the_subprotocol_key_needs_the_scope(client: TestClient, settings: Settings) -> None:
    key = create_api_key(settings.resolved_database_url, "read")
    with client.websocket_connect("/v1/stream", subprotocols=browser_protocols(key)) as socket:
        assert socket.receive_json()["code"] == "forbidden"


def test_no_subprotocol_is_chosen_unless_medinv_v1_is_offered(
    client: TestClient, settings: Settings
) -> None:
    key = create_api_key(settings.resolved_database_url, "detect")
    with client.websocket_connect("/v1/stream", subprotocols=browser_protocols(key)[1:]) as socket:
        assert socket.accepted_subprotocol is None, "the key protocol is never echoed"
        socket.send_bytes(shelf_jpeg(160, 120))
        assert socket.receive_json()["type"] == "result"
