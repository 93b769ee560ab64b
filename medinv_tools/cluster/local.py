"""Start, deploy to and stop a local Ray head that this checkout owns.

`make run`/`make stop`, the Serve tests and the benchmark all go through here. The head runs
as `ray start --head --block`, which stays in the foreground and stops exactly the Ray
processes it started when it receives SIGTERM: its PID, kept in `<run_dir>/ray.pid`, is all
that is needed to stop it. Nothing here touches Ray processes it did not start.

Each head gets its own Ray temp dir (`ray_temp_dir`) instead of the machine-wide /tmp/ray, so
its session files — logs, and the Prometheus service-discovery file that `make monitor`
scrapes through — are never mixed with those of another checkout's cluster.
"""

import contextlib
import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medinv_tools.cluster.pid_file import alive_pid, terminate
from medinv_tools.paths import runtime_paths_env

# Serve's HTTP port then belongs to HAProxy, which forwards straight to the ingress replica's
# own server: no Python proxy hop (measured in docs/performance.md). A Ray 2.60 feature flag.
HAPROXY_ENV = {"RAY_SERVE_ENABLE_HA_PROXY": "1", "RAY_SERVE_ENABLE_DIRECT_INGRESS": "1"}
# uvicorn, in Serve's proxies and in direct-ingress replicas, would take the client address
# from X-Forwarded-For whenever the peer is loopback: every local client, and HAProxy, which
# forwards the client's header untouched. Believe no one there: the ingress decides whom to
# trust (MEDINV_TRUSTED_PROXIES, serve_app/access/client_address.py).
SERVE_PROXY_ENV = {"FORWARDED_ALLOW_IPS": ""}


@dataclass(frozen=True)
class ClusterPorts:
    gcs: int = 6380  # Ray's default 6379 is where Redis listens on these machines
    dashboard: int = 8265
    metrics: int = 8080
    client: int = 10001


@dataclass(frozen=True)
class LocalCluster:
    run_dir: Path
    ports: ClusterPorts = ClusterPorts()
    num_cpus: int = 2
    # More `ray start` arguments (the autoscaling cluster's `--autoscaling-config`).
    extra_args: tuple[str, ...] = ()

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "ray.pid"

    @property
    def token_file(self) -> Path:
        return self.run_dir / "ray_auth_token"

    @property
    def ray_temp_dir(self) -> Path:
        """`ray start --temp-dir`: `<run_dir>/ray`, or a short /tmp path when that is too long.

        Ray puts Unix sockets under `<temp>/session_<date>_<pid>/sockets/`, and a socket path
        has at most 107 bytes: 40 leave room for the rest.
        """
        own = self.run_dir.resolve() / "ray"
        if len(str(own)) <= 40:
            return own
        digest = hashlib.sha256(str(own).encode()).hexdigest()[:12]
        return Path("/tmp") / f"medinv-ray-{digest}"

    @property
    def session_dir(self) -> Path:
        """The current Ray session's directory (a symlink Ray maintains)."""
        return self.ray_temp_dir / "session_latest"

    @property
    def service_discovery_file(self) -> Path:
        """Ray's Prometheus file_sd targets: every alive node's metrics port, the dashboard's
        and the autoscaler's (Ray rewrites it every few seconds)."""
        return self.ray_temp_dir / "prom_metrics_service_discovery.json"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.dashboard}"

    def client_env(self) -> dict[str, str]:
        """Environment for the head and for every client: token auth, loopback only."""
        return {
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(self.token_file.resolve()),
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
        }

    def pid(self) -> int | None:
        return alive_pid(self.pid_file)

    def start(self, extra_env: dict[str, str] | None = None) -> int:
        running = self.pid()
        if running is not None:
            return running
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if not self.token_file.is_file() or not self.token_file.read_text().strip():
            self.token_file.write_text(secrets.token_hex(32))
            self.token_file.chmod(0o600)
        command = [
            str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
            "--port", str(self.ports.gcs),
            "--ray-client-server-port", str(self.ports.client),
            "--num-cpus", str(self.num_cpus), "--num-gpus", "0",
            "--node-ip-address", "127.0.0.1",
            "--dashboard-host", "127.0.0.1", "--dashboard-port", str(self.ports.dashboard),
            "--metrics-export-port", str(self.ports.metrics),
            "--temp-dir", str(self.ray_temp_dir),
            "--disable-usage-stats",
            *self.extra_args,
        ]  # fmt: skip
        # The ingress sends declared-config changes (PUT /v1/models/active) to this dashboard.
        own = {
            "MEDINV_RAY_DASHBOARD_URL": self.dashboard_url,
            **SERVE_PROXY_ENV,
            **runtime_paths_env(),
        }
        env = {**os.environ, **self.client_env(), **own, **(extra_env or {})}
        with (self.run_dir / "ray.log").open("ab") as log:
            process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.pid_file.write_text(str(process.pid))
        return process.pid

    def stop(self, timeout_s: float = 60.0) -> bool:
        """SIGTERM the `ray start --block` process and wait for it; False if none was running."""
        return terminate(self.pid_file, timeout_s)

    def deploy(self, config: Path | dict[str, Any], timeout_s: float = 240.0) -> None:
        """`serve deploy` the config, retrying while the dashboard is still starting."""
        if isinstance(config, dict):
            path = self.run_dir / "serve_config.deployed.yaml"
            path.write_text(yaml.safe_dump(config, sort_keys=False))
        else:
            path = config
        serve = str(Path(sys.executable).with_name("serve"))
        command = [serve, "deploy", str(path), "--address", self.dashboard_url]
        env = {**os.environ, **self.client_env()}
        deadline = time.monotonic() + timeout_s
        while True:
            if self.pid() is None:
                raise RuntimeError(f"the Ray head is not running; see {self.run_dir / 'ray.log'}")
            result = subprocess.run(command, env=env, capture_output=True, text=True)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"serve deploy failed:\n{result.stdout}\n{result.stderr}")
            time.sleep(1.0)

    def serve_status(self, app_name: str) -> str:
        """The application's status from the dashboard's REST API (what `serve status` reads)."""
        request = urllib.request.Request(
            f"{self.dashboard_url}/api/serve/applications/",
            headers={"Authorization": f"Bearer {self.token_file.read_text().strip()}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            details = json.loads(response.read())
        application = (details.get("applications") or {}).get(app_name) or {}
        return str(application.get("status", "NOT_DEPLOYED"))


def with_http_port(config: dict[str, Any], port: int) -> dict[str, Any]:
    """A copy of a Serve config whose proxy listens on `port` (tests and benchmarks)."""
    patched = yaml.safe_load(yaml.safe_dump(config))
    patched.setdefault("http_options", {})["port"] = port
    return dict(patched)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_ports() -> ClusterPorts:
    return ClusterPorts(
        gcs=free_port(), dashboard=free_port(), metrics=free_port(), client=free_port()
    )


def wait_for_http_ok(url: str, timeout_s: float, alive: Callable[[], bool]) -> None:
    """Poll `url` until it answers 200; fail early once `alive()` says the server died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the server died before {url} answered")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer 200 within {timeout_s:.0f} s")
