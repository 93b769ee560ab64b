"""Output decoders for the ONNX layouts detectors ship in. Pure NumPy.

Each decoder turns the outputs of one session run (batch first) into one `RawDetections` per
batch item: boxes x1 y1 x2 y2 in model-input pixels, class ids 1-based. Undoing the
letterbox or the stretch is the views' job (`postprocess.merge_views`), as for every model.
What each layout looks like, and where the rules come from: docs/models.md#decoders.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from serve_app.model.manifest import Decoder
from serve_app.model.nms import merge_kept_boxes, nms_per_class
from serve_app.model.postprocess import RawDetections

Array = npt.NDArray[np.floating]

# Ultralytics' `non_max_suppression` keeps at most this many candidates, best first.
MAX_NMS_CANDIDATES = 30_000
# The IoU above which class-aware NMS drops a box, per layout, as their own predictors use:
# Ultralytics `predict` 0.7, YOLOv5 `detect.py` 0.45, torchvision's SSDlite 0.55.
DEFAULT_NMS_IOU: dict[Decoder, float | None] = {
    "yolo": 0.7,
    "yolov5": 0.45,
    "yolo-e2e": None,
    "rtdetr": None,
    "ssd": 0.55,
}
# torchvision's SSD keeps the best 300 candidates of each class before NMS.
SSD_TOPK_PER_CLASS = 300


@dataclass(frozen=True)
class DecodeParams:
    input_size: tuple[int, int]  # width, height of the input the outputs are for
    num_classes: int
    score_floor: float  # candidates scoring at or below this are never reported
    max_detections: int
    nms_iou: float | None
    box_merge_iou: float | None = None  # merge-NMS (nms.merge_kept_boxes); needs nms_iou


DecodeFn = Callable[[Sequence[Array], DecodeParams], list[RawDetections]]


def decode_yolo(outputs: Sequence[Array], params: DecodeParams) -> list[RawDetections]:
    """Ultralytics YOLOv8/YOLO11 `[B, 4+nc, N]`: cx cy w h in input pixels, then class scores
    (sigmoid applied, no objectness)."""
    [predictions] = outputs
    decoded = []
    for item in predictions:
        rows = item.T
        class_scores = rows[:, 4:]
        class_index, scores = _best_class(class_scores)
        keep = scores > params.score_floor
        boxes = _cxcywh_to_xyxy(rows[keep, :4])
        decoded.append(_suppress(boxes, scores[keep], class_index[keep] + 1, params))
    return decoded


def decode_yolov5(outputs: Sequence[Array], params: DecodeParams) -> list[RawDetections]:
    """YOLOv5 `[B, N, 5+nc]`: cx cy w h in input pixels, objectness, class scores; a box
    scores objectness x class score."""
    [predictions] = outputs
    decoded = []
    for rows in predictions:
        rows = rows[rows[:, 4] > params.score_floor]
        class_scores = rows[:, 5:] * rows[:, 4:5]
        class_index, scores = _best_class(class_scores)
        keep = scores > params.score_floor
        boxes = _cxcywh_to_xyxy(rows[keep, :4])
        decoded.append(_suppress(boxes, scores[keep], class_index[keep] + 1, params))
    return decoded


def decode_yolo_e2e(outputs: Sequence[Array], params: DecodeParams) -> list[RawDetections]:
    """End-to-end exports (`nms=True`, YOLO26, YOLOv10) `[B, K, 6]`: x1 y1 x2 y2 in input
    pixels, score, 0-based class id; NMS already done, unused rows are zeros."""
    [predictions] = outputs
    decoded = []
    for rows in predictions:
        rows = rows[rows[:, 4] > params.score_floor]
        decoded.append(
            _best(rows[:, :4], rows[:, 4], rows[:, 5].round().astype(np.int64) + 1, params)
        )
    return decoded


def decode_rtdetr(outputs: Sequence[Array], params: DecodeParams) -> list[RawDetections]:
    """RT-DETR: one box per query, cx cy w h normalised to the input, no NMS. Either class
    scores `[B, Q, 4+nc]` (sigmoid), or, as Ultralytics 8.4 exports it, the best query-class
    pairs `[B, K, 6]`: box, score, 0-based class id."""
    [predictions] = outputs
    width, height = params.input_size
    size = np.array([width, height, width, height], dtype=np.float64)
    pairs = predictions.shape[2] == 6 and params.num_classes != 2
    decoded = []
    for rows in predictions:
        if pairs:
            scores, class_index = rows[:, 4], rows[:, 5].round().astype(np.int64)
        else:
            class_scores = rows[:, 4:]
            class_index, scores = _best_class(class_scores)
        keep = scores > params.score_floor
        boxes = _cxcywh_to_xyxy(rows[keep, :4].astype(np.float64) * size)
        decoded.append(_best(boxes, scores[keep], class_index[keep] + 1, params))
    return decoded


def decode_ssd(outputs: Sequence[Array], params: DecodeParams) -> list[RawDetections]:
    """The shipped SSDlite as `medinv-train export-onnx` writes it: `boxes` `[B, N, 4]`
    x1 y1 x2 y2 in input pixels (anchors decoded in the graph) and `scores` `[B, N, 1+nc]`
    (softmax, background first). The rest is torchvision's `postprocess_detections`."""
    all_boxes, all_scores = outputs
    width, height = params.input_size
    decoded = []
    for boxes, scores in zip(all_boxes, all_scores, strict=True):
        boxes = boxes.astype(np.float64)
        np.clip(boxes[:, 0::2], 0.0, width, out=boxes[:, 0::2])
        np.clip(boxes[:, 1::2], 0.0, height, out=boxes[:, 1::2])
        kept_boxes, kept_scores, kept_classes = [], [], []
        for class_id in range(1, scores.shape[1]):
            class_scores = scores[:, class_id]
            candidates = np.flatnonzero(class_scores > params.score_floor)
            best = np.argsort(-class_scores[candidates], kind="stable")[:SSD_TOPK_PER_CLASS]
            candidates = candidates[best]
            kept_boxes.append(boxes[candidates])
            kept_scores.append(class_scores[candidates])
            kept_classes.append(np.full(len(candidates), class_id, dtype=np.int64))
        decoded.append(
            _suppress(
                np.concatenate(kept_boxes),
                np.concatenate(kept_scores),
                np.concatenate(kept_classes),
                params,
            )
        )
    return decoded


