"""The inventory routes and ?location= recording, on SQLite and on PostgreSQL."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serve_app.core.args import StreamArgs
from serve_app.core.settings import Settings
from tests.api.conftest import MAX_STREAMS
from tests.assertions import assert_detection_response, assert_error
from tests.factories import shelf_jpeg

JPEG = {"Content-Type": "image/jpeg"}


@pytest.fixture
def store_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, spool_retry_interval_s=0.1)


@pytest.fixture
def stream_args() -> StreamArgs:
    # Record at most every 0.3 s, the median of the last 3 frames.
    return StreamArgs(
        max_streams_per_replica=MAX_STREAMS, record_interval_s=0.3, record_window_frames=3
    )


@pytest.fixture(autouse=True)
def _as_admin(client: TestClient, admin: dict[str, str]) -> None:
    """These tests write locations and items: an admin key on every request."""
    client.headers.update(admin)


def new_location(client: TestClient, name: str = "Ward 3 shelf B", **extra: Any) -> int:
    response = client.post("/v1/locations", json={"kind": "shelf", "name": name, **extra})
    assert response.status_code == 201, response.text
    location_id: int = response.json()["id"]
    return location_id


def test_locations_crud(client: TestClient) -> None:
    first = new_location(client, "Ward 3 shelf B", camera_id="cam-7")
    second = new_location(client, "OR cabinet 1")

    one = client.get(f"/v1/locations/{first}").json()
    listed = client.get("/v1/locations").json()["locations"]

    assert one["kind"] == "shelf" and one["name"] == "Ward 3 shelf B"
    assert one["camera_id"] == "cam-7"
    assert datetime.fromisoformat(one["created_at"]).tzinfo is not None
    assert [location["id"] for location in listed] == [first, second]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "drawer", "name": "x"}, 422, "invalid_parameters"),
        ({"kind": "shelf", "name": ""}, 422, "invalid_parameters"),
        ({"kind": "shelf"}, 422, "invalid_parameters"),
        ({"kind": "shelf", "name": "x", "colour": "red"}, 422, "invalid_parameters"),
    ],
    ids=["bad-kind", "empty-name", "no-name", "unknown-field"],
)
def test_invalid_location_is_422(
    client: TestClient, body: dict[str, Any], status: int, code: str
) -> None:
    response = client.post("/v1/locations", json=body)
    assert response.status_code == status
    assert_error(response.json(), code)


def test_duplicate_location_name_is_409(client: TestClient) -> None:
    new_location(client, "Pharmacy room")
    response = client.post("/v1/locations", json={"kind": "room", "name": "Pharmacy room"})
    assert response.status_code == 409
    assert_error(response.json(), "conflict")


def test_unknown_location_is_404(client: TestClient) -> None:
    response = client.get("/v1/locations/999999")
    assert response.status_code == 404
    assert_error(response.json(), "not_found")


def test_the_largest_location_id_the_database_holds_is_an_ordinary_404(client: TestClient) -> None:
    response = client.get(f"/v1/locations/{2**31 - 1}")
    assert response.status_code == 404
    assert_error(response.json(), "not_found")


# One past PostgreSQL's integer, and one no 64-bit integer holds (SQLite's driver overflowed
# on it: a 500).
@pytest.mark.parametrize("huge", [2**31, 99999999999999999999], ids=["int32+1", "beyond-int64"])
@pytest.mark.parametrize(
    "path",
    [
        "/v1/locations/{}",
        "/v1/inventory?location={}",
        "/v1/alerts?location={}",
        "/v1/inventory/{}/history?item=syringe",
    ],
)
def test_a_location_id_beyond_the_database_range_is_422(
    client: TestClient, path: str, huge: int
) -> None:
    response = client.get(path.format(huge))
    assert response.status_code == 422
    assert_error(response.json(), "invalid_parameters")


def test_put_item_creates_then_replaces(client: TestClient) -> None:
    created = client.put(
        "/v1/items/syringe",
        json={"display_name": "Syringe 5 ml", "sku": "SY-5", "unit": "box", "par_level": 10},
    )
    replaced = client.put("/v1/items/syringe", json={"display_name": "Syringe 10 ml"})

    assert created.status_code == 200, created.text
    assert created.json()["par_level"] == 10
    body = replaced.json()
    assert (body["label"], body["display_name"], body["sku"], body["unit"]) == (
        "syringe",
        "Syringe 10 ml",
        None,
        "each",
    )
    assert body["par_level"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"display_name": "x", "par_level": -1},
        {"display_name": "x", "par_level": 2**31},
        {"sku": "x"},
        {"display_name": "x", "extra": 1},
    ],
    ids=["negative-par", "par-beyond-int32", "no-name", "unknown-field"],
)
def test_invalid_item_is_422(client: TestClient, body: dict[str, Any]) -> None:
    response = client.put("/v1/items/syringe", json=body)
    assert response.status_code == 422
    assert_error(response.json(), "invalid_parameters")


def test_detect_with_location_records_counts_as_stock(client: TestClient) -> None:
    location = new_location(client)
    response = client.post(f"/v1/detect?location={location}", content=shelf_jpeg(), headers=JPEG)

    assert response.status_code == 200, response.text
    body = response.json()
    assert_detection_response(body, 640, 480, recorded="written")
    stock = client.get(f"/v1/inventory?location={location}").json()["stock"]
    assert {s["item"]: s["count"] for s in stock} == body["counts"]


def test_detect_without_location_records_nothing(client: TestClient) -> None:
    new_location(client)
    response = client.post("/v1/detect", content=shelf_jpeg(), headers=JPEG)
    assert_detection_response(response.json(), 640, 480, recorded=None)
    assert client.get("/v1/inventory").json() == {"stock": []}


def test_detect_at_a_location_beyond_the_database_range_is_422(client: TestClient) -> None:
    response = client.post(f"/v1/detect?location={2**31}", content=shelf_jpeg(), headers=JPEG)
    assert response.status_code == 422
    assert_error(response.json(), "invalid_parameters")


def test_detect_at_unknown_location_is_404_and_records_nothing(client: TestClient) -> None:
    response = client.post("/v1/detect?location=424242", content=shelf_jpeg(), headers=JPEG)
    assert response.status_code == 404
    assert_error(response.json(), "not_found")
    assert client.get("/v1/inventory").json() == {"stock": []}


def test_inventory_filters_and_alerts_follow_par_levels(client: TestClient) -> None:
    shelf, cabinet = new_location(client, "A"), new_location(client, "B")
    counts = record(client, shelf)
    record(client, cabinet)
    label, count = sorted(counts.items())[0]
    client.put(f"/v1/items/{label}", json={"display_name": "Thing", "par_level": count})
    assert client.get("/v1/alerts").json() == {"alerts": []}  # at par is not below it

    before = datetime.now(UTC)
    client.put(f"/v1/items/{label}", json={"display_name": "Thing", "par_level": count + 1})
    alerts = client.get("/v1/alerts").json()["alerts"]
    only_shelf = client.get(f"/v1/alerts?location={shelf}").json()["alerts"]
    filtered = client.get(f"/v1/inventory?location={shelf}&item={label}").json()["stock"]

    assert [(a["location_id"], a["item"]) for a in alerts] == [(shelf, label), (cabinet, label)]
    assert all(datetime.fromisoformat(a["below_par_since"]) >= before for a in alerts)
    assert [a["location_id"] for a in only_shelf] == [shelf]
    assert [(s["item"], s["count"], s["display_name"]) for s in filtered] == [
        (label, count, "Thing")
    ]


def test_history_counts_every_record_in_its_bucket(client: TestClient) -> None:
    location = new_location(client)
    counts = [record(client, location) for _ in range(3)]
    label = sorted(counts[0])[0]

    body = history(client, location, label, bucket="hour")

    expected = [c.get(label, 0) for c in counts]
    assert sum(p["samples"] for p in body["points"]) == 3
    assert min(p["min"] for p in body["points"]) == min(expected)
    assert max(p["max"] for p in body["points"]) == max(expected)
    assert body["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("item=syringe&bucket=week", 422, "invalid_parameters"),
        ("bucket=hour", 422, "invalid_parameters"),
        ("item=syringe&since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", 422,
         "invalid_parameters"),
        ("item=syringe&limit=0", 422, "invalid_parameters"),
    ],
    ids=["bad-bucket", "no-item", "since-after-until", "zero-limit"],
)  # fmt: skip
def test_invalid_history_query_is_422(
    client: TestClient, query: str, status: int, code: str
) -> None:
    location = new_location(client)
    response = client.get(f"/v1/inventory/{location}/history?{query}")
    assert response.status_code == status
    assert_error(response.json(), code)


def test_history_of_unknown_location_is_404(client: TestClient) -> None:
    response = client.get("/v1/inventory/999999/history?item=syringe")
    assert response.status_code == 404


def test_stream_records_smoothed_counts_once_per_interval(client: TestClient) -> None:
    location = new_location(client)
    frame = shelf_jpeg(320, 240)
    with client.websocket_connect(f"/v1/stream?location={location}") as socket:
        results = []
        for _ in range(10):
            socket.send_bytes(frame)
            results.append(socket.receive_json())
            time.sleep(0.05)  # >= 0.5 s in all: at least one record, far fewer than frames
    recorded = [r for r in results if r["recorded"]]
    assert recorded and all(r["recorded"] == "written" for r in recorded)
    assert len(recorded) < len(results)
    assert all(r["zones"] is None for r in results)  # a location without zones
    samples = sum(p["samples"] for p in history(client, location, "syringe")["points"])
    assert samples == len(recorded)
    stock = client.get(f"/v1/inventory?location={location}").json()["stock"]
    assert {s["item"]: s["count"] for s in stock if s["count"]} == results[0]["counts"]


def test_stream_at_unknown_location_gets_an_error_and_close(client: TestClient) -> None:
    with client.websocket_connect("/v1/stream?location=999999") as socket:
        error = socket.receive_json()
        closed = socket.receive()
    assert (error["type"], error["code"]) == ("error", "not_found")
    assert closed == {"type": "websocket.close", "code": 1008, "reason": "not_found"}


def test_ready_reports_an_empty_spool_as_ok(client: TestClient) -> None:
    assert client.get("/v1/ready").json()["store"] == {"status": "ok", "spooled": 0}


def record(client: TestClient, location: int) -> dict[str, int]:
    response = client.post(f"/v1/detect?location={location}", content=shelf_jpeg(), headers=JPEG)
    assert response.json()["recorded"] == "written", response.text
    counts: dict[str, int] = response.json()["counts"]
    return counts


def history(client: TestClient, location: int, label: str, **query: str) -> dict[str, Any]:
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    params = {"item": label, "since": since, **query}
    response = client.get(f"/v1/inventory/{location}/history", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
