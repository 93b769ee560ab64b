"""The camera poller deployment: it polls the registered cameras and has the Ingress record
each poll, through the same path as a detection with `?location`."""

from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle

from serve_app.api.camera_polls import enabled_cameras
from serve_app.cameras.config import CameraConfig, CameraStatus
from serve_app.cameras.credentials import CameraCredentials
from serve_app.cameras.poller import CameraPoller, PollerTimings
from serve_app.cameras.sources import FrameFetcher
from serve_app.core.args import CameraPollerArgs
from serve_app.core.metrics import CameraMetrics
from serve_app.core.settings import get_settings
from serve_app.inventory.database import Database, create_engine

INGRESS_DEPLOYMENT = "Ingress"


@serve.deployment(name="CameraPoller")
class CameraPollerDeployment:
    def __init__(self, args: CameraPollerArgs) -> None:
        settings = get_settings()
        self._database = Database(create_engine(settings.resolved_database_url, settings))
        self._app_name = serve.get_replica_context().app_name
        self._ingress: DeploymentHandle[Any] | None = None
        self._poller = CameraPoller(
            lambda: enabled_cameras(self._database),
            FrameFetcher(CameraCredentials.load(settings), max_frame_bytes=args.max_frame_bytes),
            self._record,
            PollerTimings(
                refresh_s=args.refresh_s,
                poll_timeout_s=args.poll_timeout_s,
                backoff_base_s=args.backoff_base_s,
                backoff_max_s=args.backoff_max_s,
            ),
            CameraMetrics(),
        )
        # Serve runs the constructor in the replica's event loop, where the methods run too.
        self._poller.start()

    async def status(self, camera_id: int) -> CameraStatus | None:
        return await self._poller.status(camera_id)

    def check_health(self) -> None:
        if not self._poller.running:
            raise RuntimeError("the camera poller's refresh loop stopped")

    async def _record(self, camera: CameraConfig, frames: list[bytes], slot: int) -> str:
        if self._ingress is None:
            # Looked up, not bound: the Ingress binds this deployment (for statuses).
            self._ingress = serve.get_deployment_handle(INGRESS_DEPLOYMENT, self._app_name)
        outcome: str = await self._ingress.record_camera_poll.remote(camera, frames, slot)
        return outcome

    async def __del__(self) -> None:  # Serve awaits an async destructor at shutdown
        await self._poller.close()
        await self._database.dispose()
