"""Alembic: from an empty database up to head, back down to nothing, and up again; revisions
that change tables keep the rows they hold."""

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from serve_app.core.settings import Settings
from serve_app.inventory.database import create_engine
from serve_app.inventory.migrate import downgrade, upgrade
from serve_app.inventory.models import Base
from serve_app.inventory.webhook_models import WebhookOutbox, WebhookSubscription
from tests.databases import create_postgres_database, drop_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("postgresql_url")  # skips (CI: fails) when PostgreSQL is down
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


def tables(url: str) -> set[str]:
    async def names() -> set[str]:
        engine = create_engine(url, Settings())
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(_table_names)
        finally:
            await engine.dispose()

    return asyncio.run(names())


def _table_names(connection: AsyncConnection) -> set[str]:
    return set(inspect(connection).get_table_names())


def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    assert tables(empty_database) == set()

    upgrade(empty_database)
    assert tables(empty_database) == set(Base.metadata.tables) | {"alembic_version"}

    downgrade(empty_database, "base")
    assert tables(empty_database) == {"alembic_version"}

    upgrade(empty_database)
    assert tables(empty_database) == set(Base.metadata.tables) | {"alembic_version"}


def test_the_migrated_schema_is_the_orm_models(empty_database: str) -> None:
    """Tables, columns, types, indexes and unique constraints: what the queries assume."""

    async def differences() -> list[object]:
        engine = create_engine(empty_database, Settings())
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
                )
        finally:
            await engine.dispose()

    upgrade(empty_database)
    assert asyncio.run(differences()) == []


async def _execute(url: str, statement: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(url, Settings())
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


def execute(url: str, statement: str, **params: object) -> list[tuple[object, ...]]:
    return asyncio.run(_execute(url, statement, **params))


def insert_record(url: str, request_id: str, **key: str) -> None:
    columns = "".join(f", {name}" for name in key)
    values = "".join(f", :{name}" for name in key)
    execute(
        url,
        "INSERT INTO detection_records (request_id, location_id, recorded_at, model_name, "
        f"model_version, image_sha256, latency_ms{columns}) VALUES (:request_id, 1, :at, 'm', "
        f"'1', :sha, 40.0{values})",
        request_id=request_id,
        at=datetime(2026, 5, 1),
        sha="ab" * 32,
        **key,
    )


def test_idempotency_keys_keep_every_record_and_its_counts(empty_database: str) -> None:
    url = empty_database
    upgrade(url, "0002")
    execute(
        url,
        "INSERT INTO locations (id, kind, name, created_at) VALUES (1, 'shelf', 'A', :at)",
        at=datetime(2026, 5, 1),
    )
    for request_id in ("a", "b"):
        insert_record(url, request_id)
    execute(
        url,
        "INSERT INTO detection_counts (record_id, label, count) "
        "SELECT id, 'syringe', 3 FROM detection_records",
    )

    upgrade(url)
    keys = "SELECT request_id, caller, idempotency_key FROM detection_records ORDER BY id"
    assert execute(url, keys) == [("a", "unscoped", "a"), ("b", "unscoped", "b")]
    counts = "SELECT count(*) FROM detection_counts"
    assert execute(url, counts) == [(2,)]
    insert_record(url, "a", caller="key:k1", idempotency_key="a")  # a trace id may repeat
    with pytest.raises(IntegrityError):
        insert_record(url, "c", caller="key:k1", idempotency_key="a")

    downgrade(url, "0002")
    request_ids = "SELECT request_id FROM detection_records ORDER BY id"
    assert execute(url, request_ids) == [("a",), ("b",), ("key:k1/a",)]
    assert execute(url, counts) == [(2,)]
    with pytest.raises(IntegrityError):
        insert_record(url, "a")  # unique again, as 0002's code expects

    upgrade(url)
    assert execute(url, counts) == [(2,)]


def test_zones_keep_every_location_and_their_downgrade_drops_only_bins(
    empty_database: str,
) -> None:
    url = empty_database
    upgrade(url, "0003")
    at = datetime(2026, 5, 1)
    execute(
        url,
        "INSERT INTO locations (id, kind, name, created_at) VALUES (1, 'shelf', 'A', :at)",
        at=at,
    )

    upgrade(url)
    execute(
        url,
        "INSERT INTO locations (id, kind, name, created_at, parent_id) "
        "VALUES (2, 'bin', 'A left', :at, 1)",
        at=at,
    )
    execute(
        url,
        "INSERT INTO zones (bin_id, camera_location_id, position, polygon, updated_at) "
        "VALUES (2, 1, 0, '[[0, 0], [1, 0], [0, 1]]', :at)",
        at=at,
    )
    execute(url, "INSERT INTO par_levels (location_id, label, par_level) VALUES (2, 'mask', 3)")
    insert_record(url, "r1", caller="key:k1", idempotency_key="r1")
    execute(url, "UPDATE detection_records SET location_id = 2")
    with pytest.raises(IntegrityError):
        execute(
            url, "INSERT INTO locations (kind, name, created_at) VALUES ('drawer', 'B', :at)", at=at
        )

    downgrade(url, "0003")
    assert execute(url, "SELECT id, kind FROM locations") == [(1, "shelf")]
    assert execute(url, "SELECT count(*) FROM detection_records") == [(0,)]
    with pytest.raises(IntegrityError):
        execute(
            url, "INSERT INTO locations (kind, name, created_at) VALUES ('bin', 'C', :at)", at=at
        )


def test_webhooks_come_and_go_with_0006(empty_database: str) -> None:
    url = empty_database
    webhook_tables = {WebhookSubscription.__tablename__, WebhookOutbox.__tablename__}
    upgrade(url, "0005")
    assert not webhook_tables & tables(url)

    upgrade(url, "0006")
    assert webhook_tables <= tables(url)
    execute(
        url,
        "INSERT INTO webhook_subscriptions (id, url, event_types, secret, created_at) "
        "VALUES (1, 'https://example.com/hook', 'below_par', 's', :at)",
        at=datetime(2026, 5, 1),
    )
    execute(
        url,
        "INSERT INTO webhook_outbox (event_id, subscription_id, event_type, payload, created_at, "
        "state, attempts, next_attempt_at) VALUES ('e1', 1, 'below_par', '{}', :at, 'pending', 0, "
        ":at)",
        at=datetime(2026, 5, 1),
    )
    with pytest.raises(IntegrityError):  # one row per event and subscription
        execute(
            url,
            "INSERT INTO webhook_outbox (event_id, subscription_id, event_type, payload, "
            "created_at, state, attempts, next_attempt_at) VALUES ('e1', 1, 'below_par', '{}', "
            ":at, 'pending', 0, :at)",
            at=datetime(2026, 5, 1),
        )

    downgrade(url, "0005")
    assert not webhook_tables & tables(url)
    assert "stock" in tables(url)

    upgrade(url)
    assert execute(url, "SELECT count(*) FROM webhook_outbox") == [(0,)]
