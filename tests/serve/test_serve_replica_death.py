"""A backend replica SIGKILLed under load costs no request: the ingress sends a detection that
a replica's death cut short once more (a detection is idempotent), and answers a JSON 503 with
Retry-After only if that fails too. Before, in-flight requests got 500 `internal_error`.

Runs in the session's cluster: the controller replaces the killed replica, and the test waits
until the application serves again before it ends. Raw httpx on purpose: it checks headers the
client does not expose (X-Cache) on every single answer.
"""

import os
import signal
import threading
import time
from collections import Counter

import httpx
import pytest

from tests.factories import shelf_jpeg
from tests.serve.conftest import ServeService

pytestmark = pytest.mark.serve

CLIENTS = 4


def _replica_pid(service: ServeService, deployment: str) -> int:
    replicas = service.application()["deployments"][deployment]["replicas"]
    running = [r for r in replicas if r["state"] == "RUNNING"]
    assert running, f"no running {deployment} replica: {replicas}"
    pid: int = running[0]["pid"]
    return pid


def _wait_for_new_replica(service: ServeService, deployment: str, old_pid: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        replicas = service.application()["deployments"][deployment]["replicas"]
        if any(r["state"] == "RUNNING" and r["pid"] != old_pid for r in replicas):
            return
        time.sleep(0.5)
    raise AssertionError(f"no new {deployment} replica within 120 s")


@pytest.mark.parametrize("deployment", ["Detector", "Preprocessor"])
def test_a_killed_replica_costs_no_request(serve_service: ServeService, deployment: str) -> None:
    image = shelf_jpeg(1280, 960)  # one 864x640 input: each request spends long in every replica
    stop = threading.Event()
    outcomes: list[httpx.Response] = []
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(base_url=serve_service.base_url, timeout=60) as http:
            while not stop.is_set():
                # Bytes after the JPEG's end make each request unique, so none is a cache hit.
                unique = image + os.urandom(16)
                response = http.post(
                    "/v1/detect", content=unique, headers={"Content-Type": "image/jpeg"}
                )
                with lock:
                    outcomes.append(response)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(3)  # every client has requests in flight
        pid = _replica_pid(serve_service, deployment)
        os.kill(pid, signal.SIGKILL)
        _wait_for_new_replica(serve_service, deployment, pid)
        with lock:
            answered_at_recovery = len(outcomes)
        while len(outcomes) < answered_at_recovery + 2 * CLIENTS:
            time.sleep(0.2)  # detections flow through the new replica
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=90)

    statuses = Counter(response.status_code for response in outcomes)
    print(f"{deployment} SIGKILLed: {dict(statuses)} over {len(outcomes)} requests")
    refused = [r for r in outcomes if r.status_code != 200]
    for response in refused:
        assert response.status_code == 503, (response.status_code, response.text[:300])
        assert response.headers["Retry-After"]
        assert response.json()["error"]["code"] in {"replica_lost", "not_ready"}
    assert not [r for r in outcomes if r.headers.get("X-Cache") == "hit"]
    assert statuses[200] > 2 * CLIENTS
