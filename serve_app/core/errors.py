"""Domain errors. They carry a stable machine-readable `code` and no web-framework types;
`serve_app.api.errors` maps them to HTTP statuses and WebSocket messages in one table.

Each error takes a single message argument so that it pickles cleanly across Ray processes.
"""


class ServiceError(Exception):
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidImageError(ServiceError):
    """The bytes are not a decodable JPEG, PNG or WebP image."""

    code = "invalid_image"


class UnsupportedMediaTypeError(ServiceError):
    code = "unsupported_media_type"


class PayloadTooLargeError(ServiceError):
    code = "payload_too_large"


class ImageTooLargeError(ServiceError):
    """The image header declares more pixels than allowed (decompression-bomb guard)."""

    code = "image_too_large"


class RequestTimeoutError(ServiceError):
    """The request body did not arrive within the time allowed for it (a slow upload)."""

    code = "request_timeout"


class ClientClosedRequestError(ServiceError):
    """The client went away before its request body had arrived: nothing is done for it."""

    code = "client_closed_request"


class InvalidParameterError(ServiceError):
    code = "invalid_parameters"


class NotReadyError(ServiceError):
    code = "not_ready"


class OverloadedError(ServiceError):
    code = "overloaded"


class ReplicaLostError(NotReadyError):
    """A backend replica died while serving the request, and so did the one retry."""

    code = "replica_lost"


class UpstreamTimeoutError(ServiceError):
    code = "timeout"


class ModelLoadError(ServiceError):
    """A model artifact is missing, corrupt or inconsistent with its manifest."""

    code = "model_load_failed"


class ModelNotFoundError(ServiceError):
    """No model of that name and version is registered under the models root."""

    code = "model_not_found"


class UnknownArchitectureError(ModelLoadError):
    code = "unknown_architecture"


class MissingWeightsError(ModelLoadError):
    code = "missing_weights"


class ChecksumMismatchError(ModelLoadError):
    code = "checksum_mismatch"


class LabelMismatchError(ModelLoadError):
    """The weights were trained for a different number of classes than the manifest lists."""

    code = "label_mismatch"


class InvalidManifestError(ModelLoadError):
    code = "invalid_manifest"


class NotOnnxError(ModelLoadError):
    """The file is not an ONNX model ONNX Runtime can open."""

    code = "not_onnx"


class UnsupportedModelError(ModelLoadError):
    """An ONNX model that is not a detector (a classifier, a segmenter, a pose model), or whose
    outputs match none of the layouts the decoders read."""

    code = "unsupported_model"


class ControlPlaneError(ServiceError):
    """Ray's control plane (the dashboard's Serve API) refused or did not answer a change."""

    code = "control_plane_error"


class NotFoundError(ServiceError):
    """A location (or other inventory object) the request names does not exist."""

    code = "not_found"


class ConflictError(ServiceError):
    """The object would duplicate one that exists (e.g. a location name)."""

    code = "conflict"


class InvalidIdempotencyKeyError(ServiceError):
    """An `Idempotency-Key` header that is empty, too long or has characters outside the set."""

    code = "invalid_idempotency_key"


class IdempotencyConflictError(ServiceError):
    """The caller's idempotency key already names a record of another image or location."""

    code = "idempotency_conflict"


class StoreUnavailableError(ServiceError):
    """The inventory database cannot be reached and the request cannot be queued."""

    code = "store_unavailable"


class SpoolFullError(ServiceError):
    """The database is unreachable and the on-disk spool is full: the record is refused."""

    code = "spool_full"


class UnauthorizedError(ServiceError):
    """No API key where one is required, or one that is unknown, revoked or malformed."""

    code = "unauthorized"


class KeyRevokedError(UnauthorizedError):
    """The API key an open socket authenticated with has been revoked since."""

    code = "key_revoked"


class ForbiddenError(ServiceError):
    """A valid API key without the scope the route needs."""

    code = "forbidden"


class UpdatesUnavailableError(ServiceError):
    """Live inventory updates cannot be delivered (Redis pub/sub is unreachable)."""

    code = "updates_unavailable"


class RateLimitedError(ServiceError):
    """A budget of the caller (its key, or its address when anonymous) is spent.

    The budget's figures are extra attributes: after a pickle round trip (never needed, the
    ingress raises and maps it in the same process) they fall back to a one-second retry.
    """

    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: int = 1,
        limit: int = 0,
        remaining: int = 0,
        reset_s: int = 0,
    ) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.limit = limit  # 0: unknown (Redis did not answer)
        self.remaining = remaining
        self.reset_s = reset_s
