import pytest

from medinv_tools.paths import REPO_ROOT


@pytest.mark.parametrize("name", ["development", "staging", "production"])
def test_each_overlay_readme_says_purpose_usage_and_what_not_to_do(name: str) -> None:
    text = (REPO_ROOT / "kuberay" / "overlays" / name / "README.md").read_text()
    for heading in ("**Purpose:**", "**Usage:**", "**Do not:**"):
        assert heading in text


def test_the_ingress_body_limit_equals_the_apps() -> None:
    import yaml

    from serve_app.core.args import AppArgs

    config = yaml.safe_load((REPO_ROOT / "configs" / "serve_config.yaml").read_text())
    limit = AppArgs.model_validate(config["applications"][0]["args"]).ingress.limits.max_body_bytes
    ingress = yaml.safe_load((REPO_ROOT / "kuberay" / "base" / "ingress.yaml").read_text())
    annotation = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert annotation.endswith("m")
    assert int(annotation[:-1]) * 2**20 == limit
