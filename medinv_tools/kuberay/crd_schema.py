"""Validate a custom resource against its CRD's openAPIV3Schema the way the API server would
(null pruning, schema defaults), and stricter: unknown fields are errors, to catch typos."""

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

Schema = dict[str, Any]

SCHEMA_FILES = {
    "RayService": "rayservice_v1.schema.json",
    "RayCluster": "raycluster_v1.schema.json",
}


def load_schema(schemas_dir: Path, kind: str) -> Schema:
    return _load(schemas_dir.resolve() / SCHEMA_FILES[kind])


@lru_cache(maxsize=4)
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
