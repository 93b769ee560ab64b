"""Validate core Kubernetes objects against the API's OpenAPI schemas (kubernetes-validate,
strict: unknown fields are errors). Custom resources are checked by crd_schema instead."""

from typing import Any

import kubernetes_validate

KUBERNETES_VERSION = "1.32.0"


def validate_core(manifest: dict[str, Any], version: str = KUBERNETES_VERSION) -> list[str]:
    try:
        kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(part) for part in exc.path) or "<root>"
        return [f"{path}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [
            f"no Kubernetes {version} schema for {manifest.get('apiVersion')} "
            f"{manifest.get('kind')}"
        ]
    return []
