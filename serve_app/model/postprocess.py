"""Turn raw model outputs into API detections. Pure NumPy: no torch, no Ray."""

from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from serve_app.core.payloads import (
    Detection,
    DetectionResult,
    DetectParams,
    PreprocessedImage,
)
from serve_app.model.manifest import ModelManifest
from serve_app.model.nms import nms_per_class
from serve_app.model.tiling import drop_truncated

# Tiles overlap: an item seen whole by two tiles is one detection.
_TILE_MERGE_IOU = 0.5


@dataclass(frozen=True)
class RawDetections:
    """One model input's output in its pixel coordinates (once merged: the image's)."""

    boxes: npt.NDArray[np.float32]  # N x 4, x1 y1 x2 y2
    scores: npt.NDArray[np.float32]  # N
    class_ids: npt.NDArray[np.int64]  # N, 1-based (0 is background)


def merge_views(raws: list[RawDetections], image: PreprocessedImage) -> RawDetections:
    """Map every view's boxes to original pixels (undoing the letterbox); with tiles, drop cut
    boxes and duplicates."""
    boxes, scores, class_ids = [], [], []
    for raw, view in zip(raws, image.views, strict=True):
        gain_x, gain_y = view.gain
        pad_x, pad_y = view.pad
        pad = np.array([pad_x, pad_y, pad_x, pad_y], dtype=np.float64)
        gain = np.array([gain_x, gain_y, gain_x, gain_y], dtype=np.float64)
        in_window = (raw.boxes.astype(np.float64) - pad) / gain
        keep = drop_truncated(in_window, view.window)
        offset = np.array([view.window.x, view.window.y, view.window.x, view.window.y])
        boxes.append(in_window[keep] + offset)
        scores.append(raw.scores[keep])
        class_ids.append(raw.class_ids[keep])
    merged = RawDetections(
        boxes=np.concatenate(boxes).astype(np.float32).reshape(-1, 4),
        scores=np.concatenate(scores).astype(np.float32),
        class_ids=np.concatenate(class_ids).astype(np.int64),
    )
    if len(image.views) == 1:
        return merged
    best = nms_per_class(
        merged.boxes.astype(np.float64), merged.scores, merged.class_ids, _TILE_MERGE_IOU
    )
    return RawDetections(merged.boxes[best], merged.scores[best], merged.class_ids[best])


def to_detections(
    raw: RawDetections,
    image: PreprocessedImage,
    labels: list[str],
    params: DetectParams,
    default_min_score: float,
) -> list[Detection]:
    """Filter by score, keep the best `max_detections`, clip to the image; `raw` is merged."""
    min_score = default_min_score if params.min_score is None else params.min_score
    keep = np.flatnonzero(raw.scores >= min_score)
    keep = keep[np.argsort(-raw.scores[keep], kind="stable")][: params.max_detections]
    boxes = raw.boxes[keep].astype(np.float64)
    np.clip(boxes[:, 0::2], 0.0, float(image.original_width), out=boxes[:, 0::2])
    np.clip(boxes[:, 1::2], 0.0, float(image.original_height), out=boxes[:, 1::2])
    return [
        Detection(
            label=labels[int(class_id) - 1],
            score=round(float(score), 4),
            box=(round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1)),
        )
        for (x1, y1, x2, y2), score, class_id in zip(
            boxes.tolist(), raw.scores[keep], raw.class_ids[keep], strict=True
        )
    ]


def count_labels(detections: list[Detection]) -> dict[str, int]:
    return dict(sorted(Counter(d.label for d in detections).items()))


def build_result(
    raws: list[RawDetections],
    image: PreprocessedImage,
    manifest: ModelManifest,
    params: DetectParams,
    inference_ms: float,
) -> DetectionResult:
    """The API result from the raw outputs of every view of `image`."""
    merged = merge_views(raws, image)
    detections = to_detections(merged, image, manifest.labels, params, manifest.score_threshold)
    return DetectionResult(
        model=manifest.ref,
        image_width=image.original_width,
        image_height=image.original_height,
        detections=detections,
        counts=count_labels(detections),
        preprocess_ms=image.preprocess_ms,
        inference_ms=inference_ms,
    )
