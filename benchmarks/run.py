"""Run the whole benchmark: (a) bare pipeline, (b) Ray Serve end to end (and with HAProxy),
(c) plain FastAPI, on the real workload: 640x480 shelf images and 1280x720 hard camera frames
(held-out generated sets, benchmarks/workloads.py); and (d) the baseline, Ray Serve on the path
of when #14 was filed (`BASELINE`), so that (b) ÷ (d) is measured in the same run.

    python -m benchmarks.run [--duration 10] [--config configs/serve_config.yaml]

All but (d) see the same images and the same model. Prints a table per size with the ratios
(b)/(a), (b)/(c) and (b)/(d), the mAP of the 300-image held-out sets measured through Serve,
the peak resident memory of every Ray process, and writes benchmarks/results/latest.{json,png}.
"""

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from benchmarks.bare import BareResult, run_bare
from benchmarks.cpu import cpu_by_role, tree_cpu_s
from benchmarks.load import WARMUP_S, LoadResult, http_load, ws_load
from benchmarks.memory import MemoryPeak, PeakMemorySampler
from benchmarks.report import Row, format_cpu, format_table, percentiles, save
from benchmarks.workloads import WORKLOADS, HeldOutSet, held_out_set, served_map
from medinv_tools.cluster.local import (
    HAPROXY_ENV,
    LocalCluster,
    free_port,
    free_ports,
    wait_for_http_ok,
    with_http_port,
)
from serve_app.core.demo_model import DEMO_MODEL
from serve_app.core.payloads import ModelRef
from serve_app.core.settings import get_settings
from serve_app.model.manifest import model_dir

CONCURRENCY = (1, 8, 32)
RESULTS = Path(__file__).parent / "results"
# The request path when #14 was filed: the torch demo model, each 480-pixel tile of a camera
# frame a forward, images decoded by the Preprocessor deployment.
BASELINE_MODEL = DEMO_MODEL
BASELINE_PREPROCESS_IN = "preprocessor"


def _bare_in_subprocess(queue: Any, *args: Any) -> None:
    queue.put(run_bare(*args))


BARE_VARIANTS = (  # (label, batch size, intra-op threads, worker threads)
    ("1 loop, 2 thr, batch=1", 1, 2, 1),
    ("1 loop, 2 thr, batch=4", 4, 2, 1),
    ("2 loops, 1 thr, batch=1", 1, 1, 2),
)


def bare_rows(model: ModelRef, workloads: dict[str, list[bytes]], duration: float) -> list[Row]:
    """Each variant in a fresh process, so torch's thread pools do not carry over."""
    rows = []
    directory = model_dir(get_settings().models_root, model)
    context = multiprocessing.get_context("spawn")
    for size, images in workloads.items():
        for label, batch_size, threads, workers in BARE_VARIANTS:
            queue = context.Queue()
            process = context.Process(
                target=_bare_in_subprocess,
                args=(queue, directory, images, batch_size, duration, threads, workers),
            )
            process.start()
            result: BareResult = queue.get()
            process.join()
            p50, p99 = percentiles(result.latencies_ms)
            rows.append(Row("bare", f"{size} {label}", result.images_per_s, p50, p99, 0))
    return rows


# Where the CPU goes is measured at saturation, the last HTTP concurrency.
CPU_ACCOUNTED = CONCURRENCY[-1]
CpuPerImage = dict[str, dict[str, float]]  # size: role: CPU ms per answered image


def load_rows(
    setup: str, base: str, workloads: dict[str, list[bytes]], duration: float, service_pid: int
) -> tuple[list[Row], CpuPerImage]:
    rows = []
    cpu: CpuPerImage = {}
    for size, images in workloads.items():
        results: list[LoadResult] = []
        for concurrency in CONCURRENCY:
            before = tree_cpu_s(service_pid)
            result = asyncio.run(http_load(base, images, concurrency, duration))
            if concurrency == CPU_ACCOUNTED:
                # The warm-up's images are not counted, so its CPU is left out in proportion.
                spent = cpu_by_role(before, tree_cpu_s(service_pid))
                share = result.elapsed_s / (result.elapsed_s + WARMUP_S)
                answered = max(1, result.completed)
                cpu[size] = {r: s * share * 1000 / answered for r, s in spent.items()}
            results.append(result)
        results.append(asyncio.run(ws_load(base, images, 3, duration)))
        for result in results:
            p50, p99 = percentiles(result.latencies_ms)
            errors = sum(result.errors.values())
            rows.append(Row(setup, f"{size} {result.label}", result.throughput, p50, p99, errors))
    return rows, cpu


