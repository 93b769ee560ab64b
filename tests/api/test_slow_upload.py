"""A slow upload through a real uvicorn server: the body must arrive within `body_timeout_s`,
and the sender gets a JSON 408 while its admission slot goes back."""

import json
import logging
import socket
import time
from collections.abc import Iterator

import pytest

from medinv_tools.cluster.local import free_port
from medinv_tools.local_pipeline import LocalPipeline
from medinv_tools.threaded_server import ThreadedServer
from serve_app.api.app import create_api
from serve_app.core.args import IngressArgs, LimitsArgs
from serve_app.core.settings import Settings
from serve_app.inventory.recorder import InventoryRecorder

BODY_TIMEOUT_S = 0.5


@pytest.fixture
def port(pipeline: LocalPipeline, store_settings: Settings) -> Iterator[int]:
    args = IngressArgs(limits=LimitsArgs(body_timeout_s=BODY_TIMEOUT_S), max_in_flight_requests=1)
    app = create_api(
        pipeline, InventoryRecorder.open(store_settings), args, store_settings,
        behind_serve_proxy=False,
    )  # fmt: skip
    chosen = free_port()
    with ThreadedServer(app, chosen):
        yield chosen


def _response(connection: socket.socket) -> tuple[int, dict[str, object]]:
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def test_an_upload_that_stalls_gets_408_and_frees_its_slot(port: int) -> None:
    stalled = socket.create_connection(("127.0.0.1", port), timeout=10)
    stalled.sendall(
        b"POST /v1/detect HTTP/1.1\r\nHost: test\r\nContent-Type: image/jpeg\r\n"
        b"Content-Length: 100000\r\n\r\n\xff\xd8\xff"
    )
    started = time.monotonic()
    status, body = _response(stalled)
    waited = time.monotonic() - started
    stalled.close()

    # The only admission slot (max_in_flight_requests=1) is free again: a health call and a
    # second upload that also stalls are answered the same way, not with 503.
    again = socket.create_connection(("127.0.0.1", port), timeout=10)
    again.sendall(
        b"POST /v1/detect HTTP/1.1\r\nHost: test\r\nContent-Type: image/jpeg\r\n"
        b"Content-Length: 10\r\n\r\n\xff"
    )
    second_status, _ = _response(again)
    again.close()

    assert status == 408 and body["error"]["code"] == "request_timeout"  # type: ignore[index]
    assert BODY_TIMEOUT_S <= waited < BODY_TIMEOUT_S + 2.0
    assert second_status == 408


def test_a_client_that_hangs_up_mid_upload_is_no_server_error(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """It used to be logged as an unhandled error and counted as a 500."""
    gone = socket.create_connection(("127.0.0.1", port), timeout=10)
    gone.sendall(
        b"POST /v1/detect HTTP/1.1\r\nHost: test\r\nContent-Type: image/jpeg\r\n"
        b"Content-Length: 100000\r\n\r\n\xff\xd8\xff"
    )
    time.sleep(0.1)
    gone.close()
    time.sleep(0.3)  # the server notices the disconnect

    # Its slot is free at once (max_in_flight_requests=1), not after the body timeout.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as after:
        after.sendall(b"GET /v1/health HTTP/1.1\r\nHost: test\r\n\r\n")
        status, _ = _response(after)

    assert status == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
