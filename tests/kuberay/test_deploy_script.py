import os
import shutil
import subprocess
from pathlib import Path

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


def test_a_dry_run_against_a_context_shows_the_diff_there(tmp_path: Path) -> None:
    """No cluster runs here: a `kubectl` on PATH before the real one answers `diff` as kubectl
    does when objects differ (the diff, exit 1) and passes everything else to the real one."""
    real = shutil.which("kubectl")
    assert real is not None
    stand_in = tmp_path / "kubectl"
    stand_in.write_text(
        "#!/usr/bin/env bash\n"
        'if [[ " $* " == *" diff "* ]]; then echo "kubectl $*" > "$(dirname "$0")/diff-args";'
        ' echo "+  replicas: 3"; exit 1; fi\n'
        f'exec {real} "$@"\n'
    )
    stand_in.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", str(SCRIPT), "staging", "my-context", "--dry-run"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "+  replicas: 3" in result.stdout
    arguments = (tmp_path / "diff-args").read_text()
    assert "--context my-context diff --server-side" in arguments
