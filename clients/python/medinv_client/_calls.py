"""What both clients share: building each API call, retry decisions, decoding answers."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from medinv_client.errors import ApiError, api_error
from medinv_client.images import ImageInput, encode_image, media_type
from medinv_client.version import __version__

DEFAULT_URL = "http://127.0.0.1:8000"
API_KEY_ENV = "MEDINV_API_KEY"
URL_ENV = "MEDINV_URL"
DEFAULT_TIMEOUT_S = 30.0
RETRY_STATUSES = frozenset({429, 503})
# A 500 or 502 without the service's JSON error comes from a proxy in front of it (Serve's, when
# the Ingress replica serving the request died; a gateway's): like a reset, the request may or
# may not have been handled, so only idempotent calls are sent again.
PROXY_FAILURE_STATUSES = frozenset({500, 502})
# Connection resets and refusals: a request that may or may not have reached the service.
RETRY_EXCEPTIONS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of idempotent calls (GET, PUT, DELETE, a detection with an idempotency key) on
    429 and 503 (waiting `Retry-After` when the service sends it, at most `max_wait_s`), and on
    connection errors and a proxy's 500/502 (exponential backoff from `backoff_s`, with
    jitter). `attempts` counts the first."""

    attempts: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    max_wait_s: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt `attempt + 1` (`attempt` counts from 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_wait_s)
        backoff: float = min(self.backoff_s * 2.0 ** (attempt - 1), self.max_backoff_s)
        return backoff * (0.5 + random.random() / 2)


NO_RETRIES = RetryPolicy(attempts=1)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    idempotent: bool = True

    def request_kwargs(self) -> dict[str, Any]:
        params = {k: _query_value(v) for k, v in self.params.items() if v is not None}
        kwargs: dict[str, Any] = {"params": params, "headers": self.headers}
        if self.json is not None:
            kwargs["json"] = self.json
        if self.content is not None:
            kwargs["content"] = self.content
        return kwargs


def _query_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def resolve_api_key(api_key: str | None) -> str | None:
    return api_key if api_key is not None else (os.environ.get(API_KEY_ENV) or None)


def default_headers(api_key: str | None) -> dict[str, str]:
    headers = {"User-Agent": f"medinv-client/{__version__}"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def detect_call(
    image: ImageInput,
    *,
    min_score: float | None,
    max_detections: int | None,
    location: int | None,
    model: str | None,
    request_id: str | None,
    idempotency_key: str | None,
) -> Call:
    data = encode_image(image)
    headers = {"Content-Type": media_type(data)}
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return Call(
        "POST",
        "/v1/detect",
        params={
            "min_score": min_score,
            "max_detections": max_detections,
            "location": location,
            "model": model,
        },
        content=data,
        headers=headers,
        # The key names the record: a retried detection is recorded once.
        idempotent=idempotency_key is not None,
    )


def retry_after_of(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # an HTTP date: fall back to the backoff


def error_of(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    return api_error(
        response.status_code,
        body,
        request_id=response.headers.get("X-Request-ID"),
        retry_after=retry_after_of(response),
        fallback=response.reason_phrase,
    )


def should_retry(call: Call, response: httpx.Response) -> bool:
    if not call.idempotent:
        return False
    if response.status_code in PROXY_FAILURE_STATUSES:
        return not response.headers.get("content-type", "").startswith("application/json")
    return response.status_code in RETRY_STATUSES


def decode(response: httpx.Response, model: type[T]) -> T:
    if response.is_error:
        raise error_of(response)
    return model.model_validate(response.json())


def decode_text(response: httpx.Response) -> str:
    if response.is_error:
        raise error_of(response)
    return response.text


def decode_empty(response: httpx.Response) -> None:
    if response.is_error:
        raise error_of(response)


def clean_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
