"""medinv_tools.kuberay.crd_refresh, offline: which schema it takes from a CRD, and that a refresh
of the vendored release rewrites the committed files byte for byte."""

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from medinv_tools.kuberay import crd_refresh
from medinv_tools.paths import KUBERAY_CRDS


def _crd(versions: dict[str, dict[str, Any]]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "names": {"kind": "Widget", "plural": "widgets"},
                "scope": "Namespaced",
                "versions": [
                    {
                        "name": version,
                        "served": True,
                        "storage": version == "v1",
                        "schema": {"openAPIV3Schema": schema},
                    }
                    for version, schema in versions.items()
                ],
            },
        }
    )


V1 = {"type": "object", "properties": {"spec": {"type": "object"}}}
ALPHA = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def test_v1_schema_takes_the_v1_version() -> None:
    assert crd_refresh.v1_schema(_crd({"v1alpha1": ALPHA, "v1": V1})) == V1


def test_v1_schema_refuses_what_is_not_a_crd() -> None:
    with pytest.raises(ValueError, match="not a CustomResourceDefinition"):
        crd_refresh.v1_schema(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap"}))
    with pytest.raises(ValueError, match="not a CustomResourceDefinition"):
        crd_refresh.v1_schema("- just\n- a list\n")


def test_v1_schema_refuses_a_crd_without_v1() -> None:
    with pytest.raises(ValueError, match=r"widgets\.example\.com has no v1 version"):
        crd_refresh.v1_schema(_crd({"v1alpha1": ALPHA, "v2": V1}))


VENDORED = sorted(name for up in crd_refresh.UPSTREAMS.values() for name in up.files)


def test_every_vendored_schema_is_a_refresh_target() -> None:
    assert sorted(path.name for path in KUBERAY_CRDS.glob("*.json")) == VENDORED


@pytest.mark.parametrize("target", VENDORED)
def test_schema_json_reproduces_the_vendored_file(target: str) -> None:
    committed = (KUBERAY_CRDS / target).read_bytes()
    assert crd_refresh.schema_json(json.loads(committed)).encode() == committed


@pytest.mark.parametrize("project", sorted(crd_refresh.UPSTREAMS))
def test_a_refresh_of_the_vendored_release_changes_nothing(
    project: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upstream serves each CRD as YAML with the schema under spec.versions; a refresh
    downloads them (here: the vendored schemas wrapped back into CRDs) and writes the files."""
    upstream = crd_refresh.UPSTREAMS[project]
    served = {
        upstream.url.format(version=upstream.vendored, name=name): _crd(
            {"v1": json.loads((KUBERAY_CRDS / target).read_text())}
        )
        for target, name in upstream.files.items()
    }

    def urlopen(url: str, timeout: float) -> io.BytesIO:
        return io.BytesIO(served[url].encode())

    monkeypatch.setattr(crd_refresh.urllib.request, "urlopen", urlopen)
    written = crd_refresh.refresh(upstream.vendored, tmp_path, project)
    assert sorted(path.name for path in written) == sorted(upstream.files)
    for path in written:
        assert path.read_bytes() == (KUBERAY_CRDS / path.name).read_bytes(), path.name


def test_the_command_offers_every_project() -> None:
    from medinv_tools.cli.manifests import register

    commands = argparse.ArgumentParser().add_subparsers()
    register(commands)
    crds = commands.choices["kuberay-crds"]
    [project] = [a for a in crds._actions if a.dest == "project"]
    assert sorted(project.choices or []) == sorted(crd_refresh.UPSTREAMS)
