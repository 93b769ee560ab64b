"""The webhook routes, admin only, on SQLite and on PostgreSQL: the secret is shown once, bad
input is a 422 that says why; and a detection's below-par event reaches a real receiver through
the app's own dispatcher, signed."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serve_app.core.settings import Settings
from tests.assertions import assert_error
from tests.factories import shelf_jpeg
from tests.keys import bearer, create_api_key
from tests.webhook_receiver import documented_verify

HOOK = "http://127.0.0.1:9/hooks/medinv"  # the discard port: nothing answers there
PATIENCE_S = 60.0  # a failure guard for the dispatcher's delivery, never a measure


@pytest.fixture
def store_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        spool_retry_interval_s=0.1,
        webhook_poll_interval_s=0.05,
        webhook_timeout_s=2.0,
        webhook_backoff_base_s=0.05,
        webhook_backoff_max_s=0.5,
    )


def create(client: TestClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    fields = {"url": HOOK, "events": ["below_par"]} | body
    response = client.post("/v1/webhooks", json=fields, headers=admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_an_admin_creates_lists_gets_and_deletes_webhooks(
    client: TestClient, admin: dict[str, str]
) -> None:
    alerts = create(client, admin)
    reports = create(
        client, admin, events=["replenishment_report", "below_par"], report_interval_s=3600
    )

    listed = client.get("/v1/webhooks", headers=admin).json()["webhooks"]
    one = client.get(f"/v1/webhooks/{reports['id']}", headers=admin).json()

    assert [webhook["id"] for webhook in listed] == [alerts["id"], reports["id"]]
    assert one["url"] == HOOK
    assert one["events"] == ["below_par", "replenishment_report"]
    assert one["report_interval_s"] == 3600 and one["next_report_at"] is not None
    assert alerts["report_interval_s"] is None and alerts["next_report_at"] is None
    assert one["deliveries"] == {"pending": 0, "delivered": 0, "dead": 0}

    deleted = client.delete(f"/v1/webhooks/{alerts['id']}", headers=admin)
    assert deleted.status_code == 204 and deleted.content == b""
    assert client.get(f"/v1/webhooks/{alerts['id']}", headers=admin).status_code == 404
    again = client.delete(f"/v1/webhooks/{alerts['id']}", headers=admin)
    assert again.status_code == 404
    assert_error(again.json(), "not_found")
    listed = client.get("/v1/webhooks", headers=admin).json()["webhooks"]
    assert [webhook["id"] for webhook in listed] == [reports["id"]]


def test_the_secret_is_shown_once(client: TestClient, admin: dict[str, str]) -> None:
    created = create(client, admin)
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40

    listed = client.get("/v1/webhooks", headers=admin)
    one = client.get(f"/v1/webhooks/{created['id']}", headers=admin)

    for response in (listed, one):
        assert response.status_code == 200
        assert secret not in response.text
        assert "secret" not in response.text
    assert one.json() == {key: value for key, value in created.items() if key != "secret"}


def test_webhooks_need_an_admin_key_even_with_auth_off(
    client: TestClient, store_settings: Settings
) -> None:
    reader = bearer(create_api_key(store_settings.resolved_database_url, "detect,read"))
    calls = [
        ("post", "/v1/webhooks", {"url": HOOK, "events": ["below_par"]}),
        ("get", "/v1/webhooks", None),
        ("get", "/v1/webhooks/1", None),
        ("delete", "/v1/webhooks/1", None),
    ]
    for method, path, body in calls:
        anonymous = client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
        assert_error(anonymous.json(), "unauthorized")
        refused = client.request(method, path, json=body, headers=reader)
        assert refused.status_code == 403, (method, path)
        assert_error(refused.json(), "forbidden")


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/hook", "events": ["below_par"]},
        {"url": "not a url", "events": ["below_par"]},
        {"url": "http://", "events": ["below_par"]},
        {"url": "https://example.com/" + "a" * 2048, "events": ["below_par"]},
        {"url": HOOK, "events": []},
        {"url": HOOK, "events": ["sold_out"]},
        {"events": ["below_par"]},
        {"url": HOOK, "events": ["replenishment_report"]},
        {"url": HOOK, "events": ["below_par"], "report_interval_s": 3600},
        {"url": HOOK, "events": ["replenishment_report"], "report_interval_s": 59},
        {"url": HOOK, "events": ["replenishment_report"], "report_interval_s": 2**40},
        {"url": HOOK, "events": ["below_par"], "secret": "mine"},
    ],
    ids=[
        "ftp",
        "not-a-url",
        "no-host",
        "too-long",
        "no-events",
        "unknown-event",
        "no-url",
        "reports-without-interval",
        "interval-without-reports",
        "interval-too-short",
        "interval-too-long",
        "own-secret",
    ],
)
def test_an_invalid_webhook_is_422(
    client: TestClient, admin: dict[str, str], body: dict[str, Any]
) -> None:
    response = client.post("/v1/webhooks", json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert_error(response.json(), "invalid_parameters")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [(b"\xf8\x03(\xd7", 400, "bad_request"), (b"{not json", 422, "invalid_parameters")],
    ids=["not-utf8", "not-json"],
)
def test_a_body_that_is_not_json_is_a_4xx(
    client: TestClient, admin: dict[str, str], body: bytes, status: int, code: str
) -> None:
    headers = admin | {"Content-Type": "application/json"}
    response = client.post("/v1/webhooks", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert_error(response.json(), code)


@pytest.mark.parametrize("webhook_id", ["0", str(2**31), "x"])
def test_a_webhook_id_out_of_range_is_422(
    client: TestClient, admin: dict[str, str], webhook_id: str
) -> None:
    for method in ("get", "delete"):
        response = client.request(method, f"/v1/webhooks/{webhook_id}", headers=admin)
        assert response.status_code == 422, (method, response.text)
        assert_error(response.json(), "invalid_parameters")


class _Received(BaseHTTPRequestHandler):
    requests: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.requests.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A plain HTTP server in a thread: its URL and the requests it got (headers, body)."""
    requests: list[tuple[dict[str, str], bytes]] = []
    handler = type("Handler", (_Received,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", requests
    server.shutdown()
    server.server_close()


def test_a_detection_that_takes_stock_below_par_is_posted_to_the_subscriber(
    client: TestClient,
    admin: dict[str, str],
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, requests = receiver
    created = create(client, admin, url=url)
    first = client.post("/v1/locations", json={"kind": "shelf", "name": "A"}, headers=admin)
    second = client.post("/v1/locations", json={"kind": "shelf", "name": "B"}, headers=admin)
    jpeg = {"Content-Type": "image/jpeg"}
    # What the model sees on the shelf, learnt at A; B's first record is then below par.
    counts = client.post(
        f"/v1/detect?location={first.json()['id']}", content=shelf_jpeg(), headers=jpeg
    ).json()["counts"]
    label, count = sorted(counts.items())[0]
    client.put(
        f"/v1/items/{label}", json={"display_name": "Thing", "par_level": count + 1}, headers=admin
    )
    location = second.json()["id"]
    detected = client.post(f"/v1/detect?location={location}", content=shelf_jpeg(), headers=jpeg)
    assert detected.json()["recorded"] == "written"

    deadline = time.monotonic() + PATIENCE_S
    while (
        client.get(f"/v1/webhooks/{created['id']}", headers=admin).json()["deliveries"]["delivered"]
        < 1
    ):
        assert time.monotonic() < deadline, "the event was not delivered"
        time.sleep(0.05)

    # At least once: a send slower than the timeout on a loaded machine comes again, the same.
    headers, body = requests[0]
    assert {(h["Medinv-Event-Id"], b) for h, b in requests} == {(headers["Medinv-Event-Id"], body)}
    event = json.loads(body)
    assert event["type"] == headers["Medinv-Event-Type"] == "below_par"
    assert event["id"] == headers["Medinv-Event-Id"]
    assert event["data"] | {"below_par_since": None} == {
        "location_id": location,
        "label": label,
        "count": count,
        "par_level": count + 1,
        "below_par_since": None,
    }
    assert documented_verify()(created["secret"], headers["Medinv-Signature"], body)
