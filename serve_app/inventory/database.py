"""The async engine for one database URL (PostgreSQL via psycopg 3, or SQLite via aiosqlite)."""

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from serve_app.core.errors import StoreUnavailableError
from serve_app.core.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 10_000


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=settings.db_pool_size, max_overflow=0)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        # A pooled connection is pinged when checked out: one that died with a restart or a
        # failover (its primary gone) is replaced by a new one, which a multi-host URL with
        # target_session_attrs=read-write takes to the new primary (docs/configuration.md).
        # Without it the first write on each dead connection would fail, and be spooled.
        pool_pre_ping=True,
        # libpq's, per host of a multi-host URL (psycopg tries them in turn).
        connect_args={"connect_timeout": settings.db_connect_timeout_s},
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    # Several processes (replicas, CLI) share the file: WAL lets readers run beside the writer,
    # and BEGIN IMMEDIATE takes the write lock up front, so a transaction that reads and then
    # writes waits for the lock (busy_timeout) instead of failing with SQLITE_BUSY.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# sqlite3 raises OperationalError for bad SQL too; only these mean "try again later".
_SQLITE_TRANSIENT = ("locked", "busy", "unable to open", "disk i/o")


def is_unreachable(error: BaseException) -> bool:
    """True when the database could not be reached, as opposed to a bad statement."""
    if isinstance(error, OperationalError) and isinstance(error.orig, sqlite3.Error):
        return any(marker in str(error.orig).lower() for marker in _SQLITE_TRANSIENT)
    if isinstance(error, OperationalError | InterfaceError | PoolTimeoutError | OSError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose connection failures surface as `StoreUnavailableError`."""
        try:
            async with self._sessions() as session:
                yield session
        except Exception as error:
            if is_unreachable(error):
                raise StoreUnavailableError("the inventory database is unreachable") from error
            raise

    async def dispose(self) -> None:
        await self.engine.dispose()
