"""Offline checks of the Prometheus Operator objects (PodMonitor, PrometheusRule).

Their CRDs are not in the Kubernetes schemas, and the project does not vendor the operator's
CRDs: the schemas below are a strict subset of monitoring.coreos.com/v1 — only the fields these
manifests use, unknown ones rejected, so a typo fails here rather than being pruned silently by
the API server. On top: the PodMonitors must select the RayService's pods in their own
namespace and relabel `ray.io/cluster` to `ray_io_cluster` (or select a CloudNativePG cluster's
instances, `cnpg.io/cluster`); rule expressions must not be empty.
"""

from typing import Any

from jsonschema import Draft202012Validator

API_VERSION = "monitoring.coreos.com/v1"
CLUSTER_RELABEL = {
    "sourceLabels": ["__meta_kubernetes_pod_label_ray_io_cluster"],
    "targetLabel": "ray_io_cluster",
}

# The label CloudNativePG gives every pod of a Cluster (production's PostgreSQL).
CNPG_CLUSTER = "cnpg.io/cluster"

_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "namespace": {"type": "string", "minLength": 1},
        "labels": _STRINGS,
        "annotations": _STRINGS,
    },
    "additionalProperties": False,
}
_RELABEL = {
    "type": "object",
    "properties": {
        "action": {
            "enum": ["replace", "keep", "drop", "labelmap", "labeldrop", "labelkeep", "hashmod"]
        },
        "sourceLabels": {"type": "array", "items": {"type": "string"}},
        "targetLabel": {"type": "string"},
        "regex": {"type": "string"},
        "replacement": {"type": "string"},
        "separator": {"type": "string"},
    },
    "additionalProperties": False,
}
_DURATION = {"type": "string", "pattern": r"^(0|([0-9]+(ms|s|m|h|d|w|y))+)$"}

PODMONITOR: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": "PodMonitor"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "required": ["selector", "podMetricsEndpoints"],
            "properties": {
                "jobLabel": {"type": "string"},
                "namespaceSelector": {
                    "type": "object",
                    "properties": {
                        "any": {"type": "boolean"},
                        "matchNames": {"type": "array", "items": {"type": "string"}},
                    },
                    "additionalProperties": False,
                },
                "selector": {
                    "type": "object",
                    "properties": {"matchLabels": _STRINGS},
                    "additionalProperties": False,
                },
                "podMetricsEndpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "interval": _DURATION,
                            "scrapeTimeout": _DURATION,
                            "relabelings": {"type": "array", "items": _RELABEL},
                            "metricRelabelings": {"type": "array", "items": _RELABEL},
                        },
                        "required": ["port"],
                        "additionalProperties": False,
                    },
                },
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

_RULE = {
    "type": "object",
    "required": ["expr"],
    "properties": {
        "record": {"type": "string", "pattern": r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"},
        "alert": {"type": "string", "minLength": 1},
        "expr": {"type": "string", "minLength": 1},
        "for": _DURATION,
        "labels": _STRINGS,
        "annotations": _STRINGS,
    },
    "oneOf": [{"required": ["record"]}, {"required": ["alert"]}],
    "additionalProperties": False,
}
PROMETHEUSRULE: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": "PrometheusRule"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "required": ["groups"],
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "rules"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": _DURATION,
                            "rules": {"type": "array", "minItems": 1, "items": _RULE},
                        },
                        "additionalProperties": False,
                    },
                }
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}
SCHEMAS = {"PodMonitor": PODMONITOR, "PrometheusRule": PROMETHEUSRULE}


def check_manifest(manifest: dict[str, Any]) -> list[str]:
    validator = Draft202012Validator(SCHEMAS[manifest["kind"]])
    problems = []
    for error in sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(part) for part in error.absolute_path) or "<root>"
        problems.append(f"{path}: {error.message}")
    if not problems and manifest["kind"] == "PodMonitor":
        problems += _check_podmonitor(manifest)
    return problems


def _check_podmonitor(manifest: dict[str, Any]) -> list[str]:
    spec = manifest["spec"]
    problems = []
    namespace = manifest["metadata"]["namespace"]
    names = (spec.get("namespaceSelector") or {}).get("matchNames")
    if names is not None and namespace not in names:
        problems.append(f"spec.namespaceSelector: does not select its own namespace {namespace}")
    labels = (spec["selector"].get("matchLabels")) or {}
    if labels.get(CNPG_CLUSTER):
        return problems  # a CloudNativePG cluster's instances: no Ray labels to carry over
    if labels.get("ray.io/node-type") not in {"head", "worker"}:
        problems.append(
            "spec.selector: selects no Ray node type (ray.io/node-type head|worker) nor a "
            f"CloudNativePG cluster ({CNPG_CLUSTER})"
        )
    for index, endpoint in enumerate(spec["podMetricsEndpoints"]):
        relabels = endpoint.get("relabelings") or []
        if not any(
            all(relabel.get(key) == value for key, value in CLUSTER_RELABEL.items())
            for relabel in relabels
        ):
            problems.append(
                f"spec.podMetricsEndpoints[{index}]: no relabelling of ray.io/cluster to "
                "ray_io_cluster (Ray's Grafana dashboards filter on it)"
            )
    return problems
