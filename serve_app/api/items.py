"""PUT /v1/items/{label}: what a detector label is in the stock room, and its par level."""

from typing import Annotated

from fastapi import APIRouter, Path

from serve_app.api.context import StoreSession
from serve_app.api.guards import ADMIN
from serve_app.api.responses import INVALID, MALFORMED_BODY, STORE_DOWN
from serve_app.api.schemas.inventory import LABEL, MAX_LABEL_CHARS, ItemOut, ItemUpdate
from serve_app.inventory import catalog

router = APIRouter(prefix="/v1", tags=["inventory"])
Label = Annotated[
    str, Path(max_length=MAX_LABEL_CHARS, pattern=LABEL, description="the detector label")
]


@router.put(
    "/items/{label}",
    summary="Create or replace an item (display name, SKU, unit, par level)",
    **ADMIN.route(INVALID, MALFORMED_BODY, STORE_DOWN),
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
