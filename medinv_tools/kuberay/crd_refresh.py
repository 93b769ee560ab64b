"""Refresh the vendored KubeRay CRD schemas (kuberay/crds/) from a KubeRay release.

Each schema is the `openAPIV3Schema` of the CRD's `v1` version in
`ray-operator/config/crd/bases/` of the release tag, written as compact JSON with sorted keys:
the format of the committed files, so a refresh of the same release changes nothing.
"""

import json
import urllib.request
from pathlib import Path
from typing import Any

import yaml

UPSTREAM = "https://raw.githubusercontent.com/ray-project/kuberay/{version}/ray-operator/config/crd/bases/{name}"
CRD_FILES = {
    "rayservice_v1.schema.json": "ray.io_rayservices.yaml",
    "raycluster_v1.schema.json": "ray.io_rayclusters.yaml",
}
_TIMEOUT_S = 30.0


def v1_schema(crd_yaml: str) -> dict[str, Any]:
    """The `openAPIV3Schema` of the `v1` version of one CustomResourceDefinition."""
    crd = yaml.safe_load(crd_yaml)
    if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
        raise ValueError("not a CustomResourceDefinition")
    for version in crd["spec"]["versions"]:
        if version["name"] == "v1":
            schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
            return schema
    raise ValueError(f"{crd['metadata']['name']} has no v1 version")


def schema_json(schema: dict[str, Any]) -> str:
    return json.dumps(schema, separators=(",", ":"), sort_keys=True)


def refresh(version: str, destination: Path) -> list[Path]:
    """Download the CRDs of KubeRay `version` (a tag, e.g. v1.7.0) and write their schemas."""
    written = []
    for target, name in CRD_FILES.items():
        url = UPSTREAM.format(version=version, name=name)
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
            text = response.read().decode()
        path = destination / target
        path.write_text(schema_json(v1_schema(text)))
        written.append(path)
    return written
