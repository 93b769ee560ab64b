"""Count, time and log every HTTP request by route template (not raw path) and status.

The log line is structured: Serve's JSON logging (`logging_config.encoding: JSON` in the Serve
config) writes each `extra` field as a JSON key. It carries the request id, method, route
template, status, latency and, for detections, the model that answered — never a body, a
header or a query string, so neither image bytes nor API keys can reach the logs.
"""

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve_app.core.metrics import ApiMetrics

logger = logging.getLogger("ray.serve")

# Routes that would flood the logs (Kubernetes probes): counted and timed, not logged at INFO.
_QUIET_ROUTES = frozenset({"/v1/health", "/v1/ready"})


def note_model(scope: Scope, name: str, version: str) -> None:
    """Let the request's log line say which model answered it."""
    scope.setdefault("state", {})["model"] = (name, version)


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            seconds = time.perf_counter() - started
            self.metrics.observe_request(template, status, seconds)
            _log_request(scope, template, status, seconds)


def _log_request(scope: Scope, template: str, status: int, seconds: float) -> None:
    level = logging.DEBUG if template in _QUIET_ROUTES and status < 500 else logging.INFO
    if not logger.isEnabledFor(level):
        return
    state = scope.get("state") or {}
    model_name, model_version = state.get("model") or (None, None)
    method = scope.get("method", "")
    latency_ms = round(seconds * 1000.0, 1)
    logger.log(
        level,
        "%s %s %d %.1fms",
        method,
        template,
        status,
        latency_ms,
        extra={
            "request_id": state.get("request_id", ""),
            "http_method": method,
            "http_route": template,
            "http_status": status,
            "latency_ms": latency_ms,
            "model_name": model_name,
            "model_version": model_version,
        },
    )
