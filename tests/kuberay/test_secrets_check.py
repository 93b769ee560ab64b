from typing import Any

from medinv_tools.kuberay.secrets_check import check_manifest


def _with_env(*env: dict[str, Any]) -> dict[str, Any]:
    pod = {"containers": [{"name": "app", "env": list(env)}]}
    return {"kind": "Deployment", "spec": {"template": {"spec": pod}}}


def test_secret_references_pass() -> None:
    ref = {"valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
    assert check_manifest(_with_env({"name": "POSTGRES_PASSWORD", **ref})) == []
    assert check_manifest(_with_env({"name": "LOG_LEVEL", "value": "debug"})) == []


def test_an_inline_password_is_refused() -> None:
    [problem] = check_manifest(_with_env({"name": "REDIS_PASSWORD", "value": "admin123"}))
    assert problem == (
        "spec.template.spec.containers[0].env[0]: REDIS_PASSWORD is written inline; "
        "reference a Secret instead"
    )


def test_the_path_of_a_mounted_secret_is_no_secret() -> None:
    path = {"name": "POSTGRES_PASSWORD_FILE", "value": "/run/secrets/postgres/password"}
    assert check_manifest(_with_env(path)) == []
    [problem] = check_manifest(_with_env({"name": "POSTGRES_PASSWORD_FILE", "value": "hunter2"}))
    assert "POSTGRES_PASSWORD_FILE is written inline" in problem


def test_an_inline_gcs_redis_password_is_refused() -> None:
    rayservice = {
        "kind": "RayService",
        "spec": {
            "rayClusterConfig": {"gcsFaultToleranceOptions": {"redisPassword": {"value": "x"}}}
        },
    }
    [problem] = check_manifest(rayservice)
    assert problem.startswith("spec.rayClusterConfig.gcsFaultToleranceOptions.redisPassword:")


def test_secrets_are_never_shipped() -> None:
    assert check_manifest({"kind": "Secret", "stringData": {"password": ""}}) == [
        "Secrets are created out of band, not shipped in a kustomization"
    ]
