"""(a) The bare pipeline in one process: decode → preprocess → batched forward → postprocess.

No HTTP, no Ray: the limit this machine sets for the model. `workers` loops run side by side
in threads of the same process (torch and ONNX Runtime release the GIL inside their kernels);
`threads` are each forward's intra-op threads, torch's or ONNX Runtime's.
"""

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from serve_app.core.payloads import DetectParams
from serve_app.model.imaging import ImageLimits
from serve_app.model.loader import load_directory
from serve_app.model.runtime import RuntimeOptions


@dataclass(frozen=True)
class BareResult:
    images_per_s: float
    latencies_ms: list[float]  # per batch


def run_bare(
    model_directory: Path,
    images: list[bytes],
    batch_size: int,
    duration_s: float,
    threads: int,
    workers: int = 1,
) -> BareResult:
    torch.set_num_threads(threads)
    model = load_directory(model_directory, RuntimeOptions("cpu", threads))
    limits = ImageLimits()
    latencies: list[float] = []
    done = [0] * workers
    clock: dict[str, float] = {}

    def start_clock() -> None:  # runs once, when every worker has warmed up
        clock["started"] = time.perf_counter()
        clock["stop_at"] = clock["started"] + duration_s

    warmed_up = threading.Barrier(workers, action=start_clock)

    def loop(worker: int) -> None:
        torch.set_num_threads(threads)
        model.warm_up()
        warmed_up.wait()
        index = worker
        while time.perf_counter() < clock["stop_at"]:
            started = time.perf_counter()
            chosen = [images[(index + i) % len(images)] for i in range(batch_size)]
            model.infer_batch(chosen, DetectParams(), limits)
            latencies.append((time.perf_counter() - started) * 1000.0)
            done[worker] += batch_size
            index += batch_size * workers

    # One worker runs in the main thread: a multi-threaded forward from any other thread was
    # measured at half speed here (a second OpenMP team spins against the first).
    pool = [threading.Thread(target=loop, args=(w,)) for w in range(1, workers)]
    for thread in pool:
        thread.start()
    loop(0)
    for thread in pool:
        thread.join()
    return BareResult(sum(done) / (time.perf_counter() - clock["started"]), latencies)
