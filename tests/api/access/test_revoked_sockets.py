"""Sockets opened with a key that is then revoked close within the revocation window
(`auth_cache_ttl_s`, the interval at which an open socket checks its key again): error
message `key_revoked`, then close 1008. Real WebSocket clients against a real uvicorn server,
and the app's admission counters show each handler's receive loop ended with it.
"""

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close
from websockets.sync.client import ClientConnection, connect

from medinv_tools.cluster.local import free_port
from medinv_tools.local_pipeline import LocalPipeline
from medinv_tools.tcp_proxy import TcpProxy
from medinv_tools.threaded_server import ThreadedServer
from serve_app.api.app import create_api
from serve_app.api.context import ApiContext
from serve_app.core.args import IngressArgs
from serve_app.core.settings import Settings
from serve_app.inventory.recorder import InventoryRecorder
from tests.api.access.conftest import ApiFactory
from tests.keys import bearer, create_api_key, revoke_api_key

CHECK_INTERVAL_S = 0.5
# A check is a primary-key lookup; on a loaded 2-core machine give it a second.
LOOKUP_SLACK_S = 1.0
PING = json.dumps({"type": "ping"})


@dataclass(frozen=True)
class Server:
    url: str
    context: ApiContext


def _serve(pipeline: LocalPipeline, settings: Settings) -> Iterator[Server]:
    app = create_api(
        pipeline, InventoryRecorder.open(settings), IngressArgs(), settings,
        behind_serve_proxy=False,
    )  # fmt: skip
    port = free_port()
    with ThreadedServer(app, port):
        yield Server(f"ws://127.0.0.1:{port}", app.state.context)


@pytest.fixture
def server(pipeline: LocalPipeline, settings: Settings) -> Iterator[Server]:
    yield from _serve(pipeline, settings.model_copy(update={"auth_cache_ttl_s": CHECK_INTERVAL_S}))


def _open(url: str, key: str) -> ClientConnection:
    return connect(url, additional_headers=bearer(key), open_timeout=10)


def _pong(socket: ClientConnection) -> bool:
    socket.send(PING)
    return bool(json.loads(socket.recv(timeout=10)) == {"type": "pong"})


def _closing(socket: ClientConnection, within_s: float) -> tuple[dict[str, Any], Close | None]:
    """The last message before the server closes the socket, and its close frame."""
    message: dict[str, Any] = json.loads(socket.recv(timeout=within_s))
    with pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=5)
    return message, closed.value.rcvd


def test_a_revoked_key_closes_its_stream_and_update_sockets_within_the_check_interval(
    server: Server, settings: Settings
) -> None:
    database = settings.resolved_database_url
    revoked = create_api_key(database, "detect,read", name="revoked")
    kept = create_api_key(database, "detect,read", name="kept")
    with (
        _open(f"{server.url}/v1/stream", revoked) as stream,
        _open(f"{server.url}/v1/inventory/updates", revoked) as updates,
        _open(f"{server.url}/v1/stream", kept) as other,
    ):
        assert json.loads(updates.recv(timeout=10)) == {"type": "subscribed"}
        assert _pong(stream) and _pong(other)
        time.sleep(CHECK_INTERVAL_S * 2)  # a valid key survives its checks
        assert _pong(stream)
        assert (server.context.streams.active, server.context.subscribers.active) == (2, 1)

        revoke_api_key(database, revoked)
        revoked_at = time.monotonic()
        closings = [_closing(s, CHECK_INTERVAL_S + LOOKUP_SLACK_S) for s in (stream, updates)]
        waited_s = time.monotonic() - revoked_at
        still_open = _pong(other)
        # The handlers returned: the stream's and the subscriber's slots are back.
        active = (server.context.streams.active, server.context.subscribers.active)

    for message, close in closings:
        assert message == {
            "type": "error",
            "frame": None,
            "code": "key_revoked",
            "message": "the API key was revoked",
        }
        assert close is not None and (close.code, close.reason) == (1008, "key_revoked")
    assert waited_s < CHECK_INTERVAL_S + LOOKUP_SLACK_S
    assert still_open
    assert active == (1, 0)


def test_a_socket_closed_during_its_key_check_leaves_no_database_connection_behind(
    server: Server, settings: Settings
) -> None:
    key = create_api_key(settings.resolved_database_url, "detect,read")
    pool = server.context.inventory.database.engine.pool
    with _open(f"{server.url}/v1/stream", key) as stream:
        assert _pong(stream)
        # Every transaction here begins IMMEDIATE: the next check waits for this write lock.
        lock = sqlite3.connect(str(make_url(settings.resolved_database_url).database))
        lock.isolation_level = None
        lock.execute("BEGIN IMMEDIATE")
        time.sleep(CHECK_INTERVAL_S * 2)
    time.sleep(CHECK_INTERVAL_S)  # the client has gone while the check waits
    lock.execute("ROLLBACK")
    lock.close()
    deadline = time.monotonic() + 10
    while server.context.streams.active and time.monotonic() < deadline:
        time.sleep(0.05)

    assert server.context.streams.active == 0
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_revoked_key_closes_its_stream_under_the_test_client_too(
    make_client: ApiFactory, settings: Settings
) -> None:
    """TestClient's socket never sends a disconnect by itself: the handler's receive loop is
    cancelled, or it would wait forever."""
    client = make_client(settings.model_copy(update={"auth_cache_ttl_s": 0.2}))
    key = create_api_key(settings.resolved_database_url, "detect,read")
    with client.websocket_connect("/v1/stream", headers=bearer(key)) as socket:
        revoke_api_key(settings.resolved_database_url, key)
        message = socket.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert message["code"] == "key_revoked"
    assert (closed.value.code, closed.value.reason) == (1008, "key_revoked")
    assert client.app.state.context.streams.active == 0  # type: ignore[attr-defined]


STALE_WINDOW_S = 2.0


@pytest.fixture
def server_through_proxy(
    pipeline: LocalPipeline, settings: Settings, postgresql_url: str, postgres_proxy: TcpProxy
) -> Iterator[Server]:
    through_proxy = make_url(postgresql_url).set(host="127.0.0.1", port=postgres_proxy.port)
    yield from _serve(
        pipeline,
        settings.model_copy(
            update={
                "database_url": through_proxy.render_as_string(hide_password=False),
                "auth_cache_ttl_s": CHECK_INTERVAL_S,
                "auth_stale_window_s": STALE_WINDOW_S,
            }
        ),
    )


def test_through_a_database_outage_sockets_stay_open_for_the_stale_window_then_close_1013(
    server_through_proxy: Server, postgresql_url: str, postgres_proxy: TcpProxy
) -> None:
    key = create_api_key(postgresql_url, "detect,read")
    with _open(f"{server_through_proxy.url}/v1/stream", key) as stream:
        assert _pong(stream)
        time.sleep(CHECK_INTERVAL_S * 1.5)  # one check against the database
        postgres_proxy.cut()
        cut_at = time.monotonic()
        time.sleep(STALE_WINDOW_S / 2)
        during = _pong(stream)
        message, close = _closing(stream, STALE_WINDOW_S + CHECK_INTERVAL_S + LOOKUP_SLACK_S)
        closed_after_s = time.monotonic() - cut_at
    postgres_proxy.restore()

    assert during
    assert message["code"] == "store_unavailable"
    assert close is not None and close.code == 1013
    # The window counts from the last answer the database gave, at most one interval before
    # the cut.
    latest_s = STALE_WINDOW_S + CHECK_INTERVAL_S + LOOKUP_SLACK_S
    assert STALE_WINDOW_S - CHECK_INTERVAL_S <= closed_after_s < latest_s
