import shutil
from pathlib import Path

import pytest

from medinv_tools.paths import REPO_ROOT


@pytest.fixture(autouse=True)
def _no_cluster(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # With no kubeconfig kubectl would talk to localhost:8080, Ray's metrics port.
    empty = tmp_path_factory.mktemp("kube") / "config"
    empty.write_text("")
    monkeypatch.setenv("KUBECONFIG", str(empty))


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A scratch copy of kuberay/ and the Serve config, to break on purpose."""
    shutil.copytree(REPO_ROOT / "kuberay", tmp_path / "kuberay")
    (tmp_path / "configs").mkdir()
    shutil.copy(REPO_ROOT / "configs" / "serve_config.yaml", tmp_path / "configs")
    return tmp_path
