"""`?location=` on detections: record their counts (a stream's smoothed, once per interval) and
publish them, with what is below par there, to the live updates."""

import logging
import secrets
import time
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Query

from serve_app.api.context import ApiContext
from serve_app.api.frame_scheduler import Frame, elapsed_ms
from serve_app.api.schemas.detection import ZoneCountsOut, zones_out
from serve_app.api.schemas.inventory import AlertsResponse, StockOut
from serve_app.core.errors import NotFoundError, StoreUnavailableError
from serve_app.core.payloads import DetectionResult
from serve_app.inventory import queries
from serve_app.inventory.models import MAX_INTEGER
from serve_app.inventory.recorder import RecordOutcome
from serve_app.inventory.records import CountRecord
from serve_app.inventory.smoothing import CountSmoother
from serve_app.inventory.zones import counts_by_bin, split_bins, with_bins
from serve_app.state.stream_state import StreamState

logger = logging.getLogger("ray.serve")
LocationParam = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_INTEGER,
        description="record the counts at this location (an id from /v1/locations)",
    ),
]


# Bin records are keyed by their detection's key and this: no caller's key holds a "#".
BIN_KEY_SEPARATOR = "#bin-"


async def record_counts(
    context: ApiContext,
    *,
    caller: str,
    idempotency_key: str,
    location_id: int,
    request_id: str,
    image: bytes,
    result: DetectionResult,
    latency_ms: float,
    counts: dict[str, int] | None = None,
    bin_counts: dict[int, dict[str, int]] | None = None,
) -> RecordOutcome:
    """Record the counts at the location and each of `bin_counts` at its bin (a zone of the
    location's camera); the outcome is the location's. A bin is recorded even when the
    location's record is a duplicate: its own key makes it one too, unless the first attempt
    ended before it."""
    record = CountRecord.from_result(
        caller=caller,
        idempotency_key=idempotency_key,
        request_id=request_id,
        location_id=location_id,
        image=image,
        result=result,
        latency_ms=latency_ms,
        counts=counts,
    )
    outcome = await _record_and_publish(context, record)
    for bin_id, counts_in_bin in (bin_counts or {}).items():
        bin_record = replace(
            record,
            idempotency_key=f"{idempotency_key}{BIN_KEY_SEPARATOR}{bin_id}",
            location_id=bin_id,
            counts=counts_in_bin,
        )
        try:
            await _record_and_publish(context, bin_record)
        except NotFoundError:
            logger.warning("zone %d was deleted: its counts are not recorded", bin_id)
    return outcome


async def _record_and_publish(context: ApiContext, record: CountRecord) -> RecordOutcome:
    outcome = await context.inventory.record(record)
    if outcome == "duplicate":
        return outcome  # recorded (and published) by the request it repeats
    await context.state.updates.publish(
        {
            "type": "counts",
            "location_id": record.location_id,
            "counts": record.counts,
            "recorded": outcome,
            "request_id": record.request_id,
        }
    )
    if outcome == "written":
        await _publish_below_par(context, record.location_id)
    return outcome


async def _publish_below_par(context: ApiContext, location_id: int) -> None:
    try:
        async with context.inventory.database.session() as session:
            levels = await queries.stock_levels(
                session, location_id=location_id, below_par_only=True
            )
    except StoreUnavailableError:
        return  # the record is written; its alert reaches subscribers with the next one
    if levels:
        alerts = AlertsResponse(alerts=[StockOut.of(level) for level in levels])
        await context.state.updates.publish(
            {"type": "below_par", "location_id": location_id, **alerts.model_dump(mode="json")}
        )


@dataclass(frozen=True)
class FrameObservation:
    zones: list[ZoneCountsOut] | None
    recorded: RecordOutcome | None


class StreamRecorder:
    """Records a stream's smoothed counts at its location, at most once per interval.

    Record keys are `<session id>:<connection>:<n>`, under the stream's caller: `n` goes on
    numbering across resumes, and `<connection>` is new on every connection, so neither a
    session id chosen again once it expired nor two connections of one session ever reuse a
    key and lose a record to the other.
    """

    def __init__(
        self, context: ApiContext, state: StreamState, *, caller: str, request_id: str
    ) -> None:
        assert state.location_id is not None
        stream_args = context.args.stream
        self._context = context
        self._state = state
        self._caller = caller
        self._request_id = request_id  # the connection's trace id
        self._key_prefix = f"{state.session_id}:{secrets.token_hex(8)}"
        self._location_id = state.location_id
        self._smoother = CountSmoother(
            stream_args.record_window_frames,
            stream_args.record_interval_s,
            state.last_recorded_at if state.last_recorded_at is not None else time.time(),
            state.window,
        )

    def update(self, state: StreamState) -> None:
        """Copy what a resumed stream needs (window, last record time) into `state`."""
        state.window = self._smoother.window
        state.last_recorded_at = self._smoother.last_recorded_at

    async def observe(self, frame: Frame, result: DetectionResult) -> FrameObservation:
        """The frame's counts per zone, and the record of the smoothed counts when one is due."""
        zones = await self._context.inventory.locations.zones_at(self._location_id)
        bins = counts_by_bin(result.detections, result.image_width, result.image_height, zones)
        frame_zones = zones_out(zones, bins)
        smoothed = self._smoother.observe(with_bins(result.counts, bins), time.time())
        if smoothed is None:
            return FrameObservation(frame_zones, recorded=None)
        counts, bin_counts = split_bins(smoothed, zones)
        self._state.records += 1
        recorded = await record_counts(
            self._context,
            caller=self._caller,
            idempotency_key=f"{self._key_prefix}:{self._state.records}",
            location_id=self._location_id,
            request_id=self._request_id,
            image=frame.data,
            result=result,
            latency_ms=elapsed_ms(frame.received_at),
            counts=counts,
            bin_counts=bin_counts,
        )
        return FrameObservation(frame_zones, recorded)
