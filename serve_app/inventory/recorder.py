"""Record detections without losing any: write to the database, or spool and replay later.

While the spool holds anything, new records join its end instead of going straight to the
database, so the records of a location reach the database in the order they were accepted.
A background task replays the spool in batches once the database answers again; every
write is `INSERT … ON CONFLICT (caller, idempotency_key) DO NOTHING`, so a batch written
twice (its commit succeeded but the spool was not trimmed) still lands once. A record that
arrives while a replay drains the last few records waits for it and is then written directly:
otherwise, under steady load (after a failover), new records would join the spool as fast as
it drains, and never be written directly again.

The outcome said is what happened: `written` only when this record was inserted, `queued`
only when it was appended to the spool, `duplicate` when its key was recorded (or queued) for
the same location and image before; the same key for another one is a conflict error.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.exc import IntegrityError

from serve_app.core.errors import NotFoundError, StoreUnavailableError
from serve_app.core.metrics import InventoryMetrics
from serve_app.core.settings import Settings
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.local_spool import LocalSpool
from serve_app.inventory.location_directory import LocationDirectory
from serve_app.inventory.records import (
    CountRecord,
    WriteOutcome,
    idempotency_conflict,
    items_below_par,
    recorded_before,
    write_records,
)
from serve_app.inventory.redis_spool import RedisSpool
from serve_app.inventory.spool import Spool

logger = logging.getLogger("ray.serve")
REPLAY_BATCH = 200
# The database is down or slow: retry later, the records stay where they are.
_UNAVAILABLE = (StoreUnavailableError, TimeoutError)


RecordOutcome = Literal["written", "queued", "duplicate"]


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
        zone_cache_ttl_s: float,
    ) -> None:
        self.database = database
        self._spool = spool
        self._write_timeout_s = write_timeout_s
        self._retry_interval_s = retry_interval_s
        self._metrics = InventoryMetrics()
        self.locations = LocationDirectory(database, ttl_s=zone_cache_ttl_s)
        # Whether the last write reached the database: only then is a key checked there before
        # its record is queued (during an outage each check would only wait for the timeout).
        self._reachable = True
        self._replayer: asyncio.Task[None] | None = None
        self._replaying = asyncio.Lock()  # held by a replay; a record may wait for it
        self._spooled = 0  # the spool's depth when last seen

    @classmethod
    def open(cls, settings: Settings) -> "InventoryRecorder":
        return cls(
            Database(create_engine(settings.resolved_database_url, settings)),
            _open_spool(settings),
            write_timeout_s=settings.db_write_timeout_s,
            retry_interval_s=settings.spool_retry_interval_s,
            zone_cache_ttl_s=settings.zone_cache_ttl_s,
        )

    async def start(self) -> None:
        if isinstance(self._spool, RedisSpool):
            await self._spool.check_persistence()
        with contextlib.suppress(*_UNAVAILABLE):
            self._spooled = await self._spool.depth()
            self._metrics.spool_depth(self._spooled)
        self._replayer = asyncio.create_task(self._replay_forever())

    async def close(self) -> None:
        if self._replayer is not None:
            self._replayer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._replayer
        await self.database.dispose()
        await self._spool.close()

    async def record(self, record: CountRecord) -> RecordOutcome:
        """Write the record, or queue it; `IdempotencyConflictError` when its key names
        another record, `SpoolFullError` when it can be neither written nor queued."""
        spooled = await self._spool_has_records()
        if spooled and self._reachable:
            spooled = not await self._caught_up()
        if not spooled:
            try:
                (outcome,) = await self._written([record], self._write_timeout_s)
            except _UNAVAILABLE as error:
                logger.warning("inventory database unavailable, spooling records: %s", error)
            else:
                return self._answer(outcome, record)
        elif self._reachable and (earlier := await self._recorded_before(record)) is not None:
            # The spool is draining: a key the database holds is answered from there, not
            # queued to be found taken later.
            return self._answer(earlier, record)
        queued = await self._spool.append(record)  # SpoolFullError when full: not dropped
        self._metrics.records(queued)
        return queued

    async def _caught_up(self) -> bool:
        """The database answers, the spool holds records and a replay is draining them: if
        they are few, wait for it (within the write timeout). True when the spool is then
        empty, so that this record is written directly after them; False to queue it behind
        them. Without the wait, records arriving during a replay join the spool as fast as it
        drains (steady load after a failover), and the replica never writes directly again."""
        if not self._replaying.locked():
            return False  # nothing drains right now: queue, the next replay takes it
        try:
            if await self._spool.depth() > REPLAY_BATCH:
                return False  # a long drain: it carries on in the background
            async with asyncio.timeout(self._write_timeout_s), self._replaying:
                pass
        except _UNAVAILABLE:
            return False
        return not await self._spool_has_records()

    async def _spool_has_records(self) -> bool:
        try:
            return await self._spool.has_records()
        except _UNAVAILABLE as error:
            # The spool's store (Redis) is down: nothing can join it, so write directly.
            logger.warning("the inventory spool is unreachable: %s", error)
            return False

    def _answer(self, outcome: WriteOutcome, record: CountRecord) -> RecordOutcome:
        self._metrics.records(outcome)
        if outcome == "conflict":
            raise idempotency_conflict(record)
        return outcome

    async def _recorded_before(self, record: CountRecord) -> WriteOutcome | None:
        try:
            async with asyncio.timeout(self._write_timeout_s):
                async with self.database.session() as session:
                    return await recorded_before(session, record)
        except _UNAVAILABLE:
            self._reachable = False
            return None

    async def status(self) -> StoreStatus:
        try:
            self._spooled = await self._spool.depth()
        except _UNAVAILABLE:
            # The spool's store (Redis) is down: not ready to queue, still serving detections.
            return StoreStatus(status="degraded", spooled=self._spooled)
        self._metrics.spool_depth(self._spooled)
        return StoreStatus(status="degraded" if self._spooled else "ok", spooled=self._spooled)

    async def replay(self) -> int:
        """Write the spooled records, oldest first, until the spool is empty; how many were
        new (not duplicates)."""
        async with self._replaying:
            return await self._replay()

    async def _replay(self) -> int:
        replayed = 0
        batch_size = REPLAY_BATCH
        while batch := await self._spool.oldest(batch_size):
            try:
                outcomes = await self._written(batch, self._write_timeout_s * 5)
            except TimeoutError:
                if len(batch) == 1:
                    raise
                # A slow database, not a down one: smaller batches still commit in time. The
                # same batch retried whole would time out forever while new records queue.
                batch_size = len(batch) // 2
                continue
            except _UNAVAILABLE:
                raise
            except Exception:
                # Something in the batch is refused for good: find it, set it aside.
                replayed += await self._replay_one_by_one(batch)
            else:
                settled = [
                    (record, await self._settle(record, outcome))
                    for record, outcome in zip(batch, outcomes, strict=True)
                ]
                replayed += sum(written for _, written in settled if written is not None)
                await self._spool.remove([r for r, written in settled if written is not None])
                batch_size = min(REPLAY_BATCH, batch_size * 2)
            self._metrics.spool_depth(await self._spool.depth())
        return replayed

    async def _replay_one_by_one(self, batch: list[CountRecord]) -> int:
        written = 0
        for record in batch:
            try:
                (outcome,) = await self._written([record], self._write_timeout_s)
            except _UNAVAILABLE:
                raise
            except Exception as error:
                await self._dead_letter(record, f"{type(error).__name__}: {error}")
                continue
            if (new := await self._settle(record, outcome)) is not None:
                written += new
                await self._spool.remove([record])
        return written

    async def _settle(self, record: CountRecord, outcome: WriteOutcome) -> int | None:
        """Account for a replayed record: 1 if it was written, 0 for a duplicate (written
        before, by this spool or a retry elsewhere), both done; None for a conflict, which
        was answered `queued` while its key could not be checked and is kept as a dead
        letter instead of dropped."""
        if outcome == "conflict":
            conflict = idempotency_conflict(record)
            await self._dead_letter(record, f"{conflict.code}: {conflict.message}")
            return None
        self._metrics.records("replayed" if outcome == "written" else outcome)
        return 1 if outcome == "written" else 0

    async def _dead_letter(self, record: CountRecord, reason: str) -> None:
        await self._spool.dead_letter(record, reason)
        self._metrics.records("dead_lettered")
        logger.error(
            "inventory record %s refused by the database, moved to the spool's dead letters: %s",
            record.request_id,
            reason[:500],
        )

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

    async def _written(self, records: list[CountRecord], timeout_s: float) -> list[WriteOutcome]:
        try:
            outcomes = await asyncio.wait_for(self._write(records), timeout_s)
        except _UNAVAILABLE:
            self._reachable = False
            raise
        self._reachable = True
        return outcomes

    async def _write(self, records: list[CountRecord]) -> list[WriteOutcome]:
        locations = sorted({record.location_id for record in records})
        try:
            async with self.database.session() as session:
                outcomes = await write_records(session, records=records)
                below = [await items_below_par(session, location_id=i) for i in locations]
        except IntegrityError as error:
            if "foreign key" not in str(error.orig).lower():
                raise
            # A zone's bin deleted since its camera's zones were read: it is gone for good.
            raise NotFoundError("a location of the record was deleted") from error
        for location_id, count in zip(locations, below, strict=True):
            self._metrics.items_below_par(location_id, count)
        return outcomes


def _open_spool(settings: Settings) -> Spool:
    if settings.spool_store == "redis":
        return RedisSpool.connect(settings)
    return LocalSpool(settings.spool_path, settings.spool_max_records)
