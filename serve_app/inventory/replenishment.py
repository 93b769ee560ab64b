"""What to reorder: every item below par, per location and bin, with the quantity that brings
it back to par."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from serve_app.inventory.models import Item, Location, ParLevel, Stock
from serve_app.inventory.par_levels import effective_par, par_join_on_item, par_join_on_location


@dataclass(frozen=True)
class ReplenishmentLine:
    """One item below par in one place. For a bin, `location` is its camera's location and
    `bin` the bin; elsewhere `bin` is None."""

    location_id: int
    location: str
    bin_id: int | None
    bin: str | None
    label: str
    display_name: str
    sku: str | None
    unit: str
    par_level: int
    on_hand: int
    counted_at: datetime
    below_par_since: datetime

    @property
    def order_quantity(self) -> int:
        return self.par_level - self.on_hand

    @property
    def place_id(self) -> int:
        """The location the count is of: the bin, or the location itself."""
        return self.location_id if self.bin_id is None else self.bin_id


async def replenishment_lines(
    session: AsyncSession, *, location_id: int | None = None
) -> list[ReplenishmentLine]:
    """Lines below par, by location, bin and item; `location_id` keeps one location and its
    bins."""
    counted = aliased(Location)
    parent = aliased(Location)
    statement = (
        select(Stock, counted, parent, Item, effective_par())
        .join(counted, counted.id == Stock.location_id)
        .outerjoin(parent, parent.id == counted.parent_id)
        .outerjoin(Item, par_join_on_item())
        .outerjoin(ParLevel, par_join_on_location())
        .where(Stock.below_par_since.is_not(None))
    )
    if location_id is not None:
        statement = statement.where(
            or_(Stock.location_id == location_id, counted.parent_id == location_id)
        )
    lines = []
    for stock, place, camera, item, par_level in (await session.execute(statement)).tuples():
        assert stock.below_par_since is not None and par_level is not None
        home = camera if camera is not None else place
        lines.append(
            ReplenishmentLine(
                location_id=home.id,
                location=home.name,
                bin_id=place.id if camera is not None else None,
                bin=place.name if camera is not None else None,
                label=stock.label,
                display_name=item.display_name if item else stock.label,
                sku=item.sku if item else None,
                unit=item.unit if item else "each",
                par_level=par_level,
                on_hand=stock.count,
                counted_at=stock.updated_at,
                below_par_since=stock.below_par_since,
            )
        )
    return sorted(lines, key=lambda line: (line.location, line.bin or "", line.label))
