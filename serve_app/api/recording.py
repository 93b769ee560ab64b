"""`?location=` on detections: check the location up front, record the counts afterwards."""

from typing import Annotated

from fastapi import Query

from serve_app.api.context import ApiContext
from serve_app.inventory.recorder import RecordOutcome
from serve_app.inventory.records import CountRecord
from serve_app.payloads import DetectionResult

LocationParam = Annotated[
    int | None,
    Query(ge=1, description="record the counts at this location (an id from /v1/locations)"),
]


async def record_counts(
    context: ApiContext,
    *,
    location_id: int,
    request_id: str,
    image: bytes,
    result: DetectionResult,
    latency_ms: float,
    counts: dict[str, int] | None = None,
) -> RecordOutcome:
    record = CountRecord.from_result(
        request_id=request_id,
        location_id=location_id,
        image=image,
        result=result,
        latency_ms=latency_ms,
        counts=counts,
    )
    return await context.inventory.record(record)