DECODERS: dict[Decoder, DecodeFn] = {
    "yolo": decode_yolo,
    "yolov5": decode_yolov5,
    "yolo-e2e": decode_yolo_e2e,
    "rtdetr": decode_rtdetr,
    "ssd": decode_ssd,
}


def _best_class(class_scores: Array) -> tuple[npt.NDArray[np.intp], Array]:
    """Per row: the best class (0-based) and its score."""
    class_index = class_scores.argmax(axis=1)
    return class_index, np.take_along_axis(class_scores, class_index[:, None], axis=1)[:, 0]


def _cxcywh_to_xyxy(boxes: Array) -> npt.NDArray[np.float64]:
    boxes = boxes.astype(np.float64)
    half = boxes[:, 2:4] / 2.0
    return np.concatenate([boxes[:, 0:2] - half, boxes[:, 0:2] + half], axis=1)


def _suppress(
    boxes: Array,
    scores: Array,
    class_ids: npt.NDArray[np.int64],
    params: DecodeParams,
) -> RawDetections:
    """The best candidates, then class-aware NMS (merge-NMS if set), then the best
    `max_detections`."""
    order = np.argsort(-scores, kind="stable")[:MAX_NMS_CANDIDATES]
    boxes, scores, class_ids = boxes[order], scores[order], class_ids[order]
    if params.nms_iou is not None:
        candidates = boxes.astype(np.float64)
        keep = nms_per_class(
            candidates,
            scores.astype(np.float32),
            class_ids,
            params.nms_iou,
            limit=params.max_detections,
        )
        if params.box_merge_iou is None:
            boxes = boxes[keep]
        else:
            boxes = merge_kept_boxes(candidates, scores, class_ids, keep, params.box_merge_iou)
        scores, class_ids = scores[keep], class_ids[keep]
    return _best(boxes, scores, class_ids, params)


def _best(
    boxes: Array, scores: Array, class_ids: npt.NDArray[np.int64], params: DecodeParams
) -> RawDetections:
    order = np.argsort(-scores, kind="stable")[: params.max_detections]
    return RawDetections(
        boxes=boxes[order].astype(np.float32).reshape(-1, 4),
        scores=scores[order].astype(np.float32),
        class_ids=class_ids[order].astype(np.int64),
    )
