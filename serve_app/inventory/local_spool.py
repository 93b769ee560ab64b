"""The spool on local disk: a SQLite file, for a single machine or a pod's container restarts.

SQLite (the standard library's, synchronous) rather than a JSONL file: appends, reads and
deletes are atomic and safe from several processes sharing the data directory, and a
crash cannot leave half a line. Each append is committed (fsync) before the detection
answers "queued". A record's key (caller and idempotency key) is kept once: a retry of a
queued record is a duplicate, another record under its key a conflict.
Records the database refuses for good go to a dead-letter table instead of blocking the rest;
an unreadable file is renamed aside (`*.corrupt-<time>`) and a new spool started.
"""

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from serve_app.core.errors import SpoolFullError
from serve_app.inventory.records import LEGACY_CALLER, CountRecord, idempotency_conflict
from serve_app.inventory.spool import SpoolOutcome

logger = logging.getLogger("ray.serve")

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS spooled (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        record_key TEXT NOT NULL UNIQUE,
        record TEXT NOT NULL
    )
    """,
    # Records the database refused for good: kept for a person to look at, out of the way of
    # the records behind them.
    """
    CREATE TABLE IF NOT EXISTS dead_letter (
        seq INTEGER PRIMARY KEY,
        record_key TEXT NOT NULL,
        record TEXT NOT NULL,
        error TEXT NOT NULL,
        at TEXT NOT NULL DEFAULT (datetime('now'))
    )
    """,
)
_MAX_ERROR_CHARS = 2000


class LocalSpool:
    def __init__(self, path: Path, max_records: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_records = max_records
        self._lock = threading.Lock()
        self.quarantined: Path | None = None
        try:
            self._db = _open(path)
        except sqlite3.DatabaseError as error:
            # A corrupt file must not crash-loop the ingress: set it aside, start afresh.
            self.quarantined = _quarantine(path)
            logger.error(
                "the inventory spool %s is unreadable (%s); moved to %s, a new one started",
                path,
                error,
                self.quarantined,
            )
            self._db = _open(path)

    async def append(self, record: CountRecord) -> SpoolOutcome:
        return await asyncio.to_thread(self._append, record)

    async def oldest(self, limit: int) -> list[CountRecord]:
        return await asyncio.to_thread(self._oldest, limit)

    async def remove(self, records: Sequence[CountRecord]) -> None:
        await asyncio.to_thread(self._remove, [record.scoped_key for record in records])

    async def has_records(self) -> bool:
        return await asyncio.to_thread(self._has_records)

    async def depth(self) -> int:
        return await asyncio.to_thread(self._count, "spooled")

    async def dead_letter(self, record: CountRecord, error: str) -> None:
        await asyncio.to_thread(self._dead_letter, record.scoped_key, error)

    async def dead_letters(self) -> int:
        return await asyncio.to_thread(self._count, "dead_letter")

    async def close(self) -> None:
        with self._lock:
            self._db.close()

    def _count(self, table: str) -> int:
        with self._lock:
            (count,) = self._db.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(count)

    def _dead_letter(self, record_key: str, error: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO dead_letter (seq, record_key, record, error) "
                    "SELECT seq, record_key, record, ? FROM spooled WHERE record_key = ?",
                    (error[:_MAX_ERROR_CHARS], record_key),
                )
                self._db.execute("DELETE FROM spooled WHERE record_key = ?", (record_key,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _append(self, record: CountRecord) -> SpoolOutcome:
        with self._lock:
            # BEGIN IMMEDIATE: the checks and the insert see no other process in between.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                queued = self._db.execute(
                    "SELECT record FROM spooled WHERE record_key = ?", (record.scoped_key,)
                ).fetchone()
                if queued is not None:
                    earlier = CountRecord.from_json(json.loads(queued[0]))
                    if not record.repeats(earlier.location_id, earlier.image_sha256):
                        raise idempotency_conflict(record)
                    self._db.execute("COMMIT")
                    return "duplicate"
                (count,) = self._db.execute("SELECT count(*) FROM spooled").fetchone()
                if count >= self.max_records:
                    raise SpoolFullError(
                        f"the database is unreachable and the spool holds {count} records, "
                        "its limit: the record is refused"
                    )
                self._db.execute(
                    "INSERT INTO spooled (record_key, record) VALUES (?, ?)",
                    (record.scoped_key, json.dumps(record.to_json())),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return "queued"

    def _has_records(self) -> bool:
        with self._lock:
            (exists,) = self._db.execute("SELECT EXISTS (SELECT 1 FROM spooled)").fetchone()
        return bool(exists)

    def _oldest(self, limit: int) -> list[CountRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT record FROM spooled ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [CountRecord.from_json(json.loads(text)) for (text,) in rows]

    def _remove(self, record_keys: list[str]) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "DELETE FROM spooled WHERE record_key = ?", [(key,) for key in record_keys]
            )
            self._db.execute("COMMIT")


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        _rekey_request_ids(db)
        for statement in _SCHEMA:
            db.execute(statement)
        db.execute("SELECT count(*) FROM spooled").fetchone()
    except BaseException:
        db.close()
        raise
    return db


def _rekey_request_ids(db: sqlite3.Connection) -> None:
    """A spool from before keys were scoped names its records by request id: rename the column
    and scope them as the database's migration 0003 did."""
    for table in ("spooled", "dead_letter"):
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if "request_id" in columns:
            db.execute("BEGIN IMMEDIATE")
            db.execute(f"ALTER TABLE {table} RENAME COLUMN request_id TO record_key")
            db.execute(f"UPDATE {table} SET record_key = ? || '/' || record_key", (LEGACY_CALLER,))
            db.execute("COMMIT")


def _quarantine(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            part.rename(target.with_name(target.name + suffix))
    return target
