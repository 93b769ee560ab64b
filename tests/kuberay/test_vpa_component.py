"""components/vpa: recommendation-only VPAs for PostgreSQL and Redis, validated like the rest
once an overlay includes the component."""

from pathlib import Path

from medinv_tools.kuberay import kustomize
from medinv_tools.kuberay.environments import environment
from medinv_tools.kuberay.validate import validate_environment
from medinv_tools.kuberay.vpa_kinds import check_manifest, check_targets
from medinv_tools.paths import KUBERAY_CRDS, REPO_ROOT

COMPONENT = "  - ../../components/monitoring   # PodMonitors, PrometheusRule, Grafana dashboards\n"


def _with_vpa(root: Path) -> Path:
    kustomization = root / "kuberay/overlays/production/kustomization.yaml"
    text = kustomization.read_text()
    assert COMPONENT in text
    kustomization.write_text(text.replace(COMPONENT, COMPONENT + "  - ../../components/vpa\n"))
    return root


def _problems(root: Path) -> list[str]:
    return validate_environment(environment(root / "kuberay", "production"), KUBERAY_CRDS).problems


def test_no_overlay_includes_the_component_by_default() -> None:
    for name in ("development", "staging", "production"):
        text = (REPO_ROOT / "kuberay/overlays" / name / "kustomization.yaml").read_text()
        assert "components/vpa" not in text


def test_production_with_the_component_passes_and_has_both_vpas(repo_copy: Path) -> None:
    root = _with_vpa(repo_copy)
    assert _problems(root) == []
    rendered = kustomize.render(root / "kuberay/overlays/production")
    vpas = {m["metadata"]["name"]: m for m in rendered if m["kind"] == "VerticalPodAutoscaler"}
    assert sorted(vpas) == ["postgres", "redis"]
    assert vpas["redis"]["spec"]["targetRef"]["kind"] == "StatefulSet", "three Sentinel pods"
    # Production's PostgreSQL is the CloudNativePG Cluster: the recommendation follows it.
    assert vpas["postgres"]["spec"]["targetRef"] == {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "name": "medinv-db",
    }
    assert all(v["spec"]["updatePolicy"]["updateMode"] == "Off" for v in vpas.values())
    assert all(v["metadata"]["namespace"] == "medical-inventory" for v in vpas.values())


def test_a_vpa_that_would_evict_pods_is_refused(repo_copy: Path) -> None:
    root = _with_vpa(repo_copy)
    vpa = root / "kuberay/components/vpa/vpa.yaml"
    vpa.write_text(vpa.read_text().replace('updateMode: "Off"', "updateMode: Recreate", 1))
    assert _problems(root) == [
        "VerticalPodAutoscaler/postgres: spec.updatePolicy.updateMode: 'Recreate', not 'Off' "
        "(recommendations only)"
    ]


def test_a_misspelled_field_and_a_missing_target_are_refused(repo_copy: Path) -> None:
    root = _with_vpa(repo_copy)
    vpa = root / "kuberay/components/vpa/vpa.yaml"
    vpa.write_text(vpa.read_text().replace("controlledResources:", "controlledResource:", 1))
    # Production points the PostgreSQL one at the Cluster (the Redis one, through the
    # redis-sentinel component, at its StatefulSet): misname the Cluster there.
    overlay = root / "kuberay/overlays/production/kustomization.yaml"
    text = overlay.read_text()
    assert "kind: Cluster, name: medinv-db}" in text
    overlay.write_text(
        text.replace("kind: Cluster, name: medinv-db}", "kind: Cluster, name: medinv-dbx}")
    )
    problems = _problems(root)
    assert len(problems) == 2
    assert problems[0].startswith("VerticalPodAutoscaler/postgres: spec.resourcePolicy")
    assert "controlledResource" in problems[0]
    assert problems[1] == (
        "VerticalPodAutoscaler/postgres: targetRef Cluster/medinv-dbx is not a "
        "DaemonSet/Deployment/StatefulSet (or CloudNativePG Cluster) of this environment"
    )


def test_container_names_must_exist_in_the_target() -> None:
    statefulset = {
        "kind": "StatefulSet",
        "metadata": {"name": "postgres"},
        "spec": {"template": {"spec": {"containers": [{"name": "postgres"}]}}},
    }
    vpa = {
        "apiVersion": "autoscaling.k8s.io/v1",
        "kind": "VerticalPodAutoscaler",
        "metadata": {"name": "postgres", "namespace": "medical-inventory"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "postgres"},
            "updatePolicy": {"updateMode": "Off"},
            "resourcePolicy": {"containerPolicies": [{"containerName": "pg"}]},
        },
    }
    assert check_manifest(vpa) == []
    assert check_targets([statefulset, vpa]) == [
        "VerticalPodAutoscaler/postgres: containerName 'pg' is no container of StatefulSet/postgres"
    ]
