"""The faults a chaos run injects, touching only the processes of the cluster it started.

Replica and controller PIDs come from the Ray dashboard (`GET /api/serve/applications/`
replica details carry `pid`; the controller's actor id leads to its PID in the state API),
and each is SIGKILLed only after checking that it descends from the run's own `ray start`
process. A cut closes a TCP proxy of the run's own in front of PostgreSQL or Redis.
"""

import json
import os
import signal
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from medinv_tools.tcp_proxy import TcpProxy

# What `loadtest chaos --faults` accepts, in the order of a full run.
ALL_FAULTS = (
    "kill-detector",
    "kill-preprocessor",
    "kill-ingress",
    "cut-postgres",
    "cut-redis",
    "restart-controller",
)


class Fault(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def hold_s(self) -> float:
        """Seconds from `inject()` to `clear()`."""

    def inject(self) -> str:
        """Inject it; a line saying what was done."""

    def clear(self) -> None:
        """Undo it (a kill has nothing to undo: Ray restarts what was killed)."""


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: fields after the last ")".
    return int(stat.rsplit(")", 1)[1].split()[1])


def descends_from(pid: int, ancestor: int) -> bool:
    current: int | None = pid
    while current is not None and current > 1:
        if current == ancestor:
            return True
        current = parent_of(current)
    return False


@dataclass(frozen=True)
class ServeActors:
    """The PIDs of the Serve actors of one application, from the dashboard."""

    dashboard_url: str
    token: str
    app_name: str = "medinv"

    def _get(self, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.dashboard_url.rstrip('/')}{path}",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = self._get("/api/serve/applications/")
        return details

    def replica_pids(self, deployment: str) -> list[int]:
        application = (self.details().get("applications") or {}).get(self.app_name) or {}
        replicas = ((application.get("deployments") or {}).get(deployment) or {}).get("replicas")
        return [r["pid"] for r in replicas or [] if r.get("state") == "RUNNING" and r.get("pid")]

    def controller_pid(self) -> int | None:
        actor_id = (self.details().get("controller_info") or {}).get("actor_id")
        if not actor_id:
            return None
        query = urllib.parse.urlencode(
            {"filter_keys": "actor_id", "filter_predicates": "=", "filter_values": actor_id}
        )
        actors = self._get(f"/api/v0/actors?{query}")["data"]["result"]["result"]
        alive = [a["pid"] for a in actors if a.get("state") == "ALIVE" and a.get("pid")]
        return int(alive[0]) if alive else None


def _kill(pid: int, cluster_pid: int, what: str) -> str:
    if not descends_from(pid, cluster_pid):
        raise RuntimeError(f"{what} PID {pid} is not a process of this run's cluster")
    os.kill(pid, signal.SIGKILL)
    return f"SIGKILL {what} (PID {pid})"


@dataclass
class KillReplica:
    deployment: str
    actors: ServeActors
    cluster_pid: int
    hold_s: float = 0.0

    @property
    def name(self) -> str:
        return f"kill {self.deployment}"

    def inject(self) -> str:
        pids = self.actors.replica_pids(self.deployment)
        if not pids:
            raise RuntimeError(f"no RUNNING {self.deployment} replica to kill")
        return _kill(pids[0], self.cluster_pid, f"the {self.deployment} replica")

    def clear(self) -> None:
        pass


@dataclass
class RestartController:
    actors: ServeActors
    cluster_pid: int
    name: str = "restart controller"
    hold_s: float = 0.0

    def inject(self) -> str:
        pid = self.actors.controller_pid()
        if pid is None:
            raise RuntimeError("the Serve controller's PID is unknown")
        return _kill(pid, self.cluster_pid, "the Serve controller")

    def clear(self) -> None:
        pass


@dataclass
class CutProxy:
    service: str  # what the proxy stands in front of: PostgreSQL, Redis
    proxy: TcpProxy
    hold_s: float

    @property
    def name(self) -> str:
        return f"cut {self.service}"

    def inject(self) -> str:
        self.proxy.cut()
        return f"{self.service} cut for {self.hold_s:.0f} s (proxy port {self.proxy.port})"

    def clear(self) -> None:
        self.proxy.restore()
