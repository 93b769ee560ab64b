"""Zones: CRUD of a camera's bins, and detections counted per bin, on SQLite and PostgreSQL."""

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serve_app.core.args import StreamArgs
from serve_app.core.settings import Settings
from tests.assertions import assert_error
from tests.factories import shelf_jpeg

JPEG = {"Content-Type": "image/jpeg"}
LEFT = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
RIGHT = [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]


@pytest.fixture
def store_settings(tmp_path: Path, database_url: str) -> Settings:
    # Zone edits reach the detect path at once: the tests read what they just wrote.
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        spool_retry_interval_s=0.1,
        zone_cache_ttl_s=0.001,
    )


@pytest.fixture(autouse=True)
def _as_admin(client: TestClient, admin: dict[str, str]) -> None:
    client.headers.update(admin)


@pytest.fixture
def camera(client: TestClient) -> int:
    response = client.post(
        "/v1/locations", json={"kind": "shelf", "name": "Ward 3 shelf B", "camera_id": "cam-7"}
    )
    assert response.status_code == 201, response.text
    camera_id: int = response.json()["id"]
    return camera_id


def add_zone(client: TestClient, camera: int, name: str, polygon: Any, **extra: Any) -> Any:
    body = {"name": name, "polygon": polygon, "items": [], **extra}
    response = client.post(f"/v1/locations/{camera}/zones", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_zones_crud(client: TestClient, camera: int) -> None:
    items = [{"label": "syringe", "par_level": 5}]
    left = add_zone(client, camera, "shelf B left", LEFT, items=items, position=3)
    right = add_zone(client, camera, "shelf B right", RIGHT)

    assert (left["position"], right["position"]) == (3, 4)  # appended after the others
    assert left["items"] == items and left["camera_location_id"] == camera
    listed = client.get(f"/v1/locations/{camera}/zones").json()["zones"]
    assert [zone["id"] for zone in listed] == [left["id"], right["id"]]
    bin_location = client.get(f"/v1/locations/{left['id']}").json()
    assert bin_location["kind"] == "bin" and bin_location["parent_id"] == camera

    replaced = client.put(
        f"/v1/zones/{right['id']}",
        json={"name": "shelf B right bin", "polygon": LEFT, "items": [], "position": 0},
    )
    assert replaced.status_code == 200, replaced.text
    assert client.get(f"/v1/zones/{right['id']}").json()["name"] == "shelf B right bin"
    assert [z["id"] for z in client.get(f"/v1/locations/{camera}/zones").json()["zones"]] == [
        right["id"],  # position order
        left["id"],
    ]

    assert client.delete(f"/v1/zones/{left['id']}").status_code == 204
    assert client.get(f"/v1/zones/{left['id']}").status_code == 404
    assert client.get(f"/v1/locations/{left['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "z", "polygon": [[0, 0], [1, 0]], "items": []}, "at least 3"),
        ({"name": "z", "polygon": [[0, 0], [2, 0], [0, 1]], "items": []}, "from 0 to 1"),
        ({"name": "z", "polygon": [[0, 0], [0.5, 0.5], [1, 1]], "items": []}, "degenerate"),
        ({"name": "z", "polygon": [[0, 0], [1, 1], [1, 0], [0, 0.6]], "items": []}, "cross"),
        (
            {
                "name": "z",
                "polygon": LEFT,
                "items": [{"label": "mask", "par_level": 1}, {"label": "mask", "par_level": 2}],
            },
            "once per bin",
        ),
        ({"name": "z", "polygon": LEFT, "items": [{"label": "mask", "par_level": -1}]}, "0"),
        ({"name": "z", "polygon": LEFT}, "items"),
    ],
    ids=[
        "two-vertices",
        "outside",
        "degenerate",
        "crossing",
        "item-twice",
        "negative-par",
        "no-items",
    ],
)
def test_an_invalid_zone_is_422_with_the_reason(
    client: TestClient, camera: int, body: dict[str, Any], message: str
) -> None:
    response = client.post(f"/v1/locations/{camera}/zones", json=body)
    assert response.status_code == 422
    assert_error(response.json(), "invalid_parameters")
    assert message in response.json()["error"]["message"]


def test_zone_writes_need_an_admin_key_and_name_a_camera_that_exists(
    client: TestClient, camera: int
) -> None:
    body = {"name": "z", "polygon": LEFT, "items": []}
    anonymous = client.post(
        f"/v1/locations/{camera}/zones", json=body, headers={"Authorization": ""}
    )
    assert anonymous.status_code == 401
    assert client.post("/v1/locations/999/zones", json=body).status_code == 404
    assert client.get("/v1/locations/999/zones").status_code == 404
    created = add_zone(client, camera, "z", LEFT)
    taken = client.post(f"/v1/locations/{camera}/zones", json=body)
    assert taken.status_code == 409
    nested = client.post(f"/v1/locations/{created['id']}/zones", json={**body, "name": "y"})
    assert nested.status_code == 422  # a bin has no zones of its own
    bin_kind = client.post("/v1/locations", json={"kind": "bin", "name": "loose bin"})
    assert bin_kind.status_code == 422


def centres_in(detections: list[dict[str, Any]], width: int, low: float, high: float) -> int:
    return sum(low <= (d["box"][0] + d["box"][2]) / 2 / width < high for d in detections)


