"""PUT /v1/items/{label}: what a detector label is in the stock room, and its par level."""

from typing import Annotated

from fastapi import APIRouter, Path

from serve_app.api.context import StoreSession
from serve_app.api.guards import ADMIN
from serve_app.api.locations import STORE_DOWN
from serve_app.api.schemas.inventory import ItemOut, ItemUpdate
from serve_app.inventory import catalog

router = APIRouter(prefix="/v1", tags=["inventory"])
Label = Annotated[str, Path(min_length=1, max_length=100, description="the detector label")]


@router.put(
    "/items/{label}",
    summary="Create or replace an item (display name, SKU, unit, par level)",
    responses=STORE_DOWN,
    dependencies=[ADMIN],
)
async def put_item(label: Label, body: ItemUpdate, session: StoreSession) -> ItemOut:
    item = await catalog.put_item(
        session,
        label=label,
        display_name=body.display_name,
        sku=body.sku,
        unit=body.unit,
        par_level=body.par_level,
    )
    return ItemOut.of(item)
