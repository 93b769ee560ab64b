"""`medinv-train`: generate synthetic data, train, evaluate, and the demo model's whole recipe."""

import argparse
import json
import os
import time
from pathlib import Path

import torch

from serve_app.core.payloads import ModelRef
from serve_app.core.settings import get_settings
from serve_app.model.manifest import model_dir
from training.demo import export_fine_tune, run_demo, run_fine_tune
from training.evaluate import describe_data, evaluate, write_metrics
from training.export_onnx import ExportConfig, export_onnx
from training.generate import generate
from training.recipe import DEMO_STEPS, DEMO_TILING, FINE_TUNES
from training.synth.splits import SPLITS
from training.train import TrainConfig, train


def _default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def _workers() -> int:
    return max(1, (os.cpu_count() or 2) - 1)


def _generate(args: argparse.Namespace) -> int:
    path = generate(args.split, args.count, args.seed, args.out, workers=args.workers)
    print(f"wrote {path}")
    return 0


def _train(args: argparse.Namespace) -> int:
    config = TrainConfig(
        data=args.data,
        model=ModelRef.parse(args.model),
        work_dir=args.work_dir,
        models_root=args.models_root or get_settings().models_root,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        workers=args.workers,
        device=args.device,
        seed=args.seed,
        tiling=DEMO_TILING if args.tile else None,
    )
    manifest = train(config)
    print(f"registered {manifest.ref} in {model_dir(config.models_root, manifest.ref)}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    directory = model_dir(
        args.models_root or get_settings().models_root, ModelRef.parse(args.model)
    )
    result = evaluate(directory, args.data, args.device, limit=args.limit)
    print(
        json.dumps({**result.as_metrics(), "ms_per_image": round(result.ms_per_image, 1)}, indent=2)
    )
    if args.write_as:
        data = describe_data(args.data)
        if args.limit:
            data["first"] = args.limit  # the first N images of the set
        write_metrics(directory, args.write_as, result, data)
        print(f"wrote metrics '{args.write_as}' into {directory / 'manifest.yaml'}")
    return 0


def _export_onnx(args: argparse.Namespace) -> int:
    config = ExportConfig(
        source=ModelRef.parse(args.model),
        version=args.version,
        models_root=args.models_root or get_settings().models_root,
        name=args.name,
        tiling_plan=args.tiling_plan,
        box_merge_iou=args.box_merge_iou,
        score_threshold=args.score_threshold,
        force=args.force,
    )
    report = export_onnx(config)
    print("\n".join(report.lines()))
    return 0


def _demo(args: argparse.Namespace) -> int:
    models_root = args.models_root or get_settings().models_root
    run_demo(models_root, args.steps, args.time_budget_min, args.workers, args.device)
    return 0


def _fine_tune(args: argparse.Namespace) -> int:
    models_root = args.models_root or get_settings().models_root
    recipe = FINE_TUNES[args.command]
    run_fine_tune(recipe, models_root, args.steps, args.time_budget_min, args.workers, args.device)
    return 0


def _demo_export(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    recipe = FINE_TUNES[args.recipe]
    exports = [(ref, plan) for ref, plan in recipe.exports if args.plan in (None, plan)]
    models_root = args.models_root or get_settings().models_root
    export_fine_tune(recipe, models_root, args.device, args.workers, exports)
    print(f"exports of {recipe.model} in {time.perf_counter() - started:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medinv-train", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="render a split of synthetic shelves as a COCO directory")
    p.add_argument("--split", choices=sorted(SPLITS), required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--seed", type=int, required=True, help="base seed; held-out sets use >= 1000")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--workers", type=int, default=_workers())
    p.set_defaults(func=_generate)

    p = sub.add_parser(
        "train", help="train from scratch on COCO directories and register the model"
    )
    p.add_argument("--data", type=Path, nargs="+", required=True)
    p.add_argument("--model", required=True, help="name:version to register")
    p.add_argument("--work-dir", type=Path, required=True, help="checkpoints; rerun to resume")
    p.add_argument("--models-root", type=Path)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--workers", type=int, default=_workers())
    p.add_argument("--device", default=_default_device())
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tile", action="store_true", help="tile large images like the demo model")
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="COCO mAP of a registered model on a COCO directory")
    p.add_argument("--model", required=True, help="name:version")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--models-root", type=Path)
    p.add_argument("--device", default=_default_device())
    p.add_argument("--limit", type=int)
    p.add_argument("--write-as", help="record the figures in the manifest under this split name")
    p.set_defaults(func=_evaluate)

    p = sub.add_parser(
        "export-onnx", help="export a registered SSDlite to ONNX and register it as a new version"
    )
    p.add_argument("--model", required=True, help="name:version of the torchvision model")
    p.add_argument("--version", required=True, help="the version to register the export as")
    p.add_argument("--name", help="the name to register it under (default: the source's)")
    p.add_argument("--models-root", type=Path)
    p.add_argument(
        "--tiling-plan",
        choices=["tiles", "whole"],
        help="how the export sees large images (default: as the source does)",
    )
    p.add_argument(
        "--box-merge-iou",
        type=float,
        metavar="IOU",
        help="serve it with merge-NMS at this IoU (docs/models.md#merge-nms; default: plain NMS)",
    )
    p.add_argument(
        "--score-threshold", type=float, help="its default min_score (default: the source's)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing name:version")
    p.set_defaults(func=_export_onnx)

    p = sub.add_parser("demo", help="reproduce the shipped demo model (data, training, evaluation)")
    p.add_argument("--models-root", type=Path)
    p.add_argument("--steps", type=int, default=DEMO_STEPS)
    p.add_argument(
        "--time-budget-min", type=float, help="train fewer steps if they would not fit (timed)"
    )
    p.add_argument("--workers", type=int, default=_workers())
    p.add_argument("--device", default=_default_device())
    p.set_defaults(func=_demo)

    for recipe in FINE_TUNES.values():
        p = sub.add_parser(
            recipe.command,
            help=f"fine-tune {recipe.start_from} into {recipe.model.version}, evaluate, "
            "export to ONNX",
        )
        p.add_argument("--models-root", type=Path)
        p.add_argument("--steps", type=int, default=recipe.steps)
        p.add_argument(
            "--time-budget-min",
            type=float,
            default=recipe.time_budget_min,
            help="train fewer steps if they would not fit (timed); 0: all steps",
        )
        p.add_argument("--workers", type=int, default=_workers())
        p.add_argument("--device", default=_default_device())
        p.set_defaults(func=_fine_tune)

    p = sub.add_parser(
        "demo-export",
        help="a fine-tune's last step alone: export it to ONNX and evaluate the exports",
    )
    p.add_argument("--recipe", choices=sorted(FINE_TUNES), default="demo-anneal")
    p.add_argument("--models-root", type=Path)
    p.add_argument("--plan", choices=["tiles", "whole"], help="only the export of this plan")
    p.add_argument("--workers", type=int, default=_workers())
    p.add_argument("--device", default=_default_device())
    p.set_defaults(func=_demo_export)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
