"""REST through Serve's HTTP proxy: the real ingress, preprocessor and detector replicas.

Most tests here send raw httpx requests on purpose: they check the HTTP contract itself (raw
headers, multipart, content negotiation, malformed bodies, the console's files); what the
client has a call for goes through the client.
"""

import asyncio
from io import BytesIO

import httpx
import pytest
from PIL import Image

from tests.assertions import assert_detection_response, assert_error
from tests.factories import bomb_png, encode, shelf, shelf_jpeg
from tests.serve.conftest import ServeService

pytestmark = pytest.mark.serve

JPEG = {"Content-Type": "image/jpeg"}


def test_raw_jpeg_returns_detections_with_one_request_id(serve_service: ServeService) -> None:
    # Raw: checks that the proxy passes exactly one X-Request-ID header.
    response = httpx.post(
        f"{serve_service.base_url}/v1/detect",
        content=shelf_jpeg(800, 600),
        headers=JPEG,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert_detection_response(body, 800, 600)
    assert response.headers.get_list("X-Request-ID") == [body["request_id"]]


def test_an_annotated_jpeg_is_drawn_by_the_preprocessor(serve_service: ServeService) -> None:
    # Raw: the client asks for JSON only, never `Accept: image/jpeg`.
    response = httpx.post(
        f"{serve_service.base_url}/v1/detect",
        content=shelf_jpeg(800, 600),
        headers={**JPEG, "Accept": "image/jpeg"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert Image.open(BytesIO(response.content)).size == (800, 600)


def test_the_console_is_served_at_the_root(serve_service: ServeService) -> None:
    # Raw: the console's pages are no API call.
    response = httpx.get(f"{serve_service.base_url}/", follow_redirects=True, timeout=30)
    assert response.status_code == 200
    assert response.url.path == "/console/"
    assert "<title>Medical inventory console</title>" in response.text
    script = httpx.get(f"{serve_service.base_url}/console/js/main.js", timeout=30)
    assert "javascript" in script.headers["content-type"]


def test_multipart_png_returns_detections(serve_service: ServeService) -> None:
    files = {"image": ("shelf.png", encode(shelf(400, 300), "PNG"), "image/png")}
    # Raw: the client sends raw bodies, never multipart.
    response = httpx.post(f"{serve_service.base_url}/v1/detect", files=files, timeout=30)
    assert response.status_code == 200, response.text
    assert_detection_response(response.json(), 400, 300)


ELEVEN_MIB = b"\xff\xd8\xff" + b"\x00" * (11 * 1024 * 1024)


@pytest.mark.parametrize(
    ("path", "data", "headers", "status", "code"),
    [
        ("/v1/detect", b"garbage", JPEG, 400, "invalid_image"),
        ("/v1/detect", ELEVEN_MIB, JPEG, 413, "payload_too_large"),
        ("/v1/detect", bomb_png(), {"Content-Type": "image/png"}, 413, "image_too_large"),
        ("/v1/detect", b"GIF89a", {"Content-Type": "image/gif"}, 415, "unsupported_media_type"),
        ("/v1/detect?min_score=3", shelf_jpeg(), JPEG, 422, "invalid_parameters"),
        ("/v1/nowhere", b"", JPEG, 404, "not_found"),
    ],
    ids=["400", "413-bytes", "413-pixels", "415", "422", "404"],
)
def test_errors_are_json_and_leave_replicas_running(
    serve_service: ServeService,
    path: str,
    data: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    replicas_before = serve_service.replica_ids()
    # Raw: malformed requests and a declared Content-Type the client would never send.
    response = httpx.post(
        f"{serve_service.base_url}{path}", content=data, headers=headers, timeout=60
    )
    assert response.status_code == status, response.text
    assert_error(response.json(), code)
    assert response.headers["X-Request-ID"] == response.json()["error"]["request_id"]
    assert serve_service.replica_ids() == replicas_before
    with serve_service.client() as client:
        client.detect(shelf_jpeg())  # answers 200, or raises


async def test_32_concurrent_requests_all_succeed(serve_service: ServeService) -> None:
    images = [shelf_jpeg(320 + 16 * i, 240) for i in range(32)]
    async with serve_service.async_client() as client:  # no retries: each answered 200 at once
        results = await asyncio.gather(*(client.detect(image) for image in images))
    for i, result in enumerate(results):
        assert_detection_response(result.model_dump(mode="json"), 320 + 16 * i, 240)
    assert len({r.request_id for r in results}) == 32


def test_ready_and_models(serve_service: ServeService) -> None:
    with serve_service.client() as client:
        ready = client.ready()
        models = client.models()
    assert ready.status == "ready"
    assert models.active.name == ready.model.name
    assert models.device == "cpu"
