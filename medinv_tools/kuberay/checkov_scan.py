"""`medinv kuberay-checkov`: checkov on a rendered environment, the Ray pods included.

checkov knows Deployments, StatefulSets, Jobs and the like, but not a RayService: its pod
templates (head, every worker group) are handed to it as Pods named `<rayservice>-head` and
`<rayservice>-<group>-worker`, the head with the autoscaler sidecar KubeRay adds from
`autoscalerOptions` (image of the head, its resources, securityContext and mounts, and the
head's `/tmp/ray` volume, which KubeRay mounts into it). Nothing else KubeRay adds is modelled:
the probes it injects are skipped on those Pods by annotation, with the reason.

checkov runs from its own virtualenv (`make install-checkov`: its dependencies clash with the
project's pins) with `kuberay/.checkov.yaml`. Skips are explicit: whole checks there, single
resources by a `checkov.io/skipN: CHECK=reason` annotation next to what they excuse.
"""

import copy
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from medinv_tools.kuberay.kustomize import Manifest
from medinv_tools.paths import KUBERAY_DIR, REPO_ROOT

CHECKOV_CONFIG = KUBERAY_DIR / ".checkov.yaml"
CHECKOV_ENV = "MEDINV_CHECKOV"
DEFAULT_CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
AUTOSCALER_CONTAINER = "autoscaler"  # KubeRay's name for the sidecar
RAY_LOGS = "/tmp/ray"


class CheckovError(RuntimeError):
    pass


@dataclass(frozen=True)
class Finding:
    check_id: str
    resource: str  # checkov's name: Kind.namespace.name
    reason: str = ""  # the suppress comment of a skip


@dataclass
class Scan:
    passed: int = 0
    failed: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)
    parsing_errors: int = 0
    resources: int = 0


def checkov_path() -> Path:
    return Path(os.environ.get(CHECKOV_ENV) or DEFAULT_CHECKOV)


def ray_pods(rayservice: Manifest) -> list[Manifest]:
    """The RayService's pod templates as the Pods checkov can inspect."""
    name = (rayservice.get("metadata") or {}).get("name", "rayservice")
    namespace = (rayservice.get("metadata") or {}).get("namespace")
    cluster = (rayservice.get("spec") or {}).get("rayClusterConfig") or {}
    head = _pod(f"{name}-head", namespace, (cluster.get("headGroupSpec") or {}).get("template"))
    if cluster.get("enableInTreeAutoscaling"):
        _add_autoscaler(head, cluster.get("autoscalerOptions") or {})
    workers = [
        _pod(f"{name}-{group.get('groupName')}-worker", namespace, group.get("template"))
        for group in cluster.get("workerGroupSpecs") or []
    ]
    return [head, *workers]


def checkov_input(manifests: list[Manifest]) -> list[Manifest]:
    """What checkov scans: every object, and the Ray pods beside their RayService."""
    scanned = []
    for manifest in manifests:
        scanned.append(manifest)
        if manifest.get("kind") == "RayService":
            scanned += ray_pods(manifest)
    return scanned


def scan(
    manifests: list[Manifest], checkov: Path | None = None, config: Path = CHECKOV_CONFIG
) -> Scan:
    executable = checkov or checkov_path()
    if not executable.exists():
        raise CheckovError(f"no checkov at {executable}: make install-checkov (or ${CHECKOV_ENV})")
    with tempfile.TemporaryDirectory(prefix="medinv-checkov-") as scratch:
        rendered = Path(scratch) / "rendered.yaml"
        rendered.write_text(yaml.safe_dump_all(checkov_input(manifests), sort_keys=False))
        result = subprocess.run(
            [str(executable), "--config-file", str(config), "-f", str(rendered), "-o", "json"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=scratch,
        )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise CheckovError(
            f"checkov exited {result.returncode} without a JSON report: "
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        ) from exc
    return parse_report(report)


def parse_report(report: Any) -> Scan:
    """checkov's JSON: one report object per framework (a list of them for several)."""
    reports = report if isinstance(report, list) else [report]
    found = Scan()
    for one in reports:
        if not one.get("results"):  # no resources of that framework
            continue
        results = one["results"]
        summary = one.get("summary") or {}
        found.parsing_errors += int(summary.get("parsing_errors") or 0)
        found.resources += int(summary.get("resource_count") or 0)
        found.passed += len(results.get("passed_checks") or [])
        found.failed += [_finding(check) for check in results.get("failed_checks") or []]
        found.skipped += [_finding(check) for check in results.get("skipped_checks") or []]
    return found


def _finding(check: dict[str, Any]) -> Finding:
    reason = (check.get("check_result") or {}).get("suppress_comment") or ""
    return Finding(check["check_id"], check["resource"], reason)


def _pod(name: str, namespace: str | None, template: Any) -> Manifest:
    template = copy.deepcopy(template or {})
    metadata = {**(template.get("metadata") or {}), "name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template.get("spec")}


def _add_autoscaler(head: Manifest, options: dict[str, Any]) -> None:
    spec = head.get("spec") or {}
    containers = spec.get("containers") or []
    if not containers:
        return
    ray = containers[0]
    logs = [m for m in ray.get("volumeMounts") or [] if m.get("mountPath") == RAY_LOGS]
    sidecar = {
        "name": AUTOSCALER_CONTAINER,
        "image": options.get("image") or ray.get("image"),
        "resources": options.get("resources"),
        "securityContext": options.get("securityContext"),
        "volumeMounts": [*(options.get("volumeMounts") or []), *logs],
        "imagePullPolicy": options.get("imagePullPolicy") or "IfNotPresent",  # KubeRay's default
    }
    containers.append({key: value for key, value in sidecar.items() if value is not None})
