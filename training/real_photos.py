"""False items on real photographs the model never trained on (`HELD_OUT_PHOTOS`).

Each photo is sent at its own size, at 640x480 and at 1280x720 (so that a tiled model tiles
it), as a JPEG through the serving code path at the model's default score threshold. Every
detection is a false item: none of these photos shows a supply.
"""

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from serve_app.core.payloads import DetectParams
from serve_app.model.loader import load_directory
from serve_app.model.runtime import RuntimeOptions
from training.evaluate import record_figures
from training.synth.photos import HELD_OUT_PHOTOS, photo

SIZES: tuple[tuple[int, int] | None, ...] = (None, (640, 480), (1280, 720))
METRICS_KEY = "real_photos"


@dataclass(frozen=True)
class FalseItems:
    images: int
    false_items: int
    worst: list[str]  # the highest-scoring false items, "label score photo"

    @property
    def per_image(self) -> float:
        return self.false_items / max(1, self.images)

    def as_metrics(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "false_items": self.false_items,
            "false_items_per_image": round(self.per_image, 3),
            "photos": list(HELD_OUT_PHOTOS),
            "sizes": ["own" if size is None else f"{size[0]}x{size[1]}" for size in SIZES],
            "source": "scikit-image sample data (skimage.data), none trained on",
        }


def photo_jpegs() -> list[tuple[str, bytes]]:
    jpegs = []
    for name in HELD_OUT_PHOTOS:
        for size in SIZES:
            image = photo(name) if size is None else photo(name).resize(size)
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=90)
            jpegs.append((f"{name} {image.width}x{image.height}", buffer.getvalue()))
    return jpegs


def false_items(model_directory: Path, device: str) -> FalseItems:
    model = load_directory(model_directory, RuntimeOptions(device))
    params = DetectParams(min_score=None, max_detections=100)
    found: list[tuple[float, str]] = []
    jpegs = photo_jpegs()
    for name, data in tqdm(jpegs, desc="real photos", unit="img"):
        for d in model.infer(data, params).detections:
            found.append((d.score, f"{d.label} {d.score:.2f} {name}"))
    worst = [text for _, text in sorted(found, reverse=True)[:5]]
    return FalseItems(images=len(jpegs), false_items=len(found), worst=worst)


def write_false_items(model_directory: Path, result: FalseItems) -> None:
    record_figures(model_directory, METRICS_KEY, result.as_metrics())
