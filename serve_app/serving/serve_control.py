"""Change the running application's declared config through the Ray dashboard's Serve API.

This is what `serve deploy` does: GET the declared applications, change one value, PUT them
all back. A change of the Detector's `user_config` alone is applied by `reconfigure()` on every
replica in place, with no restart. Under KubeRay, the RayService's `serveConfigV2` stays the
source of truth: record a lasting change there.
"""

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from serve_app.core.errors import ControlPlaneError
from serve_app.core.payloads import ModelRef

_APPLICATIONS = "/api/serve/applications/"
_TIMEOUT_S = 10.0
# Keys of the instance details that PUT accepts back unchanged.
_DEPLOY_KEYS = ("proxy_location", "http_options", "grpc_options", "target_capacity")


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
    def __init__(self, dashboard_url: str, token: str | None) -> None:
        self._url = dashboard_url.rstrip("/") + _APPLICATIONS
        self._token = token

    def set_detector_model(self, app_name: str, deployment: str, ref: ModelRef) -> None:
        details = self._request("GET")
        apps = details.get("applications") or {}
        if app_name not in apps:
            raise ControlPlaneError(f"application {app_name!r} is not deployed")
        configs = [
            app["deployed_app_config"] for app in apps.values() if app.get("deployed_app_config")
        ]
        target = next(c for c in configs if c.get("name") == app_name)
        entries = target.setdefault("deployments", [])
        entry = next((d for d in entries if d.get("name") == deployment), None)
        if entry is None:
            entry = {"name": deployment}
            entries.append(entry)
        entry["user_config"] = {**(entry.get("user_config") or {}), "model": str(ref)}
        body = {k: details[k] for k in _DEPLOY_KEYS if details.get(k) is not None}
        self._request("PUT", {**body, "applications": configs})

    def _request(self, method: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self._url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise ControlPlaneError(f"{method} {self._url}: HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise ControlPlaneError(f"{method} {self._url}: {exc}") from None
        return json.loads(text) if text.strip() else {}
