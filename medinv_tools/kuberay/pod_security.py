"""The restricted Pod Security Standard, checked on every pod template before a cluster's
admission controller would refuse the pods (or, for a RayService, the operator's pods)."""

from collections.abc import Iterator
from typing import Any

PodSpec = dict[str, Any]


def pod_specs(manifest: dict[str, Any]) -> Iterator[tuple[str, PodSpec]]:
    spec = manifest.get("spec") or {}
    kind = manifest.get("kind")
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "Job"}:
        yield "spec.template.spec", (spec.get("template") or {}).get("spec") or {}
    elif kind == "CronJob":
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        yield "spec.jobTemplate.spec.template.spec", (job.get("template") or {}).get("spec") or {}
    elif kind == "RayService":
        cluster = spec.get("rayClusterConfig") or {}
        head = cluster.get("headGroupSpec") or {}
        where = "spec.rayClusterConfig"
        yield f"{where}.headGroupSpec.template.spec", (head.get("template") or {}).get("spec") or {}
        for i, group in enumerate(cluster.get("workerGroupSpecs") or []):
            template = (group.get("template") or {}).get("spec") or {}
            yield f"{where}.workerGroupSpecs[{i}].template.spec", template


def check_pod(pod: PodSpec, where: str) -> list[str]:
    pod_context = pod.get("securityContext") or {}
    problems = []
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        context = container.get("securityContext") or {}
        name = f"{where}.containers[{container.get('name')}]"
        if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot is not true")
        if 0 in {context.get("runAsUser"), pod_context.get("runAsUser")}:
            problems.append(f"{name}: runs as uid 0")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation is not false")
        if "ALL" not in ((context.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{name}: capabilities do not drop ALL")
        seccomp = context.get("seccompProfile") or pod_context.get("seccompProfile") or {}
        if seccomp.get("type") not in {"RuntimeDefault", "Localhost"}:
            problems.append(f"{name}: seccompProfile is not RuntimeDefault")
        if not (container.get("resources") or {}).get("limits"):
            problems.append(f"{name}: no resource limits")
    return problems


def check_manifest(manifest: dict[str, Any]) -> list[str]:
    return [problem for where, pod in pod_specs(manifest) for problem in check_pod(pod, where)]
