"""The ONNX export on ONNX Runtime's CUDA provider gives what it gives on the CPU provider.

Needs a GPU and onnxruntime-gpu (the GPU image swaps it in for onnxruntime): `pytest -m gpu`
there. Deselected by default, so CPU-only CI neither runs nor skips it.
"""

from pathlib import Path

import pytest

from medinv_tools.paths import MODELS_ROOT
from serve_app.core.payloads import DetectParams, ModelRef
from serve_app.model.loader import load_registered
from serve_app.model.runtime import RuntimeOptions
from tests.gpu.test_cuda_inference import _assert_found_in

pytestmark = pytest.mark.gpu

EXAMPLES = Path(__file__).parents[2] / "examples"
ONNX_MODEL = ModelRef("medical-supplies-ssdlite", "1.1.0")


def test_the_onnx_model_runs_on_the_cuda_provider() -> None:
    model = load_registered(MODELS_ROOT, ONNX_MODEL, RuntimeOptions("cuda"))
    assert model.device == "cuda"


@pytest.mark.parametrize("example", ["shelf.jpg", "camera-frame.jpg"])
def test_cuda_and_cpu_providers_agree_on_the_example_images(example: str) -> None:
    data = (EXAMPLES / example).read_bytes()
    on_cpu = load_registered(MODELS_ROOT, ONNX_MODEL, RuntimeOptions("cpu"))
    on_gpu = load_registered(MODELS_ROOT, ONNX_MODEL, RuntimeOptions("cuda"))
    threshold = on_cpu.manifest.score_threshold
    cpu = on_cpu.infer(data, DetectParams()).detections
    gpu = on_gpu.infer(data, DetectParams()).detections
    assert cpu, "the exported model finds items on the example images"
    _assert_found_in(cpu, gpu, threshold)
    _assert_found_in(gpu, cpu, threshold)
