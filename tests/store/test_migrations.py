"""Alembic: from an empty database up to head, back down to nothing, and up again."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncConnection

from serve_app.core.settings import Settings
from serve_app.inventory.database import create_engine
from serve_app.inventory.migrate import downgrade, upgrade
from serve_app.inventory.models import Base
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
