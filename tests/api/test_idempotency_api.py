"""`Idempotency-Key` on recording detections, and stream record keys, on SQLite and PostgreSQL.

A record is keyed by its caller (API key, or anonymous) and its idempotency key: the same key
with the same image is a duplicate (recorded once), with another image a 409. The answer never
says "written" for a record that was not.
"""

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medinv_tools.local_pipeline import LocalPipeline
from serve_app.api.app import create_api
from serve_app.core.args import IngressArgs, StreamArgs
from serve_app.core.settings import Settings
from serve_app.inventory.recorder import InventoryRecorder
from tests.api.conftest import MAX_STREAMS
from tests.api.test_inventory_api import history, new_location
from tests.assertions import assert_error
from tests.factories import shelf_jpeg
from tests.keys import bearer, create_api_key

JPEG = {"Content-Type": "image/jpeg"}
SESSION = "0123456789abcdef0123456789abcdef"
SESSION_TTL_S = 0.5


@pytest.fixture
def store_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        db_write_timeout_s=30.0,  # about keys, not timeouts: a loaded machine still writes
        spool_retry_interval_s=0.1,
        stream_session_ttl_s=SESSION_TTL_S,
    )


@pytest.fixture
def stream_args() -> StreamArgs:
    return StreamArgs(
        max_streams_per_replica=MAX_STREAMS, record_interval_s=0.05, record_window_frames=1
    )


def created_by(client: TestClient, admin: dict[str, str]) -> int:
    """A new location, leaving the client's own headers (anonymous) as they are."""
    response = client.post("/v1/locations", json={"kind": "shelf", "name": "S"}, headers=admin)
    assert response.status_code == 201, response.text
    location_id: int = response.json()["id"]
    return location_id


def detect(
    client: TestClient, location: int, image: bytes, **headers: str
) -> tuple[int, dict[str, Any]]:
    response = client.post(
        f"/v1/detect?location={location}", content=image, headers={**JPEG, **headers}
    )
    body: dict[str, Any] = response.json()
    return response.status_code, body


def samples(client: TestClient, location: int) -> int:
    points = history(client, location, "syringe", bucket="day")["points"]
    return sum(int(p["samples"]) for p in points)


def test_the_same_key_and_image_is_a_duplicate_recorded_once(
    client: TestClient, admin: dict[str, str]
) -> None:
    client.headers.update(admin)
    location = new_location(client)
    key = {"Idempotency-Key": "cam-7.frame-1"}

    first = detect(client, location, shelf_jpeg(), **key)
    retried = detect(client, location, shelf_jpeg(), **key)

    assert (first[0], first[1]["recorded"]) == (200, "written")
    assert (retried[0], retried[1]["recorded"]) == (200, "duplicate")
    assert retried[1]["counts"] == first[1]["counts"]
    assert samples(client, location) == 1


def test_the_same_key_with_another_image_is_a_409(
    client: TestClient, admin: dict[str, str]
) -> None:
    client.headers.update(admin)
    location = new_location(client)
    key = {"Idempotency-Key": "cam-7.frame-2"}
    detect(client, location, shelf_jpeg(640, 480), **key)

    status, body = detect(client, location, shelf_jpeg(480, 360), **key)

    assert status == 409
    assert_error(body, "idempotency_conflict")
    assert samples(client, location) == 1


def test_the_same_key_at_another_location_is_a_409(
    client: TestClient, admin: dict[str, str]
) -> None:
    client.headers.update(admin)
    shelf, cabinet = new_location(client, "A"), new_location(client, "B")
    key = {"Idempotency-Key": "cam-7.frame-3"}
    detect(client, shelf, shelf_jpeg(), **key)

    status, body = detect(client, cabinet, shelf_jpeg(), **key)

    assert status == 409
    assert_error(body, "idempotency_conflict")


def test_keys_are_scoped_to_the_caller(
    client: TestClient, admin: dict[str, str], store_settings: Settings
) -> None:
    location = created_by(client, admin)
    other = bearer(create_api_key(store_settings.resolved_database_url, "detect", name="other"))
    key = {"Idempotency-Key": "shared-key"}

    answers = [
        detect(client, location, shelf_jpeg(), **key, **admin)[1]["recorded"],
        detect(client, location, shelf_jpeg(), **key, **other)[1]["recorded"],
        detect(client, location, shelf_jpeg(), **key)[1]["recorded"],  # anonymous
    ]

    assert answers == ["written", "written", "written"]
    assert samples(client, location) == 3


