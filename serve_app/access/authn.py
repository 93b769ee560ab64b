"""Who is calling: a presented API key checked against the database through a short cache.

A replica trusts what it looked up (a key, or that there is none) for `auth_cache_ttl_s`, in
Redis when there is one (shared by every replica) or in process: a revoked key stops working
within that time, and open sockets check their key again as often (`key_watch`). With Redis
unreachable the lookup goes to the database. With the database unreachable, keys this replica
saw within `auth_stale_window_s` keep their last answer (`last_known.LastKnownKeys`); others
get the outage's 503.
"""

import json
import logging
import time
from dataclasses import dataclass

from serve_app.access.key_store import active_key
from serve_app.access.keys import KeyRecord, Scope, key_id_of
from serve_app.access.last_known import LastKnownKeys
from serve_app.core.errors import ForbiddenError, StoreUnavailableError, UnauthorizedError
from serve_app.inventory.database import Database
from serve_app.state.backend import REDIS_ERRORS, OutageLog, ValueStore

_NO_KEY = b"null"
ANONYMOUS_CALLER = "anonymous"
_STALE_WARNING_INTERVAL_S = 30.0
logger = logging.getLogger("ray.serve")


@dataclass(frozen=True)
class Principal:
    """The caller of one request: a key, or anonymous (identified by its address)."""

    identity: str  # what its rate-limit buckets are keyed by
    key: KeyRecord | None

    @property
    def caller(self) -> str:
        """Whose records these are: idempotency keys are unique per caller. Every anonymous
        caller is one (its address may change between a request and its retry)."""
        return self.identity if self.key is not None else ANONYMOUS_CALLER


class KeyResolver:
    def __init__(
        self,
        database: Database,
        cache: ValueStore,
        ttl_s: float,
        outages: OutageLog,
        last_known: LastKnownKeys,
    ) -> None:
        self._database = database
        self._cache = cache
        self._ttl_s = ttl_s
        self._outages = outages
        self._last_known = last_known
        self._warned_at = -_STALE_WARNING_INTERVAL_S

    def recently_valid(self, presented: str) -> bool:
        """Whether this secret belongs to a key this replica saw active within the window."""
        key_id = key_id_of(presented)
        recalled = self._last_known.recall(key_id) if key_id is not None else None
        return (
            recalled is not None
            and recalled.record is not None
            and (recalled.record.matches(presented))
        )

    async def resolve(self, presented: str, *, fresh: bool = False) -> KeyRecord | None:
        """The active key this secret belongs to, or None (unknown, revoked, wrong secret).
        `fresh` asks the database, not the cache (the outage fallback still applies)."""
        key_id = key_id_of(presented)
        if key_id is None:
            return None
        record = await (self._from_database(key_id) if fresh else self._lookup(key_id))
        return record if record is not None and record.matches(presented) else None

    async def _lookup(self, key_id: str) -> KeyRecord | None:
        cache_key = f"apikey:{key_id}"
        try:
            cached = await self._cache.get(cache_key)
        except REDIS_ERRORS as error:
            self._outages.failed("key_cache", error, "looking keys up in the database")
            return await self._from_database(key_id)
        if cached is not None:
            record = _decode(cached)
            self._last_known.remember(key_id, record)
            return record
        record = await self._from_database(key_id)
        try:
            await self._cache.set(cache_key, _encode(record), self._ttl_s)
        except REDIS_ERRORS as error:
            self._outages.failed("key_cache", error, "looking keys up in the database")
        return record

    async def _from_database(self, key_id: str) -> KeyRecord | None:
        try:
            async with self._database.session() as session:
                record = await active_key(session, key_id=key_id)
        except StoreUnavailableError as error:
            recalled = self._last_known.recall(key_id)
            if recalled is None:
                raise
            self._warn_stale(error)
            return recalled.record
        self._last_known.remember(key_id, record)
        return record

    def _warn_stale(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _STALE_WARNING_INTERVAL_S:
            self._warned_at = now
            logger.warning(
                "key lookups answered from the last known state: %s (%s)", error, error.__cause__
            )


class Authenticator:
    def __init__(self, resolver: KeyResolver, *, required: bool) -> None:
        self._resolver = resolver
        self.required = required

    def recently_valid(self, presented: str) -> bool:
        return self._resolver.recently_valid(presented)

    async def still_valid(self, presented: str) -> bool:
        """Whether a key that authenticated earlier is still active. An open socket asks this
        of the database, not the cache: so a revocation reaches it within one check interval
        rather than an interval plus the cache's TTL. StoreUnavailableError once the database
        has been unreachable for longer than the stale window."""
        return await self._resolver.resolve(presented, fresh=True) is not None

    async def principal(
        self, presented: str | None, scope: Scope, *, address: str, always: bool = False
    ) -> Principal:
        """The caller, or UnauthorizedError / ForbiddenError. A key that is sent is always
        checked; without one, only routes that need no key (`always` off and auth not
        required) let the caller through, anonymously."""
        if presented is None:
            if always or self.required:
                raise UnauthorizedError(f"this route needs an API key with the {scope} scope")
            return Principal(identity=f"ip:{address}", key=None)
        record = await self._resolver.resolve(presented)
        if record is None:
            raise UnauthorizedError("the API key is unknown or revoked")
        if scope not in record.scopes:
            raise ForbiddenError(f"this API key lacks the {scope} scope")
        return Principal(identity=f"key:{record.key_id}", key=record)


def _encode(record: KeyRecord | None) -> bytes:
    if record is None:
        return _NO_KEY
    return json.dumps(
        {
            "key_id": record.key_id,
            "name": record.name,
            "scopes": sorted(record.scopes),
            "secret_hash": record.secret_hash,
            "requests_per_minute": record.requests_per_minute,
            "frames_per_minute": record.frames_per_minute,
        }
    ).encode()


def _decode(value: bytes) -> KeyRecord | None:
    if value == _NO_KEY:
        return None
    data = json.loads(value)
    return KeyRecord(
        key_id=data["key_id"],
        name=data["name"],
        scopes=frozenset(Scope(s) for s in data["scopes"]),
        secret_hash=data["secret_hash"],
        requests_per_minute=data["requests_per_minute"],
        frames_per_minute=data["frames_per_minute"],
    )