# The benchmark sends the same few images over and over: measure detections, not the result
# cache, and keep the rate limiter out of the way of the load generator.
BENCH_ENV = {
    "MEDINV_RESULT_CACHE_TTL_S": "0",
    "MEDINV_RATE_LIMIT_REQUESTS_PER_MINUTE": "10000000",
    "MEDINV_RATE_LIMIT_REQUESTS_BURST": "100000",
    "MEDINV_RATE_LIMIT_FRAMES_PER_MINUTE": "10000000",
    "MEDINV_RATE_LIMIT_FRAMES_BURST": "100000",
}


def serve_rows(
    setup: str,
    config_path: Path,
    workloads: dict[str, list[bytes]],
    duration: float,
    env: dict[str, str],
    accuracy_sets: list[HeldOutSet],
) -> tuple[list[Row], MemoryPeak, dict[str, dict[str, float]], CpuPerImage]:
    http_port = free_port()
    run_dir = Path(tempfile.mkdtemp(prefix="medinv-bench-"))
    cluster = LocalCluster(run_dir=run_dir, ports=free_ports())
    config = with_http_port(yaml.safe_load(config_path.read_text()), http_port)
    base = f"http://127.0.0.1:{http_port}"
    pid = cluster.start({**BENCH_ENV, **env})
    try:
        cluster.deploy(config)
        wait_for_http_ok(f"{base}/v1/ready", 180, lambda: cluster.pid() is not None)
        with PeakMemorySampler(pid) as sampler:
            rows, cpu = load_rows(setup, base, workloads, duration, pid)
        accuracy = {held.workload.name: served_map(base, held) for held in accuracy_sets}
        return rows, sampler.peak, accuracy, cpu
    finally:
        cluster.stop()


