"""`?location=` on detections: record their counts (a stream's smoothed, once per interval)."""

import time
from typing import Annotated

from fastapi import Query

from serve_app.api.context import ApiContext
from serve_app.inventory.recorder import RecordOutcome
from serve_app.inventory.records import CountRecord
from serve_app.inventory.smoothing import CountSmoother
from serve_app.payloads import DetectionResult
from serve_app.stream_session import Frame, elapsed_ms

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


class StreamRecorder:
    """Records a stream's smoothed counts at its location, at most once per interval."""

    def __init__(self, context: ApiContext, location_id: int, stream_id: str) -> None:
        stream_args = context.args.stream
        self._context = context
        self._location_id = location_id
        self._stream_id = stream_id
        self._records = 0
        self._smoother = CountSmoother(
            stream_args.record_window_frames, stream_args.record_interval_s, time.monotonic()
        )

    async def observe(self, frame: Frame, result: DetectionResult) -> RecordOutcome | None:
        counts = self._smoother.observe(result.counts, time.monotonic())
        if counts is None:
            return None
        self._records += 1
        return await record_counts(
            self._context,
            location_id=self._location_id,
            request_id=f"{self._stream_id}:{self._records}",
            image=frame.data,
            result=result,
            latency_ms=elapsed_ms(frame.received_at),
            counts=counts,
        )
