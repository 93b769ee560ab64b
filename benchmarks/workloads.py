"""The benchmark's workloads: held-out generated sets, made by `medinv-train generate` (the
benchmark never imports the training code), and their mAP through a served HTTP API.

- `640x480`: standard shelf images (the held-out set the shipped model's manifest reports);
- `1280x720`: hard camera frames (small, overlapping items, clutter, poor light), which the
  shipped model cuts into 8 tiles each.
"""

import asyncio
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.load import load_client
from medinv_tools.coco_map import coco_map

ANNOTATIONS = "annotations.json"


@dataclass(frozen=True)
class Workload:
    name: str  # the image size, as the table shows it
    split: str
    base_seed: int  # the held-out set of the model's manifest figures


WORKLOADS = (Workload("640x480", "standard", 1001), Workload("1280x720", "hard", 1002))


@dataclass(frozen=True)
class HeldOutSet:
    workload: Workload
    directory: Path
    images: list[tuple[int, bytes]]  # COCO image id, JPEG bytes
    category_ids: dict[str, int]  # label: COCO category id


def held_out_set(workload: Workload, count: int, root: Path) -> HeldOutSet:
    directory = root / workload.name
    if not (directory / ANNOTATIONS).exists():
        command = [
            sys.executable, "-m", "training", "generate", "--split", workload.split,
            "--count", str(count), "--seed", str(workload.base_seed), "--out", str(directory),
        ]  # fmt: skip
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    coco = json.loads((directory / ANNOTATIONS).read_text())
    images = [(i["id"], (directory / i["file_name"]).read_bytes()) for i in coco["images"]]
    categories = {c["name"]: c["id"] for c in coco["categories"]}
    return HeldOutSet(workload, directory, images[:count], categories)


async def _served_results(
    base: str, held_out: HeldOutSet, concurrency: int
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    queue = list(held_out.images)
    progress = tqdm(total=len(queue), desc=f"mAP {held_out.workload.name}", unit="img")
    async with load_client(base, concurrency) as client:

        async def worker() -> None:
            while queue:
                image_id, data = queue.pop()
                # What the training evaluation asks: every detection, for the PR curve.
                answer = await client.detect(data, min_score=0.0, max_detections=100)
                for d in answer.detections:
                    x1, y1, x2, y2 = d.box
                    results.append(
                        {
                            "image_id": image_id,
                            "category_id": held_out.category_ids[d.label],
                            "bbox": [x1, y1, x2 - x1, y2 - y1],
                            "score": d.score,
                        }
                    )
                progress.update()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    progress.close()
    return results


def served_map(base: str, held_out: HeldOutSet, concurrency: int = 4) -> dict[str, float]:
    """mAP@0.5 and mAP@[.5:.95] of what the service at `base` answers for the set."""
    results = asyncio.run(_served_results(base, held_out, concurrency))
    ids = [image_id for image_id, _ in held_out.images]
    stats, _ = coco_map(held_out.directory / ANNOTATIONS, ids, results)
    return {"images": len(ids), "map50": stats[1], "map": stats[0]}
