"""Test databases: a migrated SQLite file, and a PostgreSQL database of this session's own.

PostgreSQL is the machine's shared server (127.0.0.1:5432, trust auth); every session makes
uniquely named databases on it and drops them at the end, so parallel runs never meet.
"""

import asyncio
import os

from sqlalchemy import text

from medinv_tools.scratch_database import create_database, drop_database
from serve_app.core.settings import Settings
from serve_app.inventory import webhook_models  # noqa: F401  (its tables join Base.metadata)
from serve_app.inventory.database import create_engine
from serve_app.inventory.models import Base

POSTGRES_SERVER_URL = os.environ.get(
    "MEDINV_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Every table, those that others refer to last.
TABLES = [table.name for table in reversed(Base.metadata.sorted_tables)]


def create_postgres_database() -> str:
    """A new empty database on the test server; its URL. Raises when the server is down."""
    return create_database(POSTGRES_SERVER_URL, "medinv_test")


def drop_postgres_database(url: str) -> None:
    drop_database(url)


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
