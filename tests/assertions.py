"""Checks of API v1 payloads that every transport must satisfy."""

from collections import Counter
from typing import Any


def assert_detection_response(
    body: dict[str, Any], width: int, height: int, recorded: str | None = None
) -> None:
    assert set(body) == {
        "request_id",
        "model",
        "image",
        "detections",
        "counts",
        "timing_ms",
        "recorded",
        "zones",
    }
    assert body["recorded"] == recorded
    assert body["zones"] is None  # only at a location that has zones
    assert body["image"] == {"width": width, "height": height}
    assert set(body["model"]) == {"name", "version"}
    assert set(body["timing_ms"]) == {"preprocess", "inference", "total"}
    # A result-cache hit (X-Cache: hit) did no preprocessing or inference: both are 0.
    assert body["timing_ms"]["total"] >= body["timing_ms"]["inference"] >= 0
    assert_detections(body["detections"], body["counts"], width, height)


def assert_detections(
    detections: list[dict[str, Any]], counts: dict[str, int], width: int, height: int
) -> None:
    assert detections, "the demo model finds boxes on a shelf image"
    for detection in detections:
        x1, y1, x2, y2 = detection["box"]
        assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height, detection
        assert 0.0 <= detection["score"] <= 1.0
    scores = [d["score"] for d in detections]
    assert scores == sorted(scores, reverse=True)
    assert counts == dict(Counter(d["label"] for d in detections))


def assert_error(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["request_id"]


def box_iou(a: list[float], b: list[float]) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_items(
    detections: list[dict[str, Any]], items: list[dict[str, Any]], iou: float = 0.5
) -> tuple[int, int, int]:
    """(matched, missed, extra): greedy one-to-one matching of same-label boxes at `iou`."""
    used = _matched_detections(detections, items, iou)
    return len(used), len(items) - len(used), len(detections) - len(used)


def extra_detections(
    detections: list[dict[str, Any]], items: list[dict[str, Any]], iou: float = 0.5
) -> list[dict[str, Any]]:
    """The detections that `match_items` matches to no item."""
    used = _matched_detections(detections, items, iou)
    return [d for index, d in enumerate(detections) if index not in used]


def _matched_detections(
    detections: list[dict[str, Any]], items: list[dict[str, Any]], iou: float
) -> set[int]:
    used: set[int] = set()
    for item in items:
        for index, detection in enumerate(detections):
            if (
                index not in used
                and detection["label"] == item["label"]
                and box_iou(detection["box"], item["box"]) >= iou
            ):
                used.add(index)
                break
    return used
