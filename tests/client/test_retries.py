"""Retries against a tiny real HTTP server that fails first (503 + Retry-After, 429, a reset)."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from medinv_client import (
    ApiError,
    Client,
    RateLimitedError,
    RetryPolicy,
    ServiceUnavailableError,
    TransportError,
)

OK = {"status": "ok"}
DETECTED = {
    "request_id": "r1",
    "model": {"name": "m", "version": "1"},
    "image": {"width": 2, "height": 2},
    "detections": [],
    "counts": {},
    "timing_ms": {"preprocess": 0, "inference": 0, "total": 1},
    "recorded": None,
}


class Flaky(ThreadingHTTPServer):
    """Answers the first `failures` requests with `failure`: "503", "429" or "500" (the service's
    JSON errors), "proxy-500" (Serve's proxy's plain text when the Ingress replica died), or
    "reset"."""

    failures = 1
    failure = "503"
    retry_after = "1"
    seen: list[tuple[str, float]]


class Handler(BaseHTTPRequestHandler):
    server: Flaky

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, body: object) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.seen.append((self.command, time.monotonic()))
        if len(self.server.seen) <= self.server.failures:
            if self.server.failure == "reset":
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                self.connection.close()
                return
            if self.server.failure == "proxy-500":
                self.send_response(500)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", "21")
                self.end_headers()
                self.wfile.write(b"Internal Server Error")
                return
            status = int(self.server.failure)
            code = {503: "overloaded", 429: "rate_limited", 500: "internal_error"}[status]
            payload = json.dumps({"error": {"code": code, "message": "busy", "request_id": "x"}})
            self.send_response(status)
            self.send_header("Retry-After", self.server.retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload.encode())
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer(OK)

    def do_POST(self) -> None:
        self._answer(DETECTED)


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    server = Flaky(("127.0.0.1", 0), Handler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: Flaky) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_503_is_retried_after_retry_after(flaky: Flaky) -> None:
    with Client(_url(flaky)) as client:
        assert client.health().status == "ok"
    (_, first), (_, second) = flaky.seen
    assert second - first >= 0.9  # Retry-After: 1


def test_429_is_retried_and_gives_up_after_the_attempts(flaky: Flaky) -> None:
    flaky.failure, flaky.failures, flaky.retry_after = "429", 10, "0"
    with (
        Client(_url(flaky), retry=RetryPolicy(attempts=3)) as client,
        pytest.raises(RateLimitedError) as raised,
    ):
        client.health()
    assert len(flaky.seen) == 3
    assert (raised.value.status, raised.value.code, raised.value.retry_after) == (
        429,
        "rate_limited",
        0,
    )


def test_a_detection_is_retried_only_with_an_idempotency_key(flaky: Flaky) -> None:
    flaky.retry_after = "0"
    with Client(_url(flaky)) as client:
        for trace_only in ({}, {"request_id": "r1"}):  # a trace id names no record
            flaky.seen.clear()
            with pytest.raises(ServiceUnavailableError) as raised:
                client.detect(b"\xff\xd8\xff", **trace_only)
            assert raised.value.code == "overloaded" and raised.value.request_id == "x"
            assert len(flaky.seen) == 1
        flaky.seen.clear()
        assert client.detect(b"\xff\xd8\xff", idempotency_key="k1").request_id == "r1"
    assert [method for method, _ in flaky.seen] == ["POST", "POST"]


def test_the_proxys_plain_500_is_retried_for_idempotent_calls_only(flaky: Flaky) -> None:
    """Serve's proxy answers a plain-text 500 for requests on an Ingress replica that died: the
    request may or may not have been handled, as with a reset."""
    flaky.failure = "proxy-500"
    with Client(_url(flaky), retry=RetryPolicy(backoff_s=0.05)) as client:
        assert client.detect(b"\xff\xd8\xff", idempotency_key="k1").request_id == "r1"
        assert len(flaky.seen) == 2
        flaky.seen.clear()
        with pytest.raises(ApiError) as raised:
            client.detect(b"\xff\xd8\xff")  # no idempotency key: not retried
    assert raised.value.status == 500 and len(flaky.seen) == 1


def test_the_services_own_500_is_not_retried(flaky: Flaky) -> None:
    flaky.failure = "500"
    with Client(_url(flaky)) as client, pytest.raises(ApiError) as raised:
        client.detect(b"\xff\xd8\xff", idempotency_key="k1")
    assert raised.value.code == "internal_error" and len(flaky.seen) == 1


def test_a_connection_reset_is_retried_for_reads(flaky: Flaky) -> None:
    flaky.failure = "reset"
    with Client(_url(flaky), retry=RetryPolicy(backoff_s=0.05)) as client:
        assert client.health().status == "ok"
        assert len(flaky.seen) == 2
        flaky.seen.clear()
        with pytest.raises(TransportError):
            client.detect(b"\xff\xd8\xff")  # not idempotent: not retried
    assert len(flaky.seen) == 1


def test_nothing_listening_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    retry = RetryPolicy(attempts=2, backoff_s=0.01)
    with Client(f"http://127.0.0.1:{port}", retry=retry) as c, pytest.raises(TransportError):
        c.health()
