"""COCO mAP of detection results against a COCO directory's annotations (pycocotools), for
the training evaluation (in process) and the benchmark (through the served path) alike."""

import contextlib
import io
from pathlib import Path
from typing import Any

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def coco_map(
    annotations: Path, image_ids: list[int], results: list[dict[str, Any]]
) -> tuple[list[float], dict[int, float]]:
    """COCOeval's 12 summary stats (stats[0] mAP@[.5:.95], stats[1] mAP@0.5) and AP@[.5:.95]
    per category id. `results` are COCO results: image_id, category_id, bbox (x, y, w, h),
    score."""
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints as it goes
        truth = COCO(str(annotations))
        found = truth.loadRes(results) if results else COCO()
        evaluator = COCOeval(truth, found, iouType="bbox")
        evaluator.params.imgIds = image_ids
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    # precision: [IoU thresholds, recall points, categories, area ranges, max dets]
    precision = evaluator.eval["precision"][:, :, :, 0, -1]
    per_class = {}
    for k, category_id in enumerate(evaluator.params.catIds):
        values = precision[:, :, k]
        values = values[values > -1]
        per_class[int(category_id)] = float(values.mean()) if values.size else float("nan")
    return [float(v) for v in evaluator.stats], per_class
