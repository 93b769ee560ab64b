"""Health, readiness and the OpenAPI document."""

from fastapi.testclient import TestClient

from serve_app.core.demo_model import DEMO_MODEL


def test_health(client: TestClient) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_names_the_loaded_model(client: TestClient) -> None:
    response = client.get("/v1/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "model": {"name": DEMO_MODEL.name, "version": DEMO_MODEL.version},
        "device": "cpu",
        "store": {"status": "ok", "spooled": 0},
    }


def test_openapi_documents_the_upload_and_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    detect = spec["paths"]["/v1/detect"]["post"]
    assert set(detect["requestBody"]["content"]) == {
        "image/jpeg",
        "image/png",
        "image/webp",
        "multipart/form-data",
    }
    assert {"200", "400", "404", "409", "413", "415", "422", "503", "504"} <= set(
        detect["responses"]
    )
    assert "idempotency_conflict" in detect["responses"]["409"]["description"]
    assert "invalid_idempotency_key" in detect["responses"]["400"]["description"]
    assert {(p["name"], p["in"]) for p in detect["parameters"]} == {
        ("min_score", "query"),
        ("max_detections", "query"),
        ("model", "query"),
        ("location", "query"),
        ("format", "query"),
        ("Idempotency-Key", "header"),
    }
    schemas = spec["components"]["schemas"]
    assert schemas["DetectResponse"]["example"]["counts"] == {"syringe": 1}
    assert "/v1/ready" in spec["paths"] and "/v1/models" in spec["paths"]
    assert "put" in spec["paths"]["/v1/models/active"]
