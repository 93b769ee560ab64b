"""Client tests: the real service (FastAPI app, in-process pipeline, migrated SQLite) under a
real uvicorn server on a free port, in a thread of the test process. No Ray, no mocks."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from medinv_tools.cluster.local import free_port
from medinv_tools.local_pipeline import LocalPipeline
from medinv_tools.threaded_server import ThreadedServer
from serve_app.api.app import create_api
from serve_app.cameras.config import CameraStatus
from serve_app.core.args import IngressArgs
from serve_app.core.demo_model import DEFAULT_MODEL
from serve_app.core.settings import Settings
from serve_app.inventory.migrate import upgrade
from serve_app.inventory.recorder import InventoryRecorder
from serve_app.model.imaging import ImageLimits
from serve_app.model.manifest import model_dir
from tests.keys import create_api_key


@dataclass
class CameraStatuses:
    """Where the API reads camera statuses, in place of a poller: what a test puts here."""

    by_camera: dict[int, CameraStatus] = field(default_factory=dict)

    async def status(self, camera_id: int) -> CameraStatus | None:
        return self.by_camera.get(camera_id)


@dataclass(frozen=True)
class Service:
    url: str
    admin_key: str
    read_key: str
    camera_statuses: CameraStatuses


@pytest.fixture(scope="session")
def service(models_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # A database of its own: other layers empty the shared one's tables (keys included).
    data_dir = tmp_path_factory.mktemp("client-service")
    sqlite_url = f"sqlite+aiosqlite:///{data_dir / 'inventory.db'}"
    upgrade(sqlite_url)
    settings = Settings(data_dir=data_dir, database_url=sqlite_url, spool_retry_interval_s=0.1)
    # The served default (the ONNX export): the fastest on a CPU.
    served = model_dir(models_root, DEFAULT_MODEL)
    pipeline = LocalPipeline(served, models_root, ImageLimits(), "cpu", workers=2)
    statuses = CameraStatuses()
    app = create_api(
        pipeline,
        InventoryRecorder.open(settings),
        IngressArgs(request_timeout_s=60),
        settings,
        behind_serve_proxy=False,
        camera_statuses=statuses,
    )
    port = free_port()
    admin = create_api_key(sqlite_url, name="client-admin")
    read = create_api_key(sqlite_url, "read", name="client-read")
    with ThreadedServer(app, port):
        yield Service(f"http://127.0.0.1:{port}", admin, read, statuses)
