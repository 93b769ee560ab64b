"""The one table from domain errors to HTTP statuses and WebSocket close codes."""

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from serve_app.api.request_id import request_id_of
from serve_app.api.schemas.detection import ErrorDetail, ErrorResponse
from serve_app.core.errors import (
    ChecksumMismatchError,
    ClientClosedRequestError,
    ConflictError,
    ControlPlaneError,
    ForbiddenError,
    IdempotencyConflictError,
    ImageTooLargeError,
    InvalidIdempotencyKeyError,
    InvalidImageError,
    InvalidManifestError,
    InvalidParameterError,
    KeyRevokedError,
    LabelMismatchError,
    MissingWeightsError,
    ModelLoadError,
    ModelNotFoundError,
    NotFoundError,
    NotOnnxError,
    NotReadyError,
    OverloadedError,
    PayloadTooLargeError,
    RateLimitedError,
    ReplicaLostError,
    RequestTimeoutError,
    ServiceError,
    SpoolFullError,
    StoreUnavailableError,
    UnauthorizedError,
    UnknownArchitectureError,
    UnsupportedMediaTypeError,
    UnsupportedModelError,
    UpdatesUnavailableError,
    UpstreamTimeoutError,
)

logger = logging.getLogger("ray.serve")

HTTP_STATUS: dict[type[ServiceError], int] = {
    InvalidImageError: 400,
    InvalidIdempotencyKeyError: 400,
    UnauthorizedError: 401,
    KeyRevokedError: 401,
    ForbiddenError: 403,
    RateLimitedError: 429,
    PayloadTooLargeError: 413,
    ImageTooLargeError: 413,
    NotFoundError: 404,
    ConflictError: 409,
    IdempotencyConflictError: 409,
    UnsupportedMediaTypeError: 415,
    InvalidParameterError: 422,
    RequestTimeoutError: 408,
    # nginx's convention; logged and counted, never read: the client has gone.
    ClientClosedRequestError: 499,
    NotReadyError: 503,
    ReplicaLostError: 503,
    OverloadedError: 503,
    ModelNotFoundError: 404,
    ModelLoadError: 503,
    ChecksumMismatchError: 503,
    InvalidManifestError: 503,
    LabelMismatchError: 503,
    MissingWeightsError: 503,
    UnknownArchitectureError: 503,
    NotOnnxError: 503,
    UnsupportedModelError: 503,
    ControlPlaneError: 502,
    StoreUnavailableError: 503,
    SpoolFullError: 503,
    UpdatesUnavailableError: 503,
    UpstreamTimeoutError: 504,
}
RETRY_AFTER_S: dict[type[ServiceError], int] = {
    NotReadyError: 5,
    ReplicaLostError: 1,
    OverloadedError: 1,
    StoreUnavailableError: 5,
    SpoolFullError: 30,
}

# RFC 6455 close codes for errors that end a stream (per-frame errors are messages instead).
WS_CLOSE_TRY_AGAIN_LATER = 1013
WS_CLOSE_POLICY_VIOLATION = 1008
WS_CLOSE_CODE: dict[type[ServiceError], int] = {
    OverloadedError: WS_CLOSE_TRY_AGAIN_LATER,
    NotReadyError: WS_CLOSE_TRY_AGAIN_LATER,
    ReplicaLostError: WS_CLOSE_TRY_AGAIN_LATER,
    StoreUnavailableError: WS_CLOSE_TRY_AGAIN_LATER,
    UpdatesUnavailableError: WS_CLOSE_TRY_AGAIN_LATER,
    RateLimitedError: WS_CLOSE_TRY_AGAIN_LATER,
    InvalidParameterError: WS_CLOSE_POLICY_VIOLATION,
    NotFoundError: WS_CLOSE_POLICY_VIOLATION,
    UnauthorizedError: WS_CLOSE_POLICY_VIOLATION,
    KeyRevokedError: WS_CLOSE_POLICY_VIOLATION,
    ForbiddenError: WS_CLOSE_POLICY_VIOLATION,
}
_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


def _lookup(table: dict[type[ServiceError], int], kind: type[ServiceError], default: int) -> int:
    # Walk the MRO: errors raised in another replica arrive as RayTaskError subclasses of them.
    for cls in kind.__mro__:
        if cls in table:
            return table[cls]
    return default


def http_status(error: ServiceError) -> int:
    return status_of(type(error))


def status_of(kind: type[ServiceError]) -> int:
    return _lookup(HTTP_STATUS, kind, 500)


def ws_close_code(error: ServiceError) -> int:
    return _lookup(WS_CLOSE_CODE, type(error), 1011)


def headers_of(kind: type[ServiceError]) -> dict[str, bool]:
    """The headers `service_error_response` gives an error of this kind, each with whether it
    always does (what OpenAPI documents)."""
    if issubclass(kind, RateLimitedError):
        # RateLimit-* are left out where no limit is counted (Redis down, fail-closed).
        return {"Retry-After": True} | dict.fromkeys(RATE_LIMIT_HEADERS, False)
    if issubclass(kind, UnauthorizedError):
        return {"WWW-Authenticate": True}
    return {"Retry-After": True} if _lookup(RETRY_AFTER_S, kind, 0) else {}


def error_response(
    request: Request, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    request_id = request_id_of(request)
    body = ErrorResponse(error=ErrorDetail(code=code, message=message, request_id=request_id))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def service_error_response(request: Request, error: ServiceError) -> JSONResponse:
    retry_after = _lookup(RETRY_AFTER_S, type(error), 0)
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    if isinstance(error, RateLimitedError):
        headers["Retry-After"] = str(error.retry_after_s)
        if error.limit:
            headers |= rate_limit_headers(error.limit, error.remaining, error.reset_s)
    elif isinstance(error, UnauthorizedError):
        headers["WWW-Authenticate"] = "Bearer"
    return error_response(request, http_status(error), error.code, error.message, headers)


RATE_LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def rate_limit_headers(limit: int, remaining: int, reset_s: int) -> dict[str, str]:
    return dict(zip(RATE_LIMIT_HEADERS, (str(limit), str(remaining), str(reset_s)), strict=True))


def install_error_handlers(app: FastAPI) -> None:
    async def on_service_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        return service_error_response(request, exc)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        return error_response(request, 422, InvalidParameterError.code, problems)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(request, exc.status_code, code, str(exc.detail), exc.headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error in request %s", request_id_of(request))
        return error_response(request, 500, "internal_error", "an internal error occurred")

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