def test_without_a_key_every_detection_is_a_record_of_its_own(
    client: TestClient, admin: dict[str, str]
) -> None:
    """X-Request-ID is the trace id only: reusing it records both (it dropped the second)."""
    client.headers.update(admin)
    location = new_location(client)
    trace = {"X-Request-ID": "cam-7.trace"}

    answers = [
        detect(client, location, shelf_jpeg(width, 360), **trace)[1]["recorded"]
        for width in (480, 520)
    ]

    assert answers == ["written", "written"]
    assert samples(client, location) == 2


@pytest.mark.parametrize(
    "key",
    [b"", b"k" * 129, b"two words", b"a/b", "ключ".encode(), b"semi;colon"],
    ids=["empty", "too-long", "space", "slash", "non-ascii", "semicolon"],
)
def test_a_malformed_key_is_a_400_and_records_nothing(
    client: TestClient, admin: dict[str, str], key: bytes
) -> None:
    client.headers.update(admin)
    location = new_location(client)
    response = client.post(
        f"/v1/detect?location={location}",
        content=shelf_jpeg(),
        headers=[(b"Content-Type", b"image/jpeg"), (b"Idempotency-Key", key)],
    )
    assert response.status_code == 400
    assert_error(response.json(), "invalid_idempotency_key")
    assert client.get(f"/v1/inventory?location={location}").json() == {"stock": []}


def test_the_longest_key_of_the_safe_characters_is_accepted(
    client: TestClient, admin: dict[str, str]
) -> None:
    client.headers.update(admin)
    location = new_location(client)
    key = ("Az09._:-" * 16)[:128]
    assert detect(client, location, shelf_jpeg(), **{"Idempotency-Key": key})[0] == 200


def stream_records(client: TestClient, path: str, frames: int, **headers: str) -> list[str]:
    """What the stream's result messages say about their records, one frame at a time."""
    recorded = []
    with client.websocket_connect(path, headers=headers) as socket:
        for _ in range(frames):
            socket.send_bytes(shelf_jpeg(320, 240))
            message = socket.receive_json()
            assert message["type"] == "result", message
            if message["recorded"]:
                recorded.append(message["recorded"])
            time.sleep(0.06)  # past record_interval_s: every frame records
    return recorded


def test_a_session_id_reused_after_it_expired_never_drops_a_record(
    client: TestClient, admin: dict[str, str], store_settings: Settings
) -> None:
    location = created_by(client, admin)
    other = bearer(create_api_key(store_settings.resolved_database_url, "detect", name="other"))
    path = f"/v1/stream?location={location}&session_id={SESSION}"

    first = stream_records(client, path, 3, **admin)
    time.sleep(SESSION_TTL_S + 0.2)  # the session is gone: its id is free to take again
    by_another_caller = stream_records(client, path, 3, **other)
    time.sleep(SESSION_TTL_S + 0.2)
    by_the_same_caller = stream_records(client, path, 3, **admin)

    recorded = first + by_another_caller + by_the_same_caller
    assert recorded and set(recorded) == {"written"}
    assert samples(client, location) == len(recorded)


def test_two_connections_of_one_session_never_collide(
    client: TestClient, admin: dict[str, str]
) -> None:
    location = created_by(client, admin)
    path = f"/v1/stream?location={location}&session_id={SESSION}"
    recorded = 0
    with (
        client.websocket_connect(path, headers=admin) as one,
        client.websocket_connect(path, headers=admin) as two,
    ):
        for _ in range(3):
            for socket in (one, two):
                socket.send_bytes(shelf_jpeg(320, 240))
                message = socket.receive_json()
                assert message["type"] == "result", message
                recorded += message["recorded"] == "written"
            time.sleep(0.06)
    assert recorded >= 2
    assert samples(client, location) == recorded


def test_behind_serve_a_long_request_id_does_not_fail_the_record(
    pipeline: LocalPipeline,
    store_settings: Settings,
    stream_args: StreamArgs,
    admin: dict[str, str],
) -> None:
    """Serve's proxy passes any X-Request-ID on; the one the app uses and records is bounded."""
    args = IngressArgs(stream=stream_args)
    inventory = InventoryRecorder.open(store_settings)
    api = create_api(pipeline, inventory, args, store_settings, behind_serve_proxy=True)
    with TestClient(api, headers=admin) as client:
        location = new_location(client)
        status, body = detect(client, location, shelf_jpeg(), **{"X-Request-ID": "r" * 300})
    assert (status, body["recorded"]) == (200, "written")
    assert 1 <= len(body["request_id"]) <= 128
