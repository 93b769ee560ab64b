"""Every route by every kind of caller, with auth on and off: the documented status."""

import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from serve_app.core.settings import Settings
from tests.api.access.conftest import ApiFactory
from tests.factories import shelf_jpeg
from tests.keys import bearer, create_api_key, revoke_api_key

JPEG = {"Content-Type": "image/jpeg"}
CALLERS = ["none", "invalid", "detect", "read", "admin"]
# (method, path, body, scope it needs); admin routes need an admin key even with auth off.
ROUTES = [
    ("POST", "/v1/detect", "image", "detect"),
    ("GET", "/v1/models", None, "read"),
    ("GET", "/v1/locations", None, "read"),
    ("GET", "/v1/locations/1", None, "read"),
    ("GET", "/v1/inventory", None, "read"),
    ("GET", "/v1/inventory/1/history?item=syringe", None, "read"),
    ("GET", "/v1/alerts", None, "read"),
    ("PUT", "/v1/models/active", {"model": "demo-ssdlite:0.0.0-untrained"}, "admin"),
    ("PUT", "/v1/items/syringe", {"display_name": "Syringe"}, "admin"),
    ("POST", "/v1/locations", {"kind": "shelf", "name": "matrix"}, "admin"),
]
OPEN_ROUTES = ["/v1/health", "/v1/ready"]


def call(client: TestClient, method: str, path: str, body: object, headers: dict[str, str]) -> int:
    if body == "image":
        image = shelf_jpeg(160, 120)
        return client.post(path, content=image, headers={**JPEG, **headers}).status_code
    return client.request(method, path, json=body, headers=headers).status_code


@pytest.fixture
def keys(settings: Settings) -> dict[str, dict[str, str]]:
    url = settings.resolved_database_url
    return {
        "none": {},
        "invalid": {"X-API-Key": "mik_000000000000_not-a-real-secret"},
        "detect": {"X-API-Key": create_api_key(url, "detect")},
        "read": bearer(create_api_key(url, "read")),
        "admin": bearer(create_api_key(url, "admin")),
    }


def expected(route_scope: str, caller: str, auth_required: bool) -> set[int]:
    if caller == "none":
        if auth_required or route_scope == "admin":
            return {401}
        return {200, 201, 202, 404, 409}
    if caller == "invalid":
        return {401}
    if caller != route_scope:
        return {403}
    return {200, 201, 202, 404, 409}  # allowed; 404 for location 1 before it exists


@pytest.mark.parametrize("auth_required", [True, False], ids=["auth-on", "auth-off"])
def test_scope_by_route_matrix(
    make_client: ApiFactory,
    settings: Settings,
    keys: dict[str, dict[str, str]],
    auth_required: bool,
) -> None:
    client = make_client(settings.model_copy(update={"auth_required": auth_required}))
    table: list[str] = []
    wrong = []
    for method, path, body, scope in ROUTES:
        row = []
        for caller in CALLERS:
            status = call(client, method, path, body, keys[caller])
            row.append(f"{status}")
            if status not in expected(scope, caller, auth_required):
                wrong.append(f"{method} {path} as {caller}: {status}")
        table.append(f"{method:<4} {path:<40} " + " ".join(f"{s:>7}" for s in row))
    for path in OPEN_ROUTES:
        assert client.get(path).status_code == 200, path
    print(f"\nauth_required={auth_required}\n{'':<45}" + " ".join(f"{c:>7}" for c in CALLERS))
    print("\n".join(table))
    assert wrong == []


def test_errors_say_why_and_ask_for_a_bearer_key(
    make_client: ApiFactory, settings: Settings, keys: dict[str, dict[str, str]]
) -> None:
    client = make_client(settings)

    missing = client.get("/v1/models")
    malformed = client.get("/v1/models", headers={"Authorization": "Basic abc"})
    forbidden = client.get("/v1/models", headers=keys["detect"])

    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json()["error"]["code"] == "unauthorized"
    assert malformed.status_code == 401
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "forbidden"
    assert client.get("/docs").status_code == 404, "no open docs with auth on"
    assert client.get("/openapi.json").status_code == 404


def test_a_revoked_key_stops_working_within_the_cache_ttl(
    make_client: ApiFactory, settings: Settings
) -> None:
    ttl_s = 1.0
    client = make_client(settings.model_copy(update={"auth_cache_ttl_s": ttl_s}))
    key = create_api_key(settings.resolved_database_url, "read")
    assert client.get("/v1/models", headers=bearer(key)).status_code == 200

    revoke_api_key(settings.resolved_database_url, key)
    revoked_at = time.monotonic()
    while client.get("/v1/models", headers=bearer(key)).status_code == 200:
        assert time.monotonic() - revoked_at < ttl_s + 1, "still accepted after the TTL"
        time.sleep(0.1)

    assert client.get("/v1/models", headers=bearer(key)).status_code == 401


def test_a_key_with_the_right_id_and_a_wrong_secret_is_refused(
    make_client: ApiFactory, settings: Settings
) -> None:
    client = make_client(settings)
    key = create_api_key(settings.resolved_database_url, "read")
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")

    assert client.get("/v1/models", headers=bearer(forged)).status_code == 401


@pytest.mark.parametrize(
    ("caller", "code", "close"), [("none", "unauthorized", 1008), ("read", "forbidden", 1008)]
)
def test_a_stream_needs_a_detect_key(
    make_client: ApiFactory,
    settings: Settings,
    keys: dict[str, dict[str, str]],
    caller: str,
    code: str,
    close: int,
) -> None:
    client = make_client(settings)
    with client.websocket_connect("/v1/stream", headers=keys[caller]) as socket:
        assert socket.receive_json()["code"] == code
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == close

    with client.websocket_connect("/v1/stream", headers=keys["detect"]) as socket:
        socket.send_bytes(shelf_jpeg(160, 120))
        assert socket.receive_json()["type"] == "result"
