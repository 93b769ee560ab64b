"""Every API call once: its request and how its answer is read (both clients run these)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx

from medinv_client._calls import Call, decode, decode_empty, decode_text, detect_call
from medinv_client.images import ImageInput
from medinv_client.models import (
    Activation,
    Camera,
    CameraKind,
    CameraStatus,
    CreatedWebhook,
    DetectionResult,
    Health,
    History,
    Item,
    Location,
    Models,
    Ready,
    ReplenishmentLine,
    Stock,
    Webhook,
    WebhookEvent,
    Zone,
    ZoneItem,
    _Alerts,
    _Cameras,
    _Inventory,
    _Locations,
    _Replenishment,
    _Webhooks,
    _Zones,
)

R = TypeVar("R")
Bucket = Literal["minute", "hour", "day"]
LocationKind = Literal["shelf", "cabinet", "room"]
Polygon = Sequence[tuple[float, float]] | Sequence[Sequence[float]]
"""Vertices in order as (x, y) fractions of the image's width and height (0 to 1)."""
ZoneItems = Mapping[str, int] | Iterable[ZoneItem]
"""A zone's items and their par levels: `{label: par_level}`, or `ZoneItem`s."""
CSV_MEDIA_TYPE = "text/csv"


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


# Zones


def _zone_body(
    name: str, polygon: Polygon, items: ZoneItems, position: int | None
) -> dict[str, Any]:
    pairs: Iterable[tuple[str, int]] = (
        items.items() if isinstance(items, Mapping) else ((i.label, i.par_level) for i in items)
    )
    return {
        "name": name,
        "polygon": [[float(x), float(y)] for x, y in polygon],
        "items": [{"label": label, "par_level": par} for label, par in pairs],
        "position": position,
    }


def zones(location_id: int) -> Spec[list[Zone]]:
    call = Call("GET", f"/v1/locations/{location_id}/zones")
    return Spec(call, lambda r: decode(r, _Zones).zones)


def zone(zone_id: int) -> Spec[Zone]:
    return Spec(Call("GET", f"/v1/zones/{zone_id}"), lambda r: decode(r, Zone))


def create_zone(
    location_id: int, name: str, polygon: Polygon, items: ZoneItems, position: int | None
) -> Spec[Zone]:
    body = _zone_body(name, polygon, items, position)
    # Not retried: a retry after a lost answer would meet 409 (the bin's name is taken).
    call = Call("POST", f"/v1/locations/{location_id}/zones", json=body, idempotent=False)
    return Spec(call, lambda r: decode(r, Zone))


def replace_zone(
    zone_id: int, name: str, polygon: Polygon, items: ZoneItems, position: int | None
) -> Spec[Zone]:
    call = Call("PUT", f"/v1/zones/{zone_id}", json=_zone_body(name, polygon, items, position))
    return Spec(call, lambda r: decode(r, Zone))


def delete_zone(zone_id: int) -> Spec[None]:
    return Spec(Call("DELETE", f"/v1/zones/{zone_id}"), decode_empty)


# Replenishment


def replenishment(location: int | None) -> Spec[list[ReplenishmentLine]]:
    call = Call("GET", "/v1/replenishment", params={"location": location})
    return Spec(call, lambda r: decode(r, _Replenishment).lines)


def replenishment_csv(location: int | None) -> Spec[str]:
    call = Call(
        "GET",
        "/v1/replenishment",
        params={"location": location, "format": "csv"},
        headers={"Accept": CSV_MEDIA_TYPE},
    )
    return Spec(call, decode_text)


# Cameras


def _camera_body(
    location_id: int,
    kind: CameraKind,
    url: str,
    credential: str | None,
    interval_s: float | None,
    frames_per_poll: int | None,
    frame_gap_s: float | None,
    enabled: bool,
) -> dict[str, Any]:
    body: dict[str, Any] = {"location_id": location_id, "kind": kind, "url": url}
    optional = {
        "credential": credential,
        "interval_s": interval_s,
        "frames_per_poll": frames_per_poll,
        "frame_gap_s": frame_gap_s,
    }
    body.update({k: v for k, v in optional.items() if v is not None})  # else the service's
    body["enabled"] = enabled
    return body


def cameras() -> Spec[list[Camera]]:
    return Spec(Call("GET", "/v1/cameras"), lambda r: decode(r, _Cameras).cameras)


def camera(camera_id: int) -> Spec[Camera]:
    return Spec(Call("GET", f"/v1/cameras/{camera_id}"), lambda r: decode(r, Camera))


def register_camera(
    location_id: int,
    kind: CameraKind,
    url: str,
    credential: str | None,
    interval_s: float | None,
    frames_per_poll: int | None,
    frame_gap_s: float | None,
    enabled: bool,
) -> Spec[Camera]:
    body = _camera_body(
        location_id, kind, url, credential, interval_s, frames_per_poll, frame_gap_s, enabled
    )
    # Not retried: a retry after a lost answer would meet 409 (the location has a camera).
    call = Call("POST", "/v1/cameras", json=body, idempotent=False)
    return Spec(call, lambda r: decode(r, Camera))


def replace_camera(
    camera_id: int,
    location_id: int,
    kind: CameraKind,
    url: str,
    credential: str | None,
    interval_s: float | None,
    frames_per_poll: int | None,
    frame_gap_s: float | None,
    enabled: bool,
) -> Spec[Camera]:
    body = _camera_body(
        location_id, kind, url, credential, interval_s, frames_per_poll, frame_gap_s, enabled
    )
    call = Call("PUT", f"/v1/cameras/{camera_id}", json=body)
    return Spec(call, lambda r: decode(r, Camera))


def delete_camera(camera_id: int) -> Spec[None]:
    return Spec(Call("DELETE", f"/v1/cameras/{camera_id}"), decode_empty)


def camera_status(camera_id: int) -> Spec[CameraStatus]:
    call = Call("GET", f"/v1/cameras/{camera_id}/status")
    return Spec(call, lambda r: decode(r, CameraStatus))


# Webhooks


def webhooks() -> Spec[list[Webhook]]:
    return Spec(Call("GET", "/v1/webhooks"), lambda r: decode(r, _Webhooks).webhooks)


def webhook(webhook_id: int) -> Spec[Webhook]:
    return Spec(Call("GET", f"/v1/webhooks/{webhook_id}"), lambda r: decode(r, Webhook))


def create_webhook(
    url: str, events: Sequence[WebhookEvent], report_interval_s: int | None
) -> Spec[CreatedWebhook]:
    body = {"url": url, "events": list(events), "report_interval_s": report_interval_s}
    # Not retried: a retry after a lost answer would subscribe the URL twice, with two secrets.
    call = Call("POST", "/v1/webhooks", json=body, idempotent=False)
    return Spec(call, lambda r: decode(r, CreatedWebhook))


def delete_webhook(webhook_id: int) -> Spec[None]:
    return Spec(Call("DELETE", f"/v1/webhooks/{webhook_id}"), decode_empty)
