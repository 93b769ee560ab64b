"""The resumable state of a WebSocket stream session, kept beyond its connection.

A client that reconnects with its session id — to any ingress replica — continues where it
left off: frame numbers, location, parameters, the smoothing window and the time of the last
record. The state lives in Redis with a TTL (in process without Redis, so then only on the
replica that served it). Redis failures never break a stream: the session just cannot resume.
"""

import json
import re
import uuid
from dataclasses import asdict, dataclass, field

from serve_app.state.backend import REDIS_ERRORS, OutageLog, ValueStore

SESSION_ID = re.compile(r"^[0-9a-f]{32}$")


def new_session_id() -> str:
    return uuid.uuid4().hex


@dataclass
class StreamState:
    session_id: str
    owner: str  # the principal's identity: another key cannot take the session over
    location_id: int | None
    min_score: float | None
    max_detections: int
    next_frame: int = 0
    records: int = 0
    window: list[dict[str, int]] = field(default_factory=list)
    last_recorded_at: float | None = None  # wall clock, comparable across replicas

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "StreamState":
        return cls(**json.loads(data))


class StreamStateStore:
    def __init__(self, store: ValueStore, ttl_s: float, outages: OutageLog) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._outages = outages

    async def load(self, session_id: str) -> StreamState | None:
        try:
            data = await self._store.get(_key(session_id))
        except REDIS_ERRORS as error:
            self._outages.failed("stream_sessions", error, "the stream starts a new session")
            return None
        return StreamState.from_bytes(data) if data is not None else None

    async def save(self, state: StreamState) -> None:
        try:
            await self._store.set(_key(state.session_id), state.to_bytes(), self._ttl_s)
        except REDIS_ERRORS as error:
            self._outages.failed("stream_sessions", error, "this stream cannot be resumed")


def _key(session_id: str) -> str:
    return f"stream:{session_id}"
