"""WS /v1/stream from the client's side: latest wins, a bounded window, session resume.

At most `window` frames are unanswered at once (sent, no result yet); of the frames the source
yields meanwhile only the newest waits, the others are dropped here (`dropped_client`). The
service drops too when its own buffer is full (`dropped_server`, from its results). Answers
come in frame order, so an answer to frame n settles every earlier frame of the connection.
If the connection breaks, the stream reconnects with the session id of the handshake
(`X-Stream-Session`): the service goes on numbering frames where it stopped, keeps the location
and parameters, and records nothing twice. Frames unanswered when the connection broke are
counted as `lost`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from medinv_client._calls import RetryPolicy, clean_params
from medinv_client.errors import TransportError, api_error
from medinv_client.images import ImageInput, encode_image
from medinv_client.models import StreamFrameError, StreamResult

logger = logging.getLogger("medinv_client")

SESSION_HEADER = "X-Stream-Session"
RESUMED_HEADER = "X-Stream-Resumed"
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TRY_AGAIN_LATER = 1013
# Frames unanswered at once. The service processes 2 at a time and buffers 1 (its defaults), but
# frames that arrive together, before it takes one from its buffer, push each other out: only a
# window of 1 never loses a frame, which is what `latest_wins=False` uses unless told otherwise.
DEFAULT_WINDOW = 2

StreamMessage = StreamResult | StreamFrameError
Frames = Iterable[ImageInput] | AsyncIterable[ImageInput]


@dataclass
class StreamStats:
    sent: int = 0
    answered: int = 0
    dropped_client: int = 0
    """Frames the source yielded that were never sent: a newer one replaced them (latest wins)."""
    dropped_server: int = 0
    """Frames the service dropped (its `dropped`, summed over connections)."""
    lost: int = 0
    """Frames unanswered when a connection broke."""
    reconnects: int = 0

    @property
    def dropped(self) -> int:
        return self.dropped_client + self.dropped_server + self.lost


def stream_url(base_url: str, params: Mapping[str, Any]) -> str:
    scheme, _, rest = base_url.rstrip("/").partition("://")
    ws_scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    query = urlencode(clean_params(params))
    return f"{ws_scheme}://{rest}/v1/stream" + (f"?{query}" if query else "")


class FrameStream:
    """An async iterator of `StreamResult` (and `StreamFrameError` for a frame the service could
    not use) over `frames`; `stats` counts what was sent, answered and dropped."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        frames: Frames,
        *,
        min_score: float | None = None,
        max_detections: int | None = None,
        location: int | None = None,
        session_id: str | None = None,
        window: int | None = None,
        latest_wins: bool = True,
        max_reconnects: int = 5,
        retry: RetryPolicy | None = None,
        open_timeout: float = 10.0,
    ) -> None:
        if window is None:
            window = DEFAULT_WINDOW if latest_wins else 1
        if window < 1:
            raise ValueError("window must be at least 1")
        self._base_url = base_url
        self._headers = dict(headers)
        self._frames = frames
        self._params: dict[str, Any] = {
            "min_score": min_score,
            "max_detections": max_detections,
            "location": location,
        }
        self.session_id = session_id
        self._window = window
        self._latest_wins = latest_wins
        self._max_reconnects = max_reconnects
        self._retry = retry or RetryPolicy()
        self._open_timeout = open_timeout
        self.stats = StreamStats()
        self.resumed = False
        # Shared between the source reader, the sender and the receiver (one event loop).
        self._pending: bytes | None = None
        self._source_done = False
        self._source_error: BaseException | None = None
        self._in_flight: deque[int] = deque()  # connection-local sequence numbers
        # The service's number of this connection's first frame: 0 on a new session; on a
        # resumed one, learnt from the answer to a first frame sent alone (it cannot be dropped).
        self._base: int | None = None
        self._changed = asyncio.Event()
        self._iterator: AsyncIterator[StreamMessage] | None = None

    def __aiter__(self) -> AsyncIterator[StreamMessage]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    async def __anext__(self) -> StreamMessage:
        return await self.__aiter__().__anext__()

    async def aclose(self) -> None:
        if self._iterator is not None:
            await self._iterator.aclose()  # type: ignore[attr-defined]

    # The source

    async def _read_source(self) -> None:
        try:
            if isinstance(self._frames, AsyncIterable):
                async for image in self._frames:
                    data = image if isinstance(image, bytes) else encode_image(image)
                    await self._offer(data)
            else:
                iterator = iter(self._frames)
                while True:
                    encoded = await asyncio.to_thread(_next_encoded, iterator)
                    if encoded is None:
                        break
                    await self._offer(encoded)
        except BaseException as error:
            self._source_error = error
            raise
        finally:
            self._source_done = True
            self._changed.set()

    async def _offer(self, data: bytes) -> None:
        if not self._latest_wins:
            while self._pending is not None:
                await self._wait_change()
        elif self._pending is not None:
            self.stats.dropped_client += 1
        self._pending = data
        self._changed.set()

    async def _wait_change(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    def _finished(self) -> bool:
        return self._source_done and self._pending is None and not self._in_flight

    # The connection

    async def _run(self) -> AsyncIterator[StreamMessage]:
        reader = asyncio.create_task(self._read_source())
        failures = 0
        try:
            while True:
                try:
                    connection = await self._connect()
                except (OSError, InvalidStatus, TimeoutError) as error:
                    failures += 1
                    if failures > self._max_reconnects:
                        raise TransportError(f"cannot open the stream: {error}") from error
                    await asyncio.sleep(self._retry.delay(failures, None))
                    continue
                try:
                    async for message in self._exchange(connection):
                        failures = 0
                        yield message
                    if self._source_error is not None:
                        raise self._source_error
                    return
                except _Reconnect as reconnect:
                    failures += 1
                    if failures > self._max_reconnects or self.session_id is None:
                        raise TransportError(f"the stream broke: {reconnect.reason}") from None
                    self.stats.reconnects += 1
                    logger.info("stream %s broke (%s); resuming", self.session_id, reconnect)
                    await asyncio.sleep(self._retry.delay(failures, reconnect.retry_after))
                finally:
                    await connection.close()
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _connect(self) -> ClientConnection:
        params = dict(self._params)
        if self.session_id is not None:
            params["session_id"] = self.session_id
            params.pop("location")  # the session keeps it
        connection = await websockets.connect(
            stream_url(self._base_url, params),
            additional_headers=self._headers,
            open_timeout=self._open_timeout,
            max_size=None,
        )
        response = connection.response
        if response is not None:
            self.session_id = response.headers.get(SESSION_HEADER, self.session_id)
            self.resumed = response.headers.get(RESUMED_HEADER) == "true"
        return connection

    async def _exchange(self, connection: ClientConnection) -> AsyncIterator[StreamMessage]:
        self._in_flight.clear()
        self._base = None if self.resumed else 0
        sender = asyncio.create_task(self._send_frames(connection))
        server_dropped = 0
        opening_error: dict[str, Any] | None = None
        try:
            while True:
                if self._source_error is not None:
                    raise self._source_error
                try:
                    raw = await connection.recv()
                except ConnectionClosed as closed:
                    if self._finished():
                        return
                    code = closed.rcvd.code if closed.rcvd is not None else None
                    if code == CLOSE_POLICY_VIOLATION or (
                        opening_error is not None and code != CLOSE_TRY_AGAIN_LATER
                    ):
                        raise api_error(None, opening_error or {}, fallback=str(closed)) from None
                    self.stats.lost += len(self._in_flight)
                    self._in_flight.clear()
                    retry_after = 1.0 if code == CLOSE_TRY_AGAIN_LATER else None
                    raise _Reconnect(str(closed), retry_after) from None
                if isinstance(raw, bytes):
                    continue
                payload = json.loads(raw)
                frame = payload.get("frame")
                if payload.get("type") == "pong":
                    continue
                if frame is None:  # a refused opening (then a close) or a bad text message
                    opening_error = payload
                    continue
                if self._base is None:
                    self._base = frame - (self._in_flight[0] if self._in_flight else 0)
                local = frame - self._base
                while self._in_flight and self._in_flight[0] <= local:
                    self._in_flight.popleft()
                self._changed.set()
                self.stats.answered += 1
                message: StreamMessage
                if payload.get("type") == "result":
                    message = StreamResult.model_validate(payload)
                    self.stats.dropped_server += message.dropped - server_dropped
                    server_dropped = message.dropped
                else:
                    message = StreamFrameError.model_validate(payload)
                yield message
                if self._finished():
                    return
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def _send_frames(self, connection: ClientConnection) -> None:
        sequence = 0
        while True:
            window = self._window if self._base is not None else 1
            if self._pending is not None and len(self._in_flight) < window:
                data, self._pending = self._pending, None
                self._changed.set()  # room for the source when not latest-wins
                self._in_flight.append(sequence)
                sequence += 1
                self.stats.sent += 1
                try:
                    await connection.send(data)
                except ConnectionClosed:
                    return  # the receiver sees it too
            elif self._source_done and self._pending is None:
                if not self._in_flight:
                    await connection.close()
                return
            else:
                await self._wait_change()


class _Reconnect(Exception):
    def __init__(self, reason: str, retry_after: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _next_encoded(iterator: Iterator[ImageInput]) -> bytes | None:
    for image in iterator:
        return encode_image(image)
    return None


class SyncFrameStream:
    """`FrameStream` for synchronous code, on an event loop of its own that runs while the
    caller waits for the next message (so it cannot be used inside a running event loop)."""

    def __init__(self, stream: FrameStream) -> None:
        self._stream = stream

    @property
    def stats(self) -> StreamStats:
        return self._stream.stats

    @property
    def session_id(self) -> str | None:
        return self._stream.session_id

    def __iter__(self) -> Iterator[StreamMessage]:
        loop = asyncio.new_event_loop()
        try:
            iterator = self._stream.__aiter__()
            while True:
                try:
                    yield loop.run_until_complete(iterator.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            loop.run_until_complete(self._stream.aclose())
            loop.close()
