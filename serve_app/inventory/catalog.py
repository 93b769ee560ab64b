"""Locations and items: the slowly changing part of the inventory."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.core.errors import ConflictError, NotFoundError
from serve_app.inventory.models import Item, Location, LocationKind, Stock
from serve_app.inventory.par_levels import reevaluate_below_par
from serve_app.inventory.upsert import insert_for


async def create_location(
    session: AsyncSession, *, kind: LocationKind, name: str, camera_id: str | None
) -> Location:
    location = Location(
        kind=kind.value, name=name, camera_id=camera_id, created_at=datetime.now(UTC)
    )
    session.add(location)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ConflictError(f"a location named {name!r} exists") from None
    return location


async def list_locations(session: AsyncSession) -> list[Location]:
    return list(await session.scalars(select(Location).order_by(Location.id)))


async def bins_of(session: AsyncSession, *, location_id: int) -> list[Location]:
    """The bins of a camera location's zones (none for any other)."""
    statement = select(Location).where(Location.parent_id == location_id).order_by(Location.id)
    return list(await session.scalars(statement))


async def get_location(session: AsyncSession, *, location_id: int) -> Location:
    location = await session.get(Location, location_id)
    if location is None:
        raise NotFoundError(f"no location with id {location_id}")
    return location


async def put_item(
    session: AsyncSession,
    *,
    label: str,
    display_name: str,
    sku: str | None,
    unit: str,
    par_level: int | None,
) -> Item:
    """Create or replace an item and re-evaluate which stock is below its par level."""
    now = datetime.now(UTC)
    values = {
        "label": label,
        "display_name": display_name,
        "sku": sku,
        "unit": unit,
        "par_level": par_level,
        "updated_at": now,
    }
    statement = insert_for(session, Item).values(**values)
    await session.execute(statement.on_conflict_do_update(index_elements=["label"], set_=values))
    await reevaluate_below_par(session, Stock.label == label)
    await session.commit()
    item = await session.get(Item, label, populate_existing=True)
    assert item is not None
    return item
