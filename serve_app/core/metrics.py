"""Every custom metric of the service, in one place.

They are `ray.serve.metrics` objects, so Serve adds the deployment, replica and application
tags and Ray exports them with its own `ray_serve_*` metrics on the node's metrics port
(8080 for `make run`). Outside a Ray process (API tests, the plain-FastAPI benchmark server)
recording them is a no-op. Durations are in seconds, as Prometheus expects.

Ray 2.60 drops a gauge series that has not been set for about two report intervals (~20 s):
a gauge set once (the active model) or rarely (open streams) would vanish from Prometheus.
Every gauge here is therefore set through `_GaugeKeeper`, which sets its last values again
every few seconds from one daemon thread per process.
"""

import threading
from typing import Any, ClassVar

from ray.serve.metrics import Counter, Gauge, Histogram

from serve_app.core.payloads import DetectionResult, ModelRef

LATENCY_BOUNDARIES_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
POLL_BOUNDARIES_S = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]
BATCH_SIZE_BOUNDARIES = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]


class ApiMetrics:
    """Recorded by the ingress: requests, per-stage latency, detections and streams."""

    def __init__(self) -> None:
        self._requests = Counter(
            "medinv_http_requests_total",
            description="HTTP requests by route template and status code.",
            tag_keys=_keys("route", "status"),
        )
        self._request_seconds = Histogram(
            "medinv_http_request_duration_seconds",
            description="Time from request arrival to the end of the response, by route.",
            boundaries=LATENCY_BOUNDARIES_S,
            tag_keys=("route",),
        )
        self._stage_seconds = Histogram(
            "medinv_stage_duration_seconds",
            description="Per-image time in a pipeline stage (preprocess, inference).",
            boundaries=LATENCY_BOUNDARIES_S,
            tag_keys=("stage",),
        )
        self._detections = Counter(
            "medinv_detections_total",
            description="Detections returned, by label.",
            tag_keys=("label",),
        )
        self._streams = _GaugeKeeper(
            Gauge(
                "medinv_stream_sessions",
                description="Open WebSocket streams on this ingress replica.",
            )
        )
        self._frames = Counter(
            "medinv_stream_frames_total",
            description="Stream frames by outcome (answered, error, dropped).",
            tag_keys=("outcome",),
        )
        self._open_streams = 0
        self._streams.set(0)

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        self._requests.inc(tags={"route": route, "status": str(status)})
        self._request_seconds.observe(seconds, tags={"route": route})

    def observe_result(self, result: DetectionResult) -> None:
        self._stage_seconds.observe(result.preprocess_ms / 1000.0, tags={"stage": "preprocess"})
        self._stage_seconds.observe(result.inference_ms / 1000.0, tags={"stage": "inference"})
        for label, count in result.counts.items():
            self._detections.inc(count, tags={"label": label})

    def stream_opened(self) -> None:
        self._open_streams += 1
        self._streams.set(self._open_streams)

    def stream_closed(self) -> None:
        self._open_streams -= 1
        self._streams.set(self._open_streams)

    def frames(self, outcome: str, count: int = 1) -> None:
        self._frames.inc(count, tags={"outcome": outcome})


class DetectorMetrics:
    """Recorded by the detector: batch sizes, forward time and the active model."""

    def __init__(self) -> None:
        self._batch_size = Histogram(
            "medinv_batch_size",
            description="Images per forward pass.",
            boundaries=BATCH_SIZE_BOUNDARIES,
        )
        self._forward_seconds = Histogram(
            "medinv_forward_duration_seconds",
            description="Time of one batched forward pass.",
            boundaries=LATENCY_BOUNDARIES_S,
        )
        self._model_info = _GaugeKeeper(
            Gauge(
                "medinv_model_info",
                description="1 for the model this replica serves, 0 for one it served before.",
                tag_keys=_keys("model", "version", "device"),
            )
        )
        self._active: tuple[ModelRef, str] | None = None

    def observe_batch(self, size: int, seconds: float) -> None:
        self._batch_size.observe(size)
        self._forward_seconds.observe(seconds)

    def set_model(self, ref: ModelRef, device: str) -> None:
        if self._active is not None:
            previous, previous_device = self._active
            self._model_info.set(0, tags=_model_tags(previous, previous_device))
        self._model_info.set(1, tags=_model_tags(ref, device))
        self._active = (ref, device)


