"""Rules KubeRay's operator enforces in Go (ray-operator/controllers/ray/utils/validation.go)
that no JSON schema expresses, plus this project's own: rayVersion matches the image."""

from typing import Any

RAY_VERSION = "2.60.0"
UPGRADE_TYPES = {"NewCluster", "NewClusterWithIncrementalUpgrade", "None"}
_RESOURCE_PARAMS = {"num-cpus", "num-gpus", "memory", "resources"}


def check_rayservice(rayservice: dict[str, Any]) -> list[str]:
    spec = rayservice.get("spec") or {}
    cluster = spec.get("rayClusterConfig") or {}
    problems = []
    upgrade = (spec.get("upgradeStrategy") or {}).get("type")
    if upgrade is not None and upgrade not in UPGRADE_TYPES:
        problems.append(
            f"spec.upgradeStrategy.type: {upgrade!r} is not one of {sorted(UPGRADE_TYPES)}"
        )
    if cluster.get("rayVersion") != RAY_VERSION:
        problems.append(
            f"spec.rayClusterConfig.rayVersion: {cluster.get('rayVersion')!r} must equal the "
            f"image's Ray version {RAY_VERSION!r}"
        )
    problems += _check_head(cluster.get("headGroupSpec") or {})
    for index, group in enumerate(cluster.get("workerGroupSpecs") or []):
        problems += _check_worker_group(group, f"spec.rayClusterConfig.workerGroupSpecs[{index}]")
    problems += _check_gcs_fault_tolerance(cluster)
    return problems


def _check_head(head: dict[str, Any]) -> list[str]:
    where = "spec.rayClusterConfig.headGroupSpec"
    problems = _check_group_resources(head, where)
    containers = ((head.get("template") or {}).get("spec") or {}).get("containers") or []
    ports = (containers[0].get("ports") or []) if containers else []
    if ports and "serve" not in {port.get("name") for port in ports}:
        problems.append(f"{where}: head ports are declared but none is named 'serve'")
    return problems


def _check_worker_group(group: dict[str, Any], where: str) -> list[str]:
    problems = _check_group_resources(group, where)
    low, high = group.get("minReplicas", 0), group.get("maxReplicas", 2**31 - 1)
    if low < 0:
        problems.append(f"{where}.minReplicas: {low} is negative")
    if low > high:
        problems.append(f"{where}: minReplicas {low} is greater than maxReplicas {high}")
    return problems


def _check_group_resources(group: dict[str, Any], where: str) -> list[str]:
    params = set(group.get("rayStartParams") or {})
    problems = []
    clash = _RESOURCE_PARAMS & params
    if group.get("resources") and clash:
        problems.append(
            f"{where}: rayStartParams {sorted(clash)} conflict with the group's resources"
        )
    if group.get("labels") and "labels" in params:
        problems.append(f"{where}: rayStartParams labels conflict with the group's labels")
    return problems


def _check_gcs_fault_tolerance(cluster: dict[str, Any]) -> list[str]:
    options = cluster.get("gcsFaultToleranceOptions")
    if options is None:
        return []
    where = "spec.rayClusterConfig.gcsFaultToleranceOptions"
    problems = []
    if not options.get("redisAddress"):
        problems.append(f"{where}.redisAddress: required for GCS fault tolerance")
    head = cluster.get("headGroupSpec") or {}
    containers = ((head.get("template") or {}).get("spec") or {}).get("containers") or []
    env = {item.get("name") for item in (containers[0].get("env") or [])} if containers else set()
    for conflicting in sorted(env & {"RAY_REDIS_ADDRESS", "REDIS_PASSWORD"}):
        problems.append(f"{where}: head env {conflicting} conflicts with gcsFaultToleranceOptions")
    if "redis-password" in (head.get("rayStartParams") or {}):
        problems.append(f"{where}: rayStartParams redis-password conflicts with the options")
    return problems
