from typing import Any

from medinv_tools.kuberay.pod_security import check_manifest

RESTRICTED_CONTAINER: dict[str, Any] = {
    "name": "app",
    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
}
POD_CONTEXT = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def _deployment(container: dict[str, Any], pod_context: dict[str, Any]) -> dict[str, Any]:
    pod = {"securityContext": pod_context, "containers": [container]}
    return {"kind": "Deployment", "spec": {"template": {"spec": pod}}}


def test_a_restricted_pod_passes() -> None:
    assert check_manifest(_deployment(RESTRICTED_CONTAINER, POD_CONTEXT)) == []


def test_every_missing_restriction_is_named() -> None:
    problems = check_manifest(_deployment({"name": "app"}, {}))
    assert [p.split(": ", 1)[1] for p in problems] == [
        "runAsNonRoot is not true",
        "allowPrivilegeEscalation is not false",
        "capabilities do not drop ALL",
        "seccompProfile is not RuntimeDefault",
        "no resource limits",
    ]
    assert problems[0].startswith("spec.template.spec.containers[app]")


def test_uid_0_is_refused_even_with_run_as_non_root() -> None:
    [problem] = check_manifest(_deployment(RESTRICTED_CONTAINER, {**POD_CONTEXT, "runAsUser": 0}))
    assert problem.endswith("runs as uid 0")


def test_ray_worker_groups_and_cronjobs_are_inspected() -> None:
    bare = {"template": {"spec": {"containers": [{"name": "ray-worker"}]}}}
    rayservice = {
        "kind": "RayService",
        "spec": {
            "rayClusterConfig": {
                "headGroupSpec": {
                    "template": {
                        "spec": {
                            "securityContext": POD_CONTEXT,
                            "containers": [RESTRICTED_CONTAINER],
                        }
                    }
                },
                "workerGroupSpecs": [bare],
            }
        },
    }
    problems = check_manifest(rayservice)
    assert problems and all(
        p.startswith("spec.rayClusterConfig.workerGroupSpecs[0].template.spec") for p in problems
    )
    cronjob = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": bare}}}
    assert check_manifest(cronjob)
