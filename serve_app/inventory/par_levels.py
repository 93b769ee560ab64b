"""Par levels: an item's own, or a location's for that item (a bin's expected items), which
wins; and keeping `stock.below_par_since` true to them when they change."""

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.inventory.models import Item, ParLevel, Stock


def effective_par() -> ColumnElement[int | None]:
    """The par level of a row of `stock` in a query that outer-joins `items` on
    `par_join_on_item` and `par_levels` on `par_join_on_location`: the location's for the
    item, else the item's."""
    return func.coalesce(ParLevel.par_level, Item.par_level)


def par_join_on_item() -> ColumnElement[bool]:
    return Item.label == Stock.label


def par_join_on_location() -> ColumnElement[bool]:
    return and_(ParLevel.location_id == Stock.location_id, ParLevel.label == Stock.label)


async def pars_at(
    session: AsyncSession, *, location_id: int, labels: Iterable[str]
) -> dict[str, int | None]:
    """Each label's par level at the location (None: it has none)."""
    wanted = list(labels)
    pars: dict[str, int | None] = dict(
        (await session.execute(select(Item.label, Item.par_level).where(Item.label.in_(wanted))))
        .tuples()
        .all()
    )
    local = select(ParLevel.label, ParLevel.par_level).where(
        ParLevel.location_id == location_id, ParLevel.label.in_(wanted)
    )
    pars.update((await session.execute(local)).tuples().all())
    return pars


async def set_location_pars(
    session: AsyncSession, *, location_id: int, pars: dict[str, int]
) -> None:
    """Replace the location's own par levels (not committed) and re-evaluate its stock."""
    await session.execute(delete(ParLevel).where(ParLevel.location_id == location_id))
    session.add_all(
        ParLevel(location_id=location_id, label=label, par_level=par) for label, par in pars.items()
    )
    await session.flush()
    await reevaluate_below_par(session, Stock.location_id == location_id)


async def reevaluate_below_par(session: AsyncSession, which: ColumnElement[bool]) -> None:
    """Set or clear `below_par_since` of the chosen stock rows by their par levels now, keeping
    the start of a low-stock period that goes on (not committed)."""
    now = datetime.now(UTC)
    rows = await session.execute(
        select(Stock, effective_par())
        .outerjoin(Item, par_join_on_item())
        .outerjoin(ParLevel, par_join_on_location())
        .where(which)
    )
    for stock, par in rows.tuples():
        below = par is not None and stock.count < par
        stock.below_par_since = (stock.below_par_since or now) if below else None
