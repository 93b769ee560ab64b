"""Validate a custom resource against its CRD's openAPIV3Schema the way the API server would
(null pruning, schema defaults), and stricter: unknown fields are errors, to catch typos."""

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from medinv_tools.paths import KUBERAY_CRDS

Schema = dict[str, Any]

# (apiVersion, kind) -> the vendored file of its CRD's schema (kuberay/crds/README.md).
SCHEMA_FILES = {
    ("ray.io/v1", "RayService"): "rayservice_v1.schema.json",
    ("ray.io/v1", "RayCluster"): "raycluster_v1.schema.json",
    ("postgresql.cnpg.io/v1", "Cluster"): "cnpg_cluster_v1.schema.json",
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): "cnpg_scheduledbackup_v1.schema.json",
    ("barmancloud.cnpg.io/v1", "ObjectStore"): "barmancloud_objectstore_v1.schema.json",
}


def has_schema(manifest: dict[str, Any]) -> bool:
    return (manifest.get("apiVersion"), manifest.get("kind")) in SCHEMA_FILES


def load_schema(schemas_dir: Path, api_version: str, kind: str) -> Schema:
    """The schema in `schemas_dir` (CRDs of the operator versions you run), else the vendored
    one: a directory of KubeRay CRDs alone still validates the CloudNativePG objects."""
    name = SCHEMA_FILES[(api_version, kind)]
    path = schemas_dir / name
    return _load((path if path.is_file() else KUBERAY_CRDS / name).resolve())


def load_manifest_schema(schemas_dir: Path, manifest: dict[str, Any]) -> Schema:
    return load_schema(schemas_dir, manifest["apiVersion"], manifest["kind"])


@lru_cache(maxsize=8)
def _load(path: Path) -> Schema:
    schema: Schema = json.loads(path.read_text())
    return schema


def prune_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [prune_nulls(v) for v in value]
    return value


def apply_defaults(value: Any, schema: Schema) -> Any:
    """Fill in `default`s of absent properties, only where the parent object exists."""
    if isinstance(value, dict):
        result = dict(value)
        for name, sub in (schema.get("properties") or {}).items():
            if name not in result and "default" in sub:
                result[name] = copy.deepcopy(sub["default"])
            if name in result:
                result[name] = apply_defaults(result[name], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            props = schema.get("properties") or {}
            for name in result:
                if name not in props:
                    result[name] = apply_defaults(result[name], extra)
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(item, schema["items"]) for item in value]
    return value


def strict(schema: Schema) -> Schema:
    """A copy in which every object that lists its properties rejects any other key."""
    schema = copy.deepcopy(schema)
    _close(schema)
    return schema


def _close(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _close(item)
        return
    if not isinstance(node, dict):
        return
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        node["additionalProperties"] = False
    for key, child in node.items():
        if key != "default":
            _close(child)


def validate(resource: dict[str, Any], schema: Schema) -> list[str]:
    """Problems in `resource` (with metadata left to the API server), as 'path: message'."""
    instance = apply_defaults(prune_nulls(resource), schema)
    validator = Draft202012Validator(strict(schema))
    problems = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(part) for part in error.absolute_path) or "<root>"
        problems.append(f"{path}: {error.message}")
    return problems
