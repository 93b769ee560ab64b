import pytest


@pytest.fixture(autouse=True)
def _no_cluster(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # The node types come from `kubectl kustomize`; with no kubeconfig kubectl would talk to
    # localhost:8080, Ray's metrics port.
    empty = tmp_path_factory.mktemp("kube") / "config"
    empty.write_text("")
    monkeypatch.setenv("KUBECONFIG", str(empty))
