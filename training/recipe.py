"""The demo model's recipe: which generated sets it trains on, how, and where it is tested.

`medinv-train demo` runs it end to end; the figures in the shipped manifest come from it.
Training sets use seeds below FIRST_HELD_OUT_SEED, test sets seeds at or above it.
"""

from dataclasses import dataclass

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
# Hard frames (1280x720) are cut into 480-pixel tiles, the scale of the hard-tile training
# images; the 160-pixel overlap exceeds the largest item (130 pixels plus rotation).
DEMO_TILING = TilingConfig(tile=480, overlap=160, above=960)
DEMO_STEPS = 6000
DEMO_BATCH = 64
DEMO_LR = 3e-3
