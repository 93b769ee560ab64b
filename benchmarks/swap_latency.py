"""Latency of ongoing detections while the active model is swapped (PUT /v1/models/active).

    python -m benchmarks.swap_latency [--swaps 8] [--every 5] [--concurrency 4]

A local Ray cluster serves configs/serve_config.yaml with the Detector's `forward_workers` and
`forward_threads` as every Kubernetes environment has them (1 and 1). A closed-loop load of
640x480 shelf JPEGs runs while the active model is swapped (PUT /v1/models/active) back and
forth between two registered versions every `every` seconds. Prints p50/p99 of the detections
in flight during a swap against all the others (the steady state of the same run) and their
ratio; writes benchmarks/results/swap-latency.{json,png}.
"""

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from benchmarks.images import shelf_jpegs
from benchmarks.load import load_client
from benchmarks.report import percentiles
from benchmarks.run import BENCH_ENV
from medinv_client import ApiError, AsyncClient, TransportError
from medinv_tools.cluster.local import (
    LocalCluster,
    free_port,
    free_ports,
    wait_for_http_ok,
    with_http_port,
)
from medinv_tools.paths import MODELS_ROOT, SERVE_CONFIG
from serve_app.core.demo_model import DEFAULT_MODEL
from serve_app.core.payloads import ModelRef
from serve_app.model.manifest import model_dir, read_manifest, write_manifest

RESULTS = Path(__file__).parent / "results"
SWAP_VERSION = ModelRef(DEFAULT_MODEL.name, f"{DEFAULT_MODEL.version}-swap")


@dataclass
class Timeline:
    started_at: float = field(default_factory=time.perf_counter)
    requests: list[tuple[float, float, int]] = field(default_factory=list)  # (t, ms, status)
    answered_by: str = ""  # the version of the latest detection answered
    warmup_s: float = 0.0
    swaps: list[tuple[float, float, str]] = field(default_factory=list)  # (asked, active, to)


def models_root_with_two_versions(root: Path) -> Path:
    """The served model and a copy of it under another version: a swap loads a real model."""
    source = model_dir(MODELS_ROOT, DEFAULT_MODEL)
    shutil.copytree(source, model_dir(root, DEFAULT_MODEL))
    copy = model_dir(root, SWAP_VERSION)
    shutil.copytree(source, copy)
    renamed = read_manifest(source).model_copy(update={"version": SWAP_VERSION.version})
    write_manifest(copy, renamed)
    return root


