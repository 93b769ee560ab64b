"""`Client` (blocking) and `AsyncClient` (asyncio) of API v1: the same calls, the same types."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from medinv_client import _specs
from medinv_client._calls import (
    DEFAULT_TIMEOUT_S,
    DEFAULT_URL,
    RETRY_EXCEPTIONS,
    Call,
    RetryPolicy,
    default_headers,
    resolve_api_key,
    retry_after_of,
    should_retry,
)
from medinv_client._specs import Bucket, LocationKind, Polygon, Spec, ZoneItems
from medinv_client.errors import TransportError
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
    HistoryPoint,
    Item,
    Location,
    Models,
    Ready,
    ReplenishmentLine,
    Stock,
    Webhook,
    WebhookEvent,
    Zone,
)
from medinv_client.stream import Frames, FrameStream, SyncFrameStream

logger = logging.getLogger("medinv_client")
R = TypeVar("R")


class _Settings:
    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        timeout: float | httpx.Timeout,
        retry: RetryPolicy | None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = resolve_api_key(api_key)
        self.headers = default_headers(self.api_key)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()

    def stream(self, frames: Frames, **options: Any) -> FrameStream:
        options.setdefault("retry", self.retry)
        return FrameStream(self.base_url, self.headers, frames, **options)


def _retry_delay(
    retry: RetryPolicy, call: Call, attempt: int, outcome: httpx.Response | Exception
) -> float | None:
    """Seconds to wait before trying `call` again, or None to stop here."""
    if not call.idempotent or attempt >= retry.attempts:
        return None
    if isinstance(outcome, httpx.Response):
        if not should_retry(call, outcome):
            return None
        delay = retry.delay(attempt, retry_after_of(outcome))
        logger.info(
            "%s %s: %d; retrying in %.1f s", call.method, call.path, outcome.status_code, delay
        )
        return delay
    delay = retry.delay(attempt, None)
    logger.info("%s %s: %s; retrying in %.1f s", call.method, call.path, outcome, delay)
    return delay


class Client:
    """A blocking client of API v1.

    `api_key` defaults to `$MEDINV_API_KEY` (sent as `Authorization: Bearer`). Idempotent calls
    (GETs, PUTs, DELETEs, a detection with an `idempotency_key`) are retried on 429 and 503,
    honouring `Retry-After`, and on connection errors, as `retry` says. Errors are
    `medinv_client.errors` exceptions carrying the service's `code`, `message` and `request_id`.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._settings = _Settings(base_url, api_key, timeout, retry)
        self._http = httpx.Client(
            base_url=self._settings.base_url,
            headers=self._settings.headers,
            timeout=timeout,
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self, spec: Spec[R]) -> R:
        call = spec.call
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(call.method, call.path, **call.request_kwargs())
            except RETRY_EXCEPTIONS as error:
                delay = _retry_delay(self._settings.retry, call, attempt, error)
                if delay is None:
                    raise TransportError(f"{call.method} {call.path}: {error}") from error
                time.sleep(delay)
                continue
            except httpx.HTTPError as error:  # timeouts and the like: not retried
                raise TransportError(f"{call.method} {call.path}: {error!r}") from error
            delay = _retry_delay(self._settings.retry, call, attempt, response)
            if delay is None:
                return spec.parse(response)
            response.close()
            time.sleep(delay)

    # Detection

    def detect(
        self,
        image: ImageInput,
        *,
        min_score: float | None = None,
        max_detections: int | None = None,
        location: int | None = None,
        model: str | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> DetectionResult:
        """Detect supply items in one image: bytes (JPEG, PNG, WebP), a path, a PIL image or an
        RGB uint8 NumPy array. `location` records the counts there; `model` pins `name:version`;
        `request_id` is sent as X-Request-ID (the trace id). `idempotency_key` (sent as
        Idempotency-Key) names the record and makes the call retriable: a retry answers
        `recorded="duplicate"` and records nothing more; the key reused for another image raises
        `IdempotencyConflictError`."""
        return self._run(
            _specs.detect(
                image,
                min_score=min_score,
                max_detections=max_detections,
                location=location,
                model=model,
                request_id=request_id,
                idempotency_key=idempotency_key,
            )
        )

    def stream(
        self,
        frames: Frames,
        *,
        min_score: float | None = None,
        max_detections: int | None = None,
        location: int | None = None,
        session_id: str | None = None,
        window: int | None = None,
        latest_wins: bool = True,
        max_reconnects: int = 5,
    ) -> SyncFrameStream:
        """Iterate over results of `frames` sent on `WS /v1/stream` (see `AsyncClient.stream`)."""
        return SyncFrameStream(
            self._settings.stream(
                frames,
                min_score=min_score,
                max_detections=max_detections,
                location=location,
                session_id=session_id,
                window=window,
                latest_wins=latest_wins,
                max_reconnects=max_reconnects,
            )
        )

    # Models and health

    def models(self) -> Models:
        return self._run(_specs.models())

    def activate_model(self, model: str) -> Activation:
        """Switch the active model to `name:version` (admin key); replicas follow within
        seconds (watch `models()`)."""
        return self._run(_specs.activate_model(model))

    def health(self) -> Health:
        return self._run(_specs.health())

    def ready(self) -> Ready:
        """Raises `ServiceUnavailableError` (code `not_ready`) until a model is loaded; not
        retried beyond the retry policy."""
        return self._run(_specs.ready())

    # Inventory

    def locations(self) -> list[Location]:
        return self._run(_specs.locations())

    def location(self, location_id: int) -> Location:
        return self._run(_specs.location(location_id))

    def create_location(
        self, name: str, kind: LocationKind = "shelf", camera_id: str | None = None
    ) -> Location:
        """A new location (admin key); a taken name is `ConflictError`. Never retried."""
        return self._run(_specs.create_location(name, kind, camera_id))

    def put_item(
        self,
        label: str,
        display_name: str,
        *,
        sku: str | None = None,
        unit: str = "each",
        par_level: int | None = None,
    ) -> Item:
        """Create or replace the item of a detector label, with its par level (admin key)."""
        return self._run(_specs.put_item(label, display_name, sku, unit, par_level))

    def stock(self, location: int | None = None, item: str | None = None) -> list[Stock]:
        """Current stock per location and label (`GET /v1/inventory`)."""
        return self._run(_specs.stock(location, item))

    def alerts(self, location: int | None = None) -> list[Stock]:
        """Stock below its item's par level."""
        return self._run(_specs.alerts(location))

    def history(
        self,
        location_id: int,
        item: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        bucket: Bucket = "hour",
        limit: int | None = None,
        cursor: datetime | None = None,
    ) -> History:
        """One page of one label's counts at one location per bucket."""
        return self._run(_specs.history(location_id, item, since, until, bucket, limit, cursor))

    def iter_history(
        self,
        location_id: int,
        item: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        bucket: Bucket = "hour",
        limit: int | None = None,
    ) -> Iterator[HistoryPoint]:
        """Every bucket of the history, following `next_cursor` page by page."""
        cursor = None
        while True:
            page = self.history(
                location_id,
                item,
                since=since,
                until=until,
                bucket=bucket,
                limit=limit,
                cursor=cursor,
            )
            yield from page.points
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # Zones: a camera location's bins

    def zones(self, location_id: int) -> list[Zone]:
        """The zones of a camera location, in position order."""
        return self._run(_specs.zones(location_id))

    def zone(self, zone_id: int) -> Zone:
        return self._run(_specs.zone(zone_id))

    def create_zone(
        self,
        location_id: int,
        name: str,
        polygon: Polygon,
        items: ZoneItems,
        *,
        position: int | None = None,
    ) -> Zone:
        """A new zone of `location_id`'s camera image (admin key): a bin named `name` (a
        location of its own, unique among locations) covering `polygon` (vertices as (x, y)
        fractions of the image, 0 to 1), expecting `items` (`{label: par_level}`). Where zones
        overlap a detection counts toward the lowest `position` (default: after the others).
        Never retried: a taken name is `ConflictError`."""
        return self._run(_specs.create_zone(location_id, name, polygon, items, position))

    def replace_zone(
        self,
        zone_id: int,
        name: str,
        polygon: Polygon,
        items: ZoneItems,
        *,
        position: int | None = None,
    ) -> Zone:
        """Replace a zone's name, polygon and items (admin key); `position` None keeps it."""
        return self._run(_specs.replace_zone(zone_id, name, polygon, items, position))

    def delete_zone(self, zone_id: int) -> None:
        """Delete a zone and its bin, with everything recorded for the bin (admin key)."""
        self._run(_specs.delete_zone(zone_id))

    # Replenishment

    def replenishment(self, location: int | None = None) -> list[ReplenishmentLine]:
        """What to reorder: the items below par per location and bin (`GET /v1/replenishment`),
        with `order_quantity`; `location` keeps one location (a camera's includes its bins)."""
        return self._run(_specs.replenishment(location))

    def replenishment_csv(self, location: int | None = None) -> str:
        """The same lines as a par-count CSV upload (header row location, bin, item, sku, par,
        on_hand, order_qty, counted_at; CRLF line ends)."""
        return self._run(_specs.replenishment_csv(location))

    # Cameras the service polls itself

    def cameras(self) -> list[Camera]:
        return self._run(_specs.cameras())

    def camera(self, camera_id: int) -> Camera:
        return self._run(_specs.camera(camera_id))

    def register_camera(
        self,
        location_id: int,
        kind: CameraKind,
        url: str,
        *,
        credential: str | None = None,
        interval_s: float | None = None,
        frames_per_poll: int | None = None,
        frame_gap_s: float | None = None,
        enabled: bool = True,
    ) -> Camera:
        """Register a camera the service polls, recording its counts at `location_id` (admin
        key). `kind`: `snapshot` (a URL answering one JPEG per GET), `mjpeg` or `video`
        (RTSP and what else FFmpeg opens). `url` holds no credentials: `credential` names a
        login of the service's settings. Left out, `interval_s` (300), `frames_per_poll` (5)
        and `frame_gap_s` (1.0) are the service's defaults. Never retried: a location with a
        camera already is `ConflictError`."""
        return self._run(
            _specs.register_camera(
                location_id,
                kind,
                url,
                credential,
                interval_s,
                frames_per_poll,
                frame_gap_s,
                enabled,
            )
        )

    def replace_camera(
        self,
        camera_id: int,
        location_id: int,
        kind: CameraKind,
        url: str,
        *,
        credential: str | None = None,
        interval_s: float | None = None,
        frames_per_poll: int | None = None,
        frame_gap_s: float | None = None,
        enabled: bool = True,
    ) -> Camera:
        """Replace a camera's whole registration (admin key): what is left out takes the
        defaults, as in `register_camera`."""
        return self._run(
            _specs.replace_camera(
                camera_id,
                location_id,
                kind,
                url,
                credential,
                interval_s,
                frames_per_poll,
                frame_gap_s,
                enabled,
            )
        )

    def delete_camera(self, camera_id: int) -> None:
        """Stop polling a camera and forget it; its records stay (admin key)."""
        self._run(_specs.delete_camera(camera_id))

    def camera_status(self, camera_id: int) -> CameraStatus:
        """A camera's polls: `state`, last success, last error, next poll.
        `ServiceUnavailableError` (`not_ready`) where no poller runs beside the API."""
        return self._run(_specs.camera_status(camera_id))

    # Webhooks (admin key)

    def create_webhook(
        self,
        url: str,
        events: Sequence[WebhookEvent],
        *,
        report_interval_s: int | None = None,
    ) -> CreatedWebhook:
        """Subscribe `url` to `events` (`below_par`, `replenishment_report`; the latter needs
        `report_interval_s`). The answer's `secret` signs every delivery (`verify_webhook`) and
        is shown this once only: keep it. Never retried (a retry could subscribe twice)."""
        return self._run(_specs.create_webhook(url, events, report_interval_s))

    def webhooks(self) -> list[Webhook]:
        return self._run(_specs.webhooks())

    def webhook(self, webhook_id: int) -> Webhook:
        """A subscription and its deliveries by state (never its secret)."""
        return self._run(_specs.webhook(webhook_id))

    def delete_webhook(self, webhook_id: int) -> None:
        """Delete a subscription and its undelivered events."""
        self._run(_specs.delete_webhook(webhook_id))


class AsyncClient:
    """The asyncio twin of `Client`: the same methods, awaited, and `stream()`."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = _Settings(base_url, api_key, timeout, retry)
        self._http = httpx.AsyncClient(
            base_url=self._settings.base_url,
            headers=self._settings.headers,
            timeout=timeout,
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self, spec: Spec[R]) -> R:
        call = spec.call
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(call.method, call.path, **call.request_kwargs())
            except RETRY_EXCEPTIONS as error:
                delay = _retry_delay(self._settings.retry, call, attempt, error)
                if delay is None:
                    raise TransportError(f"{call.method} {call.path}: {error}") from error
                await asyncio.sleep(delay)
                continue
            except httpx.HTTPError as error:
                raise TransportError(f"{call.method} {call.path}: {error!r}") from error
            delay = _retry_delay(self._settings.retry, call, attempt, response)
            if delay is None:
                return spec.parse(response)
            await response.aclose()
            await asyncio.sleep(delay)

    async def detect(
        self,
        image: ImageInput,
        *,
        min_score: float | None = None,
        max_detections: int | None = None,
        location: int | None = None,
        model: str | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> DetectionResult:
        """As `Client.detect`."""
        return await self._run(
            _specs.detect(
                image,
                min_score=min_score,
                max_detections=max_detections,
                location=location,
                model=model,
                request_id=request_id,
                idempotency_key=idempotency_key,
            )
        )

    def stream(
        self,
        frames: Frames,
        *,
        min_score: float | None = None,
        max_detections: int | None = None,
        location: int | None = None,
        session_id: str | None = None,
        window: int | None = None,
        latest_wins: bool = True,
        max_reconnects: int = 5,
    ) -> FrameStream:
        """Send `frames` (an iterable or async iterable of images) on `WS /v1/stream` and
        iterate over the answers: `StreamResult`, or `StreamFrameError` for a frame the service
        could not use. At most `window` frames are unanswered at once (default 2; 1 without
        `latest_wins`); with `latest_wins` a newer frame replaces one still waiting to be sent
        (counted in `stats.dropped_client`), without it the source waits and no frame is
        dropped. A broken connection is resumed with the session id, at
        most `max_reconnects` times in a row. `stats` counts sent, answered and dropped frames."""
        return self._settings.stream(
            frames,
            min_score=min_score,
            max_detections=max_detections,
            location=location,
            session_id=session_id,
            window=window,
            latest_wins=latest_wins,
            max_reconnects=max_reconnects,
        )

    async def models(self) -> Models:
        return await self._run(_specs.models())

    async def activate_model(self, model: str) -> Activation:
        return await self._run(_specs.activate_model(model))

    async def health(self) -> Health:
        return await self._run(_specs.health())

    async def ready(self) -> Ready:
        return await self._run(_specs.ready())

    async def locations(self) -> list[Location]:
        return await self._run(_specs.locations())

    async def location(self, location_id: int) -> Location:
        return await self._run(_specs.location(location_id))

    async def create_location(
        self, name: str, kind: LocationKind = "shelf", camera_id: str | None = None
    ) -> Location:
        return await self._run(_specs.create_location(name, kind, camera_id))

    async def put_item(
        self,
        label: str,
        display_name: str,
        *,
        sku: str | None = None,
        unit: str = "each",
        par_level: int | None = None,
    ) -> Item:
        return await self._run(_specs.put_item(label, display_name, sku, unit, par_level))

    async def stock(self, location: int | None = None, item: str | None = None) -> list[Stock]:
        return await self._run(_specs.stock(location, item))

    async def alerts(self, location: int | None = None) -> list[Stock]:
        return await self._run(_specs.alerts(location))

    async def history(
        self,
        location_id: int,
        item: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        bucket: Bucket = "hour",
        limit: int | None = None,
        cursor: datetime | None = None,
    ) -> History:
        return await self._run(
            _specs.history(location_id, item, since, until, bucket, limit, cursor)
        )

    async def iter_history(
        self,
        location_id: int,
        item: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        bucket: Bucket = "hour",
        limit: int | None = None,
    ) -> AsyncIterator[HistoryPoint]:
        cursor = None
        while True:
            page = await self.history(
                location_id,
                item,
                since=since,
                until=until,
                bucket=bucket,
                limit=limit,
                cursor=cursor,
            )
            for point in page.points:
                yield point
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def zones(self, location_id: int) -> list[Zone]:
        return await self._run(_specs.zones(location_id))

    async def zone(self, zone_id: int) -> Zone:
        return await self._run(_specs.zone(zone_id))

    async def create_zone(
        self,
        location_id: int,
        name: str,
        polygon: Polygon,
        items: ZoneItems,
        *,
        position: int | None = None,
    ) -> Zone:
        return await self._run(_specs.create_zone(location_id, name, polygon, items, position))

    async def replace_zone(
        self,
        zone_id: int,
        name: str,
        polygon: Polygon,
        items: ZoneItems,
        *,
        position: int | None = None,
    ) -> Zone:
        return await self._run(_specs.replace_zone(zone_id, name, polygon, items, position))

    async def delete_zone(self, zone_id: int) -> None:
        await self._run(_specs.delete_zone(zone_id))

    async def replenishment(self, location: int | None = None) -> list[ReplenishmentLine]:
        return await self._run(_specs.replenishment(location))

    async def replenishment_csv(self, location: int | None = None) -> str:
        return await self._run(_specs.replenishment_csv(location))

    async def cameras(self) -> list[Camera]:
        return await self._run(_specs.cameras())

    async def camera(self, camera_id: int) -> Camera:
        return await self._run(_specs.camera(camera_id))

    async def register_camera(
        self,
        location_id: int,
        kind: CameraKind,
        url: str,
        *,
        credential: str | None = None,
        interval_s: float | None = None,
        frames_per_poll: int | None = None,
        frame_gap_s: float | None = None,
        enabled: bool = True,
    ) -> Camera:
        return await self._run(
            _specs.register_camera(
                location_id,
                kind,
                url,
                credential,
                interval_s,
                frames_per_poll,
                frame_gap_s,
                enabled,
            )
        )

    async def replace_camera(
        self,
        camera_id: int,
        location_id: int,
        kind: CameraKind,
        url: str,
        *,
        credential: str | None = None,
        interval_s: float | None = None,
        frames_per_poll: int | None = None,
        frame_gap_s: float | None = None,
        enabled: bool = True,
    ) -> Camera:
        return await self._run(
            _specs.replace_camera(
                camera_id,
                location_id,
                kind,
                url,
                credential,
                interval_s,
                frames_per_poll,
                frame_gap_s,
                enabled,
            )
        )

    async def delete_camera(self, camera_id: int) -> None:
        await self._run(_specs.delete_camera(camera_id))

    async def camera_status(self, camera_id: int) -> CameraStatus:
        return await self._run(_specs.camera_status(camera_id))

    async def create_webhook(
        self,
        url: str,
        events: Sequence[WebhookEvent],
        *,
        report_interval_s: int | None = None,
    ) -> CreatedWebhook:
        return await self._run(_specs.create_webhook(url, events, report_interval_s))

    async def webhooks(self) -> list[Webhook]:
        return await self._run(_specs.webhooks())

    async def webhook(self, webhook_id: int) -> Webhook:
        return await self._run(_specs.webhook(webhook_id))

    async def delete_webhook(self, webhook_id: int) -> None:
        await self._run(_specs.delete_webhook(webhook_id))
