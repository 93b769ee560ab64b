"""Python client of the Medical Inventory Detection API v1 (REST + WebSocket).

from medinv_client import Client
with Client("http://127.0.0.1:8000") as client:
    print(client.detect("shelf.jpg").counts)
"""

from medinv_client._calls import NO_RETRIES, RetryPolicy
from medinv_client.client import AsyncClient, Client
from medinv_client.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    IdempotencyConflictError,
    InvalidParametersError,
    MedinvError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    ServerError,
    ServiceUnavailableError,
    TransportError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from medinv_client.models import (
    Camera,
    CameraStatus,
    CreatedWebhook,
    Detection,
    DetectionResult,
    Location,
    Models,
    ReplenishmentLine,
    Stock,
    StreamFrameError,
    StreamResult,
    Webhook,
    Zone,
    ZoneCounts,
    ZoneItem,
)
from medinv_client.stream import FrameStream, StreamStats
from medinv_client.version import API_VERSION, __version__
from medinv_client.webhooks import verify_webhook

__all__ = [
    "API_VERSION",
    "NO_RETRIES",
    "ApiError",
    "AsyncClient",
    "BadRequestError",
    "Camera",
    "CameraStatus",
    "Client",
    "ConflictError",
    "CreatedWebhook",
    "Detection",
    "DetectionResult",
    "ForbiddenError",
    "FrameStream",
    "IdempotencyConflictError",
    "InvalidParametersError",
    "Location",
    "MedinvError",
    "Models",
    "NotFoundError",
    "PayloadTooLargeError",
    "RateLimitedError",
    "ReplenishmentLine",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "Stock",
    "StreamFrameError",
    "StreamResult",
    "StreamStats",
    "TransportError",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
    "Webhook",
    "Zone",
    "ZoneCounts",
    "ZoneItem",
    "__version__",
    "verify_webhook",
]
