"""Replenishment out: the below-par list as JSON and CSV, and FHIR R5 InventoryReport and
SupplyRequest documents validated by `fhir.resources`, on SQLite and PostgreSQL."""

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.bundle import Bundle
from fhir.resources.inventoryreport import InventoryReport
from fhir.resources.supplyrequest import SupplyRequest

from serve_app.core.settings import Settings
from tests.assertions import assert_error
from tests.factories import shelf_jpeg

JPEG = {"Content-Type": "image/jpeg"}
LEFT = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
RIGHT = [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]
PAR = 10_000  # above any count: these items are below par whatever the model sees


@pytest.fixture
def store_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, zone_cache_ttl_s=0.001)


@pytest.fixture(autouse=True)
def _as_admin(client: TestClient, admin: dict[str, str]) -> None:
    client.headers.update(admin)


def post(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def stocked(client: TestClient) -> dict[str, Any]:
    """A camera with two bins and a shelf without zones, each counted once."""
    client.put("/v1/items/syringe", json={"display_name": "Syringe 5 ml", "sku": "SYR-5"})
    camera = post(client, "/v1/locations", {"kind": "shelf", "name": "Ward 3 shelf B"})["id"]
    shelf = post(client, "/v1/locations", {"kind": "cabinet", "name": "=OR cabinet"})["id"]
    left = post(
        client,
        f"/v1/locations/{camera}/zones",
        {"name": "left bin", "polygon": LEFT, "items": [{"label": "syringe", "par_level": PAR}]},
    )["id"]
    right = post(
        client,
        f"/v1/locations/{camera}/zones",
        {"name": "right bin", "polygon": RIGHT, "items": [{"label": "gauze", "par_level": 0}]},
    )["id"]
    image = shelf_jpeg(640, 480)
    for location in (camera, shelf):
        answer = client.post(f"/v1/detect?location={location}", content=image, headers=JPEG)
        assert answer.json()["recorded"] == "written"
    seen_on_shelf = sorted(stock_at(client, shelf))
    assert seen_on_shelf, "the demo model should find items on the example shelf"
    # Below par wherever it was counted, the camera included (the item's own par level).
    client.put(f"/v1/items/{seen_on_shelf[0]}", json={"display_name": "x", "par_level": PAR})
    return {"camera": camera, "shelf": shelf, "left": left, "right": right}


def stock_at(client: TestClient, location: int) -> dict[str, int]:
    stock = client.get(f"/v1/inventory?location={location}").json()["stock"]
    return {row["item"]: row["count"] for row in stock}


def expected_lines(client: TestClient, places: dict[int, tuple[str, str | None]]) -> set[Any]:
    """(location, bin, item, par, on hand) of every item below par, from /v1/inventory."""
    lines = set()
    for place, (location, bin_name) in places.items():
        for row in client.get(f"/v1/inventory?location={place}").json()["stock"]:
            if row["par_level"] is not None and row["count"] < row["par_level"]:
                lines.add((location, bin_name, row["item"], row["par_level"], row["count"]))
    return lines


def test_the_list_holds_each_item_below_par_with_its_order_quantity(
    client: TestClient, stocked: dict[str, Any]
) -> None:
    places = {
        stocked["camera"]: ("Ward 3 shelf B", None),
        stocked["shelf"]: ("=OR cabinet", None),
        stocked["left"]: ("Ward 3 shelf B", "left bin"),
        stocked["right"]: ("Ward 3 shelf B", "right bin"),
    }

    lines = client.get("/v1/replenishment").json()["lines"]

    got = {(x["location"], x["bin"], x["item"], x["par_level"], x["on_hand"]) for x in lines}
    assert got == expected_lines(client, places)
    assert (
        "Ward 3 shelf B",
        "left bin",
        "syringe",
        PAR,
        stock_at(client, stocked["left"])["syringe"],
    ) in got
    assert all(x["order_quantity"] == x["par_level"] - x["on_hand"] > 0 for x in lines)
    assert [(x["location"], x["bin"] or "", x["item"]) for x in lines] == sorted(
        (x["location"], x["bin"] or "", x["item"]) for x in lines
    )
    only_camera = client.get(f"/v1/replenishment?location={stocked['camera']}").json()["lines"]
    assert {x["location"] for x in only_camera} == {"Ward 3 shelf B"}
    assert {x["bin_id"] for x in only_camera} >= {stocked["left"]}


def test_the_csv_is_a_par_count_upload_of_the_same_lines(
    client: TestClient, stocked: dict[str, Any]
) -> None:
    as_json = client.get("/v1/replenishment").json()["lines"]
    by_accept = client.get("/v1/replenishment", headers={"Accept": "text/csv"})
    by_query = client.get("/v1/replenishment?format=csv")

    assert by_accept.headers["content-type"] == "text/csv; charset=utf-8"
    assert by_accept.text == by_query.text
    rows = list(csv.DictReader(io.StringIO(by_accept.text)))
    assert list(rows[0]) == [
        "location", "bin", "item", "sku", "par", "on_hand", "order_qty", "counted_at",
    ]  # fmt: skip
    assert [
        (r["bin"], r["item"], int(r["par"]), int(r["on_hand"]), int(r["order_qty"])) for r in rows
    ] == [
        (x["bin"] or "", x["item"], x["par_level"], x["on_hand"], x["order_quantity"])
        for x in as_json
    ]
    # A name a spreadsheet would run as a formula is quoted as text.
    assert {r["location"] for r in rows} == {"Ward 3 shelf B", "'=OR cabinet"}
    assert {r["sku"] for r in rows if r["item"] == "syringe"} == {"SYR-5"}


def test_the_inventory_report_is_a_valid_fhir_snapshot_of_every_bin(
    client: TestClient, stocked: dict[str, Any]
) -> None:
    response = client.get(f"/fhir/r5/InventoryReport?location={stocked['camera']}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json"
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "searchset" and bundle.total == 1
    report = bundle.entry[0].resource
    assert isinstance(report, InventoryReport) and report.countType == "snapshot"
    listed = {
        int(listing.location.identifier.value): {
            item.item.concept.coding[0].code: int(item.quantity.value) for item in listing.item
        }
        for listing in report.inventoryListing
    }
    assert listed == {
        place: stock_at(client, place)
        for place in (stocked["camera"], stocked["left"], stocked["right"])
    }
    names = {listing.location.display for listing in report.inventoryListing}
    assert "Ward 3 shelf B / left bin" in names


def test_supply_requests_are_valid_fhir_one_per_item_below_par(
    client: TestClient, stocked: dict[str, Any]
) -> None:
    lines = client.get("/v1/replenishment").json()["lines"]

    response = client.get("/fhir/r5/SupplyRequest?status=active")

    bundle = Bundle.model_validate(response.json())
    requests = [entry.resource for entry in bundle.entry]
    assert all(isinstance(request, SupplyRequest) for request in requests)
    assert bundle.total == len(lines) == len(requests)
    got = {
        (int(r.deliverTo.identifier.value), r.item.concept.coding[0].code, int(r.quantity.value))
        for r in requests
    }
    assert got == {(x["bin_id"] or x["location_id"], x["item"], x["order_quantity"]) for x in lines}
    assert len({r.identifier[0].value for r in requests}) == len(requests)
    assert len({entry.fullUrl for entry in bundle.entry}) == len(requests)
    completed = Bundle.model_validate(client.get("/fhir/r5/SupplyRequest?status=completed").json())
    assert completed.total == 0 and not completed.entry


def test_fhir_reads_refuse_what_they_cannot_answer(client: TestClient) -> None:
    assert_error(client.get("/fhir/r5/SupplyRequest?status=open").json(), "invalid_parameters")
    assert client.get("/fhir/r5/InventoryReport").status_code == 422
    assert client.get("/fhir/r5/InventoryReport?location=999").status_code == 404
    empty = client.get("/fhir/r5/SupplyRequest")
    assert Bundle.model_validate(empty.json()).total == 0
