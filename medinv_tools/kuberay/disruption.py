"""Zones, node drains and image pinning, checked on a whole rendered environment.

Every environment: each workload (the Ray head, each worker group, each Deployment and
StatefulSet) is covered by a PodDisruptionBudget, and every budget lets at least one of its pods
be evicted, so that a node drain never blocks on it. A CloudNativePG Cluster brings budgets of
its own (`enablePDB`, on unless turned off): the operator lets the standbys go one at a time,
and the primary once it has switched over. Production also: topology spread constraints on
each Ray worker group, on PostgreSQL (the Cluster) and Redis, zone first and host second, each
selecting the pod it is on, and every image referenced by digest (a Cluster's `imageName` too).
"""

import math
import re
from dataclasses import dataclass
from typing import Any

from medinv_tools.kuberay.kustomize import Manifest, name_of
from medinv_tools.kuberay.pod_security import pod_specs

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
SPREAD_KEYS = [ZONE, HOST]
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
CNPG_CLUSTER = "cnpg.io/cluster"


@dataclass(frozen=True)
class Workload:
    name: str  # e.g. "RayService/medinv worker group cpu"
    labels: dict[str, str]  # those of its pods
    replicas: int  # the fewest it runs with
    spread: list[dict[str, Any]]  # topologySpreadConstraints of its pods
    spread_required: bool  # production: must spread over zones, then hosts
    operator_budgets: bool = False  # its operator makes its PodDisruptionBudgets


def workloads(manifests: list[Manifest]) -> list[Workload]:
    found = []
    for manifest in manifests:
        kind, spec = manifest.get("kind"), manifest.get("spec") or {}
        if kind in {"Deployment", "StatefulSet"}:
            template = spec.get("template") or {}
            found.append(
                Workload(
                    name_of(manifest),
                    (template.get("metadata") or {}).get("labels") or {},
                    spec.get("replicas", 1),
                    (template.get("spec") or {}).get("topologySpreadConstraints") or [],
                    spread_required=True,
                )
            )
        elif kind == "RayService":
            found += _ray_workloads(manifest)
        elif is_cnpg_cluster(manifest):
            inherited = (spec.get("inheritedMetadata") or {}).get("labels") or {}
            name = (manifest.get("metadata") or {}).get("name", "")
            found.append(
                Workload(
                    name_of(manifest),
                    # What CloudNativePG labels every instance pod with, besides its own.
                    {**inherited, CNPG_CLUSTER: name, "cnpg.io/podRole": "instance"},
                    spec.get("instances", 1),
                    spec.get("topologySpreadConstraints") or [],
                    spread_required=True,
                    operator_budgets=spec.get("enablePDB", True) is not False,
                )
            )
    return found


def is_cnpg_cluster(manifest: Manifest) -> bool:
    return manifest.get("kind") == "Cluster" and str(manifest.get("apiVersion", "")).startswith(
        "postgresql.cnpg.io/"
    )


def _ray_workloads(rayservice: Manifest) -> list[Workload]:
    """Ray pods as KubeRay labels them (besides their templates' own labels)."""
    cluster = (rayservice.get("spec") or {}).get("rayClusterConfig") or {}
    head = (cluster.get("headGroupSpec") or {}).get("template") or {}
    ray = {"ray.io/is-ray-node": "yes"}
    found = [
        Workload(
            f"{name_of(rayservice)} head",
            {
                **((head.get("metadata") or {}).get("labels") or {}),
                **ray,
                "ray.io/node-type": "head",
            },
            1,
            (head.get("spec") or {}).get("topologySpreadConstraints") or [],
            spread_required=False,  # one head: GCS fault tolerance, not spreading, covers it
        )
    ]
    for group in cluster.get("workerGroupSpecs") or []:
        template = group.get("template") or {}
        labels = {
            **((template.get("metadata") or {}).get("labels") or {}),
            **ray,
            "ray.io/node-type": "worker",
            "ray.io/group": group.get("groupName", ""),
        }
        found.append(
            Workload(
                f"{name_of(rayservice)} worker group {group.get('groupName')}",
                labels,
                group.get("minReplicas", group.get("replicas", 1)),
                (template.get("spec") or {}).get("topologySpreadConstraints") or [],
                spread_required=True,
            )
        )
    return found


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector against a pod's labels; an empty selector selects nothing
    here (a PDB or spread constraint over every pod is not what these manifests mean)."""
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def evictions_allowed(budget: dict[str, Any], replicas: int) -> int:
    """How many of `replicas` pods the budget lets go at once (the API server's rounding:
    percentages round up)."""

    def count(value: Any) -> int:
        if isinstance(value, str) and value.endswith("%"):
            return math.ceil(replicas * float(value[:-1]) / 100)
        return int(value)

    spec = budget.get("spec") or {}
    if "maxUnavailable" in spec:
        return min(count(spec["maxUnavailable"]), replicas)
    if "minAvailable" in spec:
        return max(replicas - count(spec["minAvailable"]), 0)
    return replicas  # neither: the API server refuses it; core_schema reports that


def check_budgets(manifests: list[Manifest]) -> list[str]:
    budgets = [m for m in manifests if m.get("kind") == "PodDisruptionBudget"]
    problems = []
    for workload in workloads(manifests):
        covering = [
            b for b in budgets if selects((b.get("spec") or {}).get("selector"), workload.labels)
        ]
        if not covering and not workload.operator_budgets:
            problems.append(f"{workload.name}: no PodDisruptionBudget selects its pods")
        for budget in covering:
            if evictions_allowed(budget, workload.replicas) < 1:
                problems.append(
                    f"{name_of(budget)}: allows no eviction of {workload.name} at "
                    f"{workload.replicas} replica(s): a node drain would block on it"
                )
    return problems


def check_spread(manifests: list[Manifest]) -> list[str]:
    problems = []
    for workload in workloads(manifests):
        if not workload.spread_required:
            continue
        keys = [constraint.get("topologyKey") for constraint in workload.spread]
        if keys[:2] != SPREAD_KEYS:
            problems.append(
                f"{workload.name}: topologySpreadConstraints over {keys}, not {SPREAD_KEYS} "
                "(zone first, then host)"
            )
            continue
        for constraint in workload.spread[:2]:
            if not selects(constraint.get("labelSelector"), workload.labels):
                problems.append(
                    f"{workload.name}: the {constraint.get('topologyKey')} spread constraint's "
                    "labelSelector does not select its own pods"
                )
    return problems


def check_digests(manifests: list[Manifest]) -> list[str]:
    problems = []
    for manifest in manifests:
        if is_cnpg_cluster(manifest):
            image = (manifest.get("spec") or {}).get("imageName") or ""
            if not DIGEST.search(image):
                problems.append(
                    f"{name_of(manifest)}: spec.imageName {image or '(the operator default)'} "
                    "is not referenced by digest (@sha256:...)"
                )
        for where, pod in pod_specs(manifest):
            for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
                image = container.get("image") or ""
                if not DIGEST.search(image):
                    problems.append(
                        f"{name_of(manifest)}: {where}.containers[{container.get('name')}]: "
                        f"image {image} is not referenced by digest (@sha256:...)"
                    )
    return problems


def check_environment(manifests: list[Manifest], production: bool) -> list[str]:
    problems = check_budgets(manifests)
    if production:
        problems += check_spread(manifests) + check_digests(manifests)
    return problems
