"""The result cache in the real Redis: identical image + model + parameters is a hit, anything
else a miss, and a model swap makes old entries unreachable. The latency of a hit against a
miss goes to .run/result-cache-latency.json and to stdout (`pytest -s`)."""

import json
import statistics
import time
from pathlib import Path

from medinv_tools.local_pipeline import LocalPipeline
from medinv_tools.paths import REPO_ROOT
from serve_app.core.settings import Settings
from serve_app.model.imaging import ImageLimits
from tests.api.access.conftest import ApiFactory
from tests.conftest import UNTRAINED_MODEL
from tests.factories import shelf_jpeg
from tests.keys import bearer, create_api_key

FIGURES = REPO_ROOT / ".run" / "result-cache-latency.json"
JPEG = {"Content-Type": "image/jpeg"}
SAMPLES = 20


def test_identical_requests_hit_and_different_ones_miss(
    make_client: ApiFactory, settings: Settings
) -> None:
    client = make_client(settings)
    headers = {**JPEG, **bearer(create_api_key(settings.resolved_database_url, "detect"))}
    image = shelf_jpeg(320, 240)

    first = client.post("/v1/detect", content=image, headers=headers)
    second = client.post("/v1/detect", content=image, headers=headers)
    other_params = client.post("/v1/detect?max_detections=3", content=image, headers=headers)
    other_image = client.post("/v1/detect", content=shelf_jpeg(336, 240), headers=headers)

    assert [r.headers["X-Cache"] for r in (first, second, other_params, other_image)] == [
        "miss",
        "hit",
        "miss",
        "miss",
    ]
    miss, hit = first.json(), second.json()
    assert hit["detections"] == miss["detections"] and hit["counts"] == miss["counts"]
    assert hit["model"] == miss["model"]
    assert hit["request_id"] != miss["request_id"]
    assert hit["timing_ms"]["inference"] == 0.0 < miss["timing_ms"]["inference"]


def test_a_hit_is_faster_than_a_miss(make_client: ApiFactory, settings: Settings) -> None:
    client = make_client(settings)
    headers = {**JPEG, **bearer(create_api_key(settings.resolved_database_url, "detect"))}
    misses, hits = [], []
    for i in range(SAMPLES):
        image = shelf_jpeg(640 + 16 * i, 480)
        for latencies, expected in ((misses, "miss"), (hits, "hit")):
            started = time.perf_counter()
            response = client.post("/v1/detect", content=image, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000.0)
            assert response.headers["X-Cache"] == expected
    figures = {
        "samples": SAMPLES,
        "image": "640..944 x 480 JPEG",
        "miss_ms_median": round(statistics.median(misses), 2),
        "hit_ms_median": round(statistics.median(hits), 2),
        "miss_ms_p90": round(statistics.quantiles(misses, n=10)[-1], 2),
        "hit_ms_p90": round(statistics.quantiles(hits, n=10)[-1], 2),
    }
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nresult cache latency (in-process pipeline, CPU): {figures}")

    assert figures["hit_ms_median"] < figures["miss_ms_median"] / 2


def test_a_model_swap_invalidates_the_cache(
    make_client: ApiFactory, settings: Settings, demo_model_dir: Path, models_root: Path
) -> None:
    own = LocalPipeline(demo_model_dir, models_root, ImageLimits(), "cpu")
    client = make_client(settings, own)
    key = create_api_key(settings.resolved_database_url, "detect,admin")
    headers = {**JPEG, **bearer(key)}
    image = shelf_jpeg(320, 240)
    assert client.post("/v1/detect", content=image, headers=headers).headers["X-Cache"] == "miss"
    assert client.post("/v1/detect", content=image, headers=headers).headers["X-Cache"] == "hit"

    swapped = client.put(
        "/v1/models/active", json={"model": str(UNTRAINED_MODEL)}, headers=bearer(key)
    )
    after = client.post("/v1/detect", content=image, headers=headers)
    again = client.post("/v1/detect", content=image, headers=headers)

    assert swapped.status_code == 202
    assert after.headers["X-Cache"] == "miss"
    assert after.json()["model"]["version"] == UNTRAINED_MODEL.version
    assert again.headers["X-Cache"] == "hit"
    assert again.json()["model"]["version"] == UNTRAINED_MODEL.version


def test_a_swap_elsewhere_is_noticed_within_the_version_check(
    make_client: ApiFactory, settings: Settings, demo_model_dir: Path, models_root: Path
) -> None:
    """Another replica (or `serve deploy`) swapped the model: this one sees it within
    VERSION_CHECK_S and stops answering from the old model's entries."""
    own = LocalPipeline(demo_model_dir, models_root, ImageLimits(), "cpu")
    client = make_client(settings, own)
    headers = {**JPEG, **bearer(create_api_key(settings.resolved_database_url, "detect"))}
    image = shelf_jpeg(320, 240)
    client.post("/v1/detect", content=image, headers=headers)

    client.portal.call(own.activate, UNTRAINED_MODEL)  # behind the ingress's back
    deadline = time.monotonic() + 5
    while True:
        response = client.post("/v1/detect", content=image, headers=headers)
        if response.json()["model"]["version"] == UNTRAINED_MODEL.version:
            break
        assert response.headers["X-Cache"] == "hit"
        assert time.monotonic() < deadline, "the swap was never noticed"
        time.sleep(0.2)
    assert response.headers["X-Cache"] == "miss"
