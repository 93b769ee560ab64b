"""Webhooks on real databases (SQLite and PostgreSQL) to a real HTTP receiver on 127.0.0.1:
below-par events enter the outbox with the stock that raises them, periodic reports are due
once per interval, and the dispatcher delivers every event at least once through a receiver
that is down, then refusing, then flaky, and through a database outage; dead after the last
attempt; never two senders of one event at once."""

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from medinv_tools.tcp_proxy import TcpProxy
from serve_app.core.settings import Settings
from serve_app.inventory.catalog import create_location, put_item
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.models import LocationKind, Stock
from serve_app.inventory.outbox import add_due_reports
from serve_app.inventory.outbox_leases import RetryPolicy, claim_due, settle
from serve_app.inventory.records import write_records
from serve_app.inventory.webhook_dispatcher import WebhookDispatcher
from serve_app.inventory.webhook_models import (
    DeliveryState,
    EventType,
    WebhookOutbox,
    WebhookSubscription,
)
from serve_app.inventory.webhook_sender import Delivery, signature
from serve_app.inventory.webhook_subscriptions import (
    create_subscription,
    delete_subscription,
    delivery_counts,
)
from tests.store.conftest import T0, count_record
from tests.webhook_receiver import Answer, WebhookReceiver, documented_verify

PAR = 10
# A failure guard for waits on the dispatcher, never a measure: what it waits for takes seconds.
PATIENCE_S = 120.0


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(create_engine(database_url, Settings()))
    yield database
    await database.dispose()


@pytest.fixture
async def location_id(database: Database) -> int:
    async with database.session() as session:
        location = await create_location(
            session, kind=LocationKind.SHELF, name="Ward 3 shelf B", camera_id=None
        )
    return location.id


def dispatch_settings(database_url: str, **changes: Any) -> Settings:
    """Fast rounds and short backoffs: a test's retries take milliseconds, not minutes."""
    fields: dict[str, Any] = {
        "database_url": database_url,
        "webhook_poll_interval_s": 0.02,
        "webhook_batch_size": 20,
        "webhook_timeout_s": 0.5,
        "webhook_lease_s": 30.0,
        "webhook_backoff_base_s": 0.02,
        "webhook_backoff_max_s": 0.2,
        "webhook_max_attempts": 100,
    }
    return Settings(**(fields | changes))


@asynccontextmanager
async def dispatching(settings: Settings) -> AsyncIterator[WebhookDispatcher]:
    """A started dispatcher, as an ingress replica runs it."""
    dispatcher = WebhookDispatcher.open(settings)
    await dispatcher.start()
    try:
        yield dispatcher
    finally:
        await dispatcher.close()


