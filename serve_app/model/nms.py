"""Non-maximum suppression in NumPy, for model outputs and for merging tiles."""

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
