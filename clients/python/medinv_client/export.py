"""Conversions of detections to other libraries' formats: supervision, COCO results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import supervision

SUPERVISION_MISSING = (
    "to_supervision() needs the 'supervision' package: pip install 'medinv-client[supervision]'"
)


class _Box(Protocol):
    @property
    def label(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def box(self) -> tuple[float, float, float, float]: ...


def to_supervision(
    detections: Sequence[_Box], labels: Sequence[str] | None = None
) -> supervision.Detections:
    """`supervision.Detections` with xyxy boxes, confidences, the labels in
    `data["class_name"]` and class ids: a label's index in `labels` (the model's, e.g.
    `client.models().active.labels`), else in order of first appearance."""
    try:
        import numpy as np
        import supervision as sv
    except ImportError as error:
        raise ImportError(SUPERVISION_MISSING) from error
    if not detections:
        return sv.Detections.empty()
    classes = {label: i for i, label in enumerate(labels)} if labels is not None else {}
    if labels is not None and (unknown := {d.label for d in detections} - set(classes)):
        raise ValueError(f"labels missing from `labels`: {sorted(unknown)}")
    class_ids = [classes.setdefault(d.label, len(classes)) for d in detections]
    return sv.Detections(
        xyxy=np.array([d.box for d in detections], dtype=np.float32),
        confidence=np.array([d.score for d in detections], dtype=np.float32),
        class_id=np.array(class_ids, dtype=int),
        data={"class_name": np.array([d.label for d in detections])},
    )


def coco_results(
    detections: Sequence[_Box], image_id: int, category_ids: Mapping[str, int]
) -> list[dict[str, Any]]:
    """COCO detection results, as `pycocotools.coco.COCO.loadRes` takes them."""
    results = []
    for d in detections:
        x1, y1, x2, y2 = d.box
        results.append(
            {
                "image_id": image_id,
                "category_id": category_ids[d.label],
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "score": d.score,
            }
        )
    return results
