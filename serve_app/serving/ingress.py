"""The HTTP/WebSocket ingress deployment: a thin shell around the FastAPI app of API v1."""

from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve.handle import DeploymentHandle

from serve_app.api.app import create_api
from serve_app.api.camera_polls import record_poll
from serve_app.cameras.config import CameraConfig, CameraStatus
from serve_app.core.args import IngressArgs
from serve_app.core.settings import get_settings
from serve_app.inventory.recorder import InventoryRecorder
from serve_app.serving.pipeline import ServePipeline
from serve_app.serving.serve_control import ServeConfigClient, auth_token


@serve.deployment(name="Ingress")
@serve.ingress()
class Ingress:
    def __init__(
        self,
        preprocessor: DeploymentHandle[Any],
        detector: DeploymentHandle[Any],
        camera_poller: DeploymentHandle[Any],
        args: IngressArgs,
    ) -> None:
        settings = get_settings()
        self._pipeline = ServePipeline(
            preprocessor,
            detector,
            args.request_timeout_s,
            ServeConfigClient(settings.ray_dashboard_url, auth_token()),
            serve.get_replica_context().app_name,
            args.preprocess_in,
        )
        # Connects lazily; the schema is migrated beforehand (`medinv migrate`), never here.
        self._inventory = InventoryRecorder.open(settings)
        self._args = args
        self._settings = settings
        self._camera_statuses = CameraPollerStatuses(camera_poller)
        self._api: FastAPI | None = None

    def __serve_build_asgi_app__(self) -> FastAPI:
        self._api = create_api(
            self._pipeline,
            self._inventory,
            self._args,
            self._settings,
            behind_serve_proxy=True,
            camera_statuses=self._camera_statuses,
        )
        return self._api

    async def record_camera_poll(self, camera: CameraConfig, frames: list[bytes], slot: int) -> str:
        """Called by the camera poller: record its frames as a detection at the camera's
        location."""
        assert self._api is not None, "Serve builds the ASGI app before any call"
        return await record_poll(self._api.state.context, camera, frames, slot)


class CameraPollerStatuses:
    """Camera statuses, from the poller deployment."""

    def __init__(self, poller: DeploymentHandle[Any]) -> None:
        self._poller = poller

    async def status(self, camera_id: int) -> CameraStatus | None:
        status: CameraStatus | None = await self._poller.status.remote(camera_id)
        return status
