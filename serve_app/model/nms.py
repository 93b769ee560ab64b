"""Non-maximum suppression in NumPy, for model outputs and for merging tiles; merge-NMS."""

import numpy as np
import numpy.typing as npt


def nms_per_class(
    boxes: npt.NDArray[np.float64],
    scores: npt.NDArray[np.float32],
    class_ids: npt.NDArray[np.int64],
    iou_threshold: float,
    limit: int | None = None,
) -> npt.NDArray[np.int64]:
    """Indices to keep, best score first: greedy NMS within each class, as torchvision's
    `batched_nms` (a box goes when its IoU with a better one of its class exceeds the
    threshold). `limit` stops after that many: the first ones do not depend on the rest."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    suppressed = np.zeros(len(boxes), dtype=bool)
    keep: list[int] = []
    for position, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(int(i))
        if len(keep) == limit:
            break
        rest = order[position + 1 :]
        rest = rest[(class_ids[rest] == class_ids[i]) & ~suppressed[rest]]
        if rest.size == 0:
            continue
        x1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        suppressed[rest[iou > iou_threshold]] = True
    return np.asarray(keep, dtype=np.int64)


def merge_kept_boxes(
    boxes: npt.NDArray[np.float64],
    scores: npt.NDArray[np.float32],
    class_ids: npt.NDArray[np.int64],
    keep: npt.NDArray[np.int64],
    iou_threshold: float,
) -> npt.NDArray[np.float64]:
    """Merge-NMS: each kept box moved to the score-weighted mean of the candidates of its class
    (itself included) whose IoU with it exceeds the threshold. Overlapping candidates are
    the model's other guesses at one item; their mean is a tighter box than the best alone,
    which is what mAP@[.5:.95] rewards (docs/models.md#merge-nms)."""
    merged = boxes[keep].copy()
    for class_id in np.unique(class_ids[keep]):
        kept = np.flatnonzero(class_ids[keep] == class_id)
        candidates = np.flatnonzero(class_ids == class_id)
        iou = _iou_matrix(merged[kept], boxes[candidates])
        weights = np.where(iou > iou_threshold, scores[candidates].astype(np.float64), 0.0)
        own_column = np.searchsorted(candidates, keep[kept])
        weights[np.arange(len(kept)), own_column] = scores[keep[kept]]  # even with no area
        merged[kept] = weights @ boxes[candidates] / weights.sum(axis=1, keepdims=True)
    return merged


def _iou_matrix(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    iou: npt.NDArray[np.float64] = inter / np.maximum(
        area_a[:, None] + area_b[None, :] - inter, 1e-9
    )
    return iou
