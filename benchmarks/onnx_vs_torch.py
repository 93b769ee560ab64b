"""The shipped model on torch eager vs ONNX Runtime, on the CPU.

    python -m benchmarks.onnx_vs_torch [--reps 30] [--warmup 5] [--out .data/bench/...json]

Two registered versions of the same weights: the torchvision state dict (1.0.0) and its
`medinv-train export-onnx` graph (1.1.0). For each intra-op thread count (torch:
`torch.set_num_threads`, ONNX Runtime: `RuntimeOptions(threads=N)`, as the Detector's forward
workers set them) it times

* the forward alone (`predict` of the runtime) on batches of 1 and 4 model inputs (320x320
  views of shelf images), and
* the whole `DetectionModel.infer` (decode, resize or tiling, forward, merge) of a 640x480 and
  a 1280x720 JPEG (the examples; the latter is cut into tiles),

alternating the two runtimes repetition by repetition so that load from elsewhere on the
machine falls on both alike. Prints median and p90 milliseconds and torch ÷ ORT per cell;
writes the figures as JSON (`--out`) and a bar chart (`--plot`).
"""

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime
import torch
from tqdm import tqdm

from medinv_tools.paths import DATA_DIR, MODELS_ROOT, REPO_ROOT
from serve_app.core.demo_model import DEMO_MODEL
from serve_app.core.payloads import DetectParams, ModelRef
from serve_app.model.imaging import ImageLimits
from serve_app.model.inference import DetectionModel
from serve_app.model.loader import load_registered
from serve_app.model.runtime import RuntimeOptions

ONNX_MODEL = ModelRef(DEMO_MODEL.name, "1.1.0")
EXAMPLES = {
    "640x480": REPO_ROOT / "examples" / "shelf.jpg",
    "1280x720": REPO_ROOT / "examples" / "camera-frame.jpg",
}
PARAMS = DetectParams(min_score=0.5, max_detections=100)


@dataclass(frozen=True)
class Cell:
    kind: str  # "forward" or "infer"
    case: str  # "batch 4" or "1280x720"
    threads: int
    torch_ms: tuple[float, float]  # median, p90
    onnx_ms: tuple[float, float]

    @property
    def ratio(self) -> float:
        return self.torch_ms[0] / self.onnx_ms[0]

    @property
    def label(self) -> str:
        return f"{self.kind} {self.case}, {self.threads} thr"


def _stats(samples: list[float]) -> tuple[float, float]:
    median, p90 = np.percentile(np.asarray(samples), [50, 90])
    return round(float(median), 2), round(float(p90), 2)


