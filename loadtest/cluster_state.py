"""What the cluster runs right now: Serve replicas per deployment and Ray nodes per type,
read from the Ray dashboard's REST API (the same on a local head and behind a KubeRay head
service), with token authentication when a token is given."""

import json
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The Ray node label that names a node's worker group (kuberay/base/rayservice.yaml labels).
POOL_LABEL = "medical-inventory/pool"


@dataclass(frozen=True)
class Snapshot:
    at: float  # epoch seconds
    replicas: dict[str, int] = field(default_factory=dict)  # RUNNING, per deployment
    nodes: dict[str, int] = field(default_factory=dict)  # ALIVE, per node type


def running_replicas(applications: dict[str, Any], app_name: str) -> dict[str, int]:
    """RUNNING replicas per deployment of `app_name` in GET /api/serve/applications/."""
    application = (applications.get("applications") or {}).get(app_name) or {}
    return {
        name: sum(1 for r in deployment.get("replicas") or [] if r.get("state") == "RUNNING")
        for name, deployment in (application.get("deployments") or {}).items()
    }


def alive_nodes(nodes: list[dict[str, Any]], label: str = POOL_LABEL) -> dict[str, int]:
    """ALIVE nodes per type: the pool label, else `head` or `worker`."""
    counts: dict[str, int] = {}
    for node in nodes:
        if node.get("state") != "ALIVE":
            continue
        kind = (node.get("labels") or {}).get(label)
        if not kind:
            kind = "head" if node.get("is_head_node") else "worker"
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


def read_token(token_file: Path | None) -> str | None:
    """The Ray auth token: a file, else RAY_AUTH_TOKEN, else RAY_AUTH_TOKEN_PATH's file."""
    if token_file is not None:
        return token_file.read_text().strip()
    if os.environ.get("RAY_AUTH_TOKEN"):
        return os.environ["RAY_AUTH_TOKEN"].strip()
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    return Path(path).read_text().strip() if path else None


@dataclass(frozen=True)
class ClusterObserver:
    dashboard_url: str
    token: str | None = None
    app_name: str = "medinv"
    node_label: str = POOL_LABEL

    def _get(self, path: str) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        request = urllib.request.Request(f"{self.dashboard_url.rstrip('/')}{path}", headers=headers)
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def replicas(self) -> dict[str, int]:
        return running_replicas(self._get("/api/serve/applications/"), self.app_name)

    def nodes(self) -> dict[str, int]:
        answer = self._get("/api/v0/nodes?limit=1000")
        return alive_nodes(answer["data"]["result"]["result"], self.node_label)

    def snapshot(self, at: float) -> Snapshot:
        return Snapshot(at=at, replicas=self.replicas(), nodes=self.nodes())
