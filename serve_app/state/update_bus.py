"""Live inventory updates: what any ingress replica records reaches the subscribers of every
replica, through Redis pub/sub, or within this replica when there is no Redis."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from serve_app.state.backend import REDIS_ERRORS, OutageLog

Update = dict[str, Any]
CHANNEL = "inventory-updates"
POLL_S = 1.0  # a subscriber waits this long per read, so an idle one never times out


class UpdateBus(Protocol):
    async def publish(self, update: Update) -> None:
        """Best effort: an update that cannot be sent is counted and dropped."""
        ...

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Update]]:
        """Updates published from now on. Iterating raises one of REDIS_ERRORS when the
        subscription is lost."""
        ...


class MemoryBus:
    def __init__(self, max_queued: int = 100) -> None:
        self._max_queued = max_queued
        self._queues: set[asyncio.Queue[Update]] = set()

    async def publish(self, update: Update) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()  # a slow subscriber loses the oldest, never blocks others
            queue.put_nowait(update)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[Update]]:
        queue: asyncio.Queue[Update] = asyncio.Queue(self._max_queued)
        self._queues.add(queue)
        try:
            yield _drain(queue)
        finally:
            self._queues.discard(queue)


class RedisBus:
    def __init__(self, client: Redis, prefix: str, outages: OutageLog) -> None:
        self._client = client
        self._channel = prefix + CHANNEL
        self._outages = outages

    async def publish(self, update: Update) -> None:
        try:
            await self._client.publish(self._channel, json.dumps(update, default=str))
        except REDIS_ERRORS as error:
            self._outages.failed("updates", error, "live updates are not published")

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[Update]]:
        pubsub = self._client.pubsub()
        try:
            await pubsub.subscribe(self._channel)
            yield _messages(pubsub)
        finally:
            with contextlib.suppress(*REDIS_ERRORS):
                await pubsub.aclose()  # type: ignore[no-untyped-call]


async def _drain(queue: asyncio.Queue[Update]) -> AsyncIterator[Update]:
    while True:
        yield await queue.get()


async def _messages(pubsub: PubSub) -> AsyncIterator[Update]:
    while True:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_S)
        if message is not None and message["type"] == "message":
            update: Update = json.loads(message["data"])
            yield update
