"""Node drains and zones: every PodDisruptionBudget lets a pod go, every workload has one, and
production spreads the worker groups, PostgreSQL and Redis over zones, then hosts, with every
image pinned by digest."""

from pathlib import Path

import pytest

from medinv_tools.kuberay import kustomize
from medinv_tools.kuberay.disruption import (
    check_environment,
    evictions_allowed,
    selects,
    workloads,
)
from medinv_tools.kuberay.environments import environment
from medinv_tools.kuberay.validate import validate_environment
from medinv_tools.paths import KUBERAY_CRDS, REPO_ROOT

PRODUCTION = REPO_ROOT / "kuberay" / "overlays" / "production"


def _budget(**spec: object) -> dict[str, object]:
    return {"kind": "PodDisruptionBudget", "spec": spec}


@pytest.mark.parametrize(
    ("spec", "replicas", "allowed"),
    [
        ({"maxUnavailable": 1}, 1, 1),
        ({"maxUnavailable": 0}, 3, 0),
        ({"maxUnavailable": "10%"}, 1, 1),  # rounded up
        ({"minAvailable": 1}, 1, 0),  # minAvailable equal to the replicas blocks every drain
        ({"minAvailable": 1}, 2, 1),
        ({"minAvailable": "50%"}, 1, 0),
        ({"minAvailable": "50%"}, 4, 2),
    ],
)
def test_evictions_allowed_rounds_like_the_api_server(
    spec: dict[str, object], replicas: int, allowed: int
) -> None:
    assert evictions_allowed(_budget(**spec), replicas) == allowed


def test_selectors_match_labels_and_expressions() -> None:
    labels = {"app.kubernetes.io/name": "redis", "tier": "data"}
    assert selects({"matchLabels": {"tier": "data"}}, labels)
    assert not selects({"matchLabels": {"tier": "web"}}, labels)
    values = ["postgres", "redis"]
    assert selects(
        {
            "matchExpressions": [
                {"key": "app.kubernetes.io/name", "operator": "In", "values": values}
            ]
        },
        labels,
    )
    assert not selects({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, labels)
    assert not selects({}, labels), "an empty selector is taken to select nothing"


def test_production_covers_and_spreads_every_workload() -> None:
    manifests = kustomize.render(PRODUCTION)
    names = {w.name for w in workloads(manifests)}
    assert names == {
        "RayService/medinv head",
        "RayService/medinv worker group cpu",
        "RayService/medinv worker group gpu",
        "Cluster/medinv-db",
        "StatefulSet/redis",  # three pods with Sentinels (components/redis-sentinel)
    }
    assert check_environment(manifests, production=True) == []


def _production_problems(root: Path) -> list[str]:
    env = environment(root / "kuberay", "production")
    return validate_environment(env, KUBERAY_CRDS).problems


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_a_production_without_spread_constraints_fails(repo_copy: Path) -> None:
    kustomization = repo_copy / "kuberay/overlays/production/kustomization.yaml"
    text = kustomization.read_text()
    start = text.index("      - op: add\n        path: /spec/rayClusterConfig/workerGroupSpecs/0")
    end = text.index("      - op: add\n        path: /spec/rayClusterConfig/workerGroupSpecs/1")
    kustomization.write_text(text[:start] + text[end:])
    assert _production_problems(repo_copy) == [
        "RayService/medinv worker group cpu: topologySpreadConstraints over [], not "
        "['topology.kubernetes.io/zone', 'kubernetes.io/hostname'] (zone first, then host)"
    ]


def test_spread_constraints_must_select_their_own_pods(repo_copy: Path) -> None:
    kustomization = repo_copy / "kuberay/overlays/production/kustomization.yaml"
    _edit(
        kustomization,
        "matchLabels: {ray.io/node-type: worker, ray.io/group: gpu}",
        "matchLabels: {ray.io/node-type: worker, ray.io/group: cpu}",
    )
    assert _production_problems(repo_copy) == [
        "RayService/medinv worker group gpu: the topology.kubernetes.io/zone spread constraint's "
        "labelSelector does not select its own pods"
    ]


def test_a_budget_that_blocks_drains_fails_where_it_is(repo_copy: Path) -> None:
    _edit(
        repo_copy / "kuberay/base/pdb.yaml",
        "  name: postgres\nspec:\n  maxUnavailable: 1",
        "  name: postgres\nspec:\n  minAvailable: 1",
    )
    expected = (
        "PodDisruptionBudget/postgres: allows no eviction of StatefulSet/postgres at 1 "
        "replica(s): a node drain would block on it"
    )
    staging = validate_environment(environment(repo_copy / "kuberay", "staging"), KUBERAY_CRDS)
    assert staging.problems == [expected]
    # Production has no single PostgreSQL pod nor its budget: the Cluster's operator has its own.
    assert _production_problems(repo_copy) == []


def test_a_workload_without_a_budget_fails(repo_copy: Path) -> None:
    _edit(
        repo_copy / "kuberay/base/pdb.yaml",
        "matchLabels: {ray.io/group: gpu}",
        "matchLabels: {ray.io/group: gpus}",
    )
    assert _production_problems(repo_copy) == [
        "RayService/medinv worker group gpu: no PodDisruptionBudget selects its pods"
    ]


def test_a_production_image_without_a_digest_fails(repo_copy: Path) -> None:
    kustomization = repo_copy / "kuberay/overlays/production/kustomization.yaml"
    _edit(
        kustomization,
        '  - name: redis:7.4\n    newTag: "7.4"\n'
        "    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
        "",
    )
    assert _production_problems(repo_copy) == [
        f"StatefulSet/redis: spec.template.spec.containers[{container}]: image redis:7.4 is not "
        "referenced by digest (@sha256:...)"
        for container in ("redis", "sentinel")
    ]
