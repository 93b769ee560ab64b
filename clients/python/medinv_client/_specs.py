"""Every API call once: its request and how its answer is read (both clients run these)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar
from urllib.parse import quote

import httpx

from medinv_client._calls import Call, decode, detect_call
from medinv_client.images import ImageInput
from medinv_client.models import (
    Activation,
    DetectionResult,
    Health,
    History,
    Item,
    Location,
    Models,
    Ready,
    Stock,
    _Alerts,
    _Inventory,
    _Locations,
)

R = TypeVar("R")
Bucket = Literal["minute", "hour", "day"]
LocationKind = Literal["shelf", "cabinet", "room"]


@dataclass(frozen=True)
class Spec(Generic[R]):
    call: Call
    parse: Callable[[httpx.Response], R]


def health() -> Spec[Health]:
    return Spec(Call("GET", "/v1/health"), lambda r: decode(r, Health))


def ready() -> Spec[Ready]:
    return Spec(Call("GET", "/v1/ready"), lambda r: decode(r, Ready))


def models() -> Spec[Models]:
    return Spec(Call("GET", "/v1/models"), lambda r: decode(r, Models))


def activate_model(model: str) -> Spec[Activation]:
    call = Call("PUT", "/v1/models/active", json={"model": model})
    return Spec(call, lambda r: decode(r, Activation))


def detect(
    image: ImageInput,
    *,
    min_score: float | None,
    max_detections: int | None,
    location: int | None,
    model: str | None,
    request_id: str | None,
    idempotency_key: str | None,
) -> Spec[DetectionResult]:
    call = detect_call(
        image,
        min_score=min_score,
        max_detections=max_detections,
        location=location,
        model=model,
        request_id=request_id,
        idempotency_key=idempotency_key,
    )
    return Spec(call, lambda r: decode(r, DetectionResult))


def locations() -> Spec[list[Location]]:
    return Spec(Call("GET", "/v1/locations"), lambda r: decode(r, _Locations).locations)


def location(location_id: int) -> Spec[Location]:
    return Spec(Call("GET", f"/v1/locations/{location_id}"), lambda r: decode(r, Location))


def create_location(name: str, kind: LocationKind, camera_id: str | None) -> Spec[Location]:
    body = {"kind": kind, "name": name, "camera_id": camera_id}
    # Not retried: a retry after a lost answer would meet 409 conflict.
    call = Call("POST", "/v1/locations", json=body, idempotent=False)
    return Spec(call, lambda r: decode(r, Location))


def put_item(
    label: str, display_name: str, sku: str | None, unit: str, par_level: int | None
) -> Spec[Item]:
    body = {"display_name": display_name, "sku": sku, "unit": unit, "par_level": par_level}
    call = Call("PUT", f"/v1/items/{quote(label, safe='')}", json=body)
    return Spec(call, lambda r: decode(r, Item))


def stock(location: int | None, item: str | None) -> Spec[list[Stock]]:
    call = Call("GET", "/v1/inventory", params={"location": location, "item": item})
    return Spec(call, lambda r: decode(r, _Inventory).stock)


def alerts(location: int | None) -> Spec[list[Stock]]:
    call = Call("GET", "/v1/alerts", params={"location": location})
    return Spec(call, lambda r: decode(r, _Alerts).alerts)


def history(
    location_id: int,
    item: str,
    since: datetime | None,
    until: datetime | None,
    bucket: Bucket,
    limit: int | None,
    cursor: datetime | None,
) -> Spec[History]:
    params = {
        "item": item,
        "since": since,
        "until": until,
        "bucket": bucket,
        "limit": limit,
        "cursor": cursor,
    }
    call = Call("GET", f"/v1/inventory/{location_id}/history", params=params)
    return Spec(call, lambda r: decode(r, History))
