"""Serve tests: one real local Ray cluster per test session, deployed with `serve deploy`.

The cluster is this session's own (a temporary run directory, free ports, token auth), so the
suite never attaches to a cluster someone else is running; it is stopped by PID at the end.
If it cannot start, every Serve test errors: nothing is skipped.
"""

import socket
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from serve_app.local_cluster import ClusterPorts, LocalCluster, with_http_port

SERVE_CONFIG = Path(__file__).parents[2] / "configs" / "serve_config.yaml"
APP_NAME = "medinv"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ServeService:
    cluster: LocalCluster
    base_url: str
    config: dict[str, Any]

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")

    def application(self) -> dict[str, Any]:
        """The application's details from the dashboard (what `serve status` shows)."""
        request = urllib.request.Request(
            f"{self.cluster.dashboard_url}/api/serve/applications/",
            headers={"Authorization": f"Bearer {self.cluster.token_file.read_text().strip()}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            details: dict[str, Any] = yaml.safe_load(response.read())
        application: dict[str, Any] = details["applications"][APP_NAME]
        return application

    def replica_ids(self) -> dict[str, set[str]]:
        deployments = self.application()["deployments"]
        return {
            name: {replica["replica_id"] for replica in deployment["replicas"]}
            for name, deployment in deployments.items()
        }


def wait_until_ready(url: str, timeout_s: float, cluster: LocalCluster) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cluster.pid() is None:
            raise RuntimeError(f"the Ray head died; see {cluster.run_dir / 'ray.log'}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} was not ready within {timeout_s:.0f} s")


@pytest.fixture(scope="session")
def serve_service(models_root: Path) -> Iterator[ServeService]:
    ports = ClusterPorts(
        gcs=_free_port(), dashboard=_free_port(), metrics=_free_port(), client=_free_port()
    )
    cluster = LocalCluster(run_dir=Path(tempfile.mkdtemp(prefix="medinv-test-ray-")), ports=ports)
    http_port = _free_port()
    config = with_http_port(yaml.safe_load(SERVE_CONFIG.read_text()), http_port)
    cluster.start(extra_env={"MEDINV_MODELS_ROOT": str(models_root)})
    try:
        cluster.deploy(config)  # the real `serve deploy` CLI against the dashboard
        base_url = f"http://127.0.0.1:{http_port}"
        wait_until_ready(f"{base_url}/v1/ready", 240, cluster)
        yield ServeService(cluster=cluster, base_url=base_url, config=config)
    finally:
        cluster.stop()
