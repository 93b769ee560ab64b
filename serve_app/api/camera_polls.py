"""A camera poll's frames, recorded as one detection of its location: each frame detected,
the counts of the image and of each zone's bin combined by their median over the frames (a
hand or a cart in one frame of five moves no count), and recorded once per camera and slot."""

import asyncio
import time

from serve_app.api.context import ApiContext
from serve_app.api.recording import record_counts
from serve_app.api.schemas.cameras import camera_config
from serve_app.cameras.config import CameraConfig
from serve_app.core.payloads import DetectParams
from serve_app.inventory.camera_catalog import list_cameras
from serve_app.inventory.database import Database
from serve_app.inventory.smoothing import median_counts
from serve_app.inventory.zones import counts_by_bin, split_bins, with_bins

# Records made by camera polls are keyed under this caller: no API key's caller is it.
POLLER_CALLER = "camera-poller"


def poll_key(camera_id: int, slot: int) -> str:
    return f"camera-{camera_id}-{slot}"


async def record_poll(
    context: ApiContext, camera: CameraConfig, frames: list[bytes], slot: int
) -> str:
    """Detect on the frames and record their median counts; the record's outcome."""
    started = time.perf_counter()
    zones = await context.inventory.locations.zones_at(camera.location_id)
    results = await asyncio.gather(
        *(context.pipeline.detect(frame, DetectParams()) for frame in frames)
    )
    per_frame = [
        with_bins(
            result.counts,
            counts_by_bin(result.detections, result.image_width, result.image_height, zones),
        )
        for result in results
    ]
    counts, bin_counts = split_bins(median_counts(per_frame), zones)
    key = poll_key(camera.id, slot)
    return await record_counts(
        context,
        caller=POLLER_CALLER,
        idempotency_key=key,
        location_id=camera.location_id,
        request_id=key,
        # A poll's record is its camera's and slot's, whatever frames a retry of it took: a
        # retried slot is a duplicate, never a conflict.
        image=key.encode(),
        result=results[0],
        latency_ms=(time.perf_counter() - started) * 1000.0,
        counts={label: count for label, count in counts.items() if count},
        bin_counts=bin_counts,
    )


async def enabled_cameras(database: Database) -> list[CameraConfig]:
    """The cameras to poll, as the poller takes them."""
    async with database.session() as session:
        return [camera_config(c) for c in await list_cameras(session, enabled_only=True)]
