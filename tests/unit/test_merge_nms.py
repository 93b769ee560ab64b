"""Merge-NMS (`nms.merge_kept_boxes`, `DecoderConfig.box_merge_iou`): kept boxes move to the
score-weighted mean of their class's overlapping candidates; scores and classes stay NMS's."""

import numpy as np
import pytest
from pydantic import ValidationError

from serve_app.model.manifest import DecoderConfig
from serve_app.model.nms import merge_kept_boxes, nms_per_class
from serve_app.model.onnx_detectors.decoders import DecodeParams, decode_ssd

F64 = np.float64


def test_a_kept_box_moves_to_the_weighted_mean_of_its_overlapping_candidates() -> None:
    boxes = np.array(
        [
            [10, 10, 50, 50],  # kept: the best of class 1
            [12, 10, 52, 50],  # class 1, IoU 0.9 with it
            [8, 10, 48, 50],  # class 1, IoU 0.9
            [30, 10, 70, 50],  # class 1, IoU 0.33: another item
            [11, 10, 51, 50],  # class 2: never mixed in
        ],
        dtype=F64,
    )
    scores = np.array([0.9, 0.6, 0.3, 0.8, 0.95], dtype=np.float32)
    classes = np.array([1, 1, 1, 1, 2], dtype=np.int64)
    keep = nms_per_class(boxes, scores, classes, 0.55)
    assert keep.tolist() == [4, 0, 3]

    merged = merge_kept_boxes(boxes, scores, classes, keep, 0.65)

    weights = scores[:3].astype(F64)
    expected_x1 = (weights @ boxes[:3, 0]) / weights.sum()
    np.testing.assert_allclose(merged[1], [expected_x1, 10, expected_x1 + 40, 50])
    assert expected_x1 == pytest.approx(31 / 3)
    np.testing.assert_array_equal(merged[0], boxes[4])  # alone in its class
    np.testing.assert_array_equal(merged[2], boxes[3])  # nothing overlaps it by 0.65


def test_a_zero_area_kept_box_stays_where_it_is() -> None:
    boxes = np.array([[5, 5, 5, 20], [4, 5, 6, 20]], dtype=F64)
    scores = np.array([0.9, 0.5], dtype=np.float32)
    classes = np.array([1, 1], dtype=np.int64)

    merged = merge_kept_boxes(boxes, scores, classes, np.array([0]), 0.5)

    np.testing.assert_array_equal(merged, boxes[:1])


def _ssd_outputs(boxes: list[list[float]], scores: list[float]) -> list[np.ndarray]:
    """One image of the SSD layout: boxes [1, N, 4], softmax scores [1, N, 1 + 1 class]."""
    fg = np.array(scores, dtype=np.float32)
    return [
        np.array([boxes], dtype=np.float32),
        np.stack([1.0 - fg, fg], axis=1)[None],
    ]


def test_the_ssd_decoder_with_merge_nms_returns_the_mean_box_with_nms_scores() -> None:
    # Three guesses at one item at (100, 100, 140, 180): off by -4, +4 and +2 pixels.
    outputs = _ssd_outputs(
        [[96, 100, 136, 180], [104, 100, 144, 180], [102, 100, 142, 180]], [0.8, 0.8, 0.4]
    )
    params = DecodeParams(
        input_size=(320, 320), num_classes=1, score_floor=0.01, max_detections=10, nms_iou=0.55
    )

    [plain] = decode_ssd(outputs, params)
    [merged] = decode_ssd(outputs, DecodeParams(**{**vars(params), "box_merge_iou": 0.65}))

    np.testing.assert_allclose(plain.boxes, [[96, 100, 136, 180]])
    np.testing.assert_allclose(merged.boxes, [[100.4, 100, 140.4, 180]], rtol=1e-6)
    np.testing.assert_array_equal(merged.scores, plain.scores)
    np.testing.assert_array_equal(merged.class_ids, plain.class_ids)


@pytest.mark.parametrize("kind", ["yolo-e2e", "rtdetr"])
def test_merge_nms_is_refused_for_a_layout_without_nms(kind: str) -> None:
    with pytest.raises(ValidationError, match="box_merge_iou needs NMS"):
        DecoderConfig(kind=kind, outputs=["output0"], box_merge_iou=0.65)  # type: ignore[arg-type]
