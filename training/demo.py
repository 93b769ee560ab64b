"""The demo model's recipes end to end: data, training, held-out evaluation, ONNX exports.

`medinv-train demo` trains the first model from scratch; `demo-photos` and `demo-frames`
are the fine-tunes of training/recipe.py (`FINE_TUNES`), and `demo-export` redoes a
fine-tune's last step alone.
"""

import time
from pathlib import Path

from medinv_tools.paths import REPO_ROOT
from serve_app.core.demo_model import DEMO_MODEL
from serve_app.core.payloads import ModelRef, TilingPlan
from serve_app.model.manifest import model_dir
from training.evaluate import describe_data, evaluate, write_metrics
from training.export_onnx import ExportConfig, export_onnx
from training.generate import generate
from training.real_photos import false_items, write_false_items
from training.recipe import (
    DEMO_BATCH,
    DEMO_LR,
    DEMO_TILING,
    QUICK_TEST_IMAGES,
    TEST_SETS,
    TRAIN_SETS,
    FineTune,
    GeneratedSet,
)
from training.train import TrainConfig, train

DATA_ROOT = REPO_ROOT / "data"


def ensure_set(generated: GeneratedSet, workers: int) -> Path:
    out = DATA_ROOT / generated.name
    if not (out / "annotations.json").is_file():
        generate(generated.split, generated.count, generated.base_seed, out, workers=workers)
    return out


def _budget_s(time_budget_min: float | None) -> float | None:
    return time_budget_min * 60 if time_budget_min else None


def run_demo(
    models_root: Path, steps: int, time_budget_min: float | None, workers: int, device: str
) -> None:
    """The first demo model, trained from scratch, and its held-out figures."""
    started = time.perf_counter()
    config = TrainConfig(
        data=[ensure_set(s, workers) for s in TRAIN_SETS],
        model=DEMO_MODEL,
        work_dir=DATA_ROOT / "runs" / f"{DEMO_MODEL.name}-{DEMO_MODEL.version}",
        models_root=models_root,
        steps=steps,
        batch_size=DEMO_BATCH,
        lr=DEMO_LR,
        workers=workers,
        device=device,
        tiling=DEMO_TILING,
        description="SSDlite (MobileNetV3) trained from scratch on generated supply shelves "
        "(medinv-train demo); tiles camera-sized frames.",
        extra_provenance={
            "recipe": "medinv-train demo",
            "train_sets": [s.name for s in TRAIN_SETS],
        },
        time_budget_s=_budget_s(time_budget_min),
    )
    manifest = train(config)
    evaluate_demo(model_dir(models_root, manifest.ref), device, workers)
    print(f"demo model {manifest.ref} in {time.perf_counter() - started:.0f} s")


def evaluate_demo(directory: Path, device: str, workers: int) -> None:
    """The held-out generated sets, and the false items on held-out real photographs."""
    for split, generated in TEST_SETS.items():
        test_dir = ensure_set(generated, workers)
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


def run_fine_tune(
    recipe: FineTune,
    models_root: Path,
    steps: int,
    time_budget_min: float | None,
    workers: int,
    device: str,
) -> None:
    """A fine-tune from its registered start, evaluated, then exported and evaluated again."""
    started = time.perf_counter()
    config = TrainConfig(
        data=[ensure_set(s, workers) for s in recipe.train_sets],
        model=recipe.model,
        work_dir=DATA_ROOT / "runs" / f"{recipe.model.name}-{recipe.model.version}",
        models_root=models_root,
        steps=steps,
        batch_size=recipe.batch_size,
        lr=recipe.lr,
        warmup_steps=recipe.warmup_steps,
        workers=workers,
        device=device,
        tiling=DEMO_TILING,
        init_weights=model_dir(models_root, recipe.start_from) / "weights.pt",
        negative_images=recipe.negative_images,
        description=recipe.description,
        extra_provenance={
            "recipe": f"medinv-train {recipe.command}",
            "fine_tuned_from": str(recipe.start_from),
            "train_sets": [s.name for s in recipe.train_sets],
        },
        time_budget_s=_budget_s(time_budget_min),
    )
    manifest = train(config)
    evaluate_demo(model_dir(models_root, manifest.ref), device, workers)
    export_fine_tune(recipe, models_root, device, workers, recipe.exports)
    print(f"{manifest.ref} and its exports in {time.perf_counter() - started:.0f} s")


def export_fine_tune(
    recipe: FineTune,
    models_root: Path,
    device: str,
    workers: int,
    exports: list[tuple[ModelRef, TilingPlan]],
) -> None:
    """The fine-tuned model to ONNX: each version with its tiling plan, evaluated."""
    for target, plan in exports:
        export_onnx(
            ExportConfig(
                source=recipe.model,
                version=target.version,
                models_root=models_root,
                tiling_plan=plan,
                box_merge_iou=recipe.box_merge_iou,
                score_threshold=recipe.score_threshold,
                force=True,
            )
        )
        evaluate_demo(model_dir(models_root, target), device, workers)
