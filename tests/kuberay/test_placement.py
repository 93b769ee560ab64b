from typing import Any

import pytest

from medinv_tools.kuberay.placement import check_placement
from medinv_tools.kuberay.quantities import parse_quantity


@pytest.mark.parametrize(
    ("text", "value"), [("500m", 0.5), ("4", 4.0), ("8Gi", 8 * 2.0**30), ("1.5", 1.5), (2, 2.0)]
)
def test_quantities(text: str | int, value: float) -> None:
    assert parse_quantity(text) == value


def test_a_bad_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="quantity"):
        parse_quantity("4 cores")


def _group(name: str, cpu: str, gpus: int, max_replicas: int) -> dict[str, Any]:
    limits: dict[str, str] = {"cpu": cpu, "memory": "8Gi"}
    if gpus:
        limits["nvidia.com/gpu"] = str(gpus)
    container = {"name": "ray-worker", "resources": {"limits": limits}}
    return {
        "groupName": name,
        "maxReplicas": max_replicas,
        "labels": {"pool": name},
        "template": {"spec": {"containers": [container]}},
    }


def _rayservice(*groups: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"rayClusterConfig": {"workerGroupSpecs": list(groups)}}}


def _serve(
    detector_gpus: float, detector_max: int = 1, cpu_selector: str | None = "cpu"
) -> dict[str, Any]:
    def deployment(name: str, cpus: float, gpus: float = 0, most: int = 2) -> dict[str, Any]:
        options: dict[str, Any] = {"num_cpus": cpus, "num_gpus": gpus}
        if gpus == 0 and cpu_selector is not None:
            options["label_selector"] = {"pool": cpu_selector}
        return {
            "name": name,
            "autoscaling_config": {"max_replicas": most},
            "ray_actor_options": options,
        }

    return {
        "applications": [
            {
                "name": "medinv",
                "deployments": [
                    deployment("Ingress", 0.25),
                    deployment("Preprocessor", 0.25),
                    deployment("Detector", 1.0, detector_gpus, detector_max),
                ],
            }
        ]
    }


CPU = _group("cpu", "4", 0, 2)
GPU = _group("gpu", "4", 1, 2)


def test_gpu_detector_on_a_cluster_with_a_gpu_group_fits() -> None:
    assert check_placement(_rayservice(CPU, GPU), _serve(detector_gpus=1)) == []


def test_gpu_detector_without_a_gpu_group_fits_nowhere() -> None:
    problems = check_placement(_rayservice(CPU), _serve(detector_gpus=1))
    assert any(
        p.startswith("Detector: a replica needs") and "fits no worker group" in p for p in problems
    )


def test_cpu_detector_next_to_a_gpu_group_could_land_on_cpu_nodes() -> None:
    [problem] = check_placement(_rayservice(CPU, GPU), _serve(detector_gpus=0))
    assert "would also fit CPU-only group(s) ['cpu']" in problem


def test_cpu_deployments_without_a_selector_could_take_gpu_pods() -> None:
    problems = check_placement(_rayservice(CPU, GPU), _serve(detector_gpus=1, cpu_selector=None))
    assert problems == [
        f"{name}: needs no GPU but fits GPU group(s) ['gpu']; give it a "
        "ray_actor_options.label_selector that only CPU groups' labels match"
        for name in ("Ingress", "Preprocessor")
    ]


@pytest.mark.parametrize("selector", ["cpu", "!gpu", "in(cpu,other)", "!in(gpu)"])
def test_label_selector_forms(selector: str) -> None:
    assert check_placement(_rayservice(CPU, GPU), _serve(1, cpu_selector=selector)) == []


def test_a_selector_no_group_matches_fits_nowhere() -> None:
    problems = check_placement(_rayservice(CPU, GPU), _serve(1, cpu_selector="arm"))
    assert [p.split(":")[0] for p in problems] == ["Ingress", "Preprocessor"]


def test_more_gpu_replicas_than_gpu_pods_is_reported() -> None:
    [problem] = check_placement(_rayservice(CPU, GPU), _serve(detector_gpus=1, detector_max=3))
    assert problem == (
        "every deployment at max_replicas needs 3 GPUs; the worker groups at maxReplicas offer 2"
    )


def test_replica_bigger_than_every_pod_is_reported() -> None:
    small = _group("cpu", "500m", 0, 10)
    problems = check_placement(_rayservice(small), _serve(detector_gpus=0))
    assert [p.split(":")[0] for p in problems] == ["Detector"]
