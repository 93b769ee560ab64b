"""`medinv-client`: detect, stream, stock and reorders, zones, cameras and models from a shell.

Base URL from `--url` or `$MEDINV_URL` (default http://127.0.0.1:8000), API key from
`--api-key` or `$MEDINV_API_KEY`. Exit status 0, 1 on an API or connection error, 2 on usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from medinv_client._calls import DEFAULT_URL, URL_ENV
from medinv_client.client import AsyncClient, Client
from medinv_client.errors import ApiError, MedinvError
from medinv_client.models import (
    Camera,
    CameraStatus,
    DetectionResult,
    ReplenishmentLine,
    Stock,
    StreamResult,
    Zone,
)
from medinv_client.version import __version__
from medinv_client.video import video_frames


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medinv-client", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get(URL_ENV, DEFAULT_URL))
    parser.add_argument("--api-key", default=None, help="default: $MEDINV_API_KEY")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    detect = commands.add_parser("detect", help="detect supply items in images")
    detect.add_argument("images", nargs="+", metavar="IMAGE")
    detect.add_argument("--json", action="store_true", help="one JSON result per line")
    detect.add_argument("--location", type=int, help="record the counts at this location")
    detect.add_argument("--min-score", type=float)
    detect.add_argument("--model", help="name:version (default: the active model)")

    stream = commands.add_parser(
        "stream", help="stream a video file or a camera, printing the counts as they change"
    )
    source = stream.add_mutually_exclusive_group(required=True)
    source.add_argument("video", nargs="?", metavar="VIDEO", help="a video file (PyAV reads it)")
    source.add_argument("--camera", type=int, metavar="N", help="the V4L2 camera /dev/videoN")
    stream.add_argument("--location", type=int, help="record the counts at this location")
    stream.add_argument("--min-score", type=float)
    stream.add_argument(
        "--as-fast-as-possible",
        action="store_true",
        help="send a file's frames as they decode, not at its frame rate",
    )
    stream.add_argument("--json", action="store_true", help="every answer, one JSON per line")

    inventory = commands.add_parser("inventory", help="current stock per location and item")
    inventory.add_argument("--location", type=int)
    inventory.add_argument(
        "--below-par",
        action="store_true",
        help="only what is below par: the replenishment lines, with bins and order quantities",
    )
    inventory.add_argument("--json", action="store_true")

    replenishment = commands.add_parser(
        "replenishment", help="what to reorder: items below par per location and bin"
    )
    replenishment.add_argument("--location", type=int, help="one location (and its bins)")
    output = replenishment.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="the par-count CSV upload")
    output.add_argument("--json", action="store_true")

    zones = commands.add_parser("zones", help="a camera location's zones (bins, par levels)")
    zones.add_argument("location", type=int, metavar="LOCATION")
    zones.add_argument("--json", action="store_true")

    cameras = commands.add_parser("cameras", help="list the polled cameras, or one's status")
    cameras.add_argument("action", nargs="?", choices=["status"])
    cameras.add_argument("camera", nargs="?", type=int, metavar="ID")
    cameras.add_argument("--json", action="store_true")

    models = commands.add_parser("models", help="list models, or activate one")
    models.add_argument("action", nargs="?", choices=["activate"])
    models.add_argument("model", nargs="?", metavar="NAME:VERSION")
    models.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "models" and args.action == "activate" and not args.model:
        parser.error("models activate needs NAME:VERSION")
    if args.command == "cameras" and (args.action == "status") != (args.camera is not None):
        parser.error("cameras status needs a camera ID (and only status takes one)")
    try:
        if args.command == "stream":
            return asyncio.run(_stream(args))
        with Client(args.url, args.api_key, timeout=args.timeout) as client:
            if args.command == "detect":
                return _detect(client, args)
            if args.command == "inventory":
                return _inventory(client, args)
            if args.command == "replenishment":
                return _replenishment(client, args)
            if args.command == "zones":
                return _zones(client, args)
            if args.command == "cameras":
                return _cameras(client, args)
            return _models(client, args)
    except ApiError as error:
        rid = f" (request {error.request_id})" if error.request_id else ""
        print(f"error: {error.code}: {error.message}{rid}", file=sys.stderr)
        return 1
    except (MedinvError, OSError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _detect(client: Client, args: argparse.Namespace) -> int:
    progress = _Progress(len(args.images), sys.stderr)
    for i, path in enumerate(args.images, 1):
        progress.show(i - 1, path)
        result = client.detect(
            path, min_score=args.min_score, location=args.location, model=args.model
        )
        progress.clear()
        if args.json:
            print(json.dumps({"path": path, **result.model_dump(mode="json")}))
        else:
            print(_summary(path, result))
    progress.done()
    return 0


def _summary(path: str, result: DetectionResult) -> str:
    counts = ", ".join(f"{label} {n}" for label, n in sorted(result.counts.items())) or "nothing"
    recorded = f", recorded: {result.recorded}" if result.recorded else ""
    return (
        f"{path}: {len(result.detections)} detections ({counts}) by {result.model} "
        f"in {result.timing_ms.total:.0f} ms{recorded}"
    )


async def _stream(args: argparse.Namespace) -> int:
    frames = video_frames(args.video, camera=args.camera, realtime=not args.as_fast_as_possible)
    last: dict[str, int] | None = None
    async with AsyncClient(args.url, args.api_key, timeout=args.timeout) as client:
        stream = client.stream(frames, min_score=args.min_score, location=args.location)
        async for message in stream:
            if args.json:
                print(message.model_dump_json(), flush=True)
            elif not isinstance(message, StreamResult):
                print(f"frame {message.frame}: {message.code}: {message.message}", flush=True)
            elif message.counts != last:
                last = dict(message.counts)
                print(_frame_summary(message), flush=True)
    stats = stream.stats
    print(
        f"{stats.sent} frames sent, {stats.answered} answered, {stats.dropped} dropped "
        f"(latest wins), {stats.reconnects} reconnects",
        file=sys.stderr,
    )
    return 0


def _frame_summary(result: StreamResult) -> str:
    counts = ", ".join(f"{label} {n}" for label, n in sorted(result.counts.items())) or "nothing"
    recorded = f", recorded: {result.recorded}" if result.recorded else ""
    return f"frame {result.frame}: {counts} ({result.latency_ms:.0f} ms{recorded})"


def _inventory(client: Client, args: argparse.Namespace) -> int:
    if args.below_par:
        return _replenishment(client, args)
    levels = client.stock(args.location)
    if args.json:
        print(json.dumps([s.model_dump(mode="json") for s in levels]))
        return 0
    if not levels:
        print("no stock recorded")
        return 0
    rows = [("LOCATION", "ITEM", "COUNT", "PAR", "BELOW PAR SINCE")]
    rows += [_stock_row(s) for s in levels]
    _table(rows)
    return 0


def _stock_row(stock: Stock) -> tuple[str, str, str, str, str]:
    since = stock.below_par_since.isoformat(timespec="seconds") if stock.below_par_since else ""
    par = "" if stock.par_level is None else str(stock.par_level)
    return (str(stock.location_id), stock.item, str(stock.count), par, since)


def _replenishment(client: Client, args: argparse.Namespace) -> int:
    if getattr(args, "csv", False):
        sys.stdout.write(client.replenishment_csv(args.location))
        return 0
    lines = client.replenishment(args.location)
    if args.json:
        print(json.dumps([line.model_dump(mode="json") for line in lines]))
        return 0
    if not lines:
        print("nothing below par")
        return 0
    rows: list[tuple[str, ...]] = [
        ("LOCATION", "BIN", "ITEM", "SKU", "ON HAND", "PAR", "ORDER", "BELOW PAR SINCE")
    ]
    rows += [_line_row(line) for line in lines]
    _table(rows)
    return 0


def _line_row(line: ReplenishmentLine) -> tuple[str, ...]:
    return (
        f"{line.location_id} {line.location}",
        "" if line.bin_id is None else f"{line.bin_id} {line.bin}",
        line.item,
        line.sku or "",
        str(line.on_hand),
        str(line.par_level),
        f"{line.order_quantity} {line.unit}",
        line.below_par_since.isoformat(timespec="seconds"),
    )


def _zones(client: Client, args: argparse.Namespace) -> int:
    zones = client.zones(args.location)
    if args.json:
        print(json.dumps([zone.model_dump(mode="json") for zone in zones]))
        return 0
    if not zones:
        print(f"no zones at location {args.location}")
        return 0
    rows: list[tuple[str, ...]] = [("ZONE", "NAME", "POSITION", "VERTICES", "ITEMS (PAR)")]
    rows += [_zone_row(zone) for zone in zones]
    _table(rows)
    return 0


def _zone_row(zone: Zone) -> tuple[str, ...]:
    items = ", ".join(f"{item.label} ({item.par_level})" for item in zone.items)
    return (str(zone.id), zone.name, str(zone.position), str(len(zone.polygon)), items)


def _cameras(client: Client, args: argparse.Namespace) -> int:
    if args.action == "status":
        status = client.camera_status(args.camera)
        if args.json:
            print(status.model_dump_json())
            return 0
        header = ("CAMERA", "STATE", "POLLS", "LAST SUCCESS", "FAILURES", "LAST ERROR", "NEXT POLL")
        _table([header, _status_row(status)])
        return 0
    cameras = client.cameras()
    if args.json:
        print(json.dumps([camera.model_dump(mode="json") for camera in cameras]))
        return 0
    if not cameras:
        print("no cameras registered")
        return 0
    rows: list[tuple[str, ...]] = [
        ("CAMERA", "LOCATION", "KIND", "URL", "EVERY", "FRAMES", "ENABLED")
    ]
    rows += [_camera_row(camera) for camera in cameras]
    _table(rows)
    return 0


def _camera_row(camera: Camera) -> tuple[str, ...]:
    return (
        str(camera.id),
        str(camera.location_id),
        camera.kind,
        camera.url,
        f"{camera.interval_s:g} s",
        str(camera.frames_per_poll),
        "yes" if camera.enabled else "no",
    )


def _status_row(status: CameraStatus) -> tuple[str, ...]:
    def when(moment: datetime | None) -> str:
        return moment.isoformat(timespec="seconds") if moment is not None else ""

    error = status.last_error or ""
    if status.last_error_at is not None:
        error = f"{error} ({when(status.last_error_at)})"
    return (
        str(status.camera_id),
        status.state,
        str(status.polls),
        when(status.last_success_at) + (f" {status.last_outcome}" if status.last_outcome else ""),
        str(status.consecutive_failures),
        error,
        when(status.next_poll_at),
    )


def _models(client: Client, args: argparse.Namespace) -> int:
    if args.action == "activate":
        change = client.activate_model(args.model)
        print(f"switching from {change.previous} to {change.requested}")
        return 0
    info = client.models()
    if args.json:
        print(info.model_dump_json())
        return 0
    rows = [("", "MODEL", "FORMAT", "ARCHITECTURE", "LABELS")]
    for model in info.available:
        active = "*" if model.ref == info.active.ref else ""
        rows.append((active, model.ref, model.format, model.architecture, str(len(model.labels))))
    _table(rows)
    print(f"device: {info.device}")
    return 0


def _table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


class _Progress:
    """A `[3/10] path` line on a terminal's stderr for runs of more than one item."""

    def __init__(self, total: int, out: TextIO) -> None:
        self._total = total
        self._out = out
        self._on = total > 1 and out.isatty()

    def show(self, done: int, label: str) -> None:
        if self._on:
            self._out.write(f"\r\033[K[{done}/{self._total}] {label}")
            self._out.flush()

    def clear(self) -> None:
        if self._on:
            self._out.write("\r\033[K")

    def done(self) -> None:
        if self._on:
            self._out.flush()


if __name__ == "__main__":
    sys.exit(main())
