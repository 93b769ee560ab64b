"""Serve writes JSON logs: the ingress's line per request carries the request id, route,
status, latency and model version, and nothing of the image or of credentials.

Raw requests on purpose: a key in the query string and in a browser's WebSocket subprotocol,
which the client never sends, must stay out of the logs too.
"""

import base64
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.factories import shelf_jpeg
from tests.keys import create_api_key
from tests.serve.conftest import ServeService

pytestmark = pytest.mark.serve


def _ingress_log_lines(service: ServeService) -> list[str]:
    logs = Path(service.cluster.session_dir) / "logs" / "serve"
    return [
        line
        for path in sorted(logs.glob("replica_*Ingress*.log"))
        for line in path.read_text(errors="replace").splitlines()
    ]


def test_a_detection_is_logged_as_json_without_image_or_key(serve_service: ServeService) -> None:
    request_id = f"log-test-{uuid.uuid4().hex}"
    secret = create_api_key(serve_service.database_url, "detect", name="log test")
    image = shelf_jpeg()
    response = httpx.post(
        f"{serve_service.base_url}/v1/detect",
        params={"api_key": secret},
        content=image,
        headers={
            "Content-Type": "image/jpeg",
            "X-Request-ID": request_id,
            "Authorization": f"Bearer {secret}",
        },
        timeout=60,
    )
    assert response.status_code == 200
    version = response.json()["model"]["version"]

    records: list[dict[str, object]] = []
    deadline = time.monotonic() + 30
    while not records and time.monotonic() < deadline:
        lines = _ingress_log_lines(serve_service)
        records = [
            json.loads(line) for line in lines if request_id in line and '"http_route"' in line
        ]
        time.sleep(0.5)
    assert records, f"no JSON log line for {request_id}"
    record = records[0]
    assert record["request_id"] == request_id
    assert record["http_route"] == "/v1/detect"
    assert record["http_status"] == 200
    assert isinstance(record["latency_ms"], float)
    assert record["model_version"] == version
    assert str(record["deployment"]).endswith("Ingress")  # Serve writes "<app>_<deployment>"

    text = "\n".join(_ingress_log_lines(serve_service))
    assert secret not in text
    assert "\\xff\\xd8" not in text and "/9j/" not in text  # JPEG bytes, raw or base64


def test_a_browser_key_in_the_websocket_subprotocol_passes_the_proxy_unlogged(
    serve_service: ServeService,
) -> None:
    secret = create_api_key(serve_service.database_url, "read", name="browser log test")
    encoded = base64.urlsafe_b64encode(secret.encode()).decode().rstrip("=")
    protocols = [Subprotocol("medinv.v1"), Subprotocol(f"medinv.bearer.{encoded}")]
    url = f"{serve_service.ws_url}/v1/inventory/updates"
    with connect(url, subprotocols=protocols, open_timeout=30) as socket:
        assert socket.subprotocol == "medinv.v1", "the proxy hands back the replica's choice"
        assert json.loads(socket.recv(30)) == {"type": "subscribed"}
    # A read key on the stream: refused for its scope, so the key reached the replica.
    with connect(f"{serve_service.ws_url}/v1/stream", subprotocols=protocols) as socket:
        assert socket.subprotocol == "medinv.v1"
        assert json.loads(socket.recv(30))["code"] == "forbidden"

    time.sleep(2)  # let the replicas and the proxy flush their logs
    logs = Path(serve_service.cluster.session_dir) / "logs"
    text = "\n".join(path.read_text(errors="replace") for path in logs.rglob("*") if path.is_file())
    assert secret not in text and encoded not in text
