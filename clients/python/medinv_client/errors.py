"""Typed errors: the service's `{"error": {"code", "message", "request_id"}}` as exceptions."""

from __future__ import annotations

from typing import Any


class MedinvError(Exception):
    """Base of every error this client raises."""


class TransportError(MedinvError):
    """The service could not be reached, or the connection broke (after any retries)."""


class ApiError(MedinvError):
    """The service answered with an error. `code` is the service's (e.g. `invalid_image`),
    `status` the HTTP status (None on a stream), `retry_after` its `Retry-After` in seconds."""

    def __init__(
        self,
        status: int | None,
        code: str,
        message: str,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" + (f" (request {request_id})" if request_id else ""))
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after


class BadRequestError(ApiError):
    """400: `invalid_image`, `bad_request`, `invalid_idempotency_key`."""


class UnauthorizedError(ApiError):
    """401: no valid API key where one is needed."""


class ForbiddenError(ApiError):
    """403: the API key lacks the route's scope."""


class NotFoundError(ApiError):
    """404: `not_found`, `model_not_found`."""


class ConflictError(ApiError):
    """409: e.g. a location name that is taken."""


class IdempotencyConflictError(ConflictError):
    """409 `idempotency_conflict`: the idempotency key names a record of another image or
    location. Send a new key for a new detection."""


class PayloadTooLargeError(ApiError):
    """413: `payload_too_large`, `image_too_large`."""


class UnsupportedMediaTypeError(ApiError):
    """415: the image is not JPEG, PNG or WebP."""


class InvalidParametersError(ApiError):
    """422: parameters out of range."""


class RateLimitedError(ApiError):
    """429: the key's budget is spent; see `retry_after`."""


class ServerError(ApiError):
    """500, 502, 504: `internal_error`, `control_plane_error`, `timeout`."""


class ServiceUnavailableError(ApiError):
    """503: `not_ready`, `overloaded`, `store_unavailable`, `spool_full`, model load errors."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: InvalidParametersError,
    429: RateLimitedError,
    503: ServiceUnavailableError,
}
# Codes that arrive on a stream (no HTTP status), or that name a subclass of their status's.
_BY_CODE: dict[str, type[ApiError]] = {
    "invalid_image": BadRequestError,
    "bad_request": BadRequestError,
    "unauthorized": UnauthorizedError,
    "forbidden": ForbiddenError,
    "not_found": NotFoundError,
    "model_not_found": NotFoundError,
    "conflict": ConflictError,
    "idempotency_conflict": IdempotencyConflictError,
    "invalid_idempotency_key": BadRequestError,
    "payload_too_large": PayloadTooLargeError,
    "image_too_large": PayloadTooLargeError,
    "unsupported_media_type": UnsupportedMediaTypeError,
    "invalid_parameters": InvalidParametersError,
    "rate_limited": RateLimitedError,
    "not_ready": ServiceUnavailableError,
    "overloaded": ServiceUnavailableError,
    "store_unavailable": ServiceUnavailableError,
    "spool_full": ServiceUnavailableError,
    "updates_unavailable": ServiceUnavailableError,
}


def error_class(status: int | None, code: str) -> type[ApiError]:
    by_code = _BY_CODE.get(code)
    if status is not None and status in _BY_STATUS:
        by_status = _BY_STATUS[status]
        return by_code if by_code is not None and issubclass(by_code, by_status) else by_status
    if status is not None and status >= 500:
        return ServerError
    return by_code or ApiError


def api_error(
    status: int | None,
    body: Any,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
    fallback: str = "",
) -> ApiError:
    """The exception for an error answer; `body` is its parsed JSON (any shape)."""
    detail = body.get("error") if isinstance(body, dict) else None
    if not isinstance(detail, dict):  # a proxy's page, or a stream's flat error message
        detail = body if isinstance(body, dict) and "code" in body else {}
    code = str(detail.get("code") or (f"http_{status}" if status else "error"))
    message = str(detail.get("message") or fallback or "no error message")
    request_id = str(detail.get("request_id") or request_id or "") or None
    return error_class(status, code)(status, code, message, request_id, retry_after)
