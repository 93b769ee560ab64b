"""Change the running application's declared config through the Ray dashboard's Serve API.

This is what `serve deploy` does: GET the declared applications, change one value, PUT them
all back. A change of the Detector's `user_config` alone is applied by `reconfigure()` on every
replica in place, with no restart. Under KubeRay, the RayService's `serveConfigV2` stays the
source of truth: record a lasting change there.
"""

import http.client
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from serve_app.core.errors import ControlPlaneError
from serve_app.core.payloads import ModelRef

_APPLICATIONS = "/api/serve/applications/"
DEFAULT_TIMEOUT_S = 10.0
# Keys of the instance details that PUT accepts back unchanged.
_DEPLOY_KEYS = ("proxy_location", "http_options", "grpc_options", "target_capacity")
_HOW_TO_DECLARE = (
    "deploy it from a Serve config with `serve deploy` (locally `medinv deploy "
    "configs/serve_config.yaml`), then retry"
)


def auth_token() -> str | None:
    """Ray's token for token auth, as every Ray process of the cluster sees it."""
    token = os.environ.get("RAY_AUTH_TOKEN")
    if token:
        return token.strip()
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if path and Path(path).is_file():
        return Path(path).read_text().strip()
    return None


class ServeConfigClient:
    """Blocking calls to the dashboard: run them in an executor. Each request has a timeout of
    `timeout_s` (urllib's, per blocking socket operation); `operation_timeout_s` bounds a whole
    `set_detector_model` (a GET and a PUT) for callers that wait for it."""

    def __init__(
        self, dashboard_url: str, token: str | None, *, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self._url = dashboard_url.rstrip("/") + _APPLICATIONS
        self._token = token
        self.timeout_s = timeout_s

    @property
    def operation_timeout_s(self) -> float:
        return 2 * self.timeout_s + 1.0

    def set_detector_model(self, app_name: str, deployment: str, ref: ModelRef) -> None:
        details = self._request("GET")
        if not isinstance(details, dict):
            raise self._malformed("GET", f"a JSON {type(details).__name__}, not an object")
        apps = details.get("applications") or {}
        if not isinstance(apps, dict) or not all(isinstance(a, dict) for a in apps.values()):
            raise self._malformed("GET", "'applications' is not an object of objects")
        if app_name not in apps:
            raise ControlPlaneError(f"application {app_name!r} is not deployed")
        configs: list[dict[str, Any]] = []
        for app in apps.values():
            config = app.get("deployed_app_config")
            if config is None:
                continue
            if not isinstance(config, dict):
                raise self._malformed("GET", "a 'deployed_app_config' is not an object")
            configs.append(config)
        target = next((c for c in configs if c.get("name") == app_name), None)
        if target is None:
            raise ControlPlaneError(
                f"application {app_name!r} has no declared Serve config (it was deployed with "
                f"`serve run`, or is still deploying), so its model cannot be changed at "
                f"runtime: {_HOW_TO_DECLARE}"
            )
        entries = target.setdefault("deployments", [])
        if not isinstance(entries, list) or not all(isinstance(d, dict) for d in entries):
            raise self._malformed("GET", f"'deployments' of {app_name!r} is not a list of objects")
        entry = next((d for d in entries if d.get("name") == deployment), None)
        if entry is None:
            entry = {"name": deployment}
            entries.append(entry)
        user_config = entry.get("user_config") or {}
        if not isinstance(user_config, dict):
            raise self._malformed("GET", f"'user_config' of {deployment!r} is not an object")
        entry["user_config"] = {**user_config, "model": str(ref)}
        body = {k: details[k] for k in _DEPLOY_KEYS if details.get(k) is not None}
        self._request("PUT", {**body, "applications": configs})

    def _request(self, method: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self._url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw: bytes = response.read()
        except urllib.error.HTTPError as exc:
            raise ControlPlaneError(
                f"{method} {self._url}: HTTP {exc.code}: {_error_detail(exc)}"
            ) from None
        except TimeoutError:
            raise ControlPlaneError(
                f"{method} {self._url}: no answer within {self.timeout_s:g} s"
            ) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise ControlPlaneError(f"{method} {self._url}: {exc}") from None
        try:
            text = raw.decode()
            return json.loads(text) if text.strip() else {}
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise self._malformed(method, f"not JSON: {raw[:200]!r}") from None

    def _malformed(self, method: str, problem: str) -> ControlPlaneError:
        return ControlPlaneError(f"{method} {self._url}: unexpected answer: {problem}")


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        return exc.read().decode(errors="replace")[:500]
    except (http.client.HTTPException, OSError):  # the body did not come in time either
        return exc.reason if isinstance(exc.reason, str) else ""
