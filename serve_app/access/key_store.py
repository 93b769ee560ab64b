"""API keys in the inventory database: create (the secret is returned once), list, revoke,
and the lookup by public id that every authenticated request ends in (through a cache)."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.access.keys import KeyRecord, NewKey, Scope, generate_key
from serve_app.core.errors import NotFoundError
from serve_app.inventory.models import ApiKey


async def create_key(
    session: AsyncSession,
    *,
    name: str,
    scopes: frozenset[Scope],
    requests_per_minute: int | None = None,
    frames_per_minute: int | None = None,
) -> NewKey:
    new = generate_key()
    session.add(
        ApiKey(
            key_id=new.key_id,
            name=name,
            secret_hash=new.secret_hash,
            scopes=",".join(sorted(scopes)),
            requests_per_minute=requests_per_minute,
            frames_per_minute=frames_per_minute,
            created_at=datetime.now(UTC),
        )
    )
    await session.commit()
    return new


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


async def revoke_key(session: AsyncSession, *, key_id: str) -> ApiKey:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise NotFoundError(f"no API key with id {key_id}")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await session.commit()
    return key


async def active_key(session: AsyncSession, *, key_id: str) -> KeyRecord | None:
    """The key with this id unless it is unknown or revoked."""
    key = await session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return None
    return KeyRecord(
        key_id=key.key_id,
        name=key.name,
        scopes=frozenset(Scope(s) for s in key.scopes.split(",")),
        secret_hash=key.secret_hash,
        requests_per_minute=key.requests_per_minute,
        frames_per_minute=key.frames_per_minute,
    )
