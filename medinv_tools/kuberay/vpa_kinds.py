"""Offline checks of VerticalPodAutoscalers (components/vpa): a strict subset of the
autoscaling.k8s.io/v1 schema (the fields used here, unknown ones rejected, like
monitoring_kinds), recommendation only (`updateMode: "Off"`), and targets and container names
that exist in the same render."""

from typing import Any

from jsonschema import Draft202012Validator

from medinv_tools.kuberay.disruption import is_cnpg_cluster
from medinv_tools.kuberay.kustomize import Manifest, name_of

API_VERSION = "autoscaling.k8s.io/v1"
KIND = "VerticalPodAutoscaler"
TARGET_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}
CNPG_CONTAINER = "postgres"  # the PostgreSQL container of every CloudNativePG instance pod

_QUANTITIES = {
    "type": "object",
    "properties": {"cpu": {"type": ["string", "number"]}, "memory": {"type": "string"}},
    "additionalProperties": False,
}
VPA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": KIND},
        "metadata": {
            "type": "object",
            "required": ["name", "namespace"],  # a component gets none from the base
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "namespace": {"type": "string", "minLength": 1},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "additionalProperties": False,
        },
        "spec": {
            "type": "object",
            "required": ["targetRef", "updatePolicy"],
            "properties": {
                "targetRef": {
                    "type": "object",
                    "required": ["apiVersion", "kind", "name"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
                "updatePolicy": {
                    "type": "object",
                    "required": ["updateMode"],
                    "properties": {
                        "updateMode": {
                            "enum": ["Off", "Initial", "Recreate", "InPlaceOrRecreate", "Auto"]
                        },
                    },
                    "additionalProperties": False,
                },
                "resourcePolicy": {
                    "type": "object",
                    "properties": {
                        "containerPolicies": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["containerName"],
                                "properties": {
                                    "containerName": {"type": "string"},
                                    "mode": {"enum": ["Auto", "Off"]},
                                    "controlledResources": {
                                        "type": "array",
                                        "items": {"enum": ["cpu", "memory"]},
                                    },
                                    "controlledValues": {
                                        "enum": ["RequestsAndLimits", "RequestsOnly"]
                                    },
                                    "minAllowed": _QUANTITIES,
                                    "maxAllowed": _QUANTITIES,
                                },
                                "additionalProperties": False,
                            },
                        }
                    },
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
    },
}


def check_manifest(manifest: Manifest) -> list[str]:
    validator = Draft202012Validator(VPA)
    problems = [
        f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    ]
    mode = ((manifest.get("spec") or {}).get("updatePolicy") or {}).get("updateMode")
    if not problems and mode != "Off":
        problems.append(f"spec.updatePolicy.updateMode: {mode!r}, not 'Off' (recommendations only)")
    return problems


def check_targets(manifests: list[Manifest]) -> list[str]:
    """Each VPA's target is a workload of this render, and names its containers. A
    CloudNativePG Cluster counts (its CRD has the /scale subresource VPA finds pods through):
    its instance pods' container is `postgres`."""
    workloads = {
        (m.get("kind"), (m.get("metadata") or {}).get("name")): m
        for m in manifests
        if m.get("kind") in TARGET_KINDS or is_cnpg_cluster(m)
    }
    problems = []
    for vpa in (m for m in manifests if m.get("kind") == KIND):
        spec = vpa.get("spec") or {}
        ref = spec.get("targetRef") or {}
        target = workloads.get((ref.get("kind"), ref.get("name")))
        if target is None:
            problems.append(
                f"{name_of(vpa)}: targetRef {ref.get('kind')}/{ref.get('name')} is not a "
                f"{'/'.join(sorted(TARGET_KINDS))} (or CloudNativePG Cluster) of this environment"
            )
            continue
        if is_cnpg_cluster(target):
            containers = {CNPG_CONTAINER}
        else:
            pod = ((target.get("spec") or {}).get("template") or {}).get("spec") or {}
            containers = {c.get("name") for c in pod.get("containers") or []}
        for policy in (spec.get("resourcePolicy") or {}).get("containerPolicies") or []:
            name = policy.get("containerName")
            if name != "*" and name not in containers:
                problems.append(
                    f"{name_of(vpa)}: containerName {name!r} is no container of {name_of(target)}"
                )
    return problems
