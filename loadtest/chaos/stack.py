"""The service a chaos run owns: a local Ray cluster (free ports, token auth) deployed from
configs/serve_config.yaml, whose replicas reach a fresh PostgreSQL database and Redis (keys
under a prefix of the run's own) through TCP proxies the run can cut; an API key and a
location to record at. Everything is removed again when the run ends: the cluster stopped by
PID, the database dropped, the Redis keys deleted.
"""

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url

from medinv_client import Client
from medinv_tools.cluster.local import (
    LocalCluster,
    free_port,
    free_ports,
    wait_for_http_ok,
    with_http_port,
)
from medinv_tools.paths import SERVE_CONFIG
from medinv_tools.scratch_database import create_database, drop_database
from medinv_tools.scratch_redis import delete_keys
from medinv_tools.tcp_proxy import TcpProxy
from serve_app.access.key_store import create_key
from serve_app.access.keys import parse_scopes
from serve_app.core.settings import Settings
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.migrate import upgrade

POSTGRES_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
# A loaded 2-CPU machine may take minutes to start a dashboard and load the model.
DEPLOY_TIMEOUT_S = 240.0
READY_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class ChaosStack:
    cluster: LocalCluster
    cluster_pid: int
    base_url: str
    database_url: str  # the database itself, not through its proxy
    postgres_proxy: TcpProxy
    redis_proxy: TcpProxy
    api_key: str
    location_id: int


def _through(url: str, proxy: TcpProxy) -> str:
    """`url` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    credentials = f"{netloc[0]}@" if len(netloc) == 2 else ""
    return urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{proxy.port}"))


def _proxy(host: str | None, port: int | None, default_port: int) -> TcpProxy:
    proxy = TcpProxy(host or "127.0.0.1", port or default_port)
    proxy.start()
    return proxy


def _api_key(database_url: str) -> str:
    async def create() -> str:
        database = Database(create_engine(database_url, Settings()))
        try:
            async with database.session() as session:
                new = await create_key(
                    session, name="loadtest chaos", scopes=parse_scopes("detect,read,admin")
                )
        finally:
            await database.dispose()
        return new.secret

    return asyncio.run(create())


def stored_request_ids(database_url: str, location_id: int) -> list[str]:
    """The request ids of the records stored at the location."""

    async def query() -> list[str]:
        engine = create_engine(database_url, Settings())
        try:
            async with engine.connect() as connection:
                result = await connection.execute(
                    text("SELECT request_id FROM detection_records WHERE location_id = :id"),
                    {"id": location_id},
                )
                return [str(row[0]) for row in result]
        finally:
            await engine.dispose()

    return asyncio.run(query())


@contextmanager
def chaos_stack(
    run_dir: Path,
    *,
    models_root: Path | None = None,
    postgres_server_url: str = POSTGRES_SERVER_URL,
    redis_url: str = REDIS_URL,
    say: Callable[[str], None] = print,
) -> Iterator[ChaosStack]:
    run_id = uuid.uuid4().hex[:8]
    with ExitStack() as cleanup:
        database_url = create_database(postgres_server_url, "medinv_chaos")
        cleanup.callback(drop_database, database_url)
        upgrade(database_url)
        database = make_url(database_url)
        postgres_proxy = _proxy(database.host, database.port, 5432)
        cleanup.callback(postgres_proxy.close)
        redis = urlsplit(redis_url)
        redis_proxy = _proxy(redis.hostname, redis.port, 6379)
        cleanup.callback(redis_proxy.close)
        redis_prefix = f"medinv-chaos-{run_id}:"
        cleanup.callback(delete_keys, redis_url, redis_prefix)
        api_key = _api_key(database_url)
        say(f"database {database.database}, Redis prefix {redis_prefix}, behind cuttable proxies")

        cluster = LocalCluster(run_dir=run_dir / "cluster", ports=free_ports())
        env = {
            "MEDINV_DATABASE_URL": _through(database_url, postgres_proxy),
            "MEDINV_REDIS_URL": _through(redis_url, redis_proxy),
            "MEDINV_REDIS_KEY_PREFIX": redis_prefix,
            "MEDINV_DATA_DIR": str((run_dir / "cluster" / "data").resolve()),
            "MEDINV_AUTH_REQUIRED": "true",
            "MEDINV_SPOOL_STORE": "redis",  # as in Kubernetes: the spool outlives a replica
        }
        if models_root is not None:
            env["MEDINV_MODELS_ROOT"] = str(models_root.resolve())
        cluster_pid = cluster.start(extra_env=env)
        cleanup.callback(cluster.stop)
        http_port = free_port()
        config = with_http_port(yaml.safe_load(SERVE_CONFIG.read_text()), http_port)
        cluster.deploy(config, timeout_s=DEPLOY_TIMEOUT_S)
        base_url = f"http://127.0.0.1:{http_port}"
        began = time.monotonic()
        wait_for_http_ok(f"{base_url}/v1/ready", READY_TIMEOUT_S, lambda: cluster.pid() is not None)
        say(f"cluster up in {time.monotonic() - began:.0f} s: {base_url}, {cluster.dashboard_url}")
        with Client(base_url, api_key) as client:
            location = client.create_location(f"chaos-{run_id}", "shelf")
        yield ChaosStack(
            cluster=cluster,
            cluster_pid=cluster_pid,
            base_url=base_url,
            database_url=database_url,
            postgres_proxy=postgres_proxy,
            redis_proxy=redis_proxy,
            api_key=api_key,
            location_id=location.id,
        )
