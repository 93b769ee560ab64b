"""The service a contract run fuzzes: the real ingress app (auth on), the real ONNX model in the
in-process pipeline, a migrated database of its own, under a real uvicorn server."""

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medinv_tools.cluster.local import free_port
from medinv_tools.local_pipeline import LocalPipeline
from medinv_tools.threaded_server import ThreadedServer
from serve_app.access.key_store import create_key
from serve_app.access.keys import Scope
from serve_app.api.app import create_api
from serve_app.cameras.config import CameraStatus
from serve_app.core.args import IngressArgs
from serve_app.core.demo_model import DEFAULT_MODEL
from serve_app.core.settings import Settings
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.migrate import upgrade
from serve_app.inventory.recorder import InventoryRecorder
from serve_app.model.imaging import ImageLimits
from serve_app.model.manifest import model_dir

# Budgets no run spends: a 429 would hide what the request itself gets.
_UNSPENT = 10**9


class _NotYetPolled:
    """The camera statuses of a poller that has not polled yet. A running poller would fetch
    the fuzzed cameras' URLs, which are not part of the API's contract; without any, the
    status route would answer 503 (no poller), which a contract run counts as a server error."""

    async def status(self, camera_id: int) -> CameraStatus | None:
        return None


@dataclass(frozen=True)
class FuzzedService:
    url: str
    document: dict[str, Any]  # not served with auth on: taken from the app
    key: str  # one key with every scope


@contextmanager
def fuzzed_service(data_dir: Path, models_root: Path, database_url: str) -> Iterator[FuzzedService]:
    """Serve the API until the block ends. `database_url` must name a scratch database: it is
    migrated and written to."""
    upgrade(database_url)
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        models_root=models_root,
        auth_required=True,
        rate_limit_requests_per_minute=_UNSPENT,
        rate_limit_requests_burst=_UNSPENT,
        rate_limit_failed_auth_per_minute=_UNSPENT,
        rate_limit_failed_auth_burst=_UNSPENT,
    )
    pipeline = LocalPipeline(
        model_dir(models_root, DEFAULT_MODEL), models_root, ImageLimits(), "cpu", workers=2
    )
    app = create_api(
        pipeline,
        InventoryRecorder.open(settings),
        IngressArgs(request_timeout_s=60),
        settings,
        behind_serve_proxy=False,
        camera_statuses=_NotYetPolled(),
    )
    key = asyncio.run(_key_of_every_scope(settings))
    port = free_port()
    # One log line per request would be most of the run's output.
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    with ThreadedServer(app, port):
        yield FuzzedService(f"http://127.0.0.1:{port}", app.openapi(), key)


async def _key_of_every_scope(settings: Settings) -> str:
    database = Database(create_engine(settings.resolved_database_url, settings))
    try:
        async with database.session() as session:
            new = await create_key(session, name="fuzz", scopes=frozenset(Scope))
    finally:
        await database.dispose()
    return new.secret