class _GaugeKeeper:
    """A gauge whose last value per tag set is set again every `REFRESH_S` seconds."""

    REFRESH_S: ClassVar[float] = 5.0
    _lock: ClassVar[threading.Lock] = threading.Lock()
    _kept: ClassVar[list["_GaugeKeeper"]] = []
    _thread: ClassVar[threading.Thread | None] = None

    def __init__(self, gauge: Gauge) -> None:
        self._gauge = gauge
        self._values: dict[tuple[tuple[str, str], ...], float] = {}

    def set(self, value: float, tags: dict[str, str] | None = None) -> None:
        key = tuple(sorted((tags or {}).items()))
        with self._lock:
            self._values[key] = value
            if self not in self._kept:
                self._kept.append(self)
            if _GaugeKeeper._thread is None:
                _GaugeKeeper._thread = threading.Thread(
                    target=_GaugeKeeper._refresh_forever, name="medinv-gauges", daemon=True
                )
                _GaugeKeeper._thread.start()
        self._gauge.set(value, tags=dict(key))

    @classmethod
    def _refresh_forever(cls) -> None:
        stop = threading.Event()
        while not stop.wait(cls.REFRESH_S):
            with cls._lock:
                current = [(k._gauge, dict(t), v) for k in cls._kept for t, v in k._values.items()]
            for gauge, tags, value in current:
                gauge.set(value, tags=tags)


class InventoryMetrics:
    """Recorded by the ingress's inventory recorder: records, the spool, low stock."""

    def __init__(self) -> None:
        self._records = Counter(
            "medinv_inventory_records_total",
            description="Detection records by outcome: written, queued (spooled), replayed, "
            "duplicate, conflict, dead_lettered.",
            tag_keys=("outcome",),
        )
        self._spool_depth = _GaugeKeeper(
            Gauge(
                "medinv_inventory_spool_records",
                description="Records in this replica's spool waiting for the database.",
            )
        )
        self._below_par = _GaugeKeeper(
            Gauge(
                "medinv_inventory_items_below_par",
                description="Items below their par level at a location, as of the last record.",
                tag_keys=("location",),
            )
        )

    def records(self, outcome: str, count: int = 1) -> None:
        self._records.inc(count, tags={"outcome": outcome})

    def spool_depth(self, depth: int) -> None:
        self._spool_depth.set(depth)

    def items_below_par(self, location_id: int, count: int) -> None:
        self._below_par.set(count, tags={"location": str(location_id)})


class WebhookMetrics:
    """Recorded by the ingress's webhook dispatcher: attempts and the outbox's backlog."""

    def __init__(self) -> None:
        self._deliveries = Counter(
            "medinv_webhook_deliveries_total",
            description="Webhook delivery attempts by outcome: delivered (2xx), failed (to be "
            "retried), dead (the last attempt failed).",
            tag_keys=("outcome",),
        )
        self._pending = _GaugeKeeper(
            Gauge(
                "medinv_webhook_outbox_pending",
                description="Webhook events waiting for delivery, as this replica last counted.",
            )
        )

    def deliveries(self, outcome: str, count: int = 1) -> None:
        self._deliveries.inc(count, tags={"outcome": outcome})

    def pending(self, count: int) -> None:
        self._pending.set(count)


class AccessMetrics:
    """Recorded by the ingress's access control: rate-limit refusals."""

    def __init__(self) -> None:
        self._rate_limited = Counter(
            "medinv_rate_limited_total",
            description="Requests (budget=rest) and stream frames (frames) refused by the "
            "rate limiter, including refusals while Redis is down in fail-closed mode.",
            tag_keys=("budget",),
        )

    def rate_limited(self, budget: str) -> None:
        self._rate_limited.inc(tags={"budget": budget})


class SharedStateMetrics:
    """Recorded by the ingress's shared state: result-cache lookups, Redis failures."""

    def __init__(self) -> None:
        self._cache = Counter(
            "medinv_cache_requests_total",
            description="Result cache lookups by result (hit, miss).",
            tag_keys=("result",),
        )
        self._redis_errors = Counter(
            "medinv_redis_errors_total",
            description="Redis commands that failed, by component (rate limiter, result cache, "
            "key cache, updates); each fell back (fail open or closed, bypass, database).",
            tag_keys=("component",),
        )

    def cache(self, result: str) -> None:
        self._cache.inc(tags={"result": result})

    def redis_error(self, component: str) -> None:
        self._redis_errors.inc(tags={"component": component})


def _model_tags(ref: ModelRef, device: str) -> dict[str, str]:
    return {"model": ref.name, "version": ref.version, "device": device}


def _keys(*names: str) -> Any:
    # ray.serve.metrics annotates tag_keys as Tuple[str] (one key); several keys work.
    return names


class CameraMetrics:
    """Recorded by the camera poller: polls by outcome and their duration, failing cameras."""

    def __init__(self) -> None:
        self._polls = Counter(
            "medinv_camera_polls_total",
            description="Camera polls by outcome: ok, error, timeout.",
            tag_keys=("outcome",),
        )
        self._poll_seconds = Histogram(
            "medinv_camera_poll_duration_seconds",
            description="One poll: its frames taken, detected and recorded (or its failure).",
            boundaries=POLL_BOUNDARIES_S,
        )
        self._failing = _GaugeKeeper(
            Gauge(
                "medinv_cameras_failing",
                description="Cameras whose last poll failed.",
            )
        )

    def poll(self, outcome: str, seconds: float) -> None:
        self._polls.inc(tags={"outcome": outcome})
        self._poll_seconds.observe(seconds)

    def failing(self, cameras: int) -> None:
        self._failing.set(cameras)
