"""Whether two runtimes' detections are the same, within the tolerances of float arithmetic."""

import numpy as np

from serve_app.core.payloads import Detection

BOX_TOLERANCE_PX = 1.0
SCORE_TOLERANCE = 0.01


Box = tuple[float, float, float, float]


def iou(a: Box, b: Box) -> float:
    ax1, ay1, ax2, ay2 = a
    bx1, by1, bx2, by2 = b
    w, h = min(ax2, bx2) - max(ax1, bx1), min(ay2, by2) - max(ay1, by1)
    inter = max(0.0, w) * max(0.0, h)
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union if union > 0 else 0.0


def assert_equivalent(
    torch_dets: list[Detection], onnx_dets: list[Detection]
) -> tuple[float, float]:
    """Same count, same labels in the same order (positions may swap only where scores tie),
    each torch detection matched (same label, greedy by IoU) by one within the tolerances.
    Returns the largest box and score differences."""
    assert len(onnx_dets) == len(torch_dets)
    worst = (0.0, 0.0)
    for t, o in zip(torch_dets, onnx_dets, strict=True):
        if t.label != o.label:
            assert abs(t.score - o.score) <= SCORE_TOLERANCE, (t, o)
    unmatched = list(onnx_dets)
    for t in torch_dets:
        candidates = [o for o in unmatched if o.label == t.label]
        assert candidates, f"no ONNX detection for {t}"
        best = max(candidates, key=lambda o: iou(t.box, o.box))
        unmatched.remove(best)
        box_diff = float(np.abs(np.subtract(t.box, best.box)).max())
        assert box_diff <= BOX_TOLERANCE_PX, (t, best)
        assert abs(t.score - best.score) <= SCORE_TOLERANCE, (t, best)
        worst = (max(worst[0], box_diff), max(worst[1], abs(t.score - best.score)))
    return worst
