"""The demo model's recipe: which generated sets it trains on, how, and where it is tested.

`medinv-train demo` runs it end to end; the figures in the shipped manifest come from it.
Training sets use seeds below FIRST_HELD_OUT_SEED, test sets seeds at or above it.
"""

from dataclasses import dataclass

from serve_app.core.demo_model import PHOTO_MODEL_ONNX, PHOTO_MODEL_ONNX_WHOLE
from serve_app.core.payloads import ModelRef, TilingPlan
from serve_app.model.manifest import TilingConfig
from training.generate import FIRST_HELD_OUT_SEED


@dataclass(frozen=True)
class GeneratedSet:
    split: str
    count: int
    base_seed: int

    @property
    def name(self) -> str:
        return f"{self.split}-s{self.base_seed}-n{self.count}"


TRAIN_SETS = [GeneratedSet("standard", 10000, 1), GeneratedSet("hard-tile", 10000, 2)]
TEST_SETS = {
    "standard": GeneratedSet("standard", 300, FIRST_HELD_OUT_SEED + 1),
    "hard": GeneratedSet("hard", 300, FIRST_HELD_OUT_SEED + 2),
}
# The first images of each test set, evaluated again under these names: the tests regenerate
# just these and check the shipped model against the figures.
QUICK_TEST_IMAGES = {"standard": ("standard_quick", 24), "hard": ("hard_quick", 12)}
# Hard frames (1280x720) are cut into 480-pixel tiles, the scale of the hard-tile training
# images; the 160-pixel overlap exceeds the largest item (130 pixels plus rotation).
DEMO_TILING = TilingConfig(tile=480, overlap=160, above=960)
DEMO_STEPS = 6000
DEMO_BATCH = 64
DEMO_LR = 3e-3

# `medinv-train demo-photos`: the demo model fine-tuned so that it stays silent on real
# photographs. It starts from the committed 1.0.0 weights (a checkpoint, so the recipe fits
# a CPU session) and trains on shelves against real photographs, on real photographs with
# no supply, and on plain shelves (so that nothing it knew is lost). Its test sets are the
# demo model's, plus the held-out real photographs (training/real_photos.py).
PHOTO_TRAIN_SETS = [
    GeneratedSet("standard", 800, 3),
    GeneratedSet("hard-tile", 800, 4),
    GeneratedSet("standard-photo", 800, 5),
    GeneratedSet("hard-tile-photo", 800, 6),
    GeneratedSet("photo", 800, 7),
]
PHOTO_STEPS = 3000  # at most: on a CPU the time budget decides
PHOTO_BATCH = 16
PHOTO_LR = 5e-4
PHOTO_WARMUP_STEPS = 50
PHOTO_TIME_BUDGET_MIN = 40.0
# Its ONNX exports: tiling large images as it does, and seeing them whole at the tiles' scale
# (the served default). `medinv-train demo-export` redoes just these.
PHOTO_EXPORTS: list[tuple[ModelRef, TilingPlan]] = [
    (PHOTO_MODEL_ONNX, "tiles"),
    (PHOTO_MODEL_ONNX_WHOLE, "whole"),
]
