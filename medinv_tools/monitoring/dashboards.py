"""The four Grafana dashboards, defined here and written as JSON by `medinv monitoring-render`.

Every query filters on `ray_io_cluster=~"$Cluster"` (the label KubeRay's PodMonitors add; absent
locally, where `.*` matches it) and reads the `datasource` variable, like Ray's own
dashboards. Most panels read the recording rules of monitoring/prometheus/rules.yml.
"""

import json
from dataclasses import dataclass, field
from typing import Any

C = 'ray_io_cluster=~"$Cluster"'
APP = f'{C}, application="medinv"'
HIT = f'{C}, result="hit"'
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# `label_values` of a metric every Ray node exports, as Ray's dashboards do.
CLUSTER_VARIABLE_QUERY = "label_values(ray_node_cpu_utilization, ray_io_cluster)"


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    targets: tuple[Target, ...]
    kind: str = "timeseries"  # timeseries | stat | table
    unit: str = "short"
    width: int = 12
    height: int = 8
    thresholds: tuple[float, ...] = ()


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...] = field(default_factory=tuple)

    @property
    def file_name(self) -> str:
        return f"{self.uid}.json"


def _rate(metric: str, selector: str = C) -> str:
    return f"rate({metric}{{{selector}}}[$__rate_interval])"


