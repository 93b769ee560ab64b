"""POST /v1/detect."""

import time
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from serve_app.api import idempotency
from serve_app.api.body import read_image_upload
from serve_app.api.context import Context
from serve_app.api.guards import DETECT, DetectCaller
from serve_app.api.negotiation import JPEG_MEDIA_TYPE, OutputFormat, chosen_format
from serve_app.api.recording import LocationParam, record_counts
from serve_app.api.request_id import request_id_of
from serve_app.api.request_metrics import note_model
from serve_app.api.responses import INVALID, NOT_READY, Outcome
from serve_app.api.schemas.detection import MODEL_REF, DetectResponse, zones_out
from serve_app.core.errors import (
    IdempotencyConflictError,
    ImageTooLargeError,
    InvalidIdempotencyKeyError,
    InvalidImageError,
    ModelLoadError,
    ModelNotFoundError,
    NotFoundError,
    OverloadedError,
    PayloadTooLargeError,
    ReplicaLostError,
    RequestTimeoutError,
    SpoolFullError,
    StoreUnavailableError,
    UnsupportedMediaTypeError,
    UpstreamTimeoutError,
)
from serve_app.core.payloads import DetectParams, ModelRef
from serve_app.inventory.zones import Zone, counts_by_bin

router = APIRouter(prefix="/v1", tags=["detection"])

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_REQUEST_BODY = {
    "required": True,
    "description": "The image as the raw body, or as the file field `image` of a multipart form.",
    "content": {
        "image/jpeg": _BINARY,
        "image/png": _BINARY,
        "image/webp": _BINARY,
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["image"],
                "properties": {"image": {"type": "string", "format": "binary"}},
            }
        },
    },
}
_OUTCOMES = (
    Outcome.of(
        InvalidImageError,
        "not a decodable JPEG, PNG or WebP image (`bad_request`: a malformed multipart body)",
    ),
    Outcome.of(InvalidIdempotencyKeyError, "a malformed Idempotency-Key"),
    Outcome.of(NotFoundError, "no such `location`"),
    Outcome.of(ModelNotFoundError, "no such `model` version"),
    Outcome.of(
        IdempotencyConflictError,
        "the Idempotency-Key names a record of another image or location",
    ),
    Outcome.of(RequestTimeoutError, "the body did not arrive within `body_timeout_s`"),
    Outcome.of(PayloadTooLargeError, "the body is over `max_body_bytes`"),
    Outcome.of(ImageTooLargeError, "the image has more pixels or tiles than allowed"),
    Outcome.of(UnsupportedMediaTypeError, "another or no Content-Type"),
    INVALID,
    NOT_READY,
    Outcome.of(OverloadedError, "this ingress replica or the detectors are at capacity"),
    Outcome.of(
        StoreUnavailableError,
        "with `?location`: the database is unreachable and the location was not checked before",
    ),
    Outcome.of(
        SpoolFullError, "with `?location`: the database is unreachable and the spool is full"
    ),
    Outcome.of(ModelLoadError, "a pinned `model` version cannot be loaded"),
    Outcome.of(ReplicaLostError, "a replica died with the detection, and again on its resend"),
    Outcome.of(UpstreamTimeoutError, "the detector did not answer within `request_timeout_s`"),
)
_ANSWER = {
    "description": "The detections as JSON (the default); with `Accept: image/jpeg` or "
    "`?format=jpeg`, the image at its original size with each box, label and score drawn on it",
    "content": {JPEG_MEDIA_TYPE: _BINARY},
}
_GUARDED = DETECT.route(*_OUTCOMES)

MinScore = Annotated[
    float | None,
    Query(ge=0.0, le=1.0, description="drop detections below this score; default: the model's"),
]
MaxDetections = Annotated[
    int, Query(ge=1, le=1000, description="keep at most this many, best first")
]
Format = Annotated[
    OutputFormat | None,
    Query(
        alias="format",
        description="`jpeg`: answer with the annotated image instead of JSON (as `Accept: "
        "image/jpeg` does); default: by `Accept`, else JSON",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    # Checked by `checked_key` (a 400 of its own, not FastAPI's 422).
    Header(alias=idempotency.HEADER, description=idempotency.DESCRIPTION),
]
PinnedModel = Annotated[
    str | None,
    Query(
        pattern=MODEL_REF,
        description="name:version of a registered model; default: the active one",
    ),
]


@router.post(
    "/detect",
    summary="Detect supply items in one shelf image",
    openapi_extra={"requestBody": _REQUEST_BODY},
    response_model=DetectResponse,
    dependencies=_GUARDED["dependencies"],
    responses={200: _ANSWER, **_GUARDED["responses"]},
)
async def detect(
    request: Request,
    response: Response,
    context: Context,
    caller: DetectCaller,
    min_score: MinScore = None,
    max_detections: MaxDetections = 100,
    model: PinnedModel = None,
    location: LocationParam = None,
    output: Format = None,
    idempotency_key: IdempotencyKey = None,
) -> DetectResponse | Response:
    started = time.perf_counter()
    key = idempotency.checked_key(idempotency_key)
    with context.requests.hold():
        zones: tuple[Zone, ...] = ()
        if location is not None:
            zones = await context.inventory.locations.zones_at(location)
        limits = context.args.limits
        data = await read_image_upload(request, limits.max_body_bytes, limits.body_timeout_s)
        params = DetectParams(min_score, max_detections)
        pinned = ModelRef.parse(model) if model else None
        result, cache = await context.state.results.detect(data, params, pinned)
    response.headers["X-Cache"] = cache
    response.headers["Vary"] = "Accept"
    if cache != "hit":
        context.metrics.observe_result(result)
    note_model(request.scope, result.model.name, result.model.version)
    total_ms = (time.perf_counter() - started) * 1000.0
    answer = DetectResponse.from_result(result, request_id_of(request), total_ms)
    if location is not None:
        bins = counts_by_bin(result.detections, result.image_width, result.image_height, zones)
        answer.zones = zones_out(zones, bins)
        answer.recorded = await record_counts(
            context,
            caller=caller.caller,
            idempotency_key=idempotency.record_key(key),
            location_id=location,
            request_id=answer.request_id,
            image=data,
            result=result,
            latency_ms=total_ms,
            bin_counts=bins,
        )
    if chosen_format(output, request.headers.get("accept")) is OutputFormat.JPEG:
        image = await context.pipeline.annotate(data, result.detections)
        # The guard's RateLimit-* headers and X-Cache, which FastAPI adds only to JSON.
        return Response(image, media_type=JPEG_MEDIA_TYPE, headers=dict(response.headers))
    return answer
