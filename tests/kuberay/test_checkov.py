"""checkov 3.3.30 on the rendered production overlay, the RayService's pods included: no check
fails, and every skip is one of those listed here, each with its reason beside it in the
manifests (`checkov.io/skipN` annotations). `make test` installs checkov first
(`make install-checkov`, .venv-checkov/)."""

import copy
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from medinv_tools.kuberay import checkov_scan, kustomize
from medinv_tools.kuberay.checkov_scan import Finding, Scan, parse_report, ray_pods
from medinv_tools.paths import KUBERAY_DIR, REPO_ROOT

PRODUCTION = KUBERAY_DIR / "overlays" / "production"
NS = "medical-inventory"
# (check, resource) of every skip; the reasons are in the manifests.
EXPECTED_SKIPS = {
    # KubeRay injects the Ray containers' probes (kuberay/base/rayservice.yaml).
    *(
        (check, f"Pod.{NS}.medinv-{pod}")
        for check in ("CKV_K8S_8", "CKV_K8S_9")
        for pod in ("head", "cpu-worker", "gpu-worker")
    ),
    # The autoscaler sidecar talks to the Kubernetes API.
    ("CKV_K8S_38", f"Pod.{NS}.medinv-head"),
    # The app reads its database URL and Redis password from the environment only.
    ("CKV_K8S_35", f"Pod.{NS}.medinv-cpu-worker"),
    ("CKV_K8S_35", f"Job.{NS}.inventory-migrate"),
}


def _checkov() -> Path:
    path = checkov_scan.checkov_path()
    if not path.exists():
        pytest.skip(f"no checkov at {path}: make install-checkov")
    return path


@cache
def production_scan() -> Scan:
    return checkov_scan.scan(kustomize.render(PRODUCTION), _checkov())


def test_production_fails_no_check() -> None:
    found = production_scan()
    assert found.parsing_errors == 0
    assert found.failed == []
    # About 460: the Ray pods, Redis, the migration Job. PostgreSQL is a CloudNativePG Cluster,
    # which checkov does not know (the operator makes its pods, restricted by default).
    assert found.passed > 400, "the Ray pods and every workload were scanned"


def test_every_skip_is_listed_and_has_its_reason() -> None:
    skipped = production_scan().skipped
    assert {(f.check_id, f.resource) for f in skipped} == EXPECTED_SKIPS
    assert all(len(f.reason) > 20 for f in skipped), skipped


def test_the_ray_pods_are_scanned(repo_copy: Path) -> None:
    """A Ray worker with a writable root filesystem: checkov sees it on the Pod it is given."""
    path = repo_copy / "kuberay/base/rayservice.yaml"
    marker = "                securityContext:   # read-only root: the head's emptyDirs\n"
    before, after = path.read_text().split(marker)
    after = after.replace("                  readOnlyRootFilesystem: true\n", "", 1)
    path.write_text(before + marker + after)
    found = checkov_scan.scan(
        kustomize.render(repo_copy / "kuberay/overlays/production"), _checkov()
    )
    assert found.failed == [Finding("CKV_K8S_22", f"Pod.{NS}.medinv-gpu-worker")]


def _rayservice() -> dict[str, Any]:
    [rayservice] = [m for m in kustomize.render(PRODUCTION) if m["kind"] == "RayService"]
    return rayservice


def test_ray_pods_are_the_templates_and_the_autoscaler_sidecar() -> None:
    rayservice = _rayservice()
    cluster = rayservice["spec"]["rayClusterConfig"]
    head, cpu, gpu = ray_pods(rayservice)
    assert [p["metadata"]["name"] for p in (head, cpu, gpu)] == [
        "medinv-head",
        "medinv-cpu-worker",
        "medinv-gpu-worker",
    ]
    assert all(p["kind"] == "Pod" and p["metadata"]["namespace"] == NS for p in (head, cpu, gpu))
    assert cpu["spec"] == cluster["workerGroupSpecs"][0]["template"]["spec"]
    ray, sidecar = head["spec"]["containers"]
    assert sidecar["name"] == "autoscaler"
    assert sidecar["image"] == ray["image"]
    assert sidecar["securityContext"] == cluster["autoscalerOptions"]["securityContext"]
    assert {m["mountPath"] for m in sidecar["volumeMounts"]} >= {"/tmp/ray"}
    # The RayService itself is left as it was.
    assert len(cluster["headGroupSpec"]["template"]["spec"]["containers"]) == 1


def test_without_in_tree_autoscaling_the_head_has_no_sidecar() -> None:
    rayservice = copy.deepcopy(_rayservice())
    rayservice["spec"]["rayClusterConfig"]["enableInTreeAutoscaling"] = False
    head = ray_pods(rayservice)[0]
    assert [c["name"] for c in head["spec"]["containers"]] == ["ray-head"]


def test_reports_of_one_or_several_frameworks_parse() -> None:
    skipped = {
        "check_id": "CKV_K8S_8",
        "resource": "Pod.ns.p",
        "check_result": {"result": "SKIPPED", "suppress_comment": "why"},
    }
    one = {
        "check_type": "kubernetes",
        "results": {
            "passed_checks": [{"check_id": "CKV_K8S_1", "resource": "Pod.ns.p"}],
            "failed_checks": [{"check_id": "CKV_K8S_22", "resource": "Pod.ns.p"}],
            "skipped_checks": [skipped],
        },
        "summary": {"parsing_errors": 0, "resource_count": 1},
    }
    found = parse_report(one)
    assert (found.passed, found.failed, found.skipped) == (
        1,
        [Finding("CKV_K8S_22", "Pod.ns.p")],
        [Finding("CKV_K8S_8", "Pod.ns.p", "why")],
    )
    empty = {"check_type": "kubernetes", "results": {}, "summary": {"parsing_errors": 1}}
    assert parse_report([one, empty]).passed == 1


def test_a_missing_checkov_is_an_error_that_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(checkov_scan.CheckovError, match="make install-checkov"):
        checkov_scan.scan([], tmp_path / "checkov")


def test_the_config_skips_no_check_for_the_whole_render() -> None:
    import yaml

    config = yaml.safe_load((REPO_ROOT / "kuberay" / ".checkov.yaml").read_text())
    assert "skip-check" not in config
    assert config["framework"] == ["kubernetes"]


def test_the_command_exits_0_on_production_and_2_without_checkov(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from serve_app.cli import main

    assert main(["kuberay-checkov", "--checkov", str(tmp_path / "none")]) == 2
    assert "make install-checkov" in capsys.readouterr().err
    assert main(["kuberay-checkov", "prod"]) == 2
    assert main(["kuberay-checkov", "production", "--checkov", str(_checkov())]) == 0
    out = capsys.readouterr().out
    assert "production: checkov" in out and "failed 0, skipped 9" in out
