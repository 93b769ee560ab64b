"""`medinv models`: register a detector exported to ONNX, list the registered models."""

import argparse
import sys
from pathlib import Path
from typing import get_args

from serve_app.core.errors import ServiceError
from serve_app.core.settings import get_settings
from serve_app.model.manifest import Decoder, ResizeConfig, TilingConfig, list_manifests
from serve_app.model.onnx_detectors.importer import (
    DEFAULT_SCORE_THRESHOLD,
    ImportOptions,
    import_onnx,
)


def _models_root(args: argparse.Namespace) -> Path:
    root: Path = args.models_root or get_settings().models_root
    return root


def _import(args: argparse.Namespace) -> int:
    resize = None
    if args.resize is not None:
        resize = ResizeConfig(mode=args.resize, interpolation=args.interpolation or "linear")
    options = ImportOptions(
        name=args.name,
        version=args.version,
        labels=_read_labels(args.labels) if args.labels else None,
        decoder=None if args.decoder == "auto" else args.decoder,
        input_size=args.input_size,
        resize=resize,
        channels=args.channels,
        score_threshold=args.score_threshold,
        tiling=args.tile,
        box_merge_iou=args.box_merge_iou,
        force=args.force,
    )
    try:
        report = import_onnx(args.file, _models_root(args), options)
    except ServiceError as exc:
        print(f"refused: {exc.message}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    ref = report.manifest.ref
    print(
        f"\nactivate: set the Detector's user_config model to {ref} and `serve deploy`, or "
        f'PUT /v1/models/active {{"model": "{ref}"}}; pin one request with ?model={ref}'
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    for manifest in list_manifests(_models_root(args)):
        width, height = manifest.input_size
        print(
            f"{manifest.ref!s:40} {manifest.format:12} {width}x{height:<5} "
            f"{len(manifest.labels):3} labels  {manifest.architecture}"
        )
    return 0


def _read_labels(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"cannot read labels from {path}: {exc}") from None
    return [line.strip() for line in lines if line.strip()]


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or min(int(width), int(height)) < 32:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT of at least 32, got {text!r}")
    return int(width), int(height)


def _tiling(text: str) -> TilingConfig:
    parts = text.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected TILE:OVERLAP:ABOVE in pixels, got {text!r}")
    tile, overlap, above = (int(p) for p in parts)
    try:
        return TilingConfig(tile=tile, overlap=overlap, above=above)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _threshold(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a score threshold lies in [0, 1]")
    return value


def _iou(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError("an IoU lies in (0, 1]")
    return value


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    models = commands.add_parser("models", help="import ONNX detectors, list registered models")
    models_commands = models.add_subparsers(dest="models_command", required=True)
    root_options = argparse.ArgumentParser(add_help=False)
    root_options.add_argument(
        "--models-root", type=Path, help="default: $MEDINV_MODELS_ROOT, else models/"
    )

    imported = models_commands.add_parser(
        "import",
        parents=[root_options],
        help="register an ONNX detector (Ultralytics YOLO, YOLOv5, RT-DETR, ...)",
        description="Read the graph's input, output layout and labels, write "
        "<models root>/<name>/<version>/ with a checksummed manifest, load it and warm it up. "
        "Refuses classifiers, segmenters, outputs it cannot read and existing versions.",
    )
    imported.add_argument("file", type=Path, help="the .onnx file")
    imported.add_argument("--name", required=True)
    imported.add_argument("--version", required=True)
    imported.add_argument(
        "--labels", type=Path, help="one label per line in class-id order (default: metadata)"
    )
    imported.add_argument("--decoder", choices=["auto", *get_args(Decoder)], default="auto")
    imported.add_argument(
        "--input-size", type=_size, help="WIDTHxHEIGHT for graphs with a dynamic input size"
    )
    imported.add_argument(
        "--resize",
        choices=["letterbox", "stretch"],
        help="default: letterbox for YOLO layouts, stretch for RT-DETR",
    )
    imported.add_argument(
        "--interpolation",
        choices=["linear", "antialias"],
        help="with --resize: linear is OpenCV's INTER_LINEAR (Ultralytics), antialias Pillow's",
    )
    imported.add_argument("--channels", choices=["rgb", "bgr"], default="rgb")
    imported.add_argument(
        "--score-threshold", type=_threshold, default=DEFAULT_SCORE_THRESHOLD, help="min_score"
    )
    imported.add_argument(
        "--tile", type=_tiling, metavar="TILE:OVERLAP:ABOVE", help="tile large images"
    )
    imported.add_argument(
        "--box-merge-iou",
        type=_iou,
        metavar="IOU",
        help="merge-NMS: each kept box becomes the score-weighted mean of its class's candidates "
        "overlapping it by more than IOU (tighter boxes; docs/models.md#merge-nms)",
    )
    imported.add_argument("--force", action="store_true", help="replace an existing version")
    imported.set_defaults(handler=_import)

    listed = models_commands.add_parser(
        "list", parents=[root_options], help="every registered model"
    )
    listed.set_defaults(handler=_list)
