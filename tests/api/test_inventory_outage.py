"""PostgreSQL becomes unreachable in the middle of a run of detections, then comes back.

The app reaches PostgreSQL through a TCP proxy that the test cuts and restores (the shared
server itself is never stopped). Every accepted detection must end up in the database
exactly once, in the order it was accepted. The figures go to .run/inventory-outage.json
and to stdout (`pytest -s`).
"""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from medinv_tools.paths import REPO_ROOT
from medinv_tools.tcp_proxy import TcpProxy
from serve_app.core.settings import Settings
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.models import DetectionRecord
from tests.assertions import assert_error
from tests.databases import empty_tables
from tests.factories import shelf_jpeg

SENT = 60
CUT_AT = 20
RESTORE_AT = 45
FIGURES = REPO_ROOT / ".run" / "inventory-outage.json"
JPEG = {"Content-Type": "image/jpeg"}


@pytest.fixture
def store_settings(tmp_path: Path, postgresql_url: str, postgres_proxy: TcpProxy) -> Settings:
    empty_tables(postgresql_url)
    through_proxy = make_url(postgresql_url).set(host="127.0.0.1", port=postgres_proxy.port)
    return Settings(
        data_dir=tmp_path,
        database_url=through_proxy.render_as_string(hide_password=False),
        spool_retry_interval_s=0.2,
        spool_max_records=40,  # above what the outage test queues, cheap to fill
    )


def detect(client: TestClient, location: int, request_id: str) -> dict[str, object]:
    response = client.post(
        f"/v1/detect?location={location}",
        content=shelf_jpeg(160, 120),
        headers={**JPEG, "X-Request-ID": request_id},
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def wait_until_drained(client: TestClient, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while client.get("/v1/ready").json()["store"]["status"] != "ok":
        assert time.monotonic() < deadline, "the spool was not replayed in time"
        time.sleep(0.1)


def stored_request_ids(url: str, location: int) -> list[str]:
    async def query() -> list[str]:
        database = Database(create_engine(url, Settings()))
        async with database.session() as session:
            ids = await session.scalars(
                select(DetectionRecord.request_id)
                .where(DetectionRecord.location_id == location)
                .order_by(DetectionRecord.id)
            )
            result = list(ids)
        await database.dispose()
        return result

    return asyncio.run(query())


def test_no_record_is_lost_or_duplicated_across_an_outage(
    client: TestClient, postgres_proxy: TcpProxy, postgresql_url: str, admin: dict[str, str]
) -> None:
    location = client.post(
        "/v1/locations", json={"kind": "shelf", "name": "A"}, headers=admin
    ).json()["id"]
    sent = [f"outage-{i:03d}" for i in range(SENT)]
    outcomes: dict[str, object] = {}
    degraded_during_outage = None
    for i, request_id in enumerate(sent):
        if i == CUT_AT:
            postgres_proxy.cut()
        if i == RESTORE_AT:
            degraded_during_outage = client.get("/v1/ready").json()["store"]
            postgres_proxy.restore()
        outcomes[request_id] = detect(client, location, request_id)["recorded"]
    wait_until_drained(client)

    stored = stored_request_ids(postgresql_url, location)
    queued = [r for r in sent if outcomes[r] == "queued"]
    figures = {
        "sent": SENT,
        "written_directly": sum(1 for r in sent if outcomes[r] == "written"),
        "queued_during_outage": len(queued),
        "replayed": len(set(queued) & set(stored)),
        "duplicated": len(stored) - len(set(stored)),
        "lost": len(set(sent) - set(stored)),
    }
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\ninventory outage figures: {figures}")

    assert set(outcomes.values()) == {"written", "queued"}
    assert all(outcomes[r] == "written" for r in sent[:CUT_AT])
    assert all(outcomes[r] == "queued" for r in sent[CUT_AT:RESTORE_AT])
    assert degraded_during_outage is not None
    assert degraded_during_outage["status"] == "degraded"
    assert degraded_during_outage["spooled"] == RESTORE_AT - CUT_AT
    assert figures["replayed"] == figures["queued_during_outage"]
    assert figures["duplicated"] == 0 and figures["lost"] == 0
    assert stored == sent, "records reach the database in the order they were accepted"


def test_during_an_outage_an_unchecked_location_is_refused(
    client: TestClient, postgres_proxy: TcpProxy, admin: dict[str, str]
) -> None:
    known = client.post(
        "/v1/locations", json={"kind": "room", "name": "known"}, headers=admin
    ).json()["id"]
    unchecked = client.post(
        "/v1/locations", json={"kind": "room", "name": "new"}, headers=admin
    ).json()["id"]
    detect(client, known, "before-the-outage")
    postgres_proxy.cut()

    queued = detect(client, known, "during-the-outage")
    refused = client.post(f"/v1/detect?location={unchecked}", content=shelf_jpeg(), headers=JPEG)
    listing = client.get("/v1/locations")

    assert queued["recorded"] == "queued"
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert_error(refused.json(), "store_unavailable")
    assert listing.status_code == 503
    assert_error(listing.json(), "store_unavailable")
    postgres_proxy.restore()
    wait_until_drained(client)


def test_a_full_spool_refuses_records_and_keeps_what_it_has(
    client: TestClient,
    postgres_proxy: TcpProxy,
    store_settings: Settings,
    postgresql_url: str,
    admin: dict[str, str],
) -> None:
    location = client.post(
        "/v1/locations", json={"kind": "shelf", "name": "B"}, headers=admin
    ).json()["id"]
    detect(client, location, "checked")
    postgres_proxy.cut()
    accepted = [f"kept-{i}" for i in range(store_settings.spool_max_records)]
    for request_id in accepted:
        assert detect(client, location, request_id)["recorded"] == "queued"

    refused = client.post(
        f"/v1/detect?location={location}",
        content=shelf_jpeg(160, 120),
        headers={**JPEG, "X-Request-ID": "one-too-many"},
    )

    assert refused.status_code == 503
    assert_error(refused.json(), "spool_full")
    postgres_proxy.restore()
    wait_until_drained(client)
    assert stored_request_ids(postgresql_url, location) == ["checked", *accepted]


def test_a_retry_while_its_record_is_queued_is_a_duplicate(
    client: TestClient, postgres_proxy: TcpProxy, postgresql_url: str, admin: dict[str, str]
) -> None:
    location = client.post(
        "/v1/locations", json={"kind": "shelf", "name": "C"}, headers=admin
    ).json()["id"]
    detect(client, location, "checked")
    postgres_proxy.cut()

    def send(request_id: str, image: bytes) -> tuple[int, dict[str, Any]]:
        response = client.post(
            f"/v1/detect?location={location}",
            content=image,
            headers={**JPEG, "X-Request-ID": request_id, "Idempotency-Key": "cam-7.frame-9"},
        )
        return response.status_code, response.json()

    first = send("first", shelf_jpeg(160, 120))
    retried = send("retried", shelf_jpeg(160, 120))
    other = send("other-image", shelf_jpeg(200, 150))

    assert (first[0], first[1]["recorded"]) == (200, "queued")
    assert (retried[0], retried[1]["recorded"]) == (200, "duplicate")
    assert other[0] == 409
    assert_error(other[1], "idempotency_conflict")
    postgres_proxy.restore()
    wait_until_drained(client)
    assert stored_request_ids(postgresql_url, location) == ["checked", "first"]