def _time_pair(
    torch_call: Callable[[], object],
    onnx_call: Callable[[], object],
    reps: int,
    warmup: int,
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Both calls, alternating, `warmup` untimed rounds then `reps` timed ones."""
    samples: dict[str, list[float]] = {"torch": [], "onnx": []}
    for rep in range(warmup + reps):
        for name, call in (("torch", torch_call), ("onnx", onnx_call)):
            started = time.perf_counter()
            call()
            elapsed = (time.perf_counter() - started) * 1000.0
            if rep >= warmup:
                samples[name].append(elapsed)
    return _stats(samples["torch"]), _stats(samples["onnx"])


def _model_inputs(model: DetectionModel, count: int) -> list[npt.NDArray[np.uint8]]:
    """`count` 320x320 views of the examples (the camera frame's tiles, then the shelf)."""
    views = [
        view.pixels
        for path in EXAMPLES.values()
        for view in model.preprocess(path.read_bytes(), ImageLimits()).views
    ]
    return (views * count)[:count]


def run(
    models_root: Path,
    torch_ref: ModelRef,
    onnx_ref: ModelRef,
    threads: list[int],
    batches: list[int],
    reps: int,
    warmup: int,
) -> list[Cell]:
    torch_model = load_registered(models_root, torch_ref, RuntimeOptions(device="cpu"))
    inputs = _model_inputs(torch_model, max(batches))
    jpegs = {size: path.read_bytes() for size, path in EXAMPLES.items()}
    cells: list[Cell] = []
    plan: list[tuple[int, str, int | str]] = [(n, "forward", b) for n in threads for b in batches]
    plan += [(n, "infer", s) for n in threads for s in jpegs]
    progress = tqdm(plan, desc="onnx vs torch", unit="cell")
    onnx_models: dict[int, DetectionModel] = {}
    for n, kind, case in progress:
        progress.set_postfix_str(f"{kind} {case} {n} thr")
        torch.set_num_threads(n)
        if n not in onnx_models:
            onnx_models[n] = load_registered(
                models_root, onnx_ref, RuntimeOptions(device="cpu", threads=n)
            )
        onnx_model = onnx_models[n]
        if kind == "forward":
            batch = inputs[: int(case)]
            torch_ms, onnx_ms = _time_pair(
                partial(torch_model.runtime.predict, batch),
                partial(onnx_model.runtime.predict, batch),
                reps,
                warmup,
            )
            name = f"batch {case}"
        else:
            data = jpegs[str(case)]
            torch_ms, onnx_ms = _time_pair(
                partial(torch_model.infer, data, PARAMS),
                partial(onnx_model.infer, data, PARAMS),
                reps,
                warmup,
            )
            name = str(case)
        cells.append(Cell(kind, name, n, torch_ms, onnx_ms))
    return cells


def format_table(cells: list[Cell]) -> str:
    header = f"{'cell':<30}{'torch p50':>10}{'p90':>8}{'ORT p50':>10}{'p90':>8}{'torch÷ORT':>11}"
    lines = [header, "-" * len(header)]
    for c in cells:
        lines.append(
            f"{c.label:<30}{c.torch_ms[0]:>10.1f}{c.torch_ms[1]:>8.1f}"
            f"{c.onnx_ms[0]:>10.1f}{c.onnx_ms[1]:>8.1f}{c.ratio:>11.2f}"
        )
    return "\n".join(lines)


def _environment(reps: int, warmup: int) -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": load,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "reps": reps,
        "warmup": warmup,
    }


def write_json(path: Path, cells: list[Cell], environment: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{**asdict(c), "ratio": round(c.ratio, 3)} for c in cells]
    path.write_text(json.dumps({"environment": environment, "cells": rows}, indent=2) + "\n")


def plot(path: Path, cells: list[Cell], environment: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = ["forward", "infer"]
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for axis, kind in zip(axes, kinds, strict=True):
        chosen = [c for c in cells if c.kind == kind]
        x = np.arange(len(chosen))
        width = 0.38
        for offset, name, values, colour in (
            (-width / 2, "torch eager", [c.torch_ms for c in chosen], "#d9822b"),
            (width / 2, "ONNX Runtime", [c.onnx_ms for c in chosen], "#2b6cd9"),
        ):
            medians = [v[0] for v in values]
            p90s = [v[1] - v[0] for v in values]
            axis.bar(
                x + offset,
                medians,
                width,
                yerr=[[0] * len(p90s), p90s],
                label=name,
                color=colour,
                capsize=3,
            )
        for i, c in enumerate(chosen):
            top = max(c.torch_ms[1], c.onnx_ms[1])
            axis.text(i, top * 1.03, f"{c.ratio:.2f}x", ha="center", fontsize=8)
        axis.set_xticks(x, [f"{c.case}\n{c.threads} thr" for c in chosen], fontsize=8)
        axis.set_yscale("log")
        axis.set_ylabel("ms, log scale (median, whisker to p90)")
        axis.set_title(
            "forward (predict)" if kind == "forward" else "DetectionModel.infer per JPEG"
        )
        axis.legend(fontsize=8)
    figure.suptitle(
        f"{DEMO_MODEL.name}: torch eager vs ONNX Runtime on {environment['cpu_count']} CPUs "
        f"(torch ÷ ORT above the bars)",
        fontsize=10,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-root", type=Path, default=MODELS_ROOT)
    parser.add_argument("--torch-model", type=ModelRef.parse, default=DEMO_MODEL)
    parser.add_argument("--onnx-model", type=ModelRef.parse, default=ONNX_MODEL)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--reps", type=int, default=30, help="timed repetitions per cell")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--from-json", type=Path, help="measure nothing: print and plot the figures of a past run"
    )
    parser.add_argument("--out", type=Path, default=DATA_DIR / "bench" / "onnx-vs-torch.json")
    parser.add_argument(
        "--plot", type=Path, default=REPO_ROOT / "docs" / "img" / "onnx-vs-torch.png"
    )
    args = parser.parse_args(argv)

    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        cells = [
            Cell(c["kind"], c["case"], c["threads"], tuple(c["torch_ms"]), tuple(c["onnx_ms"]))
            for c in saved["cells"]
        ]
        print(format_table(cells))
        plot(args.plot, cells, saved["environment"])
        print(f"wrote {args.plot}")
        return 0
    environment = _environment(args.reps, args.warmup)
    cells = run(
        args.models_root,
        args.torch_model,
        args.onnx_model,
        args.threads,
        args.batches,
        args.reps,
        args.warmup,
    )
    print(format_table(cells))
    write_json(args.out, cells, environment)
    plot(args.plot, cells, environment)
    print(f"wrote {args.out} and {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
