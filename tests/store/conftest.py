"""Store tests: the inventory functions on real databases (SQLite and PostgreSQL)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.core.settings import Settings
from serve_app.inventory.catalog import create_location
from serve_app.inventory.database import Database, create_engine
from serve_app.inventory.models import LocationKind
from serve_app.inventory.records import CountRecord

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    database = Database(create_engine(database_url, Settings()))
    try:
        async with database.session() as session:
            yield session
    finally:
        await database.dispose()


@pytest.fixture
async def location_id(session: AsyncSession) -> int:
    location = await create_location(
        session, kind=LocationKind.SHELF, name="Ward 3 shelf B", camera_id="cam-7"
    )
    return location.id


def count_record(
    key: str,
    location_id: int,
    minutes: float,
    counts: dict[str, int],
    *,
    caller: str = "key:test",
    image_sha256: str = "ab" * 32,
) -> CountRecord:
    """A record under `key`, which is also its request id."""
    return CountRecord(
        caller=caller,
        idempotency_key=key,
        request_id=key,
        location_id=location_id,
        recorded_at=T0 + timedelta(minutes=minutes),
        model_name="demo-ssdlite",
        model_version="0.0.0-untrained",
        image_sha256=image_sha256,
        counts=counts,
        latency_ms=40.0,
    )
