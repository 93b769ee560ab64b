"""A bounded, durable FIFO of records waiting for the database: a SQLite file on local disk.

SQLite (the standard library's, synchronous) rather than a JSONL file: appends, reads and
deletes are atomic and safe from several processes sharing the data directory, and a
crash cannot leave half a line. Each append is committed (fsync) before the detection
answers "queued". A request id is kept once, so a retried request is not spooled twice.
"""

import asyncio
import json
import sqlite3
import threading
from pathlib import Path

from serve_app.core.errors import SpoolFullError
from serve_app.inventory.records import CountRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spooled (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL
)
"""


class Spool:
    def __init__(self, path: Path, max_records: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_records = max_records
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)

    async def append(self, record: CountRecord) -> None:
        await asyncio.to_thread(self._append, record)

    async def oldest(self, limit: int) -> list[tuple[int, CountRecord]]:
        return await asyncio.to_thread(self._oldest, limit)

    async def remove(self, up_to_seq: int) -> None:
        await asyncio.to_thread(self._remove, up_to_seq)

    async def has_records(self) -> bool:
        return await asyncio.to_thread(self._has_records)

    async def depth(self) -> int:
        return await asyncio.to_thread(self.depth_now)

    def depth_now(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM spooled").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _append(self, record: CountRecord) -> None:
        with self._lock:
            # BEGIN IMMEDIATE: the size check and the insert see no other process in between.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (count,) = self._db.execute("SELECT count(*) FROM spooled").fetchone()
                if count >= self.max_records:
                    raise SpoolFullError(
                        f"the database is unreachable and the spool holds {count} records, "
                        "its limit: the record is refused"
                    )
                self._db.execute(
                    "INSERT OR IGNORE INTO spooled (request_id, record) VALUES (?, ?)",
                    (record.request_id, json.dumps(record.to_json())),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _has_records(self) -> bool:
        with self._lock:
            (exists,) = self._db.execute("SELECT EXISTS (SELECT 1 FROM spooled)").fetchone()
        return bool(exists)

    def _oldest(self, limit: int) -> list[tuple[int, CountRecord]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, record FROM spooled ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [(seq, CountRecord.from_json(json.loads(text))) for seq, text in rows]

    def _remove(self, up_to_seq: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM spooled WHERE seq <= ?", (up_to_seq,))
