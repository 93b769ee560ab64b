"""The OpenAPI document states what the API does: its key schemes, each operation's scope (as
the guards check it), and every error status with the error body and the headers it carries.
Whether the answers keep to it is the contract run's part (tests/contract)."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medinv_tools.local_pipeline import LocalPipeline
from serve_app.api.app import create_api
from serve_app.core.args import IngressArgs
from serve_app.core.settings import Settings
from serve_app.inventory.recorder import InventoryRecorder
from tests.keys import create_api_key

# docs/api.md's table of scopes.
SCOPES = {
    ("post", "/v1/detect"): "detect",
    ("get", "/v1/models"): "read",
    ("get", "/v1/locations"): "read",
    ("get", "/v1/locations/{location_id}"): "read",
    ("get", "/v1/inventory"): "read",
    ("get", "/v1/inventory/{location_id}/history"): "read",
    ("get", "/v1/alerts"): "read",
    ("put", "/v1/models/active"): "admin",
    ("put", "/v1/items/{label}"): "admin",
    ("post", "/v1/locations"): "admin",
    ("get", "/v1/locations/{location_id}/zones"): "read",
    ("get", "/v1/zones/{zone_id}"): "read",
    ("post", "/v1/locations/{location_id}/zones"): "admin",
    ("put", "/v1/zones/{zone_id}"): "admin",
    ("delete", "/v1/zones/{zone_id}"): "admin",
    ("get", "/v1/replenishment"): "read",
    ("get", "/fhir/r5/InventoryReport"): "read",
    ("get", "/fhir/r5/SupplyRequest"): "read",
    ("post", "/v1/webhooks"): "admin",
    ("get", "/v1/webhooks"): "admin",
    ("get", "/v1/webhooks/{webhook_id}"): "admin",
    ("delete", "/v1/webhooks/{webhook_id}"): "admin",
    ("post", "/v1/cameras"): "admin",
    ("get", "/v1/cameras"): "read",
    ("get", "/v1/cameras/{camera_id}"): "read",
    ("put", "/v1/cameras/{camera_id}"): "admin",
    ("delete", "/v1/cameras/{camera_id}"): "admin",
    ("get", "/v1/cameras/{camera_id}/status"): "read",
}
OPEN = {("get", "/v1/health"), ("get", "/v1/ready")}
ERROR_BODY = {"$ref": "#/components/schemas/ErrorResponse"}


def operations(document: dict[str, Any]) -> Iterator[tuple[tuple[str, str], dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield (method, path), operation


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    """The document as /docs reads it: auth off, the local embedded run."""
    response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def document_with_auth(pipeline: LocalPipeline, store_settings: Settings) -> dict[str, Any]:
    """With auth on the document is not served; this is what it would say."""
    settings = store_settings.model_copy(update={"auth_required": True})
    app = create_api(
        pipeline,
        InventoryRecorder.open(settings),
        IngressArgs(),
        settings,
        behind_serve_proxy=False,
    )
    return app.openapi()


def test_both_key_schemes_are_declared(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]

    assert schemes["BearerKey"]["type"] == "http"
    assert schemes["BearerKey"]["scheme"] == "bearer"
    assert schemes["HeaderKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": schemes["HeaderKey"]["description"],
    }


def test_each_operation_requires_its_scope_in_either_scheme(document: dict[str, Any]) -> None:
    seen = {}
    for key, operation in operations(document):
        if key in OPEN:
            assert "security" not in operation, key
            continue
        scope = SCOPES[key]
        seen[key] = scope
        # Auth off (this document): detect and read routes also answer without a key.
        optional = [{}] if scope != "admin" else []
        assert operation["security"] == [
            {"BearerKey": [scope]},
            {"HeaderKey": [scope]},
            *optional,
        ], key
        assert f"`{scope}` scope" in operation["description"]
    assert seen == SCOPES


def test_with_auth_on_every_guarded_operation_needs_a_key(
    document_with_auth: dict[str, Any],
) -> None:
    for key, operation in operations(document_with_auth):
        if key not in OPEN:
            assert {} not in operation["security"], key
            assert operation["description"].startswith("Needs an API key"), key


def test_the_declared_scope_is_the_one_the_guard_checks(
    client: TestClient, document: dict[str, Any], store_settings: Settings
) -> None:
    """A key with every scope but the declared one is refused (403) on each operation, and
    one with just that scope is let through, in X-API-Key as Swagger's Authorize sends it."""
    url = store_settings.resolved_database_url
    keys = {
        scope: create_api_key(url, ",".join({"detect", "read", "admin"} - {scope}))
        for scope in ("detect", "read", "admin")
    }
    allowed = {scope: create_api_key(url, scope) for scope in ("detect", "read", "admin")}
    for (method, path), scope in SCOPES.items():
        concrete = path.format(location_id=1, label="syringe", zone_id=1, webhook_id=1, camera_id=1)
        refused = client.request(method, concrete, headers={"X-API-Key": keys[scope]})
        assert refused.status_code == 403, (method, path, refused.text)
        passed = client.request(method, concrete, headers={"X-API-Key": allowed[scope]})
        assert passed.status_code not in (401, 403), (method, path, passed.text)


def test_every_error_response_has_the_error_body(document: dict[str, Any]) -> None:
    for key, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                content = response["content"]["application/json"]["schema"]
                assert content == ERROR_BODY, (key, status)
    # FastAPI's own 422 body (HTTPValidationError) is not what the API answers.
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_guarded_operations_document_the_guards_answers(document: dict[str, Any]) -> None:
    for key, operation in operations(document):
        if key in OPEN:
            continue
        responses = operation["responses"]
        assert {"401", "403", "429", "503"} <= set(responses), key
        assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True
        limited = responses["429"]["headers"]
        assert limited["Retry-After"]["required"] is True
        assert limited["RateLimit-Remaining"]["required"] is False  # not counted in fail-closed
        assert "Retry-After" in responses["503"]["headers"]


def test_each_operation_documents_its_own_failures(document: dict[str, Any]) -> None:
    def documented(method: str, path: str) -> set[str]:
        return set(document["paths"][path][method]["responses"])

    assert {"400", "404", "408", "413", "415", "422", "504"} <= documented("post", "/v1/detect")
    assert {"400", "409", "422"} <= documented("post", "/v1/locations")
    assert {"400", "422"} <= documented("put", "/v1/items/{label}")
    assert {"400", "422"} <= documented("post", "/v1/webhooks")
    assert {"404", "422"} <= documented("delete", "/v1/webhooks/{webhook_id}")
    assert {"400", "404", "422", "502"} <= documented("put", "/v1/models/active")
    assert {"404", "422"} <= documented("get", "/v1/inventory/{location_id}/history")
    assert documented("get", "/v1/ready") == {"200", "503"}
    assert documented("get", "/v1/health") == {"200"}
    # No parameters, nothing to be invalid.
    assert "422" not in documented("get", "/v1/locations")
