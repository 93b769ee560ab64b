"""The spool: records waiting for an unreachable database, bounded and durable, one per key.

Two stores keep it. `LocalSpool` (local_spool.py) is a SQLite file on the replica's disk: the
embedded run's, where the disk outlives every process. `RedisSpool` (redis_spool.py) is one
queue in Redis shared by every Ingress replica, for Kubernetes, where a pod's disk goes with the
pod: a record answered `queued` survives the pod that queued it and any replica replays it.
"""

from collections.abc import Sequence
from typing import Literal, Protocol

from serve_app.inventory.records import CountRecord

SpoolOutcome = Literal["queued", "duplicate"]


class Spool(Protocol):
    async def append(self, record: CountRecord) -> SpoolOutcome:
        """Queue the record; `duplicate` when it is queued already, `IdempotencyConflictError`
        when its key is queued for another record, `SpoolFullError` when there is no room,
        `StoreUnavailableError` when the spool's own store cannot take it."""
        ...

    async def oldest(self, limit: int) -> list[CountRecord]: ...

    async def remove(self, records: Sequence[CountRecord]) -> None: ...

    async def dead_letter(self, record: CountRecord, error: str) -> None:
        """Move the record out of the queue into the dead letters, with why."""
        ...

    async def has_records(self) -> bool: ...

    async def depth(self) -> int: ...

    async def dead_letters(self) -> int: ...

    async def close(self) -> None: ...
