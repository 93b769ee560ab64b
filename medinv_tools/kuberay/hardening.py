"""Hardening beyond the restricted Pod Security Standard, on every environment (checkov runs on
production only, `medinv kuberay-checkov`): read-only root filesystems, uids and gids of 10000
and above, service account tokens only where the Kubernetes API is used, probes on every
long-running container, the writable emptyDirs a Ray container needs, and Roles that grant no
more than KubeRay's autoscaler needs."""

from typing import Any

from medinv_tools.kuberay.pod_security import PodSpec, pod_specs

MIN_ID = 10000
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet"}
# HOME of the image's user (Dockerfile: ENV HOME) and what Ray 2.60 writes besides it.
RAY_HOME = "/home/medinv"
RAY_WRITABLE = ("/tmp", "/tmp/ray", RAY_HOME)
HEAD_TEMPLATE = "spec.rayClusterConfig.headGroupSpec.template.spec"
# KubeRay v1.7.0's autoscaler Role (ray-operator/controllers/ray/common/rbac.go, BuildRole).
AUTOSCALER_RULES = frozenset(
    {("", "pods", verb) for verb in ("get", "list", "watch", "patch")}
    | {("", "pods/resize", "patch")}
    | {("ray.io", "rayclusters", verb) for verb in ("get", "patch")}
)


def check_manifest(manifest: dict[str, Any]) -> list[str]:
    kind = manifest.get("kind")
    if kind in {"Role", "ClusterRole"}:
        return _check_role(manifest)
    problems = []
    for where, pod in pod_specs(manifest):
        head = kind == "RayService" and where == HEAD_TEMPLATE
        problems += _check_pod(pod, where, head=head)
        if kind == "RayService":
            problems += _check_ray_mounts(pod, where)
        if kind in LONG_RUNNING:
            problems += _check_probes(pod, where)
    if kind == "RayService":
        cluster = (manifest.get("spec") or {}).get("rayClusterConfig") or {}
        if cluster.get("enableInTreeAutoscaling"):
            context = (cluster.get("autoscalerOptions") or {}).get("securityContext") or {}
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(
                    "spec.rayClusterConfig.autoscalerOptions.securityContext: "
                    "readOnlyRootFilesystem is not true"
                )
    return problems


def _check_pod(pod: PodSpec, where: str, *, head: bool) -> list[str]:
    problems = []
    pod_context = pod.get("securityContext") or {}
    if head:  # the autoscaler sidecar scales worker groups through the Kubernetes API
        if not pod.get("serviceAccountName") or pod.get("serviceAccountName") == "default":
            problems.append(f"{where}: the Ray head needs a ServiceAccount of its own")
        if pod.get("automountServiceAccountToken") is False:
            problems.append(f"{where}: the Ray head's autoscaler needs its token mounted")
    elif pod.get("automountServiceAccountToken") is not False:
        problems.append(
            f"{where}: automountServiceAccountToken is not false (no Kubernetes API access)"
        )
    fs_group = pod_context.get("fsGroup")
    if fs_group is not None and fs_group < MIN_ID:
        problems.append(f"{where}: fsGroup {fs_group} is below {MIN_ID}")
    for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        name = f"{where}.containers[{container.get('name')}]"
        context = container.get("securityContext") or {}
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{name}: readOnlyRootFilesystem is not true")
        for field in ("runAsUser", "runAsGroup"):
            value = context.get(field, pod_context.get(field))
            if value is None or value < MIN_ID:
                problems.append(f"{name}: {field} is {value}, not {MIN_ID} or above")
    return problems


def _check_ray_mounts(pod: PodSpec, where: str) -> list[str]:
    containers = pod.get("containers") or []
    if not containers:
        return []
    ray = containers[0]  # KubeRay's Ray container is the first
    empty_dirs = {v.get("name") for v in pod.get("volumes") or [] if "emptyDir" in v}
    mounted = {
        m.get("mountPath")
        for m in ray.get("volumeMounts") or []
        if m.get("name") in empty_dirs and not m.get("readOnly")
    }
    return [
        f"{where}.containers[{ray.get('name')}]: no writable emptyDir at {path}"
        for path in RAY_WRITABLE
        if path not in mounted
    ]


def _check_probes(pod: PodSpec, where: str) -> list[str]:
    return [
        f"{where}.containers[{container.get('name')}]: no {probe}"
        for container in pod.get("containers") or []
        for probe in ("readinessProbe", "livenessProbe")
        if not container.get(probe)
    ]


def _check_role(role: dict[str, Any]) -> list[str]:
    if role.get("kind") == "ClusterRole":
        return ["a ClusterRole: nothing here needs cluster-wide access"]
    problems = []
    for i, rule in enumerate(role.get("rules") or []):
        granted = {
            (group, resource, verb)
            for group in rule.get("apiGroups") or []
            for resource in rule.get("resources") or []
            for verb in rule.get("verbs") or []
        }
        if rule.get("resourceNames") or rule.get("nonResourceURLs"):
            problems.append(f"rules[{i}]: resourceNames / nonResourceURLs are not expected")
        extra = sorted(granted - AUTOSCALER_RULES)
        if extra:
            shown = ", ".join(f"{verb} {group or 'core'}/{res}" for group, res, verb in extra)
            problems.append(f"rules[{i}]: grants more than KubeRay's autoscaler needs: {shown}")
    return problems
