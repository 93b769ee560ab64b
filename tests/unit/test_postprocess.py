"""serve_app.model.postprocess: raw model outputs to API detections."""

import numpy as np
import pytest

from serve_app.core.payloads import (
    Detection,
    DetectParams,
    ImageView,
    ModelRef,
    PreprocessedImage,
    Window,
)
from serve_app.model import postprocess
from serve_app.model.manifest import ModelManifest
from serve_app.model.postprocess import RawDetections, build_result, count_labels, merge_views

LABELS = ["syringe", "glove_box", "face_mask", "vial"]


def image(
    original: tuple[int, int] = (640, 480), target: tuple[int, int] = (320, 320)
) -> PreprocessedImage:
    """One view of the whole image, as the preprocessor makes for an image that is not tiled."""
    (original_w, original_h), (target_w, target_h) = original, target
    view = ImageView(
        pixels=np.zeros((target_h, target_w, 3), dtype=np.uint8),
        window=Window(0, 0, original_w, original_h, (False, False, False, False)),
        gain=(target_w / original_w, target_h / original_h),
    )
    return PreprocessedImage(
        views=[view], original_width=original_w, original_height=original_h, preprocess_ms=3.5
    )


def to_detections(
    raw_detections: RawDetections,
    prepared: PreprocessedImage,
    labels: list[str],
    params: DetectParams,
    default_min_score: float,
) -> list[Detection]:
    """The single-view path: merge (scale to original pixels), then filter."""
    merged = merge_views([raw_detections], prepared)
    return postprocess.to_detections(merged, prepared, labels, params, default_min_score)


def raw(
    scores: list[float],
    class_ids: list[int] | None = None,
    boxes: list[tuple[float, float, float, float]] | None = None,
) -> RawDetections:
    count = len(scores)
    if boxes is None:
        boxes = [(10.0 * i, 10.0 * i, 10.0 * i + 5, 10.0 * i + 5) for i in range(count)]
    return RawDetections(
        boxes=np.array(boxes, dtype=np.float32).reshape(count, 4),
        scores=np.array(scores, dtype=np.float32),
        class_ids=np.array(class_ids or [1] * count, dtype=np.int64),
    )


def manifest(score_threshold: float = 0.5) -> ModelManifest:
    return ModelManifest(
        name="shelf-detector",
        version="1.2.3",
        architecture="ssdlite320_mobilenet_v3_large",
        labels=LABELS,
        input_size=(320, 320),
        score_threshold=score_threshold,
        sha256="0" * 64,
    )


def scores_of(detections: list[Detection]) -> list[float]:
    return [d.score for d in detections]


def test_filters_by_min_score_inclusive_and_sorts_by_score_descending() -> None:
    detections = to_detections(
        raw([0.3, 0.9, 0.5, 0.7, 0.49]), image(), LABELS, DetectParams(min_score=0.5), 0.1
    )

    assert scores_of(detections) == [0.9, 0.7, 0.5]


def test_default_min_score_is_used_when_params_min_score_is_none() -> None:
    detections = to_detections(
        raw([0.3, 0.9, 0.5, 0.7]), image(), LABELS, DetectParams(min_score=None), 0.6
    )

    assert scores_of(detections) == [0.9, 0.7]


def test_explicit_min_score_zero_overrides_default() -> None:
    # 0.0 is falsy: it must still win over the default threshold.
    detections = to_detections(
        raw([0.3, 0.05, 0.9]), image(), LABELS, DetectParams(min_score=0.0), 0.6
    )

    assert scores_of(detections) == [0.9, 0.3, 0.05]


def test_max_detections_keeps_the_highest_scores() -> None:
    scores = [0.51, 0.95, 0.62, 0.88, 0.77, 0.93]

    detections = to_detections(
        raw(scores), image(), LABELS, DetectParams(min_score=0.5, max_detections=3), 0.5
    )

    assert scores_of(detections) == [0.95, 0.93, 0.88]


def test_max_detections_applies_after_the_score_filter() -> None:
    detections = to_detections(
        raw([0.1, 0.2, 0.8, 0.3]), image(), LABELS, DetectParams(0.5, max_detections=3), 0.5
    )

    assert scores_of(detections) == [0.8]


def test_equal_scores_keep_model_order() -> None:
    detections = to_detections(
        raw([0.7, 0.7, 0.7], class_ids=[3, 1, 2]), image(), LABELS, DetectParams(0.5), 0.5
    )

    assert [d.label for d in detections] == ["face_mask", "syringe", "glove_box"]


