"""The detector on CUDA gives what it gives on CPU. Needs a GPU: `pytest -m gpu` on one.

Deselected by default (pyproject addopts `-m "not gpu"`), so CPU-only CI neither runs nor
skips it.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from serve_app.model.inference import DetectorModel, pick_device

pytestmark = pytest.mark.gpu


def test_pick_device_finds_the_gpu() -> None:
    assert pick_device().type == "cuda"


def test_cuda_and_cpu_agree(demo_model_dir: Path) -> None:
    image = np.random.default_rng(0).integers(0, 256, (320, 320, 3), dtype=np.uint8)
    (on_cpu,) = DetectorModel(demo_model_dir, torch.device("cpu")).predict([image])
    (on_gpu,) = DetectorModel(demo_model_dir, torch.device("cuda")).predict([image])
    # The placeholder model ties many scores, so compare the score distributions, not the order.
    top = min(len(on_cpu.scores), len(on_gpu.scores), 50)
    assert top > 0
    np.testing.assert_allclose(
        np.sort(on_gpu.scores)[::-1][:top], np.sort(on_cpu.scores)[::-1][:top], atol=1e-3
    )
