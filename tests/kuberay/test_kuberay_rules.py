from typing import Any

from medinv_tools.kuberay.kuberay_rules import check_rayservice


def _rayservice(**cluster: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "upgradeStrategy": {"type": "NewCluster"},
        "rayClusterConfig": {
            "rayVersion": "2.60.0",
            "headGroupSpec": {
                "rayStartParams": {"num-cpus": "0"},
                "template": {
                    "spec": {"containers": [{"name": "ray-head", "ports": [{"name": "serve"}]}]}
                },
            },
            "workerGroupSpecs": [{"groupName": "cpu", "minReplicas": 1, "maxReplicas": 2}],
            **cluster,
        },
    }
    return {"apiVersion": "ray.io/v1", "kind": "RayService", "spec": spec}


def test_a_sound_rayservice_passes() -> None:
    assert check_rayservice(_rayservice()) == []


def test_min_replicas_above_max_is_rejected() -> None:
    bad = _rayservice(workerGroupSpecs=[{"groupName": "cpu", "minReplicas": 3, "maxReplicas": 2}])
    assert check_rayservice(bad) == [
        "spec.rayClusterConfig.workerGroupSpecs[0]: minReplicas 3 is greater than maxReplicas 2"
    ]


def test_unknown_upgrade_strategy_is_rejected() -> None:
    bad = _rayservice()
    bad["spec"]["upgradeStrategy"]["type"] = "BlueGreen"
    [problem] = check_rayservice(bad)
    assert problem.startswith("spec.upgradeStrategy.type: 'BlueGreen' is not one of")


def test_ray_version_must_match_the_image() -> None:
    [problem] = check_rayservice(_rayservice(rayVersion="2.59.0"))
    assert "rayVersion" in problem


def test_num_cpus_in_start_params_clashes_with_group_resources() -> None:
    group = {
        "groupName": "cpu",
        "minReplicas": 1,
        "maxReplicas": 2,
        "rayStartParams": {"num-cpus": "2"},
        "resources": {"CPU": "2"},
    }
    [problem] = check_rayservice(_rayservice(workerGroupSpecs=[group]))
    assert "conflict with the group's resources" in problem


def test_head_ports_need_one_named_serve() -> None:
    bad = _rayservice()
    bad["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0][
        "ports"
    ] = [{"name": "dashboard"}]
    [problem] = check_rayservice(bad)
    assert "none is named 'serve'" in problem


def test_gcs_fault_tolerance_needs_an_address_and_no_legacy_env() -> None:
    bad = _rayservice(gcsFaultToleranceOptions={})
    bad["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "RAY_REDIS_ADDRESS", "value": "redis:6379"}
    ]
    problems = check_rayservice(bad)
    assert len(problems) == 2
    assert "redisAddress: required" in problems[0]
    assert "RAY_REDIS_ADDRESS" in problems[1]


def test_labels_in_start_params_clash_with_group_labels() -> None:
    group = {
        "groupName": "cpu",
        "minReplicas": 1,
        "maxReplicas": 2,
        "rayStartParams": {"labels": "pool=cpu"},
        "labels": {"pool": "cpu"},
    }
    [problem] = check_rayservice(_rayservice(workerGroupSpecs=[group]))
    assert "rayStartParams labels conflict with the group's labels" in problem
