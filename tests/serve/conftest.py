"""Serve tests: one real local Ray cluster per test session, deployed with `serve deploy`.

The cluster is this session's own (a temporary run directory, free ports, token auth), so the
suite never attaches to a cluster someone else is running; it is stopped by PID at the end.
If it cannot start, every Serve test errors: nothing is skipped.
"""

import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from medinv_client import NO_RETRIES, AsyncClient, Client
from medinv_tools.cluster.local import (
    LocalCluster,
    free_port,
    free_ports,
    wait_for_http_ok,
    with_http_port,
)
from serve_app.inventory.migrate import upgrade
from tests.keys import bearer, create_api_key
from tests.redis_server import REDIS_URL, delete_keys, new_prefix, redis_problem

SERVE_CONFIG = Path(__file__).parents[2] / "configs" / "serve_config.yaml"
APP_NAME = "medinv"


@dataclass(frozen=True)
class ServeService:
    cluster: LocalCluster
    base_url: str
    config: dict[str, Any]
    admin: dict[str, str]  # headers with a key of every scope (admin routes need one)
    database_url: str  # the replicas' inventory database, where more keys can be made
    redis_url: str | None  # the Redis the replicas share; None if it was unreachable

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")

    @property
    def admin_key(self) -> str:
        return self.admin["Authorization"].removeprefix("Bearer ")

    def client(self, *, admin: bool = False) -> Client:
        """The project's client of this service, without retries (a test sees every failure)."""
        key = self.admin_key if admin else None
        return Client(self.base_url, key, timeout=60, retry=NO_RETRIES)

    def async_client(self, *, admin: bool = False) -> AsyncClient:
        return AsyncClient(
            self.base_url, self.admin_key if admin else None, timeout=120, retry=NO_RETRIES
        )

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


@pytest.fixture(scope="session")
def serve_service(models_root: Path) -> Iterator[ServeService]:
    run_dir = Path(tempfile.mkdtemp(prefix="medinv-test-ray-"))
    cluster = LocalCluster(run_dir=run_dir, ports=free_ports())
    http_port = free_port()
    config = with_http_port(yaml.safe_load(SERVE_CONFIG.read_text()), http_port)
    # The replicas' inventory: a migrated SQLite file in the run directory, as `make run` does.
    database_url = f"sqlite+aiosqlite:///{run_dir / 'data' / 'inventory.db'}"
    upgrade(database_url)
    admin = bearer(create_api_key(database_url, name="serve tests"))
    store_env = {"MEDINV_DATA_DIR": str(run_dir / "data"), "MEDINV_DATABASE_URL": database_url}
    # The replicas share Redis as in Kubernetes (keys under a prefix of this session's own).
    redis_url = REDIS_URL if redis_problem() is None else None
    redis_prefix = new_prefix("serve-test")
    if redis_url is not None:
        store_env |= {"MEDINV_REDIS_URL": redis_url, "MEDINV_REDIS_KEY_PREFIX": redis_prefix}
    cluster.start(extra_env={"MEDINV_MODELS_ROOT": str(models_root), **store_env})
    try:
        cluster.deploy(config)  # the real `serve deploy` CLI against the dashboard
        base_url = f"http://127.0.0.1:{http_port}"
        wait_for_http_ok(f"{base_url}/v1/ready", 240, lambda: cluster.pid() is not None)
        yield ServeService(
            cluster=cluster,
            base_url=base_url,
            config=config,
            admin=admin,
            database_url=database_url,
            redis_url=redis_url,
        )
    finally:
        cluster.stop()
        if redis_url is not None:
            delete_keys(redis_prefix)
