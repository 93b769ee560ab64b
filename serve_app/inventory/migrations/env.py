"""Alembic environment: migrate the database that `medinv migrate` names, online only."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from serve_app.core.settings import get_settings
from serve_app.inventory import webhook_models  # noqa: F401  (its tables join Base.metadata)
from serve_app.inventory.database import create_engine
from serve_app.inventory.models import Base


def _migrate(connection: Connection) -> None:
    # Batch mode lets later migrations alter SQLite tables (copy and move). Its DROP TABLE of
    # the old copy would cascade into the rows that reference it while foreign keys are on, so
    # they are off for the run; the pragma must be set outside a transaction, on the driver.
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _foreign_keys(connection, on=False)
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        _foreign_keys(connection, on=True)


def _foreign_keys(connection: Connection, *, on: bool) -> None:
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


async def _migrate_async(url: str) -> None:
    engine = create_engine(url, get_settings())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


asyncio.run(_migrate_async(context.config.attributes["database_url"]))
