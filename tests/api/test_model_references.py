"""`?model=` and `PUT /v1/models/active` take only what can be a model reference.

A reference names a directory under the models root. These escaped it (503s that named server
paths), were too long for the file system, or held NUL (500s).
"""

import pytest
from fastapi.testclient import TestClient

from tests.assertions import assert_error
from tests.factories import shelf_jpeg

JPEG = {"Content-Type": "image/jpeg"}
BAD_MODEL_REFS = ["..:..", "/:tmp", "a" * 300 + ":1", "a:" + "1" * 300, "a%00:1", "a:1/../../x"]


@pytest.mark.parametrize("ref", BAD_MODEL_REFS)
def test_a_pinned_model_that_is_no_model_reference_is_422(client: TestClient, ref: str) -> None:
    response = client.post(f"/v1/detect?model={ref}", content=shelf_jpeg(), headers=JPEG)
    assert response.status_code == 422, response.text
    assert_error(response.json(), "invalid_parameters")


@pytest.mark.parametrize("ref", [ref.replace("%00", "\u0000") for ref in BAD_MODEL_REFS])
def test_activating_what_is_no_model_reference_is_422(
    client: TestClient, admin: dict[str, str], ref: str
) -> None:
    response = client.put("/v1/models/active", json={"model": ref}, headers=admin)
    assert response.status_code == 422, response.text
    assert_error(response.json(), "invalid_parameters")
