"""POST /v1/detect through the real FastAPI app and in-process pipeline."""

import pytest
from fastapi.testclient import TestClient

from serve_app.api.body import MULTIPART_OVERHEAD_BYTES
from serve_app.api.context import ApiContext
from tests.api.conftest import MAX_BODY_BYTES
from tests.assertions import assert_detection_response, assert_error
from tests.factories import bomb_png, encode, shelf, shelf_jpeg


@pytest.mark.parametrize(
    ("image_format", "media_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")],
)
def test_raw_body_in_each_supported_format(
    client: TestClient, image_format: str, media_type: str
) -> None:
    data = encode(shelf(640, 480), image_format)
    response = client.post("/v1/detect", content=data, headers={"Content-Type": media_type})
    assert response.status_code == 200, response.text
    body = response.json()
    assert_detection_response(body, 640, 480)
    assert response.headers["X-Request-ID"] == body["request_id"]


def test_multipart_upload_in_field_image(client: TestClient) -> None:
    files = {"image": ("shelf.jpg", shelf_jpeg(320, 240), "image/jpeg")}
    response = client.post("/v1/detect", files=files)
    assert response.status_code == 200, response.text
    assert_detection_response(response.json(), 320, 240)


def test_exif_rotated_photo_reports_displayed_size(client: TestClient) -> None:
    image = shelf(640, 480)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    data = encode(image, "JPEG", exif=exif.tobytes())
    response = client.post("/v1/detect", content=data, headers={"Content-Type": "image/jpeg"})
    assert response.status_code == 200
    assert_detection_response(response.json(), 480, 640)


def test_max_detections_and_min_score_filter(client: TestClient) -> None:
    data = shelf_jpeg()
    headers = {"Content-Type": "image/jpeg"}
    everything = client.post(
        "/v1/detect?min_score=0&max_detections=1000", content=data, headers=headers
    )
    capped = client.post("/v1/detect?min_score=0&max_detections=3", content=data, headers=headers)
    strict = client.post("/v1/detect?min_score=1.0", content=data, headers=headers)
    all_detections = everything.json()["detections"]
    assert len(all_detections) > 3
    assert capped.json()["detections"] == all_detections[:3]
    assert strict.json()["detections"] == [] and strict.json()["counts"] == {}


def test_client_request_id_is_echoed(client: TestClient) -> None:
    response = client.post(
        "/v1/detect",
        content=shelf_jpeg(),
        headers={"Content-Type": "image/jpeg", "X-Request-ID": "cam-7.frame-42"},
    )
    assert response.headers["X-Request-ID"] == "cam-7.frame-42"
    assert response.json()["request_id"] == "cam-7.frame-42"


