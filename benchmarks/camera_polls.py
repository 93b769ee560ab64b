"""What one camera poll costs, and how many cameras one CPU replica sustains at an interval.

    python -m benchmarks.camera_polls [--cameras 20] [--seconds 30] [--frames 5] [--interval 300]

Two costs, each measured as CPU seconds of this process (`time.process_time`) per poll:
- the poller's own: a CameraPoller (the deployment's code) polls `--cameras` snapshot cameras
  of a local camera server (another process, so its CPU is not counted) as fast as they
  answer, taking `--frames` 1280x720 JPEGs (examples/camera-frame.jpg) each, and hands them
  to a recorder that keeps nothing;
- the detections': the ingress's record path with the in-process pipeline (the served ONNX
  model) detecting the poll's frames and taking their median counts, nothing recorded.
Cameras per CPU at `--interval` seconds = interval / CPU seconds per poll. Writes
benchmarks/results/camera-polls.json.
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tqdm import tqdm

from medinv_tools.cluster.local import free_port, wait_for_http_ok
from medinv_tools.local_pipeline import LocalPipeline
from medinv_tools.paths import MODELS_ROOT, REPO_ROOT
from serve_app.cameras.config import CameraConfig
from serve_app.cameras.credentials import CameraCredentials
from serve_app.cameras.poller import CameraPoller, PollerTimings
from serve_app.cameras.sources import FrameFetcher
from serve_app.core.demo_model import DEFAULT_MODEL
from serve_app.core.payloads import DetectParams
from serve_app.core.settings import Settings
from serve_app.inventory.smoothing import median_counts
from serve_app.model.imaging import ImageLimits
from serve_app.model.manifest import model_dir

FRAME = REPO_ROOT / "examples" / "camera-frame.jpg"
RESULTS = Path(__file__).parent / "results"


async def poller_cpu_per_poll(
    url: str, cameras: int, frames: int, seconds: float
) -> dict[str, float]:
    polls = received = 0

    async def record(camera: CameraConfig, taken: list[bytes], slot: int) -> str:
        nonlocal polls, received
        polls += 1
        received += sum(len(frame) for frame in taken)
        return "written"

    configs = [
        CameraConfig(n, n, "snapshot", f"{url}/snapshot.jpg", None, 0.001, frames, 0.0)
        for n in range(1, cameras + 1)
    ]

    async def load() -> list[CameraConfig]:
        return configs

    fetcher = FrameFetcher(CameraCredentials.load(Settings()), max_frame_bytes=2**23)
    timings = PollerTimings(refresh_s=3600, poll_timeout_s=30, backoff_base_s=1, backoff_max_s=1)
    poller = CameraPoller(load, fetcher, record, timings)
    cpu, wall = time.process_time(), time.perf_counter()
    poller.start()
    for _ in tqdm(range(int(seconds)), desc="poller", unit="s"):
        await asyncio.sleep(1)
    await poller.close()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "polls": polls,
        "cpu_s_per_poll": cpu / polls,
        "polls_per_s": polls / wall,
        "mb_per_poll": received / polls / 1e6,
    }


async def detection_cpu_per_poll(frames: int, polls: int) -> dict[str, float]:
    pipeline = LocalPipeline(
        model_dir(MODELS_ROOT, DEFAULT_MODEL), MODELS_ROOT, ImageLimits(), "cpu", workers=2
    )
    image = FRAME.read_bytes()
    await pipeline.detect(image, DetectParams())  # warm-up: the first forward allocates
    per_poll = []
    for _ in tqdm(range(polls), desc="detections", unit="poll"):
        cpu = time.process_time()
        results = await asyncio.gather(
            *(pipeline.detect(image, DetectParams()) for _ in range(frames))
        )
        median_counts(result.counts for result in results)
        per_poll.append(time.process_time() - cpu)
    return {"polls": polls, "cpu_s_per_poll": statistics.median(per_poll)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--interval", type=float, default=300)
    parser.add_argument("--detection-polls", type=int, default=20)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "medinv_tools.camera_server", str(FRAME), "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http_ok(f"{url}/snapshot.jpg", 30, lambda: server.poll() is None)
        poller = asyncio.run(poller_cpu_per_poll(url, args.cameras, args.frames, args.seconds))
    finally:
        server.terminate()
        server.wait(10)
    detections = asyncio.run(detection_cpu_per_poll(args.frames, args.detection_polls))
    figures = {
        "frames_per_poll": args.frames,
        "frame": f"{FRAME.name} (1280x720)",
        "model": str(DEFAULT_MODEL),
        "interval_s": args.interval,
        "poller": poller | {"cameras_per_cpu": args.interval / poller["cpu_s_per_poll"]},
        "detections": detections
        | {"cameras_per_cpu": args.interval / detections["cpu_s_per_poll"]},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "camera-polls.json").write_text(json.dumps(figures, indent=2) + "\n")
    sustained = f"cameras/CPU at {args.interval:g} s"
    print(f"\n{'stage':<12}{'CPU ms/poll':>14}{sustained:>26}")
    for stage, cost in (("poller", poller), ("detections", detections)):
        per_cpu = args.interval / cost["cpu_s_per_poll"]
        print(f"{stage:<12}{cost['cpu_s_per_poll'] * 1000:>14.1f}{per_cpu:>26.0f}")
    print(
        f"({poller['polls']:.0f} polls of {args.cameras} cameras, {poller['polls_per_s']:.1f}/s,"
        f" {poller['mb_per_poll']:.2f} MB each)"
    )


if __name__ == "__main__":
    main()