async def eventually(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not await condition():
        assert time.monotonic() < deadline, f"still not {what} after {PATIENCE_S:g} s"
        await asyncio.sleep(0.05)


async def outbox(database: Database) -> list[WebhookOutbox]:
    async with database.session() as session:
        rows = await session.scalars(select(WebhookOutbox).order_by(WebhookOutbox.id))
        return list(rows)


async def subscribe(database: Database, url: str, *events: EventType) -> WebhookSubscription:
    reports = EventType.REPLENISHMENT_REPORT in events
    async with database.session() as session:
        return await create_subscription(
            session, url=url, events=events, report_interval_s=3600 if reports else None
        )


async def stock_items(database: Database, labels: list[str]) -> None:
    async with database.session() as session:
        for label in labels:
            await put_item(
                session, label=label, display_name=label, sku=None, unit="each", par_level=PAR
            )


async def record(
    database: Database, key: str, location_id: int, minutes: float, **counts: int
) -> None:
    async with database.session() as session:
        await write_records(session, records=[count_record(key, location_id, minutes, counts)])


# Events into the outbox.


async def test_a_record_that_takes_stock_below_par_adds_an_event_per_subscriber(
    database: Database, location_id: int
) -> None:
    await stock_items(database, ["syringe"])
    alerts = await subscribe(database, "http://127.0.0.1:9/a", EventType.BELOW_PAR)
    both = await subscribe(
        database, "http://127.0.0.1:9/b", EventType.BELOW_PAR, EventType.REPLENISHMENT_REPORT
    )
    await subscribe(database, "http://127.0.0.1:9/c", EventType.REPLENISHMENT_REPORT)

    # Above, below (an event), still below, back at par, below again (an event).
    for minute, count in enumerate([12, 4, 3, PAR, 2]):
        await record(database, f"r{minute}", location_id, minute, syringe=count)

    rows = await outbox(database)
    assert sorted(row.subscription_id for row in rows) == sorted([alerts.id, both.id] * 2)
    assert {row.state for row in rows} == {DeliveryState.PENDING}
    assert {row.attempts for row in rows} == {0}
    first, second = sorted({row.event_id: row for row in rows}.values(), key=lambda r: r.id)
    body = json.loads(first.payload)
    assert body["id"] == first.event_id and body["type"] == first.event_type == "below_par"
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
    assert body["data"] == {
        "location_id": location_id,
        "label": "syringe",
        "count": 4,
        "par_level": PAR,
        "below_par_since": (T0 + timedelta(minutes=1)).isoformat(),
    }
    assert json.loads(second.payload)["data"]["count"] == 2
    # One event, the same body, for each subscription.
    assert len({row.payload for row in rows if row.event_id == first.event_id}) == 1


async def test_the_event_commits_with_the_stock_or_not_at_all(
    database: Database, location_id: int
) -> None:
    await stock_items(database, ["syringe"])
    await subscribe(database, "http://127.0.0.1:9/a", EventType.BELOW_PAR)
    low = count_record("low", location_id, 0, {"syringe": 1})
    nowhere = count_record("nowhere", location_id + 1000, 1, {"syringe": 1})  # no such location

    async with database.session() as session:
        with pytest.raises(IntegrityError):
            await write_records(session, records=[low, nowhere])
        await session.rollback()
        assert list(await session.scalars(select(Stock))) == []
        await session.commit()
    assert await outbox(database) == []

    await record(database, "low", location_id, 0, syringe=1)
    assert len(await outbox(database)) == 1


async def test_deleting_a_subscription_deletes_its_events(
    database: Database, location_id: int
) -> None:
    await stock_items(database, ["syringe"])
    kept = await subscribe(database, "http://127.0.0.1:9/a", EventType.BELOW_PAR)
    gone = await subscribe(database, "http://127.0.0.1:9/b", EventType.BELOW_PAR)
    await record(database, "r0", location_id, 0, syringe=1)

    async with database.session() as session:
        await delete_subscription(session, subscription_id=gone.id)

    assert [row.subscription_id for row in await outbox(database)] == [kept.id]


async def test_a_report_is_due_once_per_interval_whichever_replica_looks(
    database: Database, database_url: str, location_id: int
) -> None:
    await stock_items(database, ["syringe", "gauze"])
    await record(database, "r0", location_id, 0, syringe=4, gauze=PAR + 2)
    reports = await subscribe(database, "http://127.0.0.1:9/r", EventType.REPLENISHMENT_REPORT)
    assert reports.next_report_at is not None
    due = reports.next_report_at
    other_replica = Database(create_engine(database_url, Settings()))

    async def add_reports(database: Database, now: datetime) -> int:
        async with database.session() as session:
            added = await add_due_reports(session, now=now)
            await session.commit()
            return added

    try:
        assert await add_reports(database, due - timedelta(seconds=1)) == 0
        both = await asyncio.gather(add_reports(database, due), add_reports(other_replica, due))
        assert sorted(both) == [0, 1]
        assert await add_reports(other_replica, due + timedelta(seconds=3599)) == 0
        assert await add_reports(other_replica, due + timedelta(seconds=3600)) == 1
    finally:
        await other_replica.dispose()

    rows = await outbox(database)
    assert [row.event_type for row in rows] == ["replenishment_report"] * 2  # no below_par
    assert len({row.event_id for row in rows}) == 2
    (line,) = json.loads(rows[0].payload)["data"]["lines"]  # GET /v1/replenishment's line
    counted_at = datetime.fromisoformat(line.pop("counted_at"))
    assert counted_at.tzinfo is not None
    assert line == {
        "location_id": location_id,
        "location": "Ward 3 shelf B",
        "bin_id": None,
        "bin": None,
        "label": "syringe",
        "sku": None,
        "unit": "each",
        "count": 4,
        "par_level": PAR,
        "order_quantity": PAR - 4,
    }


# Leases.


LEASE = timedelta(seconds=30)
POLICY = RetryPolicy(backoff_base_s=1, backoff_max_s=10, max_attempts=5)


async def claim(database: Database, owner: str, now: datetime) -> list[Delivery]:
    async with database.session() as session:
        claimed = await claim_due(session, owner=owner, now=now, lease=LEASE, limit=10)
        await session.commit()
    return claimed


async def settle_one(
    database: Database, delivery: Delivery, error: str | None, owner: str, now: datetime
) -> None:
    async with database.session() as session:
        await settle(session, [(delivery, error)], owner=owner, now=now, policy=POLICY)
        await session.commit()


async def test_a_leased_event_is_not_claimed_again_until_its_lease_runs_out(
    database: Database, database_url: str, location_id: int
) -> None:
    await stock_items(database, ["syringe"])
    await subscribe(database, "http://127.0.0.1:9/a", EventType.BELOW_PAR)
    await record(database, "r0", location_id, 0, syringe=1)
    now = datetime.now(UTC)
    other_replica = Database(create_engine(database_url, Settings()))

    try:
        (first,) = await claim(database, "a", now)
        assert await claim(other_replica, "b", now + LEASE / 2) == []
        (again,) = await claim(other_replica, "b", now + LEASE)
        assert (first.attempts, again.attempts) == (1, 2)
        assert again.event_id == first.event_id and again.payload == first.payload

        # "a" comes back after its lease ran out: its failure is not recorded over b's lease.
        await settle_one(database, first, "HTTP 500", "a", now + LEASE)
        (row,) = await outbox(database)
        assert (row.lease_owner, row.state, row.last_error) == ("b", "pending", None)

        await settle_one(other_replica, again, None, "b", now + LEASE)
    finally:
        await other_replica.dispose()
    (row,) = await outbox(database)
    assert (row.state, row.attempts, row.lease_owner) == ("delivered", 2, None)


async def test_two_dispatchers_never_send_one_event_at_once(
    database: Database, database_url: str, location_id: int
) -> None:
    events = 40
    labels = [f"item-{i:02}" for i in range(events)]
    receiver = WebhookReceiver(ok_after_s=0.05)  # time enough for a second sender to overlap
    await receiver.up()
    await stock_items(database, labels)
    await subscribe(database, receiver.url, EventType.BELOW_PAR)
    for minute, label in enumerate(labels):
        await record(database, f"r{minute}", location_id, minute, **{label: 1})
    # A timeout no answer here comes near, even on a loaded machine: nothing is sent twice.
    settings = dispatch_settings(database_url, webhook_batch_size=5, webhook_timeout_s=5.0)

    async def all_delivered() -> bool:
        return {row.state for row in await outbox(database)} == {DeliveryState.DELIVERED}

    try:
        async with dispatching(settings), dispatching(settings):
            await eventually(all_delivered, "delivered")
    finally:
        await receiver.down()

    assert receiver.most_in_flight == 1
    # Every answer was a 2xx within the timeout, so each event was sent exactly once.
    assert sorted(receiver.accepted().values()) == [1] * events


# Delivery through failures.


def flaky(n: int) -> Answer:
    """Every 3rd request fails with 500, every 7th hangs past the sender's timeout (its 200
    comes too late: the event is sent again)."""
    if n % 3 == 0:
        return "error"
    return "hang" if n % 7 == 0 else "ok"


async def test_every_event_arrives_through_an_outage_and_a_flaky_receiver(
    database: Database, database_url: str, location_id: int
) -> None:
    events = 50
    labels = [f"item-{i:02}" for i in range(events)]
    receiver = WebhookReceiver(hang_s=1.5)  # down: nothing listens on its port yet
    verify = documented_verify()
    await stock_items(database, labels)
    subscription = await subscribe(database, receiver.url, EventType.BELOW_PAR)

    async def tried_twice() -> bool:
        rows = await outbox(database)
        return len(rows) == events and min(row.attempts for row in rows) >= 2

    async def refused_each() -> bool:
        return len({r.event_id for r in receiver.received}) == events

    async def none_pending() -> bool:
        return all(row.state != DeliveryState.PENDING for row in await outbox(database))

    try:
        async with dispatching(dispatch_settings(database_url)):
            # Each record takes one more item below par: 50 events, through the record path.
            for minute, label in enumerate(labels):
                await record(database, f"r{minute}", location_id, minute, **{label: 1})
            await eventually(tried_twice, "every event tried twice")
            receiver.behaviour = lambda n: "unavailable"
            await receiver.up()
            await eventually(refused_each, "every event refused with 503")
            receiver.behaviour = flaky
            await eventually(none_pending, "delivered")
    finally:
        await receiver.down()

    rows = await outbox(database)
    event_ids = {row.event_id for row in rows}
    assert len(event_ids) == events
    assert {row.state for row in rows} == {DeliveryState.DELIVERED}
    # Marked delivered only after a 2xx: each event had one that came back in time.
    answered_ok = {r.event_id for r in receiver.received if r.answer == "ok"}
    assert answered_ok == event_ids
    bodies: dict[str, bytes] = {}
    for request in receiver.received:
        assert verify(subscription.secret, request.signature, request.body), request
        assert json.loads(request.body)["id"] == request.event_id
        assert request.event_type == "below_par"
        # A duplicate is the same event again, byte for byte.
        assert bodies.setdefault(request.event_id, request.body) == request.body
    assert {r.answer for r in receiver.received} == {"unavailable", "error", "hang", "ok"}

    accepted = receiver.accepted()
    figures = {
        "events": events,
        "delivered": len(answered_ok),
        "retried": sum(row.attempts > 1 for row in rows),
        "attempts": sum(row.attempts for row in rows),
        "requests received": len(receiver.received),
        "duplicates": sum(count - 1 for count in accepted.values()),
        "lost": len(event_ids - set(accepted)),
    }
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    print(f"\nwebhook outage ({backend}): " + ", ".join(f"{v} {k}" for k, v in figures.items()))
    assert figures["lost"] == 0


async def test_an_event_no_receiver_takes_is_dead_after_the_last_attempt(
    database: Database, database_url: str, location_id: int
) -> None:
    receiver = WebhookReceiver(lambda n: "unavailable")
    await receiver.up()
    await stock_items(database, ["syringe"])
    subscription = await subscribe(database, receiver.url, EventType.BELOW_PAR)
    await record(database, "r0", location_id, 0, syringe=1)

    async def dead() -> bool:
        return [row.state for row in await outbox(database)] == [DeliveryState.DEAD]

    try:
        async with dispatching(dispatch_settings(database_url, webhook_max_attempts=3)):
            await eventually(dead, "dead")
    finally:
        await receiver.down()

    (row,) = await outbox(database)
    assert (row.attempts, row.last_error, row.delivered_at) == (3, "HTTP 503", None)
    assert len(receiver.received) == 3
    async with database.session() as session:
        counts = await delivery_counts(session, subscription_ids=[subscription.id])
    assert counts[subscription.id] == {
        DeliveryState.PENDING: 0,
        DeliveryState.DELIVERED: 0,
        DeliveryState.DEAD: 1,
    }


def test_the_documented_check_refuses_what_the_secret_did_not_sign() -> None:
    verify = documented_verify()
    body = b'{"id":"e1","type":"below_par"}'
    now = int(time.time())
    header = signature("whsec_right", now, body.decode())

    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert verify("whsec_right", header, body)
    assert not verify("whsec_wrong", header, body)
    assert not verify("whsec_right", header, body.replace(b"e1", b"e2"))
    assert not verify("whsec_right", header, body, now=now + 301)  # a replay, too late
    assert not verify("whsec_right", header.replace(f"t={now}", f"t={now + 1}"), body)
    assert not verify("whsec_right", "v1=abc", body)
    assert not verify("whsec_right", "t=soon,v1=abc", body)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_the_dispatcher_waits_out_a_database_outage(
    database: Database,
    database_url: str,
    location_id: int,
    postgres_proxy: TcpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Events written while the dispatcher cannot reach the database are all sent once it can
    again: it warns once and keeps trying meanwhile."""
    events = 10
    labels = [f"item-{i:02}" for i in range(events)]
    receiver = WebhookReceiver()
    await receiver.up()
    await stock_items(database, labels)
    await subscribe(database, receiver.url, EventType.BELOW_PAR)
    through_proxy = make_url(database_url).set(host="127.0.0.1", port=postgres_proxy.port)
    settings = dispatch_settings(through_proxy.render_as_string(hide_password=False))

    async def all_delivered() -> bool:
        rows = await outbox(database)
        return len(rows) == events and {row.state for row in rows} == {DeliveryState.DELIVERED}

    try:
        async with dispatching(settings):
            postgres_proxy.cut()
            for minute, label in enumerate(labels):
                await record(database, f"r{minute}", location_id, minute, **{label: 1})

            async def noticed() -> bool:
                return any("wait for the inventory database" in m for m in caplog.messages)

            await eventually(noticed, "warned of the outage")
            assert receiver.received == []
            postgres_proxy.restore()
            await eventually(all_delivered, "delivered after the outage")
    finally:
        await receiver.down()
    assert sorted(receiver.accepted().values()) == [1] * events
    warnings = [m for m in caplog.messages if "wait for the inventory database" in m]
    assert len(warnings) == 1
