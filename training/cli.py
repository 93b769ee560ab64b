"""`medinv-train`: generate synthetic data, train, evaluate, and the demo model's whole recipe."""

import argparse
import json
import os
import time
from pathlib import Path

import torch

from medinv_tools.paths import REPO_ROOT
from serve_app.core.demo_model import (
    DEMO_MODEL,
    PHOTO_MODEL,
)
from serve_app.core.payloads import ModelRef, TilingPlan
from serve_app.core.settings import get_settings
from serve_app.model.manifest import model_dir
from training.evaluate import describe_data, evaluate, write_metrics
from training.export_onnx import ExportConfig, export_onnx
from training.generate import generate
from training.real_photos import false_items, write_false_items
from training.recipe import (
    DEMO_BATCH,
    DEMO_LR,
    DEMO_STEPS,
    DEMO_TILING,
    PHOTO_BATCH,
    PHOTO_EXPORTS,
    PHOTO_LR,
    PHOTO_STEPS,
    PHOTO_TIME_BUDGET_MIN,
    PHOTO_TRAIN_SETS,
    PHOTO_WARMUP_STEPS,
    QUICK_TEST_IMAGES,
    TEST_SETS,
    TRAIN_SETS,
    GeneratedSet,
)
from training.synth.splits import SPLITS
from training.train import TrainConfig, train

DATA_ROOT = REPO_ROOT / "data"


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
        force=args.force,
    )
    report = export_onnx(config)
    print("\n".join(report.lines()))
    return 0


def _ensure_set(generated: GeneratedSet, workers: int) -> Path:
    out = DATA_ROOT / generated.name
    if not (out / "annotations.json").is_file():
        generate(generated.split, generated.count, generated.base_seed, out, workers=workers)
    return out


def _demo(args: argparse.Namespace) -> int:
    """The shipped demo model, end to end: data, training, held-out evaluation."""
    started = time.perf_counter()
    train_dirs = [_ensure_set(s, args.workers) for s in TRAIN_SETS]
    models_root = args.models_root or get_settings().models_root
    config = TrainConfig(
        data=train_dirs,
        model=DEMO_MODEL,
        work_dir=DATA_ROOT / "runs" / f"{DEMO_MODEL.name}-{DEMO_MODEL.version}",
        models_root=models_root,
        steps=args.steps,
        batch_size=DEMO_BATCH,
        lr=DEMO_LR,
        workers=args.workers,
        device=args.device,
        tiling=DEMO_TILING,
        description="SSDlite (MobileNetV3) trained from scratch on generated supply shelves "
        "(medinv-train demo); tiles camera-sized frames.",
        extra_provenance={
            "recipe": "medinv-train demo",
            "train_sets": [s.name for s in TRAIN_SETS],
        },
        time_budget_s=args.time_budget_min * 60 if args.time_budget_min else None,
    )
    manifest = train(config)
    _evaluate_demo(model_dir(models_root, manifest.ref), args.device, args.workers)
    print(f"demo model {manifest.ref} in {time.perf_counter() - started:.0f} s")
    return 0


def _evaluate_demo(directory: Path, device: str, workers: int) -> None:
    """The held-out generated sets, and the false items on held-out real photographs."""
    for split, generated in TEST_SETS.items():
        test_dir = _ensure_set(generated, workers)
        result = evaluate(directory, test_dir, device)
        write_metrics(directory, split, result, describe_data(test_dir))
        print(f"{split}: mAP@0.5 {result.map50:.4f}  mAP@[.5:.95] {result.map:.4f}")
        # The first few images again: the figures the tests check the shipped model against.
        quick, count = QUICK_TEST_IMAGES[split]
        result = evaluate(directory, test_dir, device, limit=count)
        write_metrics(directory, quick, result, {**describe_data(test_dir), "first": count})
    photos = false_items(directory, device)
    write_false_items(directory, photos)
    print(f"real photos: {photos.per_image:.3f} false items per image; worst {photos.worst}")


