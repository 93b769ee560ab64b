"""Inputs at the edges of their types are 4xx, never 500, on SQLite and on PostgreSQL.

Each case is one that the fuzzing (`make fuzz`, tests/contract) or probing around it found as
a 500 or an undocumented answer.
"""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serve_app.core.settings import Settings
from tests.assertions import assert_error


@pytest.fixture
def store_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, spool_retry_interval_s=0.1)


@pytest.fixture(autouse=True)
def _as_admin(client: TestClient, admin: dict[str, str]) -> None:
    client.headers.update(admin)


@pytest.fixture
def location(client: TestClient) -> int:
    response = client.post("/v1/locations", json={"kind": "shelf", "name": "Ward 3 shelf B"})
    assert response.status_code == 201, response.text
    location_id: int = response.json()["id"]
    return location_id


# PostgreSQL refuses NUL in text (a 500 before); other control characters are refused with it.
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/inventory?item=syr%00inge", None),
        ("GET", "/v1/inventory/{location}/history?item=syr%00inge", None),
        ("PUT", "/v1/items/syr%00inge", {"display_name": "Syringe"}),
        ("PUT", "/v1/items/syringe", {"display_name": "Syr\u0000inge"}),
        ("PUT", "/v1/items/syringe", {"display_name": "Syringe", "sku": "\u0000"}),
        ("PUT", "/v1/items/syringe", {"display_name": "Syringe", "unit": "box\u001f"}),
        ("POST", "/v1/locations", {"kind": "shelf", "name": "Shelf\u0000"}),
        ("POST", "/v1/locations", {"kind": "shelf", "name": "Shelf", "camera_id": "\u0000"}),
    ],
    ids=[
        "inventory-item",
        "history-item",
        "item-label",
        "item-display-name",
        "item-sku",
        "item-unit",
        "location-name",
        "location-camera",
    ],
)
def test_control_characters_in_text_are_422(
    client: TestClient, location: int, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = client.request(method, path.format(location=location), json=body)
    assert response.status_code == 422, response.text
    assert_error(response.json(), "invalid_parameters")


# A label holding a slash can never be addressed as /v1/items/{label}: it is no label.
@pytest.mark.parametrize("label", ["..", ".hidden", "a%2Fb"])
def test_a_label_that_is_no_path_segment_is_refused(client: TestClient, label: str) -> None:
    response = client.get(f"/v1/inventory?item={label}")
    assert response.status_code == 422, response.text


# Datetimes whose UTC conversion or default window overflowed Python's datetime (500s).
@pytest.mark.parametrize(
    "query",
    [
        "until=0001-01-01T00:00:00",
        "since=0001-01-01T00:00:00%2B01:00",
        "until=9999-12-31T23:59:59-01:00",
        "cursor=0001-01-01T00:00:00%2B05:00",
        "since=1969-12-31T23:59:59Z",
    ],
    ids=["until-year-1", "since-before-year-1", "until-after-9999", "cursor-year-0", "pre-1970"],
)
def test_a_time_outside_the_supported_range_is_422(
    client: TestClient, location: int, query: str
) -> None:
    response = client.get(f"/v1/inventory/{location}/history?item=syringe&{query}")
    assert response.status_code == 422, response.text
    assert_error(response.json(), "invalid_parameters")
    assert "1970" in response.json()["error"]["message"]


def test_the_edges_of_the_supported_range_are_accepted(client: TestClient, location: int) -> None:
    query = "since=1970-01-01T00:00:00Z&until=9998-12-31T23:59:59Z&bucket=day"
    response = client.get(f"/v1/inventory/{location}/history?item=syringe&{query}")
    assert response.status_code == 200, response.text
    assert response.json()["points"] == []


# Bytes that are no UTF-8 text where JSON is expected: the body parser's 400, as documented.
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/locations"), ("PUT", "/v1/items/syringe"), ("PUT", "/v1/models/active")],
)
def test_a_json_body_that_is_no_utf8_text_is_a_documented_400(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(
        method, path, content=b"\xf8\x03(\xd7", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert_error(response.json(), "bad_request")
    operation = client.get("/openapi.json").json()["paths"][path.replace("syringe", "{label}")]
    assert "400" in operation[method.lower()]["responses"]
