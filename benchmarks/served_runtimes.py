"""Served throughput of the torch model against its ONNX export, through Ray Serve.

    python -m benchmarks.served_runtimes [--duration 15] [--onnx NAME:VERSION]

One local cluster deployed from configs/serve_config.yaml. Each model in turn (the config's,
then the ONNX export) is made the active model with `serve deploy`; for each, HTTP load at
c=1 and c=8 with 640x480 and 1280x720 shelf JPEGs (the latter tiled by both). Prints images/s
and latency per model and size with the ONNX ÷ torch ratio, and writes
benchmarks/results/served-runtimes.{json,png}.
"""

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from benchmarks.images import shelf_jpegs
from benchmarks.load import http_load
from benchmarks.report import percentiles
from benchmarks.run import BENCH_ENV
from medinv_client import NO_RETRIES, Client, MedinvError
from medinv_tools.cluster.local import (
    LocalCluster,
    free_port,
    free_ports,
    wait_for_http_ok,
    with_http_port,
)
from serve_app.core.payloads import ModelRef

RESULTS = Path(__file__).parent / "results"
SIZES = ((640, 480), (1280, 720))
CONCURRENCY = (1, 8)


def with_model(config: dict[str, Any], ref: ModelRef) -> dict[str, Any]:
    changed: dict[str, Any] = json.loads(json.dumps(config))
    deployments = changed["applications"][0]["deployments"]
    next(d for d in deployments if d["name"] == "Detector")["user_config"]["model"] = str(ref)
    return changed


def wait_for_model(base: str, ref: ModelRef, image: bytes, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    with Client(base, timeout=60, retry=NO_RETRIES) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(MedinvError):
                if str(client.detect(image).model) == str(ref):
                    return
            time.sleep(0.5)
    raise TimeoutError(f"{ref} never became the active model")


def measure(base: str, duration: float, progress: tqdm) -> list[dict[str, Any]]:
    rows = []
    for size in SIZES:
        images = shelf_jpegs(8, size)
        for concurrency in CONCURRENCY:
            result = asyncio.run(http_load(base, images, concurrency, duration))
            p50, p99 = percentiles(result.latencies_ms)
            rows.append(
                {
                    "size": f"{size[0]}x{size[1]}",
                    "concurrency": concurrency,
                    "images_per_s": result.throughput,
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "errors": sum(result.errors.values()),
                }
            )
            progress.update()
    return rows


def plot(results: dict[str, list[dict[str, Any]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4.5))
    names = list(results)
    scenarios = [f"{r['size']}\nc={r['concurrency']}" for r in results[names[0]]]
    width = 0.8 / len(names)
    for index, name in enumerate(names):
        xs = [i + index * width for i in range(len(scenarios))]
        axis.bar(xs, [r["images_per_s"] for r in results[name]], width, label=name)
    axis.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(scenarios))], scenarios)
    axis.set_ylabel("images / s")
    axis.set_title("Served throughput: torch eager vs ONNX Runtime (same cluster, same run)")
    axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=Path("configs/serve_config.yaml"))
    parser.add_argument(
        "--onnx", type=ModelRef.parse, default=ModelRef.parse("medical-supplies-ssdlite:1.1.0")
    )
    parser.add_argument(
        "--torch", type=ModelRef.parse, default=ModelRef.parse("medical-supplies-ssdlite:1.0.0")
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per scenario")
    args = parser.parse_args()

    base_config = yaml.safe_load(args.config.read_text())
    http_port = free_port()
    base = f"http://127.0.0.1:{http_port}"
    cluster = LocalCluster(
        run_dir=Path(tempfile.mkdtemp(prefix="medinv-bench-")), ports=free_ports()
    )
    models = {f"torch {args.torch}": args.torch, f"onnx {args.onnx}": args.onnx}
    progress = tqdm(total=len(models) * len(SIZES) * len(CONCURRENCY), desc="served", unit="run")
    results: dict[str, list[dict[str, Any]]] = {}
    cluster.start(BENCH_ENV)
    try:
        for name, ref in models.items():
            progress.set_postfix_str(name)
            cluster.deploy(with_http_port(with_model(base_config, ref), http_port))
            wait_for_http_ok(f"{base}/v1/ready", 180, lambda: cluster.pid() is not None)
            wait_for_model(base, ref, shelf_jpegs(1, SIZES[0])[0])
            results[name] = measure(base, args.duration, progress)
    finally:
        cluster.stop()
        progress.close()

    torch_rows, onnx_rows = results.values()
    print(
        f"\n{'size':<10}{'c':>3}"
        + "".join(f"{n[:24]:>26}" for n in results)
        + f"{'onnx ÷ torch':>14}"
    )
    for torch_row, onnx_row in zip(torch_rows, onnx_rows, strict=True):
        cells = "".join(
            f"{r['images_per_s']:>9.2f} img/s p50 {r['p50_ms']:>6.0f}"
            for r in (torch_row, onnx_row)
        )
        ratio = onnx_row["images_per_s"] / torch_row["images_per_s"]
        print(f"{torch_row['size']:<10}{torch_row['concurrency']:>3}{cells}{ratio:>14.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path = RESULTS / "served-runtimes.json"
    json_path.write_text(json.dumps({"duration_s": args.duration, "results": results}, indent=2))
    png_path = RESULTS / "served-runtimes.png"
    plot(results, png_path)
    print(f"\nwrote {json_path} and {png_path}")


if __name__ == "__main__":
    main()
