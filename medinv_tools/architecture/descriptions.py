"""What the figure says in words: each subpackage's one line, and the request path."""

from dataclasses import dataclass

# What lives in each subpackage of serve_app: one line each. A test fails when a subpackage
# has none, or when one is described that does not exist.
DESCRIPTIONS: dict[str, str] = {
    "serving": "Ray Serve deployments: Ingress, Preprocessor, Detector; app builder, "
    "ServePipeline, Serve control client",
    "cli": "the runtime's `medinv` commands: migrations, retention, API keys",
    "api": "FastAPI app of API v1: routers, schemas, guards, upload parsing, error mapping",
    "access": "API keys, authentication, rate limits, the key store",
    "state": "Redis-backed shared state: result cache, live update bus, stream sessions",
    "inventory": "SQLAlchemy store, Alembic migrations, recorder + spool, zones",
    "cameras": "camera poller: snapshot, MJPEG and RTSP sources, schedules, backoff",
    "model": "imaging, tiling, manifests, loader, torchvision runtime, inference, postprocess",
    "core": "settings, errors, payloads, metrics, args, the DetectionPipeline protocol",
}

TOOLING_DESCRIPTIONS: dict[str, str] = {
    "medinv_tools": "cluster drivers, manifests, monitoring, config checks, local pipeline",
    "training": "synthetic shelf data, COCO datasets, train / evaluate",
    "loadtest": "Locust users, load shapes, timelines",
    "benchmarks": "`make bench`, `make bench-swap`",
}


@dataclass(frozen=True)
class Hop:
    """One hop of a request: what happens, and the files (repository paths) where."""

    step: str
    files: tuple[str, ...] = ()


# POST /v1/detect, as the code runs it (serve_app/api/detect.py and what it calls).
REQUEST_PATH: tuple[Hop, ...] = (
    Hop("client → Serve proxy (HTTP; HAProxy with `make run HAPROXY=1`)"),
    Hop(
        "Ingress replica → the FastAPI app of API v1",
        ("serve_app/serving/ingress.py", "serve_app/api/app.py"),
    ),
    Hop(
        "route guard DETECT: API key, then one token of the request budget",
        ("serve_app/api/guards.py", "serve_app/access/authn.py", "serve_app/access/controls.py"),
    ),
    Hop(
        "detect(): admission limit; with ?location, the location must exist",
        ("serve_app/api/detect.py", "serve_app/api/context.py", "serve_app/inventory/recorder.py"),
    ),
    Hop("reads the upload: raw body or multipart, size limit", ("serve_app/api/body.py",)),
    Hop(
        "result cache CachedDetections: a hit returns from here (X-Cache: hit)",
        ("serve_app/state/result_cache.py",),
    ),
    Hop(
        "ServePipeline.detect: Preprocessor response passed into the Detector call",
        ("serve_app/serving/pipeline.py",),
    ),
    Hop(
        "Preprocessor replica: decode, views / tiles at the model's input size",
        (
            "serve_app/serving/preprocessor.py",
            "serve_app/model/imaging.py",
            "serve_app/model/tiling.py",
        ),
    ),
    Hop(
        "Detector replica: serve.batch → DetectionModel.predict (forward thread) → postprocess",
        (
            "serve_app/serving/detector.py",
            "serve_app/model/inference.py",
            "serve_app/model/postprocess.py",
        ),
    ),
    Hop(
        "back in the cache (result stored) and detect(): DetectResponse",
        ("serve_app/state/result_cache.py", "serve_app/api/detect.py"),
    ),
    Hop(
        "with ?location: record the counts, in the database or the spool",
        ("serve_app/api/recording.py", "serve_app/inventory/recorder.py"),
    ),
    Hop(
        "publish the counts (and below-par alerts) to live updates",
        ("serve_app/state/update_bus.py",),
    ),
    Hop("response: DetectResponse JSON, X-Cache header"),
)


# The import graph.