API = Dashboard(
    uid="medinv-api-performance",
    title="Medinv / API Performance Overview",
    description="Request rates, errors and latencies of the HTTP API (Ingress).",
    panels=(
        Panel(
            "Requests per second",
            "All HTTP requests the ingress answered, every route and status.",
            (Target(f"sum(route_status:medinv_http_requests:rate5m{{{C}}})"),),
            kind="stat",
            unit="reqps",
            width=8,
            height=4,
        ),
        Panel(
            "Error ratio (5xx)",
            "Share of API requests answered 5xx over 5 minutes (probes excluded); "
            "the MedinvHighErrorRatio alert fires above 5 %.",
            (Target(f"max(cluster:medinv_http_errors:ratio_rate5m{{{C}}})"),),
            kind="stat",
            unit="percentunit",
            width=8,
            height=4,
            thresholds=(0.01, 0.05),
        ),
        Panel(
            "p99 latency of /v1/detect",
            "99th percentile over 5 minutes; MedinvDetectLatencyP99High fires above 2.5 s.",
            (
                Target(
                    f"max(route:medinv_http_request_duration_seconds:p99_5m{{{C}, "
                    f'route="/v1/detect"}})'
                ),
            ),
            kind="stat",
            unit="s",
            width=8,
            height=4,
            thresholds=(1.0, 2.5),
        ),
        Panel(
            "Requests per second by route and status",
            "Route templates, so ids in paths never explode the series count.",
            (
                Target(
                    f"sum by (route, status) (route_status:medinv_http_requests:rate5m{{{C}}})",
                    "{{route}} {{status}}",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "Latency by route (p50, p95, p99)",
            "From the ingress's request histogram: arrival to the end of the response.",
            tuple(
                Target(
                    f"max by (route) (route:medinv_http_request_duration_seconds:{q}_5m{{{C}}})",
                    f"{{{{route}}}} {q}",
                )
                for q in ("p50", "p95", "p99")
            ),
            unit="s",
        ),
        Panel(
            "Serve proxy: requests and errors",
            "Ray Serve's own proxy counters for this application (errors by code).",
            (
                Target(
                    f"sum by (route) ({_rate('ray_serve_num_http_requests_total', APP)})",
                    "{{route}}",
                ),
                Target(
                    f"sum by (route, error_code) "
                    f"({_rate('ray_serve_num_http_error_requests_total', APP)})",
                    "{{route}} error {{error_code}}",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            "Ongoing requests per deployment",
            "Requests being processed by the replicas of each deployment (open WebSocket "
            "streams count on the Ingress).",
            (
                Target(
                    f"sum by (deployment) (ray_serve_replica_processing_queries{{{APP}}})",
                    "{{deployment}}",
                ),
            ),
        ),
        Panel(
            "Rate-limit rejections",
            "Requests (budget rest) and stream frames (frames) refused with 429 / "
            "rate_limited, including fail-closed refusals while Redis is down.",
            (
                Target(
                    f"sum by (budget) ({_rate('ray_medinv_rate_limited_total')})",
                    "{{budget}}",
                ),
            ),
            unit="reqps",
        ),
    ),
)

MODEL = Dashboard(
    uid="medinv-model-usage",
    title="Medinv / Model Usage Analytics",
    description="Which model serves, what it detects, and how fast each stage runs.",
    panels=(
        Panel(
            "Active model per replica",
            "ray_medinv_model_info: the model and version each Detector replica serves.",
            (
                Target(
                    f"max by (model, version, device, replica) (ray_medinv_model_info{{{C}}}) == 1",
                    instant=True,
                ),
            ),
            kind="table",
            width=24,
            height=5,
        ),
        Panel(
            "Detections per second by label",
            "Detected items returned to clients (REST and streams).",
            (Target(f"sum by (label) (label:medinv_detections:rate5m{{{C}}})", "{{label}}"),),
        ),
        Panel(
            "Per-image stage latency (p95)",
            "Preprocess (decode + resize) and inference (queue + batched forward) per image.",
            (
                Target(
                    f"max by (stage) (stage:medinv_stage_duration_seconds:p95_5m{{{C}}})",
                    "{{stage}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Forward pass duration (p50, p99)",
            "One batched forward of the Detector.",
            tuple(
                Target(
                    f"histogram_quantile({q}, sum by (le) "
                    f"({_rate('ray_medinv_forward_duration_seconds_bucket')}))",
                    f"p{int(q * 100)}",
                )
                for q in (0.5, 0.99)
            ),
            unit="s",
        ),
        Panel(
            "Images per forward (mean batch size)",
            "Mean size of the batches @serve.batch formed.",
            (
                Target(
                    f"sum({_rate('ray_medinv_batch_size_sum')}) / "
                    f"sum({_rate('ray_medinv_batch_size_count')})",
                    "mean batch",
                ),
            ),
        ),
        Panel(
            "Detector: queued and in-flight requests",
            "Requests waiting for a Detector replica (router queue) and being processed.",
            (
                Target(
                    f'sum(ray_serve_deployment_queued_queries{{{APP}, deployment="Detector"}})',
                    "queued",
                ),
                Target(
                    f'sum(ray_serve_replica_processing_queries{{{APP}, deployment="Detector"}})',
                    "processing",
                ),
            ),
        ),
        Panel(
            "Result cache hit ratio",
            "Identical images (same bytes, model version and parameters) answered from the "
            "result cache, of all cache lookups.",
            (
                Target(
                    f"sum({_rate('ray_medinv_cache_requests_total', HIT)}) / "
                    f"sum({_rate('ray_medinv_cache_requests_total')})",
                    "hit ratio",
                ),
            ),
            unit="percentunit",
        ),
    ),
)

INFRA = Dashboard(
    uid="medinv-infrastructure",
    title="Medinv / Infrastructure Monitoring",
    description="Replicas, nodes, memory and scrape health of the Ray cluster.",
    panels=(
        Panel(
            "Healthy replicas by deployment",
            "MedinvNoHealthyDetector fires when the Detector has none.",
            (
                Target(
                    f"sum by (deployment) (deployment:medinv_healthy_replicas:sum{{{APP}}})",
                    "{{deployment}}",
                ),
            ),
        ),
        Panel(
            "Autoscaler: target replicas",
            "What Serve's autoscaler currently asks for, per deployment.",
            (
                Target(
                    f"max by (deployment) (ray_serve_autoscaling_target_replicas{{{APP}}})",
                    "{{deployment}}",
                ),
            ),
        ),
        Panel(
            "Node CPU utilisation",
            "Per Ray node (pod in Kubernetes).",
            (Target(f"avg by (instance) (ray_node_cpu_utilization{{{C}}})", "{{instance}}"),),
            unit="percent",
        ),
        Panel(
            "Node memory used",
            "Used over total memory per Ray node.",
            (
                Target(
                    f"sum by (instance) (ray_node_mem_used{{{C}}}) / "
                    f"sum by (instance) (ray_node_mem_total{{{C}}})",
                    "{{instance}}",
                ),
            ),
            unit="percentunit",
        ),
        Panel(
            "Object store memory used",
            "Preprocessed images travel from the Preprocessor to the Detector through it.",
            (Target(f"sum by (instance) (ray_object_store_used_memory{{{C}}})", "{{instance}}"),),
            unit="bytes",
        ),
        Panel(
            "GPU utilisation",
            "Per GPU node; no data on CPU-only clusters (ray_node_gpus_utilization).",
            (Target(f"avg by (instance) (ray_node_gpus_utilization{{{C}}})", "{{instance}}"),),
            unit="percent",
        ),
        Panel(
            "Replica starts (1 h)",
            "Replica starts per deployment: more than the scaling explains means crashes.",
            (
                Target(
                    f"sum by (deployment) "
                    f"(increase(ray_serve_deployment_replica_starts_total{{{APP}}}[1h]))",
                    "{{deployment}}",
                ),
            ),
        ),
        Panel(
            "Scrape targets up",
            "Ray metrics endpoints Prometheus reaches (1) or not (0).",
            (Target(f'up{{{C}, job=~".*ray.*"}}', "{{instance}}"),),
        ),
    ),
)

BUSINESS = Dashboard(
    uid="medinv-business",
    title="Medinv / Business Metrics",
    description="Items seen on the shelves, camera streams, and stock below par.",
    panels=(
        Panel(
            "Items detected (24 h)",
            "Detections returned over the last 24 hours, every label.",
            (Target(f"sum(increase(ray_medinv_detections_total{{{C}}}[24h]))"),),
            kind="stat",
            width=8,
            height=4,
        ),
        Panel(
            "Open camera streams",
            "WebSocket streams open now, all ingress replicas.",
            (Target(f"sum(ray_medinv_stream_sessions{{{C}}})"),),
            kind="stat",
            width=8,
            height=4,
        ),
        Panel(
            "Records waiting in the spool",
            "Inventory records queued (on disk, or in Redis under Kubernetes) while the database"
            " is unreachable.",
            (Target(f"max(ray_medinv_inventory_spool_records{{{C}}})"),),
            kind="stat",
            width=8,
            height=4,
            thresholds=(1.0, 1000.0),
        ),
        Panel(
            "Items detected per hour by label",
            "What the cameras see, per supply label.",
            (
                Target(
                    f"sum by (label) (increase(ray_medinv_detections_total{{{C}}}[1h]))",
                    "{{label}}",
                ),
            ),
        ),
        Panel(
            "Shelf images analysed per hour",
            "Successful REST detections and answered stream frames.",
            (
                Target(
                    f'sum(increase(ray_medinv_http_requests_total{{{C}, route="/v1/detect", '
                    f'status="200"}}[1h]))',
                    "REST",
                ),
                Target(
                    f'sum(increase(ray_medinv_stream_frames_total{{{C}, outcome="answered"}}[1h]))',
                    "stream frames",
                ),
            ),
        ),
        Panel(
            "Stream frames by outcome",
            "Answered, failed and dropped (latest wins) frames per second.",
            (
                Target(
                    f"sum by (outcome) (outcome:medinv_stream_frames:rate5m{{{C}}})",
                    "{{outcome}}",
                ),
            ),
        ),
        Panel(
            "Dropped-frame ratio",
            "MedinvStreamFramesDropped fires above 50 % for 15 minutes.",
            (Target(f"max(cluster:medinv_stream_frames_dropped:ratio_rate5m{{{C}}})", "dropped"),),
            unit="percentunit",
        ),
        Panel(
            "Items below par by location",
            "Item kinds under their par level per location.",
            (
                Target(
                    f"max by (location) (ray_medinv_inventory_items_below_par{{{C}}})",
                    "{{location}}",
                ),
            ),
        ),
    ),
)

DASHBOARDS = (API, MODEL, INFRA, BUSINESS)


def to_grafana(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (panel ids 1..n, laid out left to right)."""
    panels = []
    x = y = row_height = 0
    for number, panel in enumerate(dashboard.panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(_panel(number, panel, {"h": panel.height, "w": panel.width, "x": x, "y": y}))
        x += panel.width
        row_height = max(row_height, panel.height)
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["medinv", "ray-serve"],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "time": {"from": "now-1h", "to": "now"},
        "timezone": "",
        "links": [
            {"type": "dashboards", "tags": ["medinv"], "asDropdown": True, "title": "Medinv"}
        ],
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                    "refresh": 1,
                },
                {
                    "name": "Cluster",
                    "label": "Ray cluster",
                    "description": "ray_io_cluster, set by KubeRay's PodMonitors; "
                    "empty for a local Ray head.",
                    "type": "query",
                    "datasource": DATASOURCE,
                    "definition": CLUSTER_VARIABLE_QUERY,
                    "query": {"query": CLUSTER_VARIABLE_QUERY, "refId": "Cluster"},
                    "includeAll": True,
                    "multi": True,
                    "allValue": ".*",
                    "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                    "refresh": 2,
                    "hide": 0,
                    "sort": 1,
                },
            ]
        },
        "panels": panels,
    }


def _panel(number: int, panel: Panel, grid: dict[str, int]) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    steps += [
        {"color": color, "value": value}
        for color, value in zip(("orange", "red"), panel.thresholds, strict=False)
    ]
    result: dict[str, Any] = {
        "id": number,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": grid,
        "fieldConfig": {
            "defaults": {
                "unit": panel.unit,
                "thresholds": {"mode": "absolute", "steps": steps},
            },
            "overrides": [],
        },
        "targets": [
            {
                "refId": chr(ord("A") + index),
                "datasource": DATASOURCE,
                "expr": target.expr,
                "legendFormat": target.legend or "__auto",
                "instant": target.instant,
                "range": not target.instant,
                **({"format": "table"} if panel.kind == "table" else {}),
            }
            for index, target in enumerate(panel.targets)
        ],
    }
    if panel.kind == "stat":
        result["options"] = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "value"}
    elif panel.kind == "timeseries":
        result["options"] = {"legend": {"displayMode": "list", "placement": "bottom"}}
    return result


def render_json(dashboard: Dashboard) -> str:
    return json.dumps(to_grafana(dashboard), indent=2) + "\n"
