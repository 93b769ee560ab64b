"""PostgreSQL databases made for one run and dropped after it, on a shared server.

Every run names its own (`<prefix>_<random>`), so parallel runs on one server never meet.
"""

import asyncio
import uuid

from sqlalchemy import text
from sqlalchemy.engine import make_url

from serve_app.core.settings import Settings
from serve_app.inventory.database import create_engine


async def _admin(server_url: str, statement: str) -> None:
    # CREATE/DROP DATABASE cannot run in a transaction: AUTOCOMMIT.
    engine = create_engine(server_url, Settings()).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def create_database(server_url: str, prefix: str) -> str:
    """A new empty database on the server of `server_url`; its URL. Raises when the server
    is down."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drops the database of `url`, closing any connection still open to it."""
    name = make_url(url).database
    server_url = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
