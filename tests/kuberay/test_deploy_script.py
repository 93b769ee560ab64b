import os
import subprocess

import pytest

from medinv_tools.kuberay.environments import ENVIRONMENTS
from medinv_tools.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "kuberay" / "deploy.sh"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=os.environ, timeout=300
    )


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_dry_run_renders_and_validates_without_a_cluster(name: str) -> None:
    result = _run(name, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"dry run: {name} renders to" in result.stdout


def test_an_unknown_environment_is_a_usage_error() -> None:
    result = _run("prod", "--dry-run")
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_production_is_never_applied_with_placeholder_digests() -> None:
    """Refused before any cluster is contacted (the tests' kubeconfig is empty)."""
    result = _run("production", "some-context")
    assert result.returncode == 1
    assert "placeholder image digests (sha256:0...0) in production" in result.stderr
    assert "Images by digest" in result.stderr
