"""End to end: render each environment with kubectl kustomize and run every check; broken
copies of the committed tree must be rejected."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from medinv_tools.kuberay import kustomize
from medinv_tools.kuberay.environments import ENVIRONMENTS, environment
from medinv_tools.kuberay.validate import validate_environment
from medinv_tools.paths import KUBERAY_CRDS, REPO_ROOT
from serve_app.cli import main
from serve_app.core.settings import Settings

SCHEMAS = KUBERAY_CRDS


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_every_environment_passes_every_check(name: str) -> None:
    report = validate_environment(environment(REPO_ROOT / "kuberay", name), SCHEMAS)
    assert report.problems == []
    assert "RayService/medinv" in report.objects


def test_only_production_has_network_policies_and_only_development_lacks_a_gpu_group() -> None:
    def rendered(name: str) -> list[dict[str, Any]]:
        return kustomize.render(environment(REPO_ROOT / "kuberay", name).directory)

    def kinds(name: str) -> set[str]:
        return {manifest["kind"] for manifest in rendered(name)}

    def groups(name: str) -> list[str]:
        [rayservice] = [m for m in rendered(name) if m["kind"] == "RayService"]
        workers = rayservice["spec"]["rayClusterConfig"]["workerGroupSpecs"]
        return [group["groupName"] for group in workers]

    assert "NetworkPolicy" in kinds("production")
    assert "NetworkPolicy" not in kinds("staging")
    assert groups("development") == ["cpu"]
    assert groups("staging") == groups("production") == ["cpu", "gpu"]


def test_production_lets_the_ray_pods_reach_the_cameras_on_their_ports_and_nothing_more() -> None:
    policies = {
        m["metadata"]["name"]: m["spec"]
        for m in kustomize.render(environment(REPO_ROOT / "kuberay", "production").directory)
        if m["kind"] == "NetworkPolicy"
    }
    cameras = policies["ray-pods-to-cameras"]
    assert cameras["podSelector"] == policies["ray-pods"]["podSelector"]
    assert cameras["policyTypes"] == ["Egress"]
    [rule] = cameras["egress"]
    # Snapshots and MJPEG over HTTP(S), RTSP over TCP (serve_app/cameras/sources.py).
    assert sorted(p["port"] for p in rule["ports"]) == [80, 443, 554, 8080, 8554]
    assert {p["protocol"] for p in rule["ports"]} == {"TCP"}
    # A placeholder that admits nothing real until a site sets its camera network.
    assert rule["to"] == [{"ipBlock": {"cidr": "192.0.2.0/24"}}]


def _validate_copy(root: Path, name: str) -> list[str]:
    return validate_environment(environment(root / "kuberay", name), SCHEMAS).problems


def _args(root: Path) -> list[str]:
    return [
        "--kuberay-dir",
        str(root / "kuberay"),
        "--serve-config",
        str(root / "configs/serve_config.yaml"),
    ]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_a_misspelled_rayservice_field_is_rejected(repo_copy: Path) -> None:
    _edit(
        repo_copy / "kuberay/base/rayservice.yaml",
        "enableInTreeAutoscaling:",
        "enableInTreeAutoScaling:",
    )
    problems = _validate_copy(repo_copy, "base")
    assert len(problems) == 1
    assert "RayService/medinv: spec.rayClusterConfig: Additional properties" in problems[0]
    assert "enableInTreeAutoScaling" in problems[0]


def test_a_misspelled_field_in_a_core_object_is_rejected(repo_copy: Path) -> None:
    _edit(repo_copy / "kuberay/base/redis.yaml", "  replicas: 1", "  replica: 1")
    [problem] = _validate_copy(repo_copy, "base")
    assert problem.startswith("Deployment/redis: spec: Additional properties")


def test_min_replicas_above_max_is_rejected(repo_copy: Path) -> None:
    _edit(
        repo_copy / "kuberay/overlays/staging/kustomization.yaml",
        "workerGroupSpecs/0/maxReplicas, value: 2}",
        "workerGroupSpecs/0/maxReplicas, value: 0}",
    )
    problems = _validate_copy(repo_copy, "staging")
    assert any("minReplicas 1 is greater than maxReplicas 0" in p for p in problems)


def test_a_gpu_detector_in_an_overlay_without_a_gpu_group_is_rejected(repo_copy: Path) -> None:
    overrides = repo_copy / "kuberay/overlays/development/serve-overrides.yaml"
    _edit(overrides, "num_gpus: 0", "num_gpus: 1")
    args = [
        "--kuberay-dir",
        str(repo_copy / "kuberay"),
        "--serve-config",
        str(repo_copy / "configs/serve_config.yaml"),
    ]
    assert main(["kuberay-render", *args]) == 0
    problems = _validate_copy(repo_copy, "development")
    assert any(
        "placement: Detector: a replica needs" in p and "fits no worker group" in p
        for p in problems
    )
    assert main(["kuberay-validate", "development", *args]) == 1


def test_an_unknown_serve_config_key_is_rejected(repo_copy: Path) -> None:
    overrides = repo_copy / "kuberay/overlays/production/serve-overrides.yaml"
    _edit(overrides, "upscale_delay_s: 60", "upscale_delay: 60")
    assert (
        main(
            [
                "kuberay-render",
                "--kuberay-dir",
                str(repo_copy / "kuberay"),
                "--serve-config",
                str(repo_copy / "configs/serve_config.yaml"),
            ]
        )
        == 0
    )
    problems = _validate_copy(repo_copy, "production")
    assert any("serveConfigV2:" in p and "upscale_delay: unknown key" in p for p in problems)


def test_a_stale_generated_config_fails_validation(repo_copy: Path) -> None:
    overrides = repo_copy / "kuberay/base/serve-overrides.yaml"
    data = yaml.safe_load(overrides.read_text())
    data["http_options"]["port"] = 8001
    overrides.write_text(yaml.safe_dump(data))
    args = [
        "--kuberay-dir",
        str(repo_copy / "kuberay"),
        "--serve-config",
        str(repo_copy / "configs/serve_config.yaml"),
    ]
    assert main(["kuberay-validate", "base", *args]) == 1


def test_a_schema_directory_can_be_chosen(repo_copy: Path, tmp_path: Path) -> None:
    args = [
        "--kuberay-dir",
        str(repo_copy / "kuberay"),
        "--serve-config",
        str(repo_copy / "configs/serve_config.yaml"),
    ]
    assert main(["kuberay-validate", "base", "--schemas", str(SCHEMAS), *args]) == 0
    assert main(["kuberay-validate", "base", "--schemas", str(tmp_path / "none"), *args]) == 2


def test_an_unknown_environment_is_refused() -> None:
    assert main(["kuberay-validate", "prod"]) == 2


def test_a_container_that_keeps_its_capabilities_is_rejected(repo_copy: Path) -> None:
    _edit(
        repo_copy / "kuberay/base/postgres-backup.yaml",
        "                capabilities: {drop: [ALL]}\n",
        "",
    )
    [problem] = _validate_copy(repo_copy, "staging")  # production backs up through CloudNativePG
    assert problem == (
        "CronJob/postgres-backup: spec.jobTemplate.spec.template.spec.containers[pg-dump]: "
        "capabilities do not drop ALL"
    )


def test_a_dropped_label_selector_lets_cpu_work_onto_gpu_pods(repo_copy: Path) -> None:
    overrides = repo_copy / "kuberay/base/serve-overrides.yaml"
    data = yaml.safe_load(overrides.read_text())
    ingress = data["applications"][0]["deployments"][0]
    assert ingress["name"] == "Ingress"
    del ingress["ray_actor_options"]
    overrides.write_text(yaml.safe_dump(data))
    assert main(["kuberay-render", *_args(repo_copy)]) == 0
    assert _validate_copy(repo_copy, "production") == [
        "RayService/medinv: placement: Ingress: needs no GPU but fits GPU group(s) ['gpu']; give "
        "it a ray_actor_options.label_selector that only CPU groups' labels match"
    ]


def test_the_secret_template_added_to_a_kustomization_is_rejected(repo_copy: Path) -> None:
    _edit(
        repo_copy / "kuberay/base/kustomization.yaml",
        "  - pdb.yaml\n",
        "  - pdb.yaml\n  - postgres-credentials.template.yaml\n",
    )
    [problem] = _validate_copy(repo_copy, "staging")
    assert problem == (
        "Secret/postgres-credentials: Secrets are created out of band, not shipped in a "
        "kustomization"
    )


def test_the_schema_directory_setting_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MEDINV_KUBERAY_SCHEMAS", str(tmp_path / "elsewhere"))
    assert main(["kuberay-validate", "base"]) == 2


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_every_environment_requires_api_keys_and_shares_redis_and_its_spool(name: str) -> None:
    rendered = kustomize.render(environment(REPO_ROOT / "kuberay", name).directory)
    [rayservice] = [m for m in rendered if m["kind"] == "RayService"]
    [cpu] = [
        group
        for group in rayservice["spec"]["rayClusterConfig"]["workerGroupSpecs"]
        if group["groupName"] == "cpu"
    ]
    env = {e["name"]: e for e in cpu["template"]["spec"]["containers"][0]["env"]}

    assert env["MEDINV_AUTH_REQUIRED"]["value"] == "true"
    if name == "production":  # Redis with Sentinel (tests/kuberay/test_redis_sentinel.py)
        assert "MEDINV_REDIS_URL" not in env and "MEDINV_REDIS_SENTINELS" in env
    else:
        assert env["MEDINV_REDIS_URL"]["value"].startswith("redis://redis:6379/")
    assert env["MEDINV_REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "redis-credentials"
    assert env["MEDINV_SPOOL_STORE"]["value"] == "redis"  # a pod's emptyDir goes with the pod


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_every_environment_trusts_forwarded_addresses_from_the_pod_network_only(
    name: str,
) -> None:
    """The Ingress believes X-Forwarded-For from the pod network (ingress-nginx), and uvicorn in
    every Ray container believes it from no one, loopback included."""
    rendered = kustomize.render(environment(REPO_ROOT / "kuberay", name).directory)
    [rayservice] = [m for m in rendered if m["kind"] == "RayService"]
    cluster = rayservice["spec"]["rayClusterConfig"]
    pods = {"head": cluster["headGroupSpec"]} | {
        group["groupName"]: group for group in cluster["workerGroupSpecs"]
    }
    env = {
        pod: {e["name"]: e.get("value") for e in spec["template"]["spec"]["containers"][0]["env"]}
        for pod, spec in pods.items()
    }

    trusted = Settings(trusted_proxies=env["cpu"]["MEDINV_TRUSTED_PROXIES"]).trusted_proxies
    assert [str(network) for network in trusted] == ["10.0.0.0/8"]
    assert all(variables.get("FORWARDED_ALLOW_IPS") == "" for variables in env.values()), env
