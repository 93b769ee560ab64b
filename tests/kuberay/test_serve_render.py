from pathlib import Path
from typing import Any

import pytest
import yaml

from medinv_tools.kuberay.environments import all_environments, environment
from medinv_tools.kuberay.serve_render import deep_merge, serve_config_for, stale_patches
from medinv_tools.paths import REPO_ROOT

SERVE_CONFIG = REPO_ROOT / "configs" / "serve_config.yaml"


def test_mappings_merge_deeply_and_scalars_are_replaced() -> None:
    base: dict[str, Any] = {
        "http_options": {"host": "127.0.0.1", "port": 8000},
        "proxy_location": "EveryNode",
    }
    merged = deep_merge(base, {"http_options": {"host": "0.0.0.0"}})
    assert merged == {
        "http_options": {"host": "0.0.0.0", "port": 8000},
        "proxy_location": "EveryNode",
    }
    assert base["http_options"]["host"] == "127.0.0.1"


def test_deployments_merge_by_name_and_new_names_are_appended() -> None:
    base = {"deployments": [{"name": "A", "x": 1, "y": 1}, {"name": "B", "x": 2}]}
    override = {"deployments": [{"name": "B", "x": 3}, {"name": "C"}]}
    assert deep_merge(base, override) == {
        "deployments": [{"name": "A", "x": 1, "y": 1}, {"name": "B", "x": 3}, {"name": "C"}]
    }


def test_an_override_deployment_without_a_name_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a 'name'"):
        deep_merge({"deployments": [{"name": "A"}]}, {"deployments": [{"x": 1}]})


def test_other_lists_are_replaced() -> None:
    assert deep_merge({"tags": [1, 2]}, {"tags": [3]}) == {"tags": [3]}


def _deployment(config: dict[str, Any], name: str) -> dict[str, Any]:
    app = config["applications"][0]
    return next(d for d in app["deployments"] if d["name"] == name)


def test_production_detector_gets_a_gpu_and_the_guide_bounds() -> None:
    config = serve_config_for(environment(REPO_ROOT / "kuberay", "production"), SERVE_CONFIG)
    detector = _deployment(config, "Detector")
    assert detector["ray_actor_options"] == {"num_cpus": 1.0, "num_gpus": 1}
    assert detector["autoscaling_config"]["min_replicas"] == 1
    assert detector["autoscaling_config"]["max_replicas"] == 4
    ingress = _deployment(config, "Ingress")["autoscaling_config"]
    assert (ingress["min_replicas"], ingress["max_replicas"]) == (2, 20)
    assert config["http_options"]["host"] == "0.0.0.0"
    assert config["applications"][0]["args"]["detector"]["forward_workers"] == 1


def test_development_detector_runs_on_cpu_with_debug_logging() -> None:
    config = serve_config_for(environment(REPO_ROOT / "kuberay", "development"), SERVE_CONFIG)
    assert _deployment(config, "Detector")["ray_actor_options"]["num_gpus"] == 0
    assert config["logging_config"]["log_level"] == "DEBUG"


def test_committed_serve_configs_are_what_the_command_generates() -> None:
    kuberay = REPO_ROOT / "kuberay"
    assert stale_patches(all_environments(kuberay), SERVE_CONFIG, kuberay, write=False) == []


def test_an_edited_override_makes_check_fail_until_rendered(repo_copy: Path) -> None:
    from serve_app.cli import main

    kuberay, config = repo_copy / "kuberay", repo_copy / "configs" / "serve_config.yaml"
    args = ["--kuberay-dir", str(kuberay), "--serve-config", str(config)]
    assert main(["kuberay-render", "--check", *args]) == 0
    overrides = kuberay / "overlays" / "staging" / "serve-overrides.yaml"
    data = yaml.safe_load(overrides.read_text())
    data["applications"][0]["deployments"][0]["autoscaling_config"]["max_replicas"] = 5
    overrides.write_text(yaml.safe_dump(data))

    assert main(["kuberay-render", "--check", *args]) == 1
    assert main(["kuberay-render", *args]) == 0
    assert main(["kuberay-render", "--check", *args]) == 0
    patch = yaml.safe_load(
        (kuberay / "overlays" / "staging" / "rayservice-serve-config.yaml").read_text()
    )
    rendered = yaml.safe_load(patch["spec"]["serveConfigV2"])
    assert _deployment(rendered, "Ingress")["autoscaling_config"]["max_replicas"] == 5