def test_detections_count_toward_the_zone_of_their_box_centre(
    client: TestClient, camera: int
) -> None:
    image = shelf_jpeg(640, 480)
    seen = client.post("/v1/detect", content=image, headers=JPEG).json()["detections"]
    assert len(seen) >= 2, "the demo model should find several items on the example shelf"
    left = add_zone(
        client, camera, "left bin", LEFT, items=[{"label": "catheter_kit", "par_level": 1}]
    )
    right = add_zone(client, camera, "right bin", RIGHT)

    answer = client.post(f"/v1/detect?location={camera}", content=image, headers=JPEG).json()

    by_zone = {zone["id"]: zone for zone in answer["zones"]}
    assert set(by_zone) == {left["id"], right["id"]}
    # A centre on x = 0.5 counts toward the left zone, the first that holds it.
    assert sum(by_zone[left["id"]]["counts"].values()) == centres_in(seen, 640, 0.0, 0.5000001)
    assert sum(by_zone[right["id"]]["counts"].values()) == centres_in(seen, 640, 0.5000001, 2)
    assert "catheter_kit" in by_zone[left["id"]]["counts"]  # an expected item, counted 0 or more
    stock = client.get(f"/v1/inventory?location={left['id']}").json()["stock"]
    recorded = {row["item"]: row["count"] for row in stock}
    assert recorded == by_zone[left["id"]]["counts"]
    camera_stock = client.get(f"/v1/inventory?location={camera}").json()["stock"]
    assert {row["item"]: row["count"] for row in camera_stock} == answer["counts"]


def test_a_bin_below_its_own_par_level_raises_an_alert_for_that_bin(
    client: TestClient, camera: int
) -> None:
    image = shelf_jpeg(640, 480)
    client.put("/v1/items/syringe", json={"display_name": "Syringe 5 ml", "par_level": 0})
    zone = add_zone(
        client, camera, "syringe bin", LEFT, items=[{"label": "syringe", "par_level": 10_000}]
    )

    answer = client.post(f"/v1/detect?location={camera}", content=image, headers=JPEG).json()

    assert answer["recorded"] == "written"
    alerts = client.get("/v1/alerts").json()["alerts"]
    assert [(a["location_id"], a["item"], a["par_level"]) for a in alerts] == [
        (zone["id"], "syringe", 10_000)
    ]
    # The bin's par level, not the item's, decides; lowering it clears the alert at once.
    lowered = {
        "name": "syringe bin",
        "polygon": LEFT,
        "items": [{"label": "syringe", "par_level": 0}],
    }
    assert client.put(f"/v1/zones/{zone['id']}", json=lowered).status_code == 200
    assert client.get("/v1/alerts").json() == {"alerts": []}


def test_a_retried_detection_records_each_bin_once(client: TestClient, camera: int) -> None:
    image = shelf_jpeg(640, 480)
    zone = add_zone(client, camera, "left bin", LEFT)
    headers = {**JPEG, "Idempotency-Key": "frame-1"}

    first = client.post(f"/v1/detect?location={camera}", content=image, headers=headers).json()
    again = client.post(f"/v1/detect?location={camera}", content=image, headers=headers).json()

    assert (first["recorded"], again["recorded"]) == ("written", "duplicate")
    history = client.get(
        f"/v1/inventory/{zone['id']}/history", params={"item": "catheter_kit", "bucket": "day"}
    ).json()
    assert sum(point["samples"] for point in history["points"]) == 1


@pytest.fixture
def stream_args() -> StreamArgs:
    # Record at most every 0.2 s, the median of the last 3 frames.
    return StreamArgs(max_streams_per_replica=2, record_interval_s=0.2, record_window_frames=3)


def test_a_stream_records_its_smoothed_counts_per_bin(client: TestClient, camera: int) -> None:
    frame = shelf_jpeg(640, 480)
    detect = client.post(f"/v1/detect?location={camera}", content=frame, headers=JPEG).json()
    zone = add_zone(client, camera, "left bin", LEFT, items=[{"label": "gauze", "par_level": 1}])
    expected = detect["counts"]  # the same frame each time: every median is its count

    with client.websocket_connect(f"/v1/stream?location={camera}") as socket:
        results: list[dict[str, Any]] = []
        recorded: list[dict[str, Any]] = []
        while len(recorded) < 2:
            socket.send_bytes(frame)
            results.append(result := socket.receive_json())
            if result["recorded"]:
                recorded.append(result)
            time.sleep(0.05)

    bin_stock = client.get(f"/v1/inventory?location={zone['id']}").json()["stock"]
    left = sum((d["box"][0] + d["box"][2]) / 2 / 640 <= 0.5 for d in detect["detections"])
    # Each frame's own counts per zone, on every result, recorded or not.
    for answer in results:
        [frame_zone] = answer["zones"]
        assert (frame_zone["id"], frame_zone["name"]) == (zone["id"], "left bin")
        assert frame_zone["counts"]["gauze"] == 0
        assert sum(n for item, n in frame_zone["counts"].items() if item != "gauze") == left
    assert sum(row["count"] for row in bin_stock if row["item"] != "gauze") == left
    assert {row["item"]: row["count"] for row in bin_stock}["gauze"] == 0  # expected, unseen
    alerts = client.get(f"/v1/alerts?location={zone['id']}").json()["alerts"]
    assert [a["item"] for a in alerts] == ["gauze"]
    camera_stock = client.get(f"/v1/inventory?location={camera}").json()["stock"]
    assert {r["item"]: r["count"] for r in camera_stock if r["count"]} == expected
