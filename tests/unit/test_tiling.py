"""serve_app.model.tiling and the tile path of preprocessing and merging."""

import time
from itertools import pairwise

import numpy as np
import pytest
from PIL import Image

from serve_app.core.errors import ImageTooLargeError
from serve_app.core.payloads import DetectParams, InputSpec, Tiling
from serve_app.model.imaging import ImageLimits, preprocess_image
from serve_app.model.nms import nms_per_class
from serve_app.model.postprocess import RawDetections, merge_views, to_detections
from serve_app.model.tiling import plan_windows
from tests.factories import encode, shelf

TILING = Tiling(tile=480, overlap=160, above=960)


def test_small_images_are_one_window() -> None:
    (window,) = plan_windows(640, 480, TILING)
    assert (window.x, window.y, window.width, window.height) == (0, 0, 640, 480)
    assert window.inner_edges == (False, False, False, False)


def test_no_tiling_is_one_window_whatever_the_size() -> None:
    assert len(plan_windows(4000, 3000, None)) == 1


def test_a_camera_frame_is_cut_into_overlapping_tiles_covering_it() -> None:
    windows = plan_windows(1280, 720, TILING)

    assert sorted({w.x for w in windows}) == [0, 267, 533, 800]
    assert sorted({w.y for w in windows}) == [0, 240]
    covered = np.zeros((720, 1280), dtype=bool)
    for w in windows:
        assert (w.width, w.height) == (480, 480)
        covered[w.y : w.y + w.height, w.x : w.x + w.width] = True
    assert covered.all()
    xs = sorted({w.x for w in windows})
    assert max(b - a for a, b in pairwise(xs)) <= 480 - TILING.overlap
    first = next(w for w in windows if (w.x, w.y) == (0, 0))
    assert first.inner_edges == (False, False, True, True)


def test_preprocessing_a_large_image_yields_one_view_per_tile() -> None:
    data = encode(shelf(1280, 720), "PNG")

    prepared = preprocess_image(data, InputSpec((320, 320), TILING), ImageLimits())

    assert len(prepared.views) == 8
    assert (prepared.original_width, prepared.original_height) == (1280, 720)
    for view in prepared.views:
        assert view.pixels.shape == (320, 320, 3)
        assert view.gain == pytest.approx((1 / 1.5, 1 / 1.5))


def raw(boxes: list[list[float]], scores: list[float], classes: list[int]) -> RawDetections:
    return RawDetections(
        boxes=np.array(boxes, dtype=np.float32).reshape(-1, 4),
        scores=np.array(scores, dtype=np.float32),
        class_ids=np.array(classes, dtype=np.int64),
    )


def test_merge_maps_tiles_to_the_image_drops_cut_boxes_and_duplicates() -> None:
    prepared = preprocess_image(
        encode(shelf(1280, 720), "PNG"), InputSpec((320, 320), TILING), ImageLimits()
    )
    item = [300.0, 100.0, 400.0, 200.0]  # in image pixels: inside tiles at x=0 and x=267
    raws = []
    for view in prepared.views:
        x1, y1, x2, y2 = item
        local = [
            (x1 - view.window.x) * view.gain[0],
            (y1 - view.window.y) * view.gain[1],
            (x2 - view.window.x) * view.gain[0],
            (y2 - view.window.y) * view.gain[1],
        ]
        inside = local[0] >= 0 and local[2] <= 320 and local[1] >= 0 and local[3] <= 320
        # A tile sees the item whole, or (a neighbour) cut at its inner edge.
        clipped = [min(max(v, 0.0), 320.0) for v in local]
        raws.append(
            raw([clipped], [0.9 if inside else 0.95], [2])
            if view.window.y == 0
            else raw([], [], [])
        )

    merged = merge_views(raws, prepared)
    (detection,) = to_detections(merged, prepared, ["a", "b"], DetectParams(0.5), 0.5)

    assert detection.label == "b"
    assert detection.score == pytest.approx(0.9)
    assert detection.box == pytest.approx(tuple(item), abs=0.5)


def test_nms_keeps_the_best_of_overlapping_boxes_per_class_only() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], float)
    scores = np.array([0.8, 0.9, 0.7, 0.6], dtype=np.float32)
    classes = np.array([1, 1, 2, 1], dtype=np.int64)

    keep = nms_per_class(boxes, scores, classes, 0.5)

    assert keep.tolist() == [1, 2, 3]


def test_an_image_cut_into_more_tiles_than_the_limit_is_refused_before_decoding() -> None:
    # A long strip passes the pixel limit but would be 1250 tiles; only its header is read.
    strip = encode(Image.new("RGB", (400_000, 100)), "PNG")
    limits = ImageLimits(max_views=64)

    started = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match="1250 tiles; the limit is 64"):
        preprocess_image(strip, InputSpec((320, 320), TILING), limits)
    assert time.perf_counter() - started < 1.0


def test_an_image_within_the_tile_limit_is_cut_as_usual() -> None:
    data = encode(shelf(1280, 720), "JPEG")

    prepared = preprocess_image(data, InputSpec((320, 320), TILING), ImageLimits(max_views=8))

    assert len(prepared.views) == 8
