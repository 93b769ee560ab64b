"""serve_app.api.errors: the table from domain errors to HTTP statuses and WebSocket codes."""

import pickle

import pytest
from ray.exceptions import RayTaskError

from serve_app.api.errors import HTTP_STATUS, WS_CLOSE_CODE, http_status, ws_close_code
from serve_app.core import errors
from serve_app.core.errors import (
    ChecksumMismatchError,
    ConflictError,
    ControlPlaneError,
    ForbiddenError,
    ImageTooLargeError,
    InvalidImageError,
    InvalidManifestError,
    InvalidParameterError,
    LabelMismatchError,
    MissingWeightsError,
    ModelLoadError,
    ModelNotFoundError,
    NotFoundError,
    NotReadyError,
    OverloadedError,
    PayloadTooLargeError,
    RateLimitedError,
    ServiceError,
    SpoolFullError,
    StoreUnavailableError,
    UnauthorizedError,
    UnknownArchitectureError,
    UnsupportedMediaTypeError,
    UpdatesUnavailableError,
    UpstreamTimeoutError,
)


def service_error_classes() -> list[type[ServiceError]]:
    """Every subclass of ServiceError defined in serve_app.core.errors, at any depth."""
    found: list[type[ServiceError]] = []
    todo = list(ServiceError.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__ == errors.__name__:
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__name__)


ERROR_CLASSES = service_error_classes()

DOCUMENTED_HTTP_STATUS = {
    InvalidImageError: 400,
    PayloadTooLargeError: 413,
    ImageTooLargeError: 413,
    NotFoundError: 404,
    ConflictError: 409,
    errors.IdempotencyConflictError: 409,
    errors.InvalidIdempotencyKeyError: 400,
    UnsupportedMediaTypeError: 415,
    InvalidParameterError: 422,
    NotReadyError: 503,
    errors.ReplicaLostError: 503,
    OverloadedError: 503,
    ModelLoadError: 503,
    ChecksumMismatchError: 503,
    InvalidManifestError: 503,
    LabelMismatchError: 503,
    MissingWeightsError: 503,
    UnknownArchitectureError: 503,
    errors.NotOnnxError: 503,
    errors.RequestTimeoutError: 408,
    errors.ClientClosedRequestError: 499,
    errors.UnsupportedModelError: 503,
    ModelNotFoundError: 404,
    ControlPlaneError: 502,
    StoreUnavailableError: 503,
    SpoolFullError: 503,
    UpstreamTimeoutError: 504,
    UnauthorizedError: 401,
    errors.KeyRevokedError: 401,
    ForbiddenError: 403,
    RateLimitedError: 429,
    UpdatesUnavailableError: 503,
}
DOCUMENTED_WS_CLOSE_CODE = {
    RateLimitedError: 1013,
    UpdatesUnavailableError: 1013,
    UnauthorizedError: 1008,
    errors.KeyRevokedError: 1008,
    ForbiddenError: 1008,
    OverloadedError: 1013,
    NotReadyError: 1013,
    errors.ReplicaLostError: 1013,
    StoreUnavailableError: 1013,
    InvalidParameterError: 1008,
    NotFoundError: 1008,
}


class FakeRayTaskError(Exception):
    """Stands in for ray.exceptions.RayTaskError, whose subclasses wrap a remote error."""


def as_remote(cls: type[ServiceError]) -> type[ServiceError]:
    """What Ray does to an error raised in another process: a new class that derives from
    both its own error type and the original class."""
    return type(f"RayTaskError({cls.__name__})", (FakeRayTaskError, cls), {})


def test_the_error_module_defines_the_known_subclasses() -> None:
    assert set(ERROR_CLASSES) == set(DOCUMENTED_HTTP_STATUS)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_service_error_subclass_has_an_explicit_http_status(
    cls: type[ServiceError],
) -> None:
    assert cls in HTTP_STATUS


@pytest.mark.parametrize(
    ("cls", "status"), DOCUMENTED_HTTP_STATUS.items(), ids=lambda v: getattr(v, "__name__", v)
)
def test_http_status_is_as_documented(cls: type[ServiceError], status: int) -> None:
    assert http_status(cls("x")) == status


def test_base_service_error_is_internal_server_error() -> None:
    assert http_status(ServiceError("x")) == 500


def test_unlisted_subclass_falls_back_to_its_listed_base() -> None:
    class SpecialTimeout(UpstreamTimeoutError):
        pass

    class NewKindOfError(ServiceError):
        pass

    assert http_status(SpecialTimeout("x")) == 504
    assert http_status(NewKindOfError("x")) == 500


@pytest.mark.parametrize(
    ("cls", "code"), DOCUMENTED_WS_CLOSE_CODE.items(), ids=lambda v: getattr(v, "__name__", v)
)
def test_ws_close_code_is_as_documented(cls: type[ServiceError], code: int) -> None:
    assert ws_close_code(cls("x")) == code


@pytest.mark.parametrize(
    "cls",
    [ServiceError, *(cls for cls in ERROR_CLASSES if cls not in DOCUMENTED_WS_CLOSE_CODE)],
    ids=lambda cls: cls.__name__,
)
def test_other_errors_close_the_stream_with_internal_error(cls: type[ServiceError]) -> None:
    assert ws_close_code(cls("x")) == 1011


def test_ws_close_code_table_has_only_documented_entries() -> None:
    assert WS_CLOSE_CODE == DOCUMENTED_WS_CLOSE_CODE


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_dynamically_wrapped_error_maps_like_its_base(cls: type[ServiceError]) -> None:
    wrapped = as_remote(cls)("remote failure")

    assert isinstance(wrapped, cls)
    assert http_status(wrapped) == http_status(cls("x"))
    assert ws_close_code(wrapped) == ws_close_code(cls("x"))
    assert wrapped.code == cls.code


@pytest.mark.parametrize(
    ("cls", "status", "close_code"),
    [
        (InvalidImageError, 400, 1011),
        (OverloadedError, 503, 1013),
        (InvalidParameterError, 422, 1008),
        (UpstreamTimeoutError, 504, 1011),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_real_ray_task_error_maps_like_its_cause(
    cls: type[ServiceError], status: int, close_code: int
) -> None:
    wrapped = RayTaskError("detect", "Traceback: ...", cls("from a replica")).as_instanceof_cause()

    assert isinstance(wrapped, ServiceError)
    assert http_status(wrapped) == status
    assert ws_close_code(wrapped) == close_code
    assert wrapped.code == cls.code
    assert wrapped.message == "from a replica"


@pytest.mark.parametrize("cls", [ServiceError, *ERROR_CLASSES], ids=lambda cls: cls.__name__)
def test_errors_survive_pickling_with_message_and_code(cls: type[ServiceError]) -> None:
    original = cls("image is 9000x9000 pixels; the limit is 40000000")

    restored = pickle.loads(pickle.dumps(original))

    assert type(restored) is cls
    assert restored.message == original.message
    assert restored.code == cls.code
    assert str(restored) == original.message
    assert restored.args == (original.message,)


def test_error_codes_are_distinct() -> None:
    codes = [cls.code for cls in [ServiceError, *ERROR_CLASSES]]
    assert len(set(codes)) == len(codes), codes
