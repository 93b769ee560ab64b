"""Wire models of GET /v1/replenishment: what to reorder, as JSON or a par-count CSV."""

import csv
import io
from datetime import datetime

from pydantic import BaseModel, Field

from serve_app.inventory.replenishment import ReplenishmentLine

CSV_COLUMNS = ("location", "bin", "item", "sku", "par", "on_hand", "order_qty", "counted_at")
# A cell a spreadsheet would run as a formula (OWASP's CSV injection): kept as text instead.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ReplenishmentLineOut(BaseModel):
    location_id: int
    location: str = Field(description="the location; for a bin, its camera's location")
    bin_id: int | None = Field(description="the bin (a zone's location id); null elsewhere")
    bin: str | None
    item: str = Field(description="the detector label")
    display_name: str
    sku: str | None
    unit: str
    par_level: int
    on_hand: int = Field(description="the latest count")
    order_quantity: int = Field(description="par level minus on hand")
    counted_at: datetime
    below_par_since: datetime

    @classmethod
    def of(cls, line: ReplenishmentLine) -> "ReplenishmentLineOut":
        return cls(
            location_id=line.location_id,
            location=line.location,
            bin_id=line.bin_id,
            bin=line.bin,
            item=line.label,
            display_name=line.display_name,
            sku=line.sku,
            unit=line.unit,
            par_level=line.par_level,
            on_hand=line.on_hand,
            order_quantity=line.order_quantity,
            counted_at=line.counted_at,
            below_par_since=line.below_par_since,
        )


class ReplenishmentResponse(BaseModel):
    lines: list[ReplenishmentLineOut] = Field(description="below par, by location, bin and item")


def as_csv(lines: list[ReplenishmentLine]) -> str:
    """The lines as a par-count upload: one row per item below par, with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in lines:
        writer.writerow(
            [
                _cell(line.location),
                _cell(line.bin or ""),
                _cell(line.label),
                _cell(line.sku or ""),
                line.par_level,
                line.on_hand,
                line.order_quantity,
                line.counted_at.isoformat(),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text
