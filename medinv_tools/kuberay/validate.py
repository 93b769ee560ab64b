"""`medinv kuberay-validate`: every check of one rendered environment, offline."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from medinv_tools.config_check import check_serve_config
from medinv_tools.kuberay import (
    crd_schema,
    disruption,
    hardening,
    kuberay_rules,
    kustomize,
    monitoring_kinds,
    placement,
    pod_security,
    secrets_check,
    vpa_kinds,
)
from medinv_tools.kuberay.core_schema import validate_core
from medinv_tools.kuberay.environments import Environment

# Spread over zones and images by digest are demanded of this environment only.
PRODUCTION = "production"


@dataclass
class Report:
    environment: str
    objects: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def validate_environment(env: Environment, schemas_dir: Path, kubectl: str = "kubectl") -> Report:
    report = Report(env.name)
    try:
        manifests = kustomize.render(env.directory, kubectl)
    except kustomize.RenderError as exc:
        report.problems.append(str(exc))
        return report
    report.objects = [kustomize.name_of(m) for m in manifests]
    rayservices = [m for m in manifests if m.get("kind") == "RayService"]
    if len(rayservices) != 1:
        report.problems.append(f"expected one RayService, found {len(rayservices)}")
    for manifest in manifests:
        where = kustomize.name_of(manifest)
        if crd_schema.has_schema(manifest):
            schema = crd_schema.load_manifest_schema(schemas_dir, manifest)
            found = crd_schema.validate(manifest, schema)
        elif manifest.get("kind") in monitoring_kinds.SCHEMAS:
            found = monitoring_kinds.check_manifest(manifest)
        elif manifest.get("kind") == vpa_kinds.KIND:
            found = vpa_kinds.check_manifest(manifest)
        else:
            found = validate_core(manifest)
        found += pod_security.check_manifest(manifest)
        found += hardening.check_manifest(manifest)
        found += secrets_check.check_manifest(manifest)
        report.problems += [f"{where}: {problem}" for problem in found]
    for rayservice in rayservices:
        report.problems += _check_rayservice(rayservice)
    report.problems += disruption.check_environment(manifests, production=env.name == PRODUCTION)
    report.problems += vpa_kinds.check_targets(manifests)
    return report


def _check_rayservice(rayservice: dict[str, Any]) -> list[str]:
    where = kustomize.name_of(rayservice)
    problems = [f"{where}: {p}" for p in kuberay_rules.check_rayservice(rayservice)]
    text = (rayservice.get("spec") or {}).get("serveConfigV2")
    if not isinstance(text, str):
        return [*problems, f"{where}: spec.serveConfigV2 is missing (run medinv kuberay-render)"]
    serve_config = yaml.safe_load(text)
    if not isinstance(serve_config, dict):
        return [*problems, f"{where}: spec.serveConfigV2 does not hold a mapping"]
    problems += [f"{where}: serveConfigV2: {p}" for p in check_serve_config(serve_config)]
    problems += [
        f"{where}: placement: {p}" for p in placement.check_placement(rayservice, serve_config)
    ]
    return problems
