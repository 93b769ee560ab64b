"""Render a kustomize directory offline with `kubectl kustomize` (no cluster is contacted)."""

import subprocess
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]


class RenderError(RuntimeError):
    pass


def render(directory: Path, kubectl: str = "kubectl") -> list[Manifest]:
    try:
        result = subprocess.run(
            [kubectl, "kustomize", str(directory)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except FileNotFoundError as exc:
        raise RenderError(f"{kubectl} not found: kubectl kustomize renders the manifests") from exc
    if result.returncode != 0:
        raise RenderError(f"kubectl kustomize {directory} failed: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def name_of(manifest: Manifest) -> str:
    return f"{manifest.get('kind')}/{(manifest.get('metadata') or {}).get('name')}"