def admin_key(database_url: str) -> str:
    medinv = str(Path(sys.executable).with_name("medinv"))
    subprocess.run([medinv, "migrate", "--database-url", database_url], check=True)
    created = subprocess.run(
        [
            medinv,
            "keys",
            "create",
            "--name",
            "swap-bench",
            "--scopes",
            "admin",
            "--database-url",
            database_url,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"mik_\S+", created.stdout)
    if match is None:
        raise RuntimeError(f"no key in the output of medinv keys create: {created.stdout}")
    return match.group(0)


async def load(
    client: AsyncClient,
    images: list[bytes],
    concurrency: int,
    stop_at: float,
    timeline: Timeline,
) -> None:
    async def worker(index: int) -> None:
        sent = index
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            status = 200
            try:
                result = await client.detect(images[sent % len(images)])
                timeline.answered_by = result.model.version
            except ApiError as error:
                status = error.status or 0
            except TransportError:
                status = 0
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            timeline.requests.append((started - timeline.started_at, elapsed_ms, status))
            sent += concurrency

    await asyncio.gather(*(worker(i) for i in range(concurrency)))


async def swap(admin: AsyncClient, to: ModelRef, timeline: Timeline) -> None:
    await admin.activate_model(str(to))  # 202: replicas are switching; an error raises
    # Until detections come from the new model (asking GET /v1/models would add load).
    while timeline.answered_by != to.version:
        await asyncio.sleep(0.01)


async def measure(
    base: str, key: str, images: list[bytes], concurrency: int, swaps: int, every_s: float
) -> Timeline:
    """Load throughout; a swap every `every_s` seconds, so that steady and swapping periods
    interleave and drifts of the machine's speed fall on both alike."""
    timeline = Timeline()
    warmup_s = 3.0
    # The detections without a key, as before the swaps needed one; the swaps with it.
    async with load_client(base, concurrency) as client, load_client(base, 1, key) as admin:
        first_at = time.perf_counter() + warmup_s + every_s
        stop_at = first_at + swaps * every_s
        running = asyncio.create_task(load(client, images, concurrency, stop_at, timeline))
        targets = [SWAP_VERSION if n % 2 == 0 else DEFAULT_MODEL for n in range(swaps)]
        for number, target in enumerate(tqdm(targets, desc="swaps", unit="swap")):
            await asyncio.sleep(max(0.0, first_at + number * every_s - time.perf_counter()))
            asked = time.perf_counter() - timeline.started_at
            await swap(admin, target, timeline)
            timeline.swaps.append((asked, time.perf_counter() - timeline.started_at, str(target)))
        await running
    timeline.warmup_s = warmup_s
    return timeline


def summarise(timeline: Timeline) -> dict[str, Any]:
    """Detections in flight at any moment of a swap (PUT until the new model answers) against
    all the others after the warm-up."""
    steady: list[float] = []
    swapping: list[float] = []
    for started, ms, status in timeline.requests:
        if status != 200 or started < timeline.warmup_s:
            continue
        ended = started + ms / 1000.0
        overlaps = any(started <= active and ended >= asked for asked, active, _ in timeline.swaps)
        (swapping if overlaps else steady).append(ms)
    errors = sum(1 for _, _, status in timeline.requests if status != 200)
    steady_p50, steady_p99 = percentiles(steady)
    swap_p50, swap_p99 = percentiles(swapping)
    return {
        "steady": {"requests": len(steady), "p50_ms": steady_p50, "p99_ms": steady_p99},
        "swapping": {"requests": len(swapping), "p50_ms": swap_p50, "p99_ms": swap_p99},
        "p99_ratio": swap_p99 / steady_p99,
        "p50_ratio": swap_p50 / steady_p50,
        "errors": errors,
        "swap_seconds": [active - asked for asked, active, _ in timeline.swaps],
    }


def plot(timeline: Timeline, summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 4))
    times = [t for t, _, _ in timeline.requests]
    latencies = [ms for _, ms, _ in timeline.requests]
    axes.scatter(times, latencies, s=4, color="tab:blue", label="detection latency")
    for asked, active, target in timeline.swaps:
        axes.axvspan(asked, active, color="tab:orange", alpha=0.3)
        axes.text(asked, max(latencies), f"→ {target.split(':')[1]}", fontsize=7, va="top")
    axes.set_xlabel("seconds since start")
    axes.set_ylabel("ms")
    axes.set_title(
        f"POST /v1/detect during model swaps (shaded: PUT until active); p99 steady "
        f"{summary['steady']['p99_ms']:.0f} ms, swapping {summary['swapping']['p99_ms']:.0f} ms"
        f" (x{summary['p99_ratio']:.2f})",
        fontsize=9,
    )
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--swaps", type=int, default=8)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between swaps")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--forward-workers", type=int, default=1)
    parser.add_argument("--forward-threads", type=int, default=1)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="medinv-swap-bench-"))
    root = models_root_with_two_versions(work / "models")
    database_url = f"sqlite+aiosqlite:///{work / 'inventory.db'}"
    key = admin_key(database_url)
    config = with_http_port(yaml.safe_load(SERVE_CONFIG.read_text()), free_port())
    detector = config["applications"][0]["args"]["detector"]
    detector.update(forward_workers=args.forward_workers, forward_threads=args.forward_threads)
    base = f"http://127.0.0.1:{config['http_options']['port']}"
    cluster = LocalCluster(run_dir=work / "run", ports=free_ports())
    cluster.start(
        {
            **BENCH_ENV,
            "MEDINV_MODELS_ROOT": str(root),
            "MEDINV_DATA_DIR": str(work),
            "MEDINV_DATABASE_URL": database_url,
        }
    )
    try:
        cluster.deploy(config)
        wait_for_http_ok(f"{base}/v1/ready", 180, lambda: cluster.pid() is not None)
        images = shelf_jpegs(8, size=(640, 480))
        timeline = asyncio.run(measure(base, key, images, args.concurrency, args.swaps, args.every))
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)

    summary = summarise(timeline)
    summary["setup"] = {
        "forward_workers": args.forward_workers,
        "forward_threads": args.forward_threads,
        "concurrency": args.concurrency,
        "swaps": args.swaps,
        "every_s": args.every,
        "images": "8 JPEGs 640x480",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "swap-latency.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(timeline, summary, RESULTS / "swap-latency.png")
    steady, swapping = summary["steady"], summary["swapping"]
    print(f"\nforward_workers={args.forward_workers}, concurrency {args.concurrency}, 640x480")
    print(f"{'phase':<10}{'requests':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for name, phase in (("steady", steady), ("swapping", swapping)):
        print(f"{name:<10}{phase['requests']:>10}{phase['p50_ms']:>9.1f}{phase['p99_ms']:>9.1f}")
    print(f"p99 swapping ÷ steady: {summary['p99_ratio']:.2f} (p50: {summary['p50_ratio']:.2f})")
    swaps = ", ".join(f"{s:.1f}" for s in summary["swap_seconds"])
    print(f"errors: {summary['errors']}; seconds from PUT to active: {swaps}")
    print(f"wrote {RESULTS / 'swap-latency.json'} and {RESULTS / 'swap-latency.png'}")


if __name__ == "__main__":
    main()
