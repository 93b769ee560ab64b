"""Hardening checks of `medinv kuberay-validate` (every environment): read-only root
filesystems, high uids, tokens only on the Ray head, probes, Ray's writable directories, Roles
no wider than KubeRay's autoscaler's."""

import copy
from pathlib import Path
from typing import Any

import yaml

from medinv_tools.kuberay.environments import environment
from medinv_tools.kuberay.hardening import RAY_HOME, check_manifest
from medinv_tools.kuberay.validate import validate_environment
from medinv_tools.paths import KUBERAY_CRDS, REPO_ROOT

CONTEXT = {"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001}
CONTAINER: dict[str, Any] = {
    "name": "app",
    "securityContext": {"readOnlyRootFilesystem": True},
    "readinessProbe": {"tcpSocket": {"port": 80}},
    "livenessProbe": {"tcpSocket": {"port": 80}},
}


def _deployment(container: dict[str, Any], **pod: Any) -> dict[str, Any]:
    spec = {"automountServiceAccountToken": False, "securityContext": CONTEXT, **pod}
    return {
        "kind": "Deployment",
        "spec": {"template": {"spec": {**spec, "containers": [container]}}},
    }


def _ray_pod(mounts: list[str], **pod: Any) -> dict[str, Any]:
    volumes = [{"name": f"v{i}", "emptyDir": {}} for i in range(len(mounts))]
    container = {
        "name": "ray",
        "securityContext": {"readOnlyRootFilesystem": True},
        "volumeMounts": [{"name": f"v{i}", "mountPath": path} for i, path in enumerate(mounts)],
    }
    spec = {"securityContext": CONTEXT, "containers": [container], "volumes": volumes}
    return {"template": {"spec": {**spec, **pod}}}


def _rayservice(head: dict[str, Any], worker: dict[str, Any]) -> dict[str, Any]:
    cluster = {
        "enableInTreeAutoscaling": True,
        "autoscalerOptions": {"securityContext": {"readOnlyRootFilesystem": True}},
        "headGroupSpec": head,
        "workerGroupSpecs": [worker],
    }
    return {"kind": "RayService", "spec": {"rayClusterConfig": cluster}}


WRITABLE = ["/tmp", "/tmp/ray", RAY_HOME]
HEAD = _ray_pod(WRITABLE, serviceAccountName="medinv-head")
WORKER = _ray_pod(WRITABLE, automountServiceAccountToken=False)


def test_a_hardened_deployment_and_rayservice_pass() -> None:
    assert check_manifest(_deployment(CONTAINER)) == []
    assert check_manifest(_rayservice(HEAD, WORKER)) == []


def test_a_writable_root_a_low_uid_and_a_mounted_token_are_named() -> None:
    container = {**CONTAINER, "securityContext": {"runAsUser": 1000}}
    problems = check_manifest(_deployment(container, automountServiceAccountToken=None))
    assert [p.split(": ", 1)[1] for p in problems] == [
        "automountServiceAccountToken is not false (no Kubernetes API access)",
        "readOnlyRootFilesystem is not true",
        "runAsUser is 1000, not 10000 or above",
    ]
    low_group = _deployment(CONTAINER, securityContext={**CONTEXT, "fsGroup": 999})
    assert check_manifest(low_group) == ["spec.template.spec: fsGroup 999 is below 10000"]


def test_long_running_containers_need_both_probes_jobs_none() -> None:
    bare = {key: value for key, value in CONTAINER.items() if not key.endswith("Probe")}
    assert [p.rsplit(": ", 1)[1] for p in check_manifest(_deployment(bare))] == [
        "no readinessProbe",
        "no livenessProbe",
    ]
    job = _deployment(bare)
    job["kind"] = "Job"
    assert check_manifest(job) == []


def test_the_ray_head_keeps_its_token_under_a_service_account_of_its_own() -> None:
    no_account = _ray_pod(WRITABLE)
    [problem] = check_manifest(_rayservice(no_account, WORKER))
    assert problem.endswith("the Ray head needs a ServiceAccount of its own")
    opted_out = _ray_pod(
        WRITABLE, serviceAccountName="medinv-head", automountServiceAccountToken=False
    )
    [problem] = check_manifest(_rayservice(opted_out, WORKER))
    assert problem.endswith("the Ray head's autoscaler needs its token mounted")
    [problem] = check_manifest(_rayservice(HEAD, _ray_pod(WRITABLE)))
    assert problem.startswith("spec.rayClusterConfig.workerGroupSpecs[0].template.spec: ")
    assert "automountServiceAccountToken is not false" in problem


def test_ray_containers_need_writable_emptydirs_for_what_ray_writes() -> None:
    worker = _ray_pod(["/tmp/ray"], automountServiceAccountToken=False)
    assert [p.rsplit(": ", 1)[1] for p in check_manifest(_rayservice(HEAD, worker))] == [
        "no writable emptyDir at /tmp",
        f"no writable emptyDir at {RAY_HOME}",
    ]
    read_only = copy.deepcopy(WORKER)
    read_only["template"]["spec"]["containers"][0]["volumeMounts"][0]["readOnly"] = True
    [problem] = check_manifest(_rayservice(HEAD, read_only))
    assert problem.endswith("no writable emptyDir at /tmp")


def test_the_autoscaler_sidecar_needs_a_read_only_root() -> None:
    rayservice = _rayservice(HEAD, WORKER)
    rayservice["spec"]["rayClusterConfig"]["autoscalerOptions"] = {}
    [problem] = check_manifest(rayservice)
    assert problem == (
        "spec.rayClusterConfig.autoscalerOptions.securityContext: "
        "readOnlyRootFilesystem is not true"
    )


def test_roles_grant_no_more_than_the_autoscaler_needs() -> None:
    rbac = yaml.safe_load_all((REPO_ROOT / "kuberay/base/autoscaler-rbac.yaml").read_text())
    [role] = [doc for doc in rbac if doc["kind"] == "Role"]
    assert check_manifest(role) == []
    wider = copy.deepcopy(role)
    wider["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "*"]})
    [problem] = check_manifest(wider)
    assert problem == (
        "rules[3]: grants more than KubeRay's autoscaler needs: * core/secrets, get core/secrets"
    )
    assert check_manifest({**role, "kind": "ClusterRole"}) == [
        "a ClusterRole: nothing here needs cluster-wide access"
    ]


def test_a_ray_worker_with_a_writable_root_fails_validation(repo_copy: Path) -> None:
    path = repo_copy / "kuberay/base/rayservice.yaml"
    text = path.read_text()
    marker = "                securityContext:   # read-only root: the head's emptyDirs\n"
    assert marker in text
    before, after = text.split(marker)
    after = after.replace("                  readOnlyRootFilesystem: true\n", "", 1)
    path.write_text(before + marker + after)
    report = validate_environment(environment(repo_copy / "kuberay", "staging"), KUBERAY_CRDS)
    assert report.problems == [
        "RayService/medinv: spec.rayClusterConfig.workerGroupSpecs[1].template.spec"
        ".containers[ray-worker]: readOnlyRootFilesystem is not true"
    ]
