"""The application builder: the one entry point for `serve run`, `serve deploy` and RayService.

`import_path: serve_app.app:build_app`; the Serve config's `args:` are validated as `AppArgs`.
"""

from typing import Any

from ray.serve import Application

from serve_app.app_args import AppArgs, DetectorUserConfig
from serve_app.detector import Detector
from serve_app.ingress import Ingress
from serve_app.preprocess import Preprocessor


def build_app(args: dict[str, Any]) -> Application:
    app_args = AppArgs.model_validate(args)
    preprocessor = Preprocessor.bind(app_args.ingress.limits)
    detector = Detector.options(user_config=DetectorUserConfig().model_dump()).bind(
        app_args.detector
    )
    return Ingress.bind(preprocessor, detector, app_args.ingress)