def baseline_config(config_path: Path, directory: Path) -> Path:
    """The Serve config with the baseline's model and preprocessing placement."""
    config = yaml.safe_load(config_path.read_text())
    application = config["applications"][0]
    detector = next(d for d in application["deployments"] if d["name"] == "Detector")
    detector["user_config"]["model"] = str(BASELINE_MODEL)
    application["args"]["ingress"]["preprocess_in"] = BASELINE_PREPROCESS_IN
    path = directory / "baseline-serve-config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def plain_rows(
    model: ModelRef, workloads: dict[str, list[bytes]], duration: float, threads: int, workers: int
) -> tuple[list[Row], CpuPerImage]:
    port = free_port()
    command = [
        sys.executable, "-m", "benchmarks.plain_server", "--port", str(port),
        "--model", str(model), "--threads", str(threads), "--workers", str(workers),
    ]  # fmt: skip
    server = subprocess.Popen(command, env={**os.environ, **BENCH_ENV})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http_ok(f"{base}/v1/ready", 120, lambda: server.poll() is None)
        return load_rows("plain-fastapi", base, workloads, duration, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _speed(row: Row) -> float:
    return row.throughput


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=Path("configs/serve_config.yaml"))
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--images", type=int, default=16, help="distinct images in the load")
    parser.add_argument("--accuracy-images", type=int, default=300, help="per held-out set")
    args = parser.parse_args()

    serve_config = yaml.safe_load(args.config.read_text())
    application = serve_config["applications"][0]
    detector = next(d for d in application["deployments"] if d["name"] == "Detector")
    model = ModelRef.parse(detector["user_config"]["model"])
    threads = int(application["args"]["detector"]["forward_threads"])
    workers = int(application["args"]["detector"]["forward_workers"])
    data_root = RESULTS / "held-out"
    held_out = [held_out_set(w, args.accuracy_images, data_root) for w in WORKLOADS]
    workloads = {h.workload.name: [data for _, data in h.images[: args.images]] for h in held_out}

    steps = tqdm(total=5, desc="benchmark", unit="setup")
    steps.set_postfix_str("bare pipeline")
    bare = bare_rows(model, workloads, args.duration)
    steps.update()
    steps.set_postfix_str("Ray Serve")
    served, memory, accuracy, cpu_serve = serve_rows(
        "serve", args.config, workloads, args.duration, {}, held_out
    )
    steps.update()
    steps.set_postfix_str("Ray Serve + HAProxy")
    served_haproxy, memory_haproxy, _, cpu_haproxy = serve_rows(
        "serve+haproxy", args.config, workloads, args.duration, HAPROXY_ENV, []
    )
    steps.update()
    steps.set_postfix_str("plain FastAPI")
    plain, cpu_plain = plain_rows(model, workloads, args.duration, threads, workers)
    steps.update()
    steps.set_postfix_str(f"baseline: Ray Serve, {BASELINE_MODEL}")
    with tempfile.TemporaryDirectory(prefix="medinv-bench-baseline-") as scratch:
        baseline, _, _, _ = serve_rows(
            "baseline",
            baseline_config(args.config, Path(scratch)),
            workloads,
            args.duration,
            {},
            [],
        )
    steps.update()
    steps.close()

    rows = [*bare, *served, *served_haproxy, *plain, *baseline]
    plain_by_scenario = {row.scenario: row for row in plain}
    summary: dict[str, float] = {}
    print(
        f"\nmodel {model}, {args.images} held-out JPEGs per size, {args.duration:.0f} s a scenario"
    )
    for size in workloads:
        of_size = [row for row in rows if row.scenario.startswith(f"{size} ")]
        size_bare = [row for row in bare if row in of_size]
        best_bare = max(size_bare, key=_speed)
        print(f"\n{size} (÷ bare: over {best_bare.scenario})")
        print(format_table(of_size, best_bare, plain_by_scenario))
        bare_b1 = next(r for r in size_bare if r.scenario.endswith("1 loop, 2 thr, batch=1"))
        for setup, served_rows, peak in (
            ("serve", served, memory),
            ("serve+haproxy", served_haproxy, memory_haproxy),
        ):
            mine = [r for r in served_rows if r in of_size]
            saturated = max((r for r in mine if " http " in r.scenario), key=_speed)
            stream = next(r for r in mine if " ws " in r.scenario)
            serve_c1 = next(r for r in mine if r.scenario.endswith("http c=1"))
            then = max((r for r in baseline if r in of_size and " http " in r.scenario), key=_speed)
            figures = {
                "saturated_img_per_s": saturated.throughput,
                "saturated_over_baseline": saturated.throughput / then.throughput,
                "saturated_over_best_bare": saturated.throughput / best_bare.throughput,
                "stream_over_best_bare": stream.throughput / best_bare.throughput,
                "c1_p50_minus_bare_b1_p50_ms": serve_c1.p50_ms - bare_b1.p50_ms,
                "peak_pss_gib": peak.pss_bytes / 2**30,
            }
            print(f"  {setup}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
            summary |= {f"{size}.{setup}.{k}": v for k, v in figures.items()}
    cpu = {"serve": cpu_serve, "serve+haproxy": cpu_haproxy, "plain-fastapi": cpu_plain}
    print(f"\nCPU ms per image at http c={CPU_ACCOUNTED}, by process (both cores: 2000 ms/s):")
    print(format_cpu(cpu))
    summary |= {
        f"{size}.{setup}.cpu_ms_per_image.{role}": ms
        for setup, by_size in cpu.items()
        for size, by_role in by_size.items()
        for role, ms in by_role.items()
    }
    print("\naccuracy through Serve (held-out sets):")
    for size, figures in accuracy.items():
        print(
            f"  {size}: {figures['images']:.0f} images, mAP@0.5 {figures['map50']:.3f}, "
            f"mAP@[.5:.95] {figures['map']:.3f}"
        )
        summary |= {f"{size}.served.{k}": v for k, v in figures.items()}
    print(
        f"\nbaseline: Ray Serve with {BASELINE_MODEL}, decoded in the {BASELINE_PREPROCESS_IN}"
        "\ntargets: served ÷ baseline ≥ 4 (1280x720) and ≥ 1.5 (640x480) at saturation, "
        "served ÷ bare ≥ 0.85, c=1 ≤ +10 ms above bare"
    )
    extra: dict[str, object] = {
        "model": str(model),
        "baseline_model": str(BASELINE_MODEL),
        "summary": summary,
    }
    json_path, png_path = save(rows, extra, RESULTS)
    print(f"\nwrote {json_path} and {png_path}")


if __name__ == "__main__":
    main()