@pytest.mark.parametrize(
    ("data", "headers", "status", "code"),
    [
        (b"not an image at all", {"Content-Type": "image/jpeg"}, 400, "invalid_image"),
        (shelf_jpeg()[:2000], {"Content-Type": "image/jpeg"}, 400, "invalid_image"),
        (b"GIF89a....", {"Content-Type": "image/gif"}, 415, "unsupported_media_type"),
        (b"{}", {"Content-Type": "application/json"}, 415, "unsupported_media_type"),
        (bomb_png(), {"Content-Type": "image/png"}, 413, "image_too_large"),
        (b"\xff" * (MAX_BODY_BYTES + 1), {"Content-Type": "image/jpeg"}, 413, "payload_too_large"),
    ],
    ids=["garbage", "truncated", "gif", "json", "pixel-bomb", "too-many-bytes"],
)
def test_bad_input_gets_json_error(
    client: TestClient, data: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    response = client.post("/v1/detect", content=data, headers=headers)
    assert response.status_code == status
    assert_error(response.json(), code)
    assert response.headers["X-Request-ID"] == response.json()["error"]["request_id"]


def test_an_image_of_too_many_tiles_is_413_naming_the_limit(client: TestClient) -> None:
    # Within the pixel limit (4 MP here), but the model's 480-pixel tiling would cut it into
    # 125 tiles, a forward each: refused from the header.
    strip = bomb_png(width=40_000, height=99)

    response = client.post("/v1/detect", content=strip, headers={"Content-Type": "image/png"})

    assert response.status_code == 413
    assert_error(response.json(), "image_too_large")
    assert "125 tiles; the limit is 64 per image" in response.json()["error"]["message"]


def test_missing_content_type_is_415(client: TestClient) -> None:
    response = client.post("/v1/detect", content=shelf_jpeg(), headers={"Content-Type": ""})
    assert response.status_code == 415
    assert_error(response.json(), "unsupported_media_type")


@pytest.mark.parametrize(
    "query",
    [
        "min_score=1.5",
        "min_score=-0.1",
        "max_detections=0",
        "max_detections=1001",
        "max_detections=ten",
    ],
)
def test_invalid_query_parameters_are_422(client: TestClient, query: str) -> None:
    response = client.post(
        f"/v1/detect?{query}", content=shelf_jpeg(), headers={"Content-Type": "image/jpeg"}
    )
    assert response.status_code == 422
    assert_error(response.json(), "invalid_parameters")


def test_multipart_without_image_field_is_422(client: TestClient) -> None:
    response = client.post("/v1/detect", files={"photo": ("a.jpg", shelf_jpeg(), "image/jpeg")})
    assert response.status_code == 422
    assert_error(response.json(), "invalid_parameters")


def test_multipart_with_unsupported_part_type_is_415(client: TestClient) -> None:
    response = client.post("/v1/detect", files={"image": ("a.gif", b"GIF89a", "image/gif")})
    assert response.status_code == 415


def test_multipart_part_as_octet_stream_is_sniffed(client: TestClient) -> None:
    files = {"image": ("shelf.bin", shelf_jpeg(320, 240), "application/octet-stream")}
    response = client.post("/v1/detect", files=files, data={"note": "aisle 3"})
    assert response.status_code == 200, response.text
    assert_detection_response(response.json(), 320, 240)


@pytest.mark.parametrize(
    "size",
    [MAX_BODY_BYTES + 1, MAX_BODY_BYTES + MULTIPART_OVERHEAD_BYTES + 1],
    ids=["image-over-the-limit", "body-over-the-limit-and-overhead"],
)
def test_multipart_over_the_limit_is_413(client: TestClient, size: int) -> None:
    files = {"image": ("big.jpg", b"\xff" * size, "image/jpeg")}
    response = client.post("/v1/detect", files=files)
    assert response.status_code == 413
    assert_error(response.json(), "payload_too_large")


def test_chunked_multipart_over_the_limit_is_413(client: TestClient) -> None:
    """No Content-Length: the limit is enforced while the stream is read."""
    chunk = b"\xff" * 65536
    chunks = (MAX_BODY_BYTES + MULTIPART_OVERHEAD_BYTES) // len(chunk) + 2
    response = client.post(
        "/v1/detect",
        content=(chunk for _ in range(chunks)),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 413
    assert_error(response.json(), "payload_too_large")


def test_multipart_with_two_files_is_400(client: TestClient) -> None:
    files = [
        ("image", ("a.jpg", shelf_jpeg(), "image/jpeg")),
        ("other", ("b.jpg", shelf_jpeg(), "image/jpeg")),
    ]
    response = client.post("/v1/detect", files=files)
    assert response.status_code == 400
    assert_error(response.json(), "bad_request")


def test_malformed_multipart_is_400(client: TestClient) -> None:
    response = client.post(
        "/v1/detect",
        content=b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 400
    assert_error(response.json(), "bad_request")


def test_over_the_admission_limit_is_503_with_retry_after(client: TestClient) -> None:
    context: ApiContext = client.app.state.context  # type: ignore[attr-defined]
    holders = [context.requests.hold() for _ in range(context.requests.limit)]
    for holder in holders:
        holder.__enter__()
    try:
        response = client.post(
            "/v1/detect", content=shelf_jpeg(), headers={"Content-Type": "image/jpeg"}
        )
    finally:
        for holder in holders:
            holder.__exit__(None, None, None)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert_error(response.json(), "overloaded")
    after = client.post("/v1/detect", content=shelf_jpeg(), headers={"Content-Type": "image/jpeg"})
    assert after.status_code == 200


def test_unknown_route_is_json_404(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert_error(response.json(), "not_found")


def test_wrong_method_is_json_405(client: TestClient) -> None:
    response = client.get("/v1/detect")
    assert response.status_code == 405
    assert_error(response.json(), "method_not_allowed")
