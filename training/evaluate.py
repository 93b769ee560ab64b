"""COCO mAP of a registered model on a COCO directory, through the serving code path.

Each image goes through the same decode, tiling, forward and merge as `/v1/detect`, so the
figures describe what the service returns. `write_metrics` records them in the manifest.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from medinv_tools.coco_map import coco_map
from serve_app.core.payloads import DetectParams
from serve_app.model.loader import load_directory
from serve_app.model.manifest import read_manifest, write_manifest
from serve_app.model.runtime import RuntimeOptions
from training.coco import ANNOTATIONS_FILE, read_coco

_EVAL_PARAMS = DetectParams(min_score=0.0, max_detections=100)


@dataclass(frozen=True)
class EvalResult:
    images: int
    map: float  # mAP@[.5:.95]
    map50: float
    per_class_ap: dict[str, float]  # AP@[.5:.95] per label
    ms_per_image: float

    def as_metrics(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "map": round(self.map, 4),
            "map50": round(self.map50, 4),
            "per_class_ap": {k: round(v, 4) for k, v in self.per_class_ap.items()},
        }


def evaluate(
    model_directory: Path, data_dir: Path, device: str, limit: int | None = None
) -> EvalResult:
    model = load_directory(model_directory, RuntimeOptions(device))
    coco = read_coco(data_dir)
    if coco.labels != model.manifest.labels:
        raise ValueError(f"{data_dir} has labels {coco.labels}, the model {model.manifest.labels}")
    label_to_category = {name: cid for cid, name in coco.categories.items()}
    images = coco.images[:limit] if limit else coco.images
    results: list[dict[str, Any]] = []
    seconds = 0.0
    for entry in tqdm(images, desc=f"evaluate {data_dir.name}", unit="img"):
        started = time.perf_counter()
        result = model.infer(entry.path.read_bytes(), _EVAL_PARAMS)
        seconds += time.perf_counter() - started
        for d in result.detections:
            x1, y1, x2, y2 = d.box
            results.append(
                {
                    "image_id": entry.image_id,
                    "category_id": label_to_category[d.label],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": d.score,
                }
            )
    image_ids = [e.image_id for e in images]
    stats, per_class = coco_map(data_dir / ANNOTATIONS_FILE, image_ids, results)
    return EvalResult(
        images=len(images),
        map=stats[0],
        map50=stats[1],
        per_class_ap={coco.categories[cid]: ap for cid, ap in per_class.items()},
        ms_per_image=seconds * 1000.0 / max(1, len(images)),
    )


def write_metrics(
    model_directory: Path, split: str, result: EvalResult, data: dict[str, Any]
) -> None:
    record_figures(model_directory, split, {**result.as_metrics(), "data": data})


def record_figures(model_directory: Path, key: str, figures: dict[str, Any]) -> None:
    """Put `figures` under `metrics.<key>` of the model's manifest, replacing what was there."""
    manifest = read_manifest(model_directory)
    metrics = {**manifest.metrics, key: figures}
    write_manifest(model_directory, manifest.model_copy(update={"metrics": metrics}))


def describe_data(data_dir: Path) -> dict[str, Any]:
    """What the annotations file says about how the set was made (the generator's info)."""
    info = json.loads((data_dir / ANNOTATIONS_FILE).read_text()).get("info", {})
    return {k: v for k, v in info.items() if isinstance(v, (str, int, float))} or {
        "path": str(data_dir)
    }
