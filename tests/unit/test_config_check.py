"""medinv_tools.config_check: strict checks of configs/serve_config.yaml and variants of it."""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from medinv_tools.config_check import check_serve_config, load_and_check

CONFIG_PATH = Path(__file__).resolve().parents[2] / "configs" / "serve_config.yaml"
APP = "applications[0]"


@pytest.fixture(scope="module")
def shipped_config() -> dict[str, Any]:
    config = yaml.safe_load(CONFIG_PATH.read_text())
    assert isinstance(config, dict)
    return config


@pytest.fixture
def config(shipped_config: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of the shipped config, free to mutate."""
    return copy.deepcopy(shipped_config)


def deployment(config: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [d for d in config["applications"][0]["deployments"] if d["name"] == name]
    return found


def deployment_index(config: dict[str, Any], name: str) -> int:
    names = [d["name"] for d in config["applications"][0]["deployments"]]
    return names.index(name)


def rename_key(mapping: dict[str, Any], old: str, new: str) -> None:
    assert old in mapping, f"the shipped config no longer sets {old!r}"
    mapping[new] = mapping.pop(old)


def test_shipped_config_has_no_problems() -> None:
    assert load_and_check(CONFIG_PATH) == []


def test_shipped_config_has_the_expected_deployments(config: dict[str, Any]) -> None:
    names = {d["name"] for d in config["applications"][0]["deployments"]}
    assert names == {"Ingress", "Preprocessor", "Detector", "CameraPoller"}


@pytest.mark.parametrize(
    ("section", "old", "new", "where"),
    [
        (lambda c: c, "proxy_location", "proxy_locaton", ""),
        (lambda c: c["http_options"], "keep_alive_timeout_s", "keep_alive_timeout", "http_options"),
        (lambda c: c["applications"][0], "route_prefix", "route_prefx", APP),
        (lambda c: c["logging_config"], "log_level", "log_levl", "logging_config"),
    ],
    ids=["top-level", "http_options", "application", "logging_config"],
)
def test_misspelled_key_outside_deployments_is_reported(
    config: dict[str, Any], section: Any, old: str, new: str, where: str
) -> None:
    rename_key(section(config), old, new)

    problems = check_serve_config(config)

    location = f"{where}.{new}" if where else new
    assert any(p.startswith(f"{location}: unknown key") for p in problems), problems


@pytest.mark.parametrize("name", ["Ingress", "Preprocessor", "Detector"])
def test_misspelled_deployment_key_is_reported_for_each_deployment(
    config: dict[str, Any], name: str
) -> None:
    rename_key(deployment(config, name), "max_ongoing_requests", "max_ongoing_request")

    problems = check_serve_config(config)

    index = deployment_index(config, name)
    location = f"{APP}.deployments[{index}].max_ongoing_request"
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{location}: unknown key")
    assert "max_ongoing_requests" in problems[0]  # lists the known keys


@pytest.mark.parametrize("name", ["Ingress", "Preprocessor", "Detector"])
def test_misspelled_ray_actor_options_key_is_reported(config: dict[str, Any], name: str) -> None:
    rename_key(deployment(config, name)["ray_actor_options"], "num_cpus", "num_cpu")

    problems = check_serve_config(config)

    index = deployment_index(config, name)
    location = f"{APP}.deployments[{index}].ray_actor_options.num_cpu"
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{location}: unknown key")


@pytest.mark.parametrize("name", ["Ingress", "Preprocessor", "Detector"])
def test_misspelled_autoscaling_config_key_is_reported(config: dict[str, Any], name: str) -> None:
    autoscaling = deployment(config, name)["autoscaling_config"]
    rename_key(autoscaling, "target_ongoing_requests", "target_ongoing_request")

    problems = check_serve_config(config)

    index = deployment_index(config, name)
    location = f"{APP}.deployments[{index}].autoscaling_config.target_ongoing_request"
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{location}: unknown key")


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        (("ingress",), "request_timeout_s", "request_timeout"),
        (("ingress", "limits"), "max_pixels", "max_pixel"),
        (("ingress", "stream"), "max_pending_frames", "max_pending"),
        (("detector",), "forward_threads", "forward_thread"),
    ],
)
def test_unknown_args_key_is_reported(
    config: dict[str, Any], path: tuple[str, ...], old: str, new: str
) -> None:
    section = config["applications"][0]["args"]
    for key in path:
        section = section[key]
    rename_key(section, old, new)

    problems = check_serve_config(config)

    location = ".".join((f"{APP}.args", *path, new))
    assert problems == [f"{location}: Extra inputs are not permitted"]


def test_unknown_top_level_args_section_is_reported(config: dict[str, Any]) -> None:
    config["applications"][0]["args"]["preprocessor"] = {"workers": 2}

    problems = check_serve_config(config)

    assert problems == [f"{APP}.args.preprocessor: Extra inputs are not permitted"]


def test_out_of_range_args_value_is_reported(config: dict[str, Any]) -> None:
    config["applications"][0]["args"]["ingress"]["stream"]["max_in_flight_frames"] = 0

    problems = check_serve_config(config)

    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{APP}.args.ingress.stream.max_in_flight_frames: ")
    assert "greater than or equal to 1" in problems[0]


def test_unknown_detector_user_config_key_is_reported(config: dict[str, Any]) -> None:
    rename_key(deployment(config, "Detector")["user_config"], "max_batch_size", "max_batch_sise")

    problems = check_serve_config(config)

    location = f"{APP}.deployments[Detector].user_config.max_batch_sise"
    assert problems == [f"{location}: Extra inputs are not permitted"]


@pytest.mark.parametrize("model", ["nocolon", ":1.0", "demo-ssdlite:", ""])
def test_bad_detector_model_reference_is_reported(config: dict[str, Any], model: str) -> None:
    deployment(config, "Detector")["user_config"]["model"] = model

    problems = check_serve_config(config)

    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{APP}.deployments[Detector].user_config.model: ")
    assert "name:version" in problems[0]


def test_out_of_range_detector_user_config_value_is_reported(config: dict[str, Any]) -> None:
    deployment(config, "Detector")["user_config"]["batch_wait_timeout_s"] = 5.0

    problems = check_serve_config(config)

    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{APP}.deployments[Detector].user_config.batch_wait_timeout_s")


@pytest.mark.parametrize("name", ["Ingress", "Preprocessor", "Detector"])
def test_misspelled_deployment_name_is_reported(config: dict[str, Any], name: str) -> None:
    deployment(config, name)["name"] = name + "x"

    problems = check_serve_config(config)

    assert f"{APP}.deployments: no deployment named '{name}x' in this app" in problems


def test_deployment_of_another_application_is_not_checked_against_this_app(
    config: dict[str, Any],
) -> None:
    other = copy.deepcopy(config["applications"][0])
    other.update(name="other", route_prefix="/other", import_path="other_pkg.app:build")
    other["deployments"] = [{"name": "SomethingElse", "num_replicas": 1}]
    other["args"] = {"anything": "goes"}
    config["applications"].append(other)

    assert check_serve_config(config) == []


def test_invalid_value_for_ray_schema_is_reported(config: dict[str, Any]) -> None:
    deployment(config, "Ingress")["max_ongoing_requests"] = "lots"

    problems = check_serve_config(config)

    assert any("max_ongoing_requests" in p for p in problems), problems


def test_several_problems_are_all_reported(config: dict[str, Any]) -> None:
    rename_key(config["http_options"], "port", "prot")
    rename_key(deployment(config, "Preprocessor"), "max_ongoing_requests", "max_ongoing")
    deployment(config, "Detector")["user_config"]["model"] = "nocolon"

    problems = check_serve_config(config)

    assert len(problems) == 3, problems


def test_load_and_check_reports_problems_in_a_file(config: dict[str, Any], tmp_path: Path) -> None:
    rename_key(deployment(config, "Detector")["ray_actor_options"], "num_cpus", "cpus")
    path = tmp_path / "serve_config.yaml"
    path.write_text(yaml.safe_dump(config))

    problems = load_and_check(path)

    assert len(problems) == 1, problems
    assert ".ray_actor_options.cpus: unknown key" in problems[0]


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n"])
def test_load_and_check_rejects_a_file_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    path = tmp_path / "serve_config.yaml"
    path.write_text(text)

    assert load_and_check(path) == [f"{path} does not hold a mapping"]


@pytest.mark.parametrize("name", ["Ingress", "Preprocessor", "Detector"])
@pytest.mark.parametrize("bound", [None, -1])
def test_an_unbounded_queue_is_reported(
    config: dict[str, Any], name: str, bound: int | None
) -> None:
    entry = deployment(config, name)
    entry.pop("max_queued_requests", None)
    if bound is not None:
        entry["max_queued_requests"] = bound

    assert check_serve_config(config) == [
        f"{APP}.deployments[{name}].max_queued_requests: set a bound (>= 1); "
        "unbounded queues hide overload"
    ]
