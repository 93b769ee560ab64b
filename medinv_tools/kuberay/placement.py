"""Does every Serve replica fit a Ray worker group, and only the one meant for it?

Ray's logical resources of a KubeRay pod: CPUs and GPUs from rayStartParams, else from the
container's limits (requests when no limit); `memory` is what is left after the object
store, which takes 30 % of the pod's memory by default.
"""

from dataclasses import dataclass, field
from typing import Any

from medinv_tools.kuberay.quantities import parse_quantity

GPU_RESOURCE = "nvidia.com/gpu"
OBJECT_STORE_FRACTION = 0.3
DETECTOR = "Detector"


@dataclass(frozen=True)
class Capacity:
    cpus: float
    gpus: float
    memory: float


@dataclass(frozen=True)
class WorkerGroup:
    name: str
    pod: Capacity
    max_replicas: int
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Replica:
    deployment: str
    needs: Capacity
    max_replicas: int
    label_selector: dict[str, str] = field(default_factory=dict)


def worker_groups(rayservice: dict[str, Any]) -> list[WorkerGroup]:
    cluster = (rayservice.get("spec") or {}).get("rayClusterConfig") or {}
    return [
        WorkerGroup(
            group.get("groupName", "?"),
            _pod_capacity(group),
            group.get("maxReplicas", 0),
            dict(group.get("labels") or {}),
        )
        for group in cluster.get("workerGroupSpecs") or []
    ]


def _pod_capacity(group: dict[str, Any]) -> Capacity:
    containers = ((group.get("template") or {}).get("spec") or {}).get("containers") or [{}]
    resources = containers[0].get("resources") or {}
    merged = {**(resources.get("requests") or {}), **(resources.get("limits") or {})}
    params = group.get("rayStartParams") or {}
    cpus = parse_quantity(params.get("num-cpus", merged.get("cpu", 0)))
    gpus = parse_quantity(params.get("num-gpus", merged.get(GPU_RESOURCE, 0)))
    memory = parse_quantity(merged.get("memory", 0)) * (1 - OBJECT_STORE_FRACTION)
    return Capacity(cpus, gpus, memory)


def replicas(serve_config: dict[str, Any]) -> list[Replica]:
    found = []
    for application in serve_config.get("applications") or []:
        for deployment in application.get("deployments") or []:
            options = deployment.get("ray_actor_options") or {}
            scaling = deployment.get("autoscaling_config") or {}
            needs = Capacity(
                float(options.get("num_cpus", 1.0)),
                float(options.get("num_gpus", 0.0)),
                float(options.get("memory", 0.0)),
            )
            most = scaling.get("max_replicas", deployment.get("num_replicas", 1))
            selector = dict(options.get("label_selector") or {})
            found.append(Replica(deployment["name"], needs, int(most), selector))
    return found


def _fits(replica: Replica, group: WorkerGroup) -> bool:
    needs, pod = replica.needs, group.pod
    return (
        needs.cpus <= pod.cpus
        and needs.gpus <= pod.gpus
        and needs.memory <= pod.memory
        and all(
            _selects(want, group.labels.get(key)) for key, want in replica.label_selector.items()
        )
    )


def _selects(selector: str, value: str | None) -> bool:
    """Ray's label selector values: `v`, `!v`, `in(a,b)`, `!in(a,b)`."""
    negate = selector.startswith("!")
    selector = selector.removeprefix("!")
    if selector.startswith("in(") and selector.endswith(")"):
        matched = value in {item.strip() for item in selector[3:-1].split(",")}
    else:
        matched = value == selector
    return matched != negate


def check_placement(rayservice: dict[str, Any], serve_config: dict[str, Any]) -> list[str]:
    groups = worker_groups(rayservice)
    has_gpu_group = any(group.pod.gpus > 0 for group in groups)
    problems = []
    for replica in replicas(serve_config):
        homes = [group for group in groups if _fits(replica, group)]
        if not homes:
            problems.append(
                f"{replica.deployment}: a replica needs {replica.needs} and fits no worker group "
                f"({', '.join(f'{g.name}={g.pod}' for g in groups) or 'none'})"
            )
        elif replica.deployment == DETECTOR and has_gpu_group:
            cpu_homes = [group.name for group in homes if group.pod.gpus == 0]
            if cpu_homes:
                problems.append(
                    f"{DETECTOR}: would also fit CPU-only group(s) {cpu_homes}; with a GPU group "
                    "it must ask for num_gpus >= 1 so it lands on GPU nodes only"
                )
        elif replica.needs.gpus == 0 and any(group.pod.gpus > 0 for group in homes):
            gpu_homes = [group.name for group in homes if group.pod.gpus > 0]
            problems.append(
                f"{replica.deployment}: needs no GPU but fits GPU group(s) {gpu_homes}; give it a "
                "ray_actor_options.label_selector that only CPU groups' labels match"
            )
    problems += _check_totals(groups, replicas(serve_config))
    return problems


def _check_totals(groups: list[WorkerGroup], wanted: list[Replica]) -> list[str]:
    problems = []
    for label, need, have in (
        ("CPUs", sum(r.needs.cpus * r.max_replicas for r in wanted), _total(groups, "cpus")),
        ("GPUs", sum(r.needs.gpus * r.max_replicas for r in wanted), _total(groups, "gpus")),
    ):
        if need > have:
            problems.append(
                f"every deployment at max_replicas needs {need:g} {label}; the worker groups at "
                f"maxReplicas offer {have:g}"
            )
    return problems


def _total(groups: list[WorkerGroup], field: str) -> float:
    return sum(float(getattr(group.pod, field)) * group.max_replicas for group in groups)
