"""(a) The bare pipeline in this process: decode → preprocess → batched forward → postprocess.

No HTTP, no Ray: the limit this machine sets for the model.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from serve_app.imaging import ImageLimits, preprocess_image
from serve_app.inference import DetectorModel
from serve_app.payloads import DetectParams
from serve_app.postprocess import build_result


@dataclass(frozen=True)
class BareResult:
    batch_size: int
    images_per_s: float
    latencies_ms: list[float]  # per batch


def run_bare(
    model_directory: Path, images: list[bytes], batch_size: int, duration_s: float, threads: int
) -> BareResult:
    torch.set_num_threads(threads)
    model = DetectorModel(model_directory, torch.device("cpu"))
    model.warm_up()
    limits = ImageLimits()
    done = 0
    latencies = []
    started = time.perf_counter()
    while time.perf_counter() - started < duration_s:
        batch_started = time.perf_counter()
        chosen = [images[(done + i) % len(images)] for i in range(batch_size)]
        prepared = [preprocess_image(data, model.input_size, limits) for data in chosen]
        raws = model.predict([p.pixels for p in prepared])
        for raw, image in zip(raws, prepared, strict=True):
            build_result(raw, image, model.manifest, DetectParams(), 0.0)
        latencies.append((time.perf_counter() - batch_started) * 1000.0)
        done += batch_size
    return BareResult(batch_size, done / (time.perf_counter() - started), latencies)
