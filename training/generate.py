"""Render a split of synthetic shelf images to a COCO dataset directory, in parallel."""

import json
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from tqdm import tqdm

from training.coco import ANNOTATIONS_FILE, coco_json
from training.synth.items import CLASS_NAMES
from training.synth.scene import render_scene
from training.synth.splits import SPLITS

# Seeds below this are for training; evaluation sets use seeds at or above it.
FIRST_HELD_OUT_SEED = 1000
_SEED_STRIDE = 10_000_000


def image_seed(base_seed: int, index: int) -> int:
    """The scene seed of image `index` of a set; sets with different base seeds never share one."""
    return base_seed * _SEED_STRIDE + index


def _render_one(split: str, base_seed: int, out_dir: Path, index: int) -> dict[str, Any]:
    image, annotations, quality = render_scene(SPLITS[split], image_seed(base_seed, index))
    file_name = f"images/{index:06d}.jpg"
    image.save(out_dir / file_name, format="JPEG", quality=quality)
    return {
        "image": {
            "id": index + 1,
            "file_name": file_name,
            "width": image.width,
            "height": image.height,
        },
        "boxes": [
            {"category_id": a.category + 1, "bbox": list(a.box), "visible": a.visible}
            for a in annotations
        ],
    }


def generate(split: str, count: int, base_seed: int, out_dir: Path, workers: int = 1) -> Path:
    """Write `count` images and `annotations.json` under `out_dir`; returns the annotations path."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    render = partial(_render_one, split, base_seed, out_dir)
    with get_context("fork").Pool(max(1, workers)) as pool:
        rows = list(
            tqdm(
                pool.imap(render, range(count), chunksize=8),
                total=count,
                desc=f"generate {split}",
                unit="img",
            )
        )
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for row in rows:
        images.append(row["image"])
        for box in row["boxes"]:
            x, y, w, h = box["bbox"]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": row["image"]["id"],
                    "category_id": box["category_id"],
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                    "visible_fraction": box["visible"],
                }
            )
    info = {
        "generator": "medinv synthetic shelves",
        "split": split,
        "base_seed": base_seed,
        "count": count,
    }
    path = out_dir / ANNOTATIONS_FILE
    path.write_text(json.dumps(coco_json(CLASS_NAMES, images, annotations, info)))
    return path
