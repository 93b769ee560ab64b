"""The HTTP/WebSocket ingress deployment: a thin shell around the FastAPI app of API v1."""

from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve.handle import DeploymentHandle

from serve_app.api.app import create_api
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
        args: IngressArgs,
    ) -> None:
        settings = get_settings()
        self._pipeline = ServePipeline(
            preprocessor,
            detector,
            args.request_timeout_s,
            ServeConfigClient(settings.ray_dashboard_url, auth_token()),
            serve.get_replica_context().app_name,
        )
        # Connects lazily; the schema is migrated beforehand (`medinv migrate`), never here.
        self._inventory = InventoryRecorder.open(settings)
        self._args = args
        self._settings = settings

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_api(
            self._pipeline,
            self._inventory,
            self._args,
            self._settings,
            behind_serve_proxy=True,
        )