def test_boxes_are_scaled_to_original_pixels() -> None:
    # model input 320x320, original 640x480: x * 2, y * 1.5
    detections = to_detections(
        raw([0.9], boxes=[(10.0, 20.0, 30.0, 40.0)]), image(), LABELS, DetectParams(0.5), 0.5
    )

    assert detections[0].box == (20.0, 30.0, 60.0, 60.0)


def test_box_coordinates_follow_their_detection_after_sorting() -> None:
    boxes = [(0.0, 0.0, 10.0, 10.0), (100.0, 100.0, 200.0, 200.0)]

    detections = to_detections(
        raw([0.6, 0.9], class_ids=[1, 2], boxes=boxes),
        image(original=(320, 320)),
        LABELS,
        DetectParams(0.5),
        0.5,
    )

    assert [(d.label, d.box) for d in detections] == [
        ("glove_box", (100.0, 100.0, 200.0, 200.0)),
        ("syringe", (0.0, 0.0, 10.0, 10.0)),
    ]


def test_boxes_are_clipped_to_the_original_image() -> None:
    boxes = [(-5.0, -8.0, 330.0, 400.0), (300.0, 310.0, 500.0, 321.0)]

    detections = to_detections(
        raw([0.9, 0.8], boxes=boxes), image(), LABELS, DetectParams(0.5), 0.5
    )

    assert detections[0].box == (0.0, 0.0, 640.0, 480.0)
    assert detections[1].box == (600.0, 465.0, 640.0, 480.0)
    for detection in detections:
        x1, y1, x2, y2 = detection.box
        assert 0.0 <= x1 <= x2 <= 640.0
        assert 0.0 <= y1 <= y2 <= 480.0


def test_scores_and_boxes_are_rounded_plain_floats() -> None:
    detections = to_detections(
        raw([0.876543], boxes=[(10.04, 10.06, 20.0, 20.0)]),
        image(original=(320, 320)),
        LABELS,
        DetectParams(0.5),
        0.5,
    )

    assert detections[0].score == 0.8765
    assert detections[0].box == (10.0, 10.1, 20.0, 20.0)
    assert type(detections[0].score) is float
    assert all(type(value) is float for value in detections[0].box)


def test_one_based_class_ids_map_to_labels() -> None:
    detections = to_detections(
        raw([0.9, 0.8, 0.7, 0.6], class_ids=[1, 2, 3, 4]), image(), LABELS, DetectParams(0.5), 0.5
    )

    assert [d.label for d in detections] == LABELS


def test_no_raw_detections_gives_no_detections() -> None:
    assert to_detections(raw([]), image(), LABELS, DetectParams(0.5), 0.5) == []


def test_all_below_threshold_gives_no_detections() -> None:
    assert to_detections(raw([0.1, 0.2]), image(), LABELS, DetectParams(), 0.5) == []


def test_count_labels_counts_each_label_sorted_by_name() -> None:
    detections = [
        Detection(label, 0.9, (0.0, 0.0, 1.0, 1.0))
        for label in ["vial", "syringe", "vial", "face_mask", "vial"]
    ]

    counts = count_labels(detections)

    assert counts == {"face_mask": 1, "syringe": 1, "vial": 3}
    assert list(counts) == ["face_mask", "syringe", "vial"]


def test_count_labels_of_nothing_is_empty() -> None:
    assert count_labels([]) == {}


@pytest.mark.parametrize(("min_score", "expected_count"), [(None, 3), (0.1, 5), (0.85, 1)])
def test_build_result_fills_every_field_consistently(
    min_score: float | None, expected_count: int
) -> None:
    raw_detections = raw(
        [0.9, 0.2, 0.6, 0.8, 0.3],
        class_ids=[4, 1, 4, 2, 3],
        boxes=[(0.0, 0.0, 160.0, 160.0)] * 5,
    )

    result = build_result(
        [raw_detections], image(), manifest(score_threshold=0.5), DetectParams(min_score), 12.5
    )

    assert result.model == ModelRef("shelf-detector", "1.2.3")
    assert (result.image_width, result.image_height) == (640, 480)
    assert result.preprocess_ms == 3.5
    assert result.inference_ms == 12.5
    assert len(result.detections) == expected_count
    assert result.counts == count_labels(result.detections)
    assert sum(result.counts.values()) == expected_count
    assert all(d.box == (0.0, 0.0, 320.0, 240.0) for d in result.detections)


def test_build_result_uses_manifest_threshold_as_default() -> None:
    raw_detections = raw([0.9, 0.6, 0.8], class_ids=[4, 4, 2])

    result = build_result(
        [raw_detections], image(), manifest(score_threshold=0.7), DetectParams(), 1
    )

    assert scores_of(result.detections) == [0.9, 0.8]
    assert result.counts == {"glove_box": 1, "vial": 1}