def _demo_photos(args: argparse.Namespace) -> int:
    """The demo model fine-tuned against real photographs, then exported to ONNX."""
    started = time.perf_counter()
    train_dirs = [_ensure_set(s, args.workers) for s in PHOTO_TRAIN_SETS]
    models_root = args.models_root or get_settings().models_root
    base_dir = model_dir(models_root, DEMO_MODEL)
    config = TrainConfig(
        data=train_dirs,
        model=PHOTO_MODEL,
        work_dir=DATA_ROOT / "runs" / f"{PHOTO_MODEL.name}-{PHOTO_MODEL.version}",
        models_root=models_root,
        steps=args.steps,
        batch_size=PHOTO_BATCH,
        lr=PHOTO_LR,
        warmup_steps=PHOTO_WARMUP_STEPS,
        workers=args.workers,
        device=args.device,
        tiling=DEMO_TILING,
        init_weights=base_dir / "weights.pt",
        description=f"{DEMO_MODEL} fine-tuned against real photographs (walls, loose "
        "pieces, negative images) and plain generated shelves (medinv-train demo-photos); "
        "tiles camera-sized frames.",
        extra_provenance={
            "recipe": "medinv-train demo-photos",
            "fine_tuned_from": str(DEMO_MODEL),
            "train_sets": [s.name for s in PHOTO_TRAIN_SETS],
        },
        time_budget_s=args.time_budget_min * 60 if args.time_budget_min else None,
    )
    manifest = train(config)
    _evaluate_demo(model_dir(models_root, manifest.ref), args.device, args.workers)
    _export_photo_model(models_root, args.device, args.workers, PHOTO_EXPORTS)
    print(f"{manifest.ref} and its exports in {time.perf_counter() - started:.0f} s")
    return 0


def _demo_export(args: argparse.Namespace) -> int:
    """The last step of demo-photos alone: export the fine-tuned model and measure the exports."""
    started = time.perf_counter()
    exports = [(ref, plan) for ref, plan in PHOTO_EXPORTS if args.plan in (None, plan)]
    models_root = args.models_root or get_settings().models_root
    _export_photo_model(models_root, args.device, args.workers, exports)
    print(f"exports of {PHOTO_MODEL} in {time.perf_counter() - started:.0f} s")
    return 0


def _export_photo_model(
    models_root: Path, device: str, workers: int, exports: list[tuple[ModelRef, TilingPlan]]
) -> None:
    """`PHOTO_MODEL` to ONNX: each version with its tiling plan, evaluated."""
    for target, plan in exports:
        export_onnx(
            ExportConfig(
                source=PHOTO_MODEL,
                version=target.version,
                models_root=models_root,
                tiling_plan=plan,
                force=True,
            )
        )
        _evaluate_demo(model_dir(models_root, target), device, workers)


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

    p = sub.add_parser(
        "demo-photos",
        help="fine-tune the demo model against real photographs, evaluate, export to ONNX",
    )
    p.add_argument("--models-root", type=Path)
    p.add_argument("--steps", type=int, default=PHOTO_STEPS)
    p.add_argument(
        "--time-budget-min",
        type=float,
        default=PHOTO_TIME_BUDGET_MIN,
        help="train fewer steps if they would not fit (timed); 0: all steps",
    )
    p.add_argument("--workers", type=int, default=_workers())
    p.add_argument("--device", default=_default_device())
    p.set_defaults(func=_demo_photos)

    p = sub.add_parser(
        "demo-export",
        help="demo-photos' last step alone: export the fine-tuned model to ONNX (tiling large "
        "images and seeing them whole) and evaluate the exports",
    )
    p.add_argument("--models-root", type=Path)
    p.add_argument("--plan", choices=["tiles", "whole"], help="only the export of this plan")
    p.add_argument("--workers", type=int, default=_workers())
    p.add_argument("--device", default=_default_device())
    p.set_defaults(func=_demo_export)

    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
