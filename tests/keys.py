"""API keys for tests, created in a test database as `medinv keys create` would."""

import asyncio

from serve_app.access.key_store import create_key, revoke_key
from serve_app.access.keys import parse_scopes
from serve_app.core.settings import Settings
from serve_app.inventory.database import Database, create_engine

ALL_SCOPES = "detect,read,admin"


def create_api_key(
    database_url: str,
    scopes: str = ALL_SCOPES,
    *,
    name: str = "test",
    requests_per_minute: int | None = None,
    frames_per_minute: int | None = None,
) -> str:
    async def create() -> str:
        database = Database(create_engine(database_url, Settings()))
        try:
            async with database.session() as session:
                new = await create_key(
                    session,
                    name=name,
                    scopes=parse_scopes(scopes),
                    requests_per_minute=requests_per_minute,
                    frames_per_minute=frames_per_minute,
                )
        finally:
            await database.dispose()
        return new.secret

    return asyncio.run(create())


def revoke_api_key(database_url: str, key: str) -> None:
    async def revoke() -> None:
        database = Database(create_engine(database_url, Settings()))
        try:
            async with database.session() as session:
                await revoke_key(session, key_id=key.split("_")[1])
        finally:
            await database.dispose()

    asyncio.run(revoke())


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
