"""No secret ships with the manifests: Secrets are created out of band (kuberay/README.md),
and credentials are only ever referenced, never written inline."""

import re
from collections.abc import Iterator
from typing import Any

_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|CREDENTIAL", re.IGNORECASE)


def check_manifest(manifest: dict[str, Any]) -> list[str]:
    if manifest.get("kind") == "Secret":
        return ["Secrets are created out of band, not shipped in a kustomization"]
    problems = []
    for path, name, value in _named_values(manifest, ""):
        if _is_file_reference(name, value):
            continue
        if _SECRET_NAME.search(name) and isinstance(value, str | int) and str(value):
            problems.append(f"{path}: {name} is written inline; reference a Secret instead")
    return problems


def _is_file_reference(name: str, value: Any) -> bool:
    """`POSTGRES_PASSWORD_FILE: /run/secrets/...`: where a mounted Secret is, not a secret."""
    return name.upper().endswith("_FILE") and isinstance(value, str) and value.startswith("/")


def _named_values(node: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, name, value) of env entries {name, value} and of `...password: {value: ...}`."""
    if isinstance(node, dict):
        if isinstance(node.get("name"), str) and "value" in node:
            yield path, node["name"], node["value"]
        for key, child in node.items():
            if isinstance(child, dict) and "value" in child and _SECRET_NAME.search(key):
                yield f"{path}.{key}", key, child["value"]
            yield from _named_values(child, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _named_values(child, f"{path}[{index}]")
