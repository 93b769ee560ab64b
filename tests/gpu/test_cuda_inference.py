"""The detector on CUDA gives what it gives on CPU. Needs a GPU: `pytest -m gpu` on one.

Deselected by default (pyproject addopts `-m "not gpu"`), so CPU-only CI neither runs nor
skips it.
"""

from pathlib import Path

import pytest

from serve_app.core.payloads import Detection, DetectParams
from serve_app.model.loader import load_directory
from serve_app.model.runtime import RuntimeOptions
from serve_app.model.torchvision_runtime import pick_device

pytestmark = pytest.mark.gpu

EXAMPLES = Path(__file__).parents[2] / "examples"
BOX_TOLERANCE_PX = 1.0
SCORE_TOLERANCE = 0.01


def test_pick_device_finds_the_gpu() -> None:
    assert pick_device() == "cuda"


@pytest.mark.parametrize("example", ["shelf.jpg", "camera-frame.jpg"])
def test_cuda_and_cpu_agree_on_the_example_images(demo_model_dir: Path, example: str) -> None:
    data = (EXAMPLES / example).read_bytes()
    on_cpu = load_directory(demo_model_dir, RuntimeOptions("cpu"))
    on_gpu = load_directory(demo_model_dir, RuntimeOptions("cuda"))
    threshold = on_cpu.manifest.score_threshold
    cpu = on_cpu.infer(data, DetectParams()).detections
    gpu = on_gpu.infer(data, DetectParams()).detections
    assert cpu, "the shipped model finds items on the example images"
    # A detection within the tolerance of the threshold may fall on either side of it.
    _assert_found_in(cpu, gpu, threshold)
    _assert_found_in(gpu, cpu, threshold)


def _assert_found_in(expected: list[Detection], actual: list[Detection], threshold: float) -> None:
    for want in expected:
        if want.score < threshold + SCORE_TOLERANCE:
            continue
        matches = [
            got
            for got in actual
            if got.label == want.label
            and abs(got.score - want.score) <= SCORE_TOLERANCE
            and all(abs(a - b) <= BOX_TOLERANCE_PX for a, b in zip(got.box, want.box, strict=True))
        ]
        assert matches, f"{want} has no counterpart within 1 px and 0.01 in {actual}"
