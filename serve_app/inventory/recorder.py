"""Record detections without losing any: write to the database, or spool and replay later.

While the spool holds anything, new records join its end instead of going straight to the
database, so the records of a location reach the database in the order they were accepted.
A background task replays the spool in batches once the database answers again; every
write is `INSERT … ON CONFLICT (request_id) DO NOTHING`, so a batch written twice (its
commit succeeded but the spool was not trimmed) still lands once.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Literal

from serve_app.core.errors import StoreUnavailableError
from serve_app.core.metrics import InventoryMetrics
from serve_app.core.settings import Settings
from serve_app.inventory.catalog import get_location
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.records import CountRecord, items_below_par, write_records
from serve_app.inventory.spool import Spool

logger = logging.getLogger("ray.serve")
REPLAY_BATCH = 200
# The database is down or slow: retry later, the records stay where they are.
_UNAVAILABLE = (StoreUnavailableError, TimeoutError)


RecordOutcome = Literal["written", "queued"]


@dataclass(frozen=True)
class StoreStatus:
    status: Literal["ok", "degraded"]
    spooled: int


class InventoryRecorder:
    def __init__(
        self,
        database: Database,
        spool: Spool,
        *,
        write_timeout_s: float,
        retry_interval_s: float,
    ) -> None:
        self.database = database
        self._spool = spool
        self._write_timeout_s = write_timeout_s
        self._retry_interval_s = retry_interval_s
        self._metrics = InventoryMetrics()
        self._known_locations: set[int] = set()  # locations are never deleted
        self._replayer: asyncio.Task[None] | None = None

    @classmethod
    def open(cls, settings: Settings) -> "InventoryRecorder":
        return cls(
            Database(create_engine(settings.resolved_database_url, settings)),
            Spool(settings.spool_path, settings.spool_max_records),
            write_timeout_s=settings.db_write_timeout_s,
            retry_interval_s=settings.spool_retry_interval_s,
        )

    async def start(self) -> None:
        self._metrics.spool_depth(await self._spool.depth())
        self._replayer = asyncio.create_task(self._replay_forever())

    async def close(self) -> None:
        if self._replayer is not None:
            self._replayer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replayer
        await self.database.dispose()
        self._spool.close()

    async def require_location(self, location_id: int) -> None:
        """Raise `NotFoundError` for an unknown location, before any work is done for it.

        While the database is unreachable only locations this replica has seen can be
        checked; any other is refused (`StoreUnavailableError`) rather than spooled unchecked.
        """
        if location_id in self._known_locations:
            return
        async with self.database.session() as session:
            await get_location(session, location_id=location_id)
        self._known_locations.add(location_id)

    async def record(self, record: CountRecord) -> RecordOutcome:
        if not await self._spool.has_records():
            try:
                await asyncio.wait_for(self._write([record]), self._write_timeout_s)
            except (StoreUnavailableError, TimeoutError) as error:
                logger.warning("inventory database unavailable, spooling records: %s", error)
            else:
                self._metrics.records("written")
                return "written"
        await self._spool.append(record)  # SpoolFullError when full: refused, not dropped
        self._metrics.records("queued")
        return "queued"

    async def status(self) -> StoreStatus:
        depth = await self._spool.depth()
        self._metrics.spool_depth(depth)
        return StoreStatus(status="degraded" if depth else "ok", spooled=depth)

    async def replay(self) -> int:
        """Write the spooled records, oldest first, until the spool is empty; how many."""
        replayed = 0
        while batch := await self._spool.oldest(REPLAY_BATCH):
            try:
                await asyncio.wait_for(
                    self._write([record for _, record in batch]), self._write_timeout_s * 5
                )
            except _UNAVAILABLE:
                raise
            except Exception:
                # Something in the batch is refused for good: find it, set it aside.
                replayed += await self._replay_one_by_one(batch)
            else:
                await self._spool.remove(batch[-1][0])
                replayed += len(batch)
                self._metrics.records("replayed", len(batch))
            self._metrics.spool_depth(await self._spool.depth())
        return replayed

    async def _replay_one_by_one(self, batch: list[tuple[int, CountRecord]]) -> int:
        written = 0
        for seq, record in batch:
            try:
                await asyncio.wait_for(self._write([record]), self._write_timeout_s)
            except _UNAVAILABLE:
                raise
            except Exception as error:
                reason = f"{type(error).__name__}: {error}"
                await self._spool.dead_letter(seq, reason)
                self._metrics.records("dead_lettered")
                logger.error(
                    "inventory record %s refused by the database, moved to the spool's "
                    "dead letters: %s",
                    record.request_id,
                    reason[:500],
                )
                continue
            await self._spool.remove(seq)
            written += 1
            self._metrics.records("replayed")
        return written

    async def _replay_forever(self) -> None:
        while True:
            await asyncio.sleep(self._retry_interval_s)
            try:
                replayed = await self.replay()
            except (StoreUnavailableError, TimeoutError):
                continue  # still down; try again after the interval
            except Exception:
                # Keep the records (nothing is dropped) and keep trying; the log says why.
                logger.exception("replaying the inventory spool failed")
                continue
            if replayed:
                logger.info("replayed %d spooled inventory records", replayed)

    async def _write(self, records: list[CountRecord]) -> None:
        locations = sorted({record.location_id for record in records})
        async with self.database.session() as session:
            await write_records(session, records=records)
            below = [await items_below_par(session, location_id=i) for i in locations]
        for location_id, count in zip(locations, below, strict=True):
            self._metrics.items_below_par(location_id, count)
