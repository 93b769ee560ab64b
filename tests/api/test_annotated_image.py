"""POST /v1/detect as an annotated JPEG (`Accept: image/jpeg` or `?format=jpeg`); JSON stays
the default."""

from io import BytesIO

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from serve_app.model.annotate import label_color
from tests.assertions import assert_error
from tests.factories import encode, shelf, shelf_jpeg

JPEG = {"Content-Type": "image/jpeg"}


def as_image(data: bytes) -> Image.Image:
    image = Image.open(BytesIO(data))
    assert image.format == "JPEG"
    return image.convert("RGB")


@pytest.mark.parametrize(
    ("query", "headers"),
    [("", {"Accept": "image/jpeg"}), ("?format=jpeg", {}), ("?format=jpeg", {"Accept": "*/*"})],
    ids=["accept", "query", "query-and-any"],
)
def test_the_annotated_image_has_the_boxes_of_the_json(
    client: TestClient, query: str, headers: dict[str, str]
) -> None:
    data = shelf_jpeg(640, 480)
    detections = client.post("/v1/detect", content=data, headers=JPEG).json()["detections"]

    response = client.post(f"/v1/detect{query}", content=data, headers={**JPEG, **headers})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["X-Request-ID"] and response.headers["X-Cache"] in {"hit", "miss"}
    assert response.headers["Vary"] == "Accept"
    annotated = as_image(response.content)
    assert annotated.size == (640, 480), "the original size"
    pixels = np.asarray(annotated, dtype=np.int16)
    assert detections
    for detection in detections:
        # Points down the box's left edge: another box or tag drawn later may cover some.
        x1, y1, _, y2 = (int(v) for v in detection["box"])
        rows = np.linspace(y1 + 4, y2 - 4, 7).astype(int)
        edge = pixels[rows][:, max(x1 - 1, 0) : x1 + 3]
        distance = np.abs(edge - label_color(detection["label"])).max(axis=2)
        assert (distance <= 40).any(), detection


def test_json_stays_the_default(client: TestClient) -> None:
    data = shelf_jpeg(320, 240)
    for headers in ({}, {"Accept": "*/*"}, {"Accept": "application/json, image/jpeg"}):
        response = client.post("/v1/detect", content=data, headers={**JPEG, **headers})
        assert response.headers["content-type"] == "application/json", headers
        assert response.json()["image"] == {"width": 320, "height": 240}
    explicit = client.post(
        "/v1/detect?format=json", content=data, headers={**JPEG, "Accept": "image/jpeg"}
    )
    assert explicit.headers["content-type"] == "application/json"


def test_a_multipart_upload_and_an_exif_rotated_photo(client: TestClient) -> None:
    image = shelf(640, 480)
    exif = image.getexif()
    exif[0x0112] = 6  # displayed rotated: 480 x 640
    files = {"image": ("shelf.jpg", encode(image, "JPEG", exif=exif.tobytes()), "image/jpeg")}
    response = client.post("/v1/detect?format=jpeg", files=files)
    assert response.status_code == 200, response.text
    assert as_image(response.content).size == (480, 640)


def test_errors_stay_json(client: TestClient) -> None:
    response = client.post(
        "/v1/detect", content=b"not an image", headers={**JPEG, "Accept": "image/jpeg"}
    )
    assert response.status_code == 400
    assert_error(response.json(), "invalid_image")
    wrong = client.post("/v1/detect?format=png", content=shelf_jpeg(), headers=JPEG)
    assert wrong.status_code == 422
    assert_error(wrong.json(), "invalid_parameters")


def test_openapi_documents_both_media_types(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/detect"]["post"]
    content = operation["responses"]["200"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/DetectResponse"}
    assert content["image/jpeg"]["schema"] == {"type": "string", "format": "binary"}
    formats = [p for p in operation["parameters"] if p["name"] == "format"]
    assert formats and formats[0]["in"] == "query"
    assert "Accept" not in {p["name"] for p in operation["parameters"]}
