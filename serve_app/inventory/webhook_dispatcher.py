"""The webhook dispatcher: a background task of each ingress replica that adds the periodic
reports that are due, then leases due events from the outbox, sends them and settles them.

Replicas share the work through the outbox alone: each leases the events it sends
(`outbox_leases.py`), so no two send one event at once, and the events of a replica that died
are sent by another once their leases run out.
"""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from serve_app.core.errors import StoreUnavailableError
from serve_app.core.metrics import WebhookMetrics
from serve_app.core.settings import Settings
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.outbox import add_due_reports
from serve_app.inventory.outbox_leases import RetryPolicy, claim_due, pending_events, settle
from serve_app.inventory.webhook_sender import send

logger = logging.getLogger("ray.serve")
# How long `close()` waits for the database work of a round in progress before cutting it
# short (a database that stopped answering must not hold up a replica's shutdown).
CLOSE_GRACE_S = 10.0


class WebhookDispatcher:
    """Runs from `start()` to `close()`, on a database it owns (closed with it)."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._poll_interval_s = settings.webhook_poll_interval_s
        self._batch_size = settings.webhook_batch_size
        self._timeout_s = settings.webhook_timeout_s
        self._lease = timedelta(seconds=settings.webhook_lease_s)
        self._policy = RetryPolicy(
            backoff_base_s=settings.webhook_backoff_base_s,
            backoff_max_s=settings.webhook_backoff_max_s,
            max_attempts=settings.webhook_max_attempts,
        )
        # Who holds a lease, for whoever reads the outbox: this process, and a claim number.
        self._name = f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._claims = 0
        self._metrics = WebhookMetrics()
        self._http: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @classmethod
    def open(cls, settings: Settings) -> "WebhookDispatcher":
        """A dispatcher with a database connection of its own: its rounds never wait for one
        that requests need, nor hold one up."""
        one_connection = settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0})
        engine = create_engine(settings.resolved_database_url, one_connection)
        return cls(Database(engine), settings)

    async def start(self) -> None:
        self._http = aiohttp.ClientSession()
        self._task = asyncio.create_task(self._dispatch_forever())

    async def close(self) -> None:
        """Stop once the database work in progress is done (a transaction cut short could keep
        its connection, and SQLite's write lock, past the database's disposal). Sends in flight
        are dropped: their events keep their leases and are sent again once those run out."""
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, CLOSE_GRACE_S)
        if self._http is not None:
            await self._http.close()
        await self._database.dispose()

    async def _dispatch_once(self) -> int:
        """One round: the reports that are due into the outbox, then a batch of due events
        leased (committed before any is sent), sent and settled. How many were sent."""
        assert self._http is not None, "start() first"
        http = self._http
        self._claims += 1
        owner = f"{self._name}:{self._claims}"
        async with self._database.session() as session:
            now = datetime.now(UTC)
            await add_due_reports(session, now=now)
            self._metrics.pending(await pending_events(session))
            deliveries = await claim_due(
                session, owner=owner, now=now, lease=self._lease, limit=self._batch_size
            )
            await session.commit()
        if not deliveries:
            return 0
        errors = await self._sent_unless_stopped(
            asyncio.gather(*(send(http, d, timeout_s=self._timeout_s) for d in deliveries))
        )
        if errors is None:
            return 0
        async with self._database.session() as session:
            outcomes = await settle(
                session,
                list(zip(deliveries, errors, strict=True)),
                owner=owner,
                now=datetime.now(UTC),
                policy=self._policy,
            )
            await session.commit()
        for delivery, error, outcome in zip(deliveries, errors, outcomes, strict=True):
            self._metrics.deliveries(outcome)
            if outcome == "dead":
                logger.error(
                    "webhook event %s to %s is dead after %d attempts: %s",
                    delivery.event_id,
                    delivery.url,
                    delivery.attempts,
                    error,
                )
        return len(deliveries)

    async def _sent_unless_stopped(
        self, sending: "asyncio.Future[list[str | None]]"
    ) -> list[str | None] | None:
        """What the sends came to, or None when `close()` came first and cancelled them."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        either: list[asyncio.Future[Any]] = [sending, stopping]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if sending.done():
            return sending.result()
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        return None

    async def _dispatch_forever(self) -> None:
        reachable = True
        while not self._stopping.is_set():
            try:
                sent = await self._dispatch_once()
            except StoreUnavailableError as error:
                if reachable:
                    logger.warning("webhooks wait for the inventory database: %s", error)
                reachable, sent = False, 0
            except Exception:
                # Nothing is lost (the outbox keeps every event); the log says why.
                logger.exception("a round of webhook deliveries failed")
                sent = 0
            else:
                reachable = True
            if sent < self._batch_size:  # a full batch: more may be due right away
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._poll_interval_s)
