"""HL7 FHIR R5 documents of the inventory, built and validated with `fhir.resources`.

The mapping (docs/inventory.md has the table):
- an item is a CodeableConcept: its detector label as a code of `LABEL_SYSTEM`, and its SKU,
  when it has one, as a code of `SKU_SYSTEM`;
- a place (a location, or a zone's bin) is a logical Reference: its location id as an
  identifier of `LOCATION_SYSTEM`, and its name (for a bin, "<location> / <bin>") as display;
- an InventoryReport (`countType` snapshot) has one `inventoryListing` per place, with each
  item's latest count as its `quantity`;
- a SupplyRequest is one item below par in one place: `quantity` is the order quantity (par
  level minus on hand), `deliverTo` the place, `authoredOn` when it went below par, and its
  identifier (`REQUEST_SYSTEM`) names that low-stock period, so a receiver can deduplicate.
"""

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fhir.resources.bundle import Bundle
from fhir.resources.inventoryreport import InventoryReport
from fhir.resources.supplyrequest import SupplyRequest

from serve_app.inventory.models import Location
from serve_app.inventory.queries import StockLevel
from serve_app.inventory.replenishment import ReplenishmentLine

FHIR_JSON = "application/fhir+json"
LABEL_SYSTEM = "urn:medinv:item-label"
SKU_SYSTEM = "urn:medinv:sku"
LOCATION_SYSTEM = "urn:medinv:location"
REQUEST_SYSTEM = "urn:medinv:replenishment"
_IDS = uuid.UUID("4b5c2a0e-9d43-4c4f-8a47-0f1e6f3b1d2a")  # namespace of entries' fullUrls


def inventory_report(
    location: Location, places: Sequence[tuple[Location, Sequence[StockLevel]]], now: datetime
) -> InventoryReport:
    """A snapshot of the latest counts at the location and its bins, one listing per place."""
    listings = [
        {
            "location": _place(place, location if place.id != location.id else None),
            "countingDateTime": max(level.updated_at for level in levels).isoformat(),
            "item": [
                {
                    "item": {"concept": _item(level.label, level.display_name, level.sku)},
                    "quantity": {"value": level.count, "unit": level.unit or "each"},
                }
                for level in levels
            ],
        }
        for place, levels in places
        if levels
    ]
    return InventoryReport.model_validate(
        {
            "resourceType": "InventoryReport",
            "id": f"location-{location.id}",
            "status": "active",
            "countType": "snapshot",
            "reportedDateTime": now.isoformat(),
            "inventoryListing": listings or None,
        }
    )


def supply_request(line: ReplenishmentLine) -> SupplyRequest:
    episode = f"{line.place_id}/{line.label}/{line.below_par_since.isoformat()}"
    name = line.location if line.bin is None else f"{line.location} / {line.bin}"
    return SupplyRequest.model_validate(
        {
            "resourceType": "SupplyRequest",
            "id": f"{line.place_id}-{hashlib.sha256(line.label.encode()).hexdigest()[:16]}",
            "identifier": [{"system": REQUEST_SYSTEM, "value": episode}],
            "status": "active",
            "priority": "routine",
            "item": {"concept": _item(line.label, line.display_name, line.sku)},
            "quantity": {"value": line.order_quantity, "unit": line.unit},
            "deliverTo": {
                "identifier": {"system": LOCATION_SYSTEM, "value": str(line.place_id)},
                "display": name,
            },
            "authoredOn": line.below_par_since.isoformat(),
            "reason": [
                {
                    "concept": {
                        "text": f"below par: {line.on_hand} on hand, par level {line.par_level}"
                    }
                }
            ],
        }
    )


def searchset(
    resources: Sequence[InventoryReport | SupplyRequest], url: str, now: datetime
) -> Bundle:
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "timestamp": now.isoformat(),
            "total": len(resources),
            "link": [{"relation": "self", "url": url}],
            "entry": [
                {
                    "fullUrl": f"urn:uuid:{_entry_id(resource)}",
                    "resource": resource.model_dump(exclude_none=True),
                    "search": {"mode": "match"},
                }
                for resource in resources
            ]
            or None,
        }
    )


def _entry_id(resource: InventoryReport | SupplyRequest) -> uuid.UUID:
    return uuid.uuid5(_IDS, f"{resource.get_resource_type()}/{resource.id}")


def _item(label: str, display_name: str, sku: str | None) -> dict[str, Any]:
    coding = [{"system": LABEL_SYSTEM, "code": label, "display": display_name}]
    if sku is not None:
        coding.append({"system": SKU_SYSTEM, "code": sku})
    return {"coding": coding, "text": display_name}


def _place(place: Location, camera: Location | None) -> dict[str, Any]:
    return {
        "identifier": {"system": LOCATION_SYSTEM, "value": str(place.id)},
        "display": place.name if camera is None else f"{camera.name} / {place.name}",
    }
