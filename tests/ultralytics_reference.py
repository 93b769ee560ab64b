"""Ultralytics' own predictions for its export of a YOLOv8n (tests/fixtures/ultralytics), and
the agreement check the tests hold served boxes to. Ultralytics itself is never imported."""

import json
from pathlib import Path
from typing import Any

from serve_app.core.payloads import Detection

FIXTURE = Path(__file__).parent / "fixtures" / "ultralytics"
REFERENCE: dict[str, Any] = json.loads((FIXTURE / "reference.json").read_text())
MIN_IOU = 0.9
SCORE_TOLERANCE = 0.02


def iou(a: tuple[float, ...], b: list[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def assert_agrees_with_ultralytics(image: str, served: list[Detection]) -> None:
    """Every reference box has a served one of its label at IoU >= 0.9 and a score within
    0.02, and nothing else is served."""
    unmatched = list(served)
    for want in REFERENCE["images"][image]:
        candidates = [d for d in unmatched if d.label == want["label"]]
        best = max(candidates, key=lambda d: iou(d.box, want["box"]), default=None)
        assert best is not None, f"no {want['label']} served for {want}"
        assert iou(best.box, want["box"]) >= MIN_IOU, (best, want)
        assert abs(best.score - want["score"]) <= SCORE_TOLERANCE, (best, want)
        unmatched.remove(best)
    assert not unmatched, f"served boxes Ultralytics did not report: {unmatched}"
