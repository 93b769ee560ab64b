"""The spool in Redis: one queue shared by every Ingress replica, for Kubernetes.

A pod's disk (an `emptyDir`) goes with the pod, so a record a replica had spooled there would
be lost with a scale-down, an upgrade or a node drain. In Redis it outlives the replica, and
whichever replica is up replays it. Redis must keep what it acknowledges: the manifests run it
with `--appendonly yes --appendfsync always` on a persistent volume, and `check_persistence`
logs an error at start when the server keeps no append-only file.

Three keys under the service's prefix: `spool:queue`, a list of record keys, oldest first;
`spool:records`, a hash of each queued record by key; `spool:dead`, the dead letters. Scripts
keep the checks and writes of an append, a removal or a dead-lettering atomic. Replicas may
replay the same records at once: every database write is idempotent, and a removal takes
exactly the keys written, never a range.
"""

import json
import logging
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from serve_app.core.errors import SpoolFullError, StoreUnavailableError
from serve_app.core.redis_client import redis_client
from serve_app.core.settings import Settings
from serve_app.inventory.records import CountRecord, idempotency_conflict
from serve_app.inventory.spool import SpoolOutcome

logger = logging.getLogger("ray.serve")
_REDIS_ERRORS = (RedisError, OSError, TimeoutError)
_MAX_ERROR_CHARS = 2000

# KEYS: queue, records. ARGV: key, record, limit. Answers [outcome, detail].
_APPEND = """
local earlier = redis.call('HGET', KEYS[2], ARGV[1])
if earlier then return {'exists', earlier} end
local depth = redis.call('LLEN', KEYS[1])
if depth >= tonumber(ARGV[3]) then return {'full', tostring(depth)} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[1], ARGV[1])
return {'queued', ''}
"""
# KEYS: queue, records. ARGV: limit. Answers the oldest records (their JSON), in order.
_OLDEST = """
local keys = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #keys == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(keys))
"""
# KEYS: queue, records. ARGV: the keys to remove.
_REMOVE = """
for _, key in ipairs(ARGV) do
  redis.call('LREM', KEYS[1], 1, key)
  redis.call('HDEL', KEYS[2], key)
end
return #ARGV
"""
# KEYS: queue, records, dead. ARGV: key, dead letter.
_DEAD_LETTER = """
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
return 1
"""


class RedisSpool:
    def __init__(
        self,
        client: Redis,
        prefix: str,
        max_records: int,
        *,
        min_replicas: int = 0,
        replica_wait_s: float = 1.0,
    ) -> None:
        self._client = client
        self.max_records = max_records
        # Replicas that must have a record before it is answered `queued` (WAIT), and how long
        # one append waits for them.
        self.min_replicas = min_replicas
        self._replica_wait_ms = max(1, int(replica_wait_s * 1000))
        self._queue = f"{prefix}spool:queue"
        self._records = f"{prefix}spool:records"
        self._dead = f"{prefix}spool:dead"
        self._append = client.register_script(_APPEND)
        self._oldest = client.register_script(_OLDEST)
        self._remove = client.register_script(_REMOVE)
        self._dead_letter = client.register_script(_DEAD_LETTER)

    @classmethod
    def connect(cls, settings: Settings) -> "RedisSpool":
        # A spool write is a record being kept: it gets the database's time, not the cache's.
        # No retries inside redis-py (redis_client makes none): with Redis down, each
        # detection would wait out its backoff on every spool check (the chaos run's Redis
        # cut took 70 s to recover).
        client = redis_client(settings, timeout_s=settings.db_write_timeout_s)
        assert client is not None  # Settings checks it for spool_store "redis"
        return cls(
            client,
            settings.redis_key_prefix,
            settings.spool_max_records,
            min_replicas=settings.spool_min_replicas,
            # Half the command timeout: WAIT answers before the socket gives up on it.
            replica_wait_s=settings.db_write_timeout_s / 2,
        )

    async def check_persistence(self) -> None:
        try:
            persistence = await self._client.info("persistence")
        except _REDIS_ERRORS as error:
            logger.warning("could not ask Redis whether it persists the spool: %s", error)
            return
        if not persistence.get("aof_enabled"):
            logger.error(
                "Redis keeps no append-only file: records answered 'queued' while the "
                "database is down would be lost if Redis restarts (run it with --appendonly yes)"
            )

    async def append(self, record: CountRecord) -> SpoolOutcome:
        text = json.dumps(record.to_json())
        keys = [self._queue, self._records]
        args: list[str | int] = [record.scoped_key, text, self.max_records]
        if self.min_replicas == 0:
            outcome, detail = await self._call(self._append(keys=keys, args=args))
            replicas = 0
        else:
            # WAIT counts the replicas that have this connection's writes: the append and
            # the WAIT go down one connection, in one pipeline.
            pipeline = self._client.pipeline(transaction=False)
            await self._append(keys=keys, args=args, client=pipeline)  # queued, not sent
            pipeline.wait(self.min_replicas, self._replica_wait_ms)
            (outcome, detail), replicas = await self._call(pipeline.execute())
        if outcome == b"exists":
            earlier = CountRecord.from_json(json.loads(detail))
            if not record.repeats(earlier.location_id, earlier.image_sha256):
                raise idempotency_conflict(record)
            return "duplicate"
        if outcome == b"full":
            raise SpoolFullError(
                f"the database is unreachable and the spool holds {int(detail)} records, "
                "its limit: the record is refused"
            )
        if replicas < self.min_replicas:
            # On the master only: a failover now would lose it. The caller is told it is not
            # kept; it stays queued all the same (a retry answers `duplicate`, a replay
            # writes it once).
            raise StoreUnavailableError(
                f"the inventory database is unreachable and the spool in Redis has the record "
                f"on {replicas} replicas, fewer than the {self.min_replicas} required"
            )
        return "queued"

    async def oldest(self, limit: int) -> list[CountRecord]:
        texts = await self._call(self._oldest(keys=[self._queue, self._records], args=[limit]))
        return [CountRecord.from_json(json.loads(text)) for text in texts if text is not None]

    async def remove(self, records: Sequence[CountRecord]) -> None:
        if records:
            keys = [record.scoped_key for record in records]
            await self._call(self._remove(keys=[self._queue, self._records], args=keys))

    async def dead_letter(self, record: CountRecord, error: str) -> None:
        letter = json.dumps(
            {
                "record": record.to_json(),
                "error": error[:_MAX_ERROR_CHARS],
                "at": datetime.now(UTC).isoformat(),
            }
        )
        await self._call(
            self._dead_letter(
                keys=[self._queue, self._records, self._dead], args=[record.scoped_key, letter]
            )
        )

    async def has_records(self) -> bool:
        return bool(await self._call(self._client.exists(self._queue)))

    async def depth(self) -> int:
        return int(await self._call(self._client.llen(self._queue)))

    async def dead_letters(self) -> int:
        return int(await self._call(self._client.hlen(self._dead)))

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(self, command: Awaitable[Any]) -> Any:
        try:
            return await command
        except _REDIS_ERRORS as error:
            raise StoreUnavailableError(
                f"the inventory database is unreachable and so is the spool in Redis: {error}"
            ) from error
