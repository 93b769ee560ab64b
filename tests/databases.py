"""Test databases: a migrated SQLite file, and a PostgreSQL database of this session's own.

PostgreSQL is the machine's shared server (127.0.0.1:5432, trust auth); every session makes
uniquely named databases on it and drops them at the end, so parallel runs never meet.
"""

import asyncio
import os
import uuid

from sqlalchemy import text
from sqlalchemy.engine import make_url

from serve_app.core.settings import Settings
from serve_app.inventory.database import create_engine

POSTGRES_SERVER_URL = os.environ.get(
    "MEDINV_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TABLES = [
    "api_keys",
    "daily_counts",
    "stock",
    "detection_counts",
    "detection_records",
    "items",
    "locations",
]


async def _admin(statement: str) -> None:
    # CREATE/DROP DATABASE cannot run in a transaction: AUTOCOMMIT.
    engine = create_engine(POSTGRES_SERVER_URL, Settings()).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def create_postgres_database() -> str:
    """A new empty database on the test server; its URL. Raises when the server is down."""
    name = f"medinv_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty(url: str) -> None:
    engine = create_engine(url, Settings())
    try:
        async with engine.begin() as connection:
            for table in TABLES:
                await connection.execute(text(f"DELETE FROM {table}"))
    finally:
        await engine.dispose()


def empty_tables(url: str) -> None:
    asyncio.run(_empty(url))
