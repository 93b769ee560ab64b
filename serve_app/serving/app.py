"""The application builder: the one entry point for `serve run`, `serve deploy` and RayService.

`import_path: serve_app.serving.app:build_app`; the Serve config's `args:` are validated as
`AppArgs`.
"""

from typing import Any, cast

from ray.serve import Application
from ray.serve.deployment import Deployment

from serve_app.core.args import AppArgs, DetectorUserConfig
from serve_app.serving.camera_poller import CameraPollerDeployment
from serve_app.serving.detector import Detector
from serve_app.serving.ingress import Ingress
from serve_app.serving.pipeline import DETECTOR_DEPLOYMENT
from serve_app.serving.preprocessor import Preprocessor


def _deployment(decorated_class: object) -> Deployment:
    # `@serve.deployment` turns a class into a Deployment; mypy cannot see class decorators.
    return cast(Deployment, decorated_class)


def build_app(args: dict[str, Any]) -> Application:
    app_args = AppArgs.model_validate(args)
    preprocessor = _deployment(Preprocessor).bind(app_args.ingress.limits)
    detector = (
        _deployment(Detector)
        .options(name=DETECTOR_DEPLOYMENT, user_config=DetectorUserConfig().model_dump())
        .bind(app_args.detector, app_args.ingress.limits)
    )
    camera_poller = _deployment(CameraPollerDeployment).bind(app_args.cameras)
    return _deployment(Ingress).bind(preprocessor, detector, camera_poller, app_args.ingress)
