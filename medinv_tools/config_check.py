"""Strict checks of a Serve config file. Ray's schemas silently ignore unknown keys, so a
misspelled `max_ongoing_request` would deploy with the default; this rejects it."""

import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from ray.serve.schema import ServeDeploySchema

from serve_app.core.args import AppArgs, DetectorUserConfig

EXPECTED_DEPLOYMENTS = {"Ingress", "Preprocessor", "Detector", "CameraPoller"}
USER_CONFIG_MODELS: dict[str, type[BaseModel]] = {"Detector": DetectorUserConfig}
_FREE_FORM_KEYS = {"runtime_env", "args", "user_config", "resources", "label_selector"}


def check_serve_config(
    config: dict[str, Any], import_path: str = "serve_app.serving.app:build_app"
) -> list[str]:
    """All problems found in `config`; an empty list means it is good to deploy."""
    problems = _unknown_keys(config, ServeDeploySchema, "")
    try:
        ServeDeploySchema.model_validate(config)
    except ValidationError as exc:
        problems += [f"{_loc(err['loc'])}: {err['msg']}" for err in exc.errors()]
    for index, application in enumerate(config.get("applications") or []):
        if application.get("import_path") == import_path:
            problems += _check_application(application, f"applications[{index}]")
    return problems


def load_and_check(path: Path) -> list[str]:
    config = yaml.safe_load(path.read_text())
    if not isinstance(config, dict):
        return [f"{path} does not hold a mapping"]
    return check_serve_config(config)


def _check_application(application: dict[str, Any], where: str) -> list[str]:
    problems = []
    try:
        AppArgs.model_validate(application.get("args") or {})
    except ValidationError as exc:
        problems += [f"{where}.args.{_loc(err['loc'])}: {err['msg']}" for err in exc.errors()]
    names = {d.get("name") for d in application.get("deployments") or []}
    for unknown in sorted(names - EXPECTED_DEPLOYMENTS, key=str):
        problems.append(f"{where}.deployments: no deployment named {unknown!r} in this app")
    for deployment in application.get("deployments") or []:
        problems += _unbounded_queue(deployment, f"{where}.deployments[{deployment.get('name')}]")
        model = USER_CONFIG_MODELS.get(deployment.get("name", ""))
        if model is None or "user_config" not in deployment:
            continue
        try:
            model.model_validate(deployment["user_config"])
        except ValidationError as exc:
            problems += [
                f"{where}.deployments[{deployment['name']}].user_config.{_loc(err['loc'])}: "
                f"{err['msg']}"
                for err in exc.errors()
            ]
    return problems


def _unbounded_queue(deployment: dict[str, Any], where: str) -> list[str]:
    """Serve's default (-1) queues without bound at every caller: overload then answers late,
    with timeouts, instead of fast with a 503 and Retry-After."""
    bound = deployment.get("max_queued_requests")
    if isinstance(bound, int) and bound >= 1:
        return []
    return [f"{where}.max_queued_requests: set a bound (>= 1); unbounded queues hide overload"]


def _unknown_keys(value: Any, model: type[BaseModel], where: str) -> list[str]:
    if not isinstance(value, dict):
        return []
    problems = []
    fields = model.model_fields
    known = set(fields) | {f.alias for f in fields.values() if f.alias}
    for key, item in value.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in known:
            problems.append(f"{path}: unknown key (known: {', '.join(sorted(known))})")
            continue
        if key in _FREE_FORM_KEYS:
            continue
        nested = _model_in(fields[key].annotation)
        if nested is None:
            continue
        items = item if isinstance(item, list) else [item]
        for i, element in enumerate(items):
            suffix = f"[{i}]" if isinstance(item, list) else ""
            problems += _unknown_keys(element, nested, path + suffix)
    return problems


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside Optional[...], list[...] or Union[...], if there is one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)
