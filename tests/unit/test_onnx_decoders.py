"""ONNX detectors end to end on tiny graphs: import, preprocess, run, decode, undo the resize.

Each graph emits known rows (tests/onnx_graphs.py), so every expected box below is worked out
by hand from the layout's definition and the letterbox or stretch of the image size.
"""

import io
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from serve_app.core.errors import InvalidParameterError
from serve_app.core.payloads import DetectionResult, DetectParams, ModelRef
from serve_app.model.imaging import ImageLimits
from serve_app.model.inference import DetectionModel
from serve_app.model.loader import load_registered
from serve_app.model.manifest import ResizeConfig, TilingConfig
from serve_app.model.onnx_detectors.importer import ImportOptions, import_onnx
from serve_app.model.runtime import RuntimeOptions
from tests.onnx_graphs import constant_detector, names_metadata, yolo_rows

LABELS = ["syringe", "glove_box", "vial"]
ALL = DetectParams(min_score=0.0, max_detections=100)
YOLO_ANCHORS_320 = 40 * 40 + 20 * 20 + 10 * 10  # strides 8, 16, 32


def png(size: tuple[int, int], color: tuple[int, int, int] = (40, 80, 120)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def register(
    tmp_path: Path,
    outputs: dict[str, npt.NDArray[np.float32]],
    *,
    input_shape: tuple[int | str, int | str, int | str, int | str] = ("batch", 3, 320, 320),
    metadata: dict[str, str] | None = None,
    **options: object,
) -> DetectionModel:
    graph = constant_detector(
        tmp_path / "graph.onnx",
        outputs,
        input_shape=input_shape,
        metadata=names_metadata(LABELS) if metadata is None else metadata,
    )
    root = tmp_path / "models"
    import_onnx(graph, root, ImportOptions(name="toy", version="1", **options))  # type: ignore[arg-type]
    return load_registered(root, ModelRef("toy", "1"), RuntimeOptions("cpu"))


def boxes(result: DetectionResult) -> list[tuple[str, float, tuple[float, ...]]]:
    return [(d.label, d.score, d.box) for d in result.detections]


def letterbox_undo(
    box_xyxy: tuple[float, float, float, float], image: tuple[int, int]
) -> tuple[float, ...]:
    """Ultralytics' LetterBox into 320x320, undone as its `scale_boxes` does: each side's gain
    from its rounded size, centred padding (round(p - 0.1))."""
    width, height = image
    scale = min(320 / width, 320 / height)
    new_w, new_h = round(width * scale), round(height * scale)
    gain_x, gain_y = new_w / width, new_h / height
    pad_x, pad_y = round((320 - new_w) / 2 - 0.1), round((320 - new_h) / 2 - 0.1)
    x1, y1, x2, y2 = box_xyxy
    undone = (
        (x1 - pad_x) / gain_x,
        (y1 - pad_y) / gain_y,
        (x2 - pad_x) / gain_x,
        (y2 - pad_y) / gain_y,
    )
    return tuple(
        round(min(max(v, 0.0), side), 1) for v, side in zip(undone, image * 2, strict=True)
    )


YOLO_CANDIDATES = [
    # cx, cy, w, h in input pixels; class scores (syringe, glove_box, vial)
    ((160.0, 160.0, 100.0, 50.0), [0.9, 0.1, 0.0]),
    ((162.0, 161.0, 100.0, 50.0), [0.8, 0.0, 0.0]),  # same class, IoU > 0.7: suppressed
    ((161.0, 160.0, 100.0, 50.0), [0.0, 0.0, 0.7]),  # overlaps, but another class: kept
    ((50.0, 60.0, 20.0, 20.0), [0.0, 0.6, 0.0]),
    ((250.0, 250.0, 30.0, 30.0), [0.005, 0.0, 0.0]),  # below the candidate floor (0.01)
]


@pytest.mark.parametrize("image", [(640, 480), (480, 640), (333, 250), (320, 320)])
def test_yolo_layout_decodes_nms_and_undoes_the_letterbox(
    tmp_path: Path, image: tuple[int, int]
) -> None:
    rows = yolo_rows(
        [c[0] for c in YOLO_CANDIDATES], [c[1] for c in YOLO_CANDIDATES], YOLO_ANCHORS_320
    )
    model = register(tmp_path, {"output0": rows})

    result = model.infer(png(image), ALL)

    assert model.manifest.onnx is not None and model.manifest.onnx.decoder.kind == "yolo"
    assert boxes(result) == [
        ("syringe", 0.9, letterbox_undo((110.0, 135.0, 210.0, 185.0), image)),
        ("vial", 0.7, letterbox_undo((111.0, 135.0, 211.0, 185.0), image)),
        ("glove_box", 0.6, letterbox_undo((40.0, 50.0, 60.0, 70.0), image)),
    ]
    assert result.counts == {"glove_box": 1, "syringe": 1, "vial": 1}


@pytest.mark.parametrize("image", [(640, 480), (320, 320)])
def test_with_merge_nms_a_kept_box_is_the_score_weighted_mean_of_its_class(
    tmp_path: Path, image: tuple[int, int]
) -> None:
    rows = yolo_rows(
        [c[0] for c in YOLO_CANDIDATES], [c[1] for c in YOLO_CANDIDATES], YOLO_ANCHORS_320
    )
    model = register(tmp_path, {"output0": rows}, box_merge_iou=0.7)

    result = model.infer(png(image), ALL)

    # The syringe is the first two candidates (IoU 0.92), weighted 0.9 and 0.8; the vial and
    # the glove box have no candidate of their class to merge with.
    x1, y1 = (0.9 * 110 + 0.8 * 112) / 1.7, (0.9 * 135 + 0.8 * 136) / 1.7
    assert boxes(result) == [
        ("syringe", 0.9, letterbox_undo((x1, y1, x1 + 100, y1 + 50), image)),
        ("vial", 0.7, letterbox_undo((111.0, 135.0, 211.0, 185.0), image)),
        ("glove_box", 0.6, letterbox_undo((40.0, 50.0, 60.0, 70.0), image)),
    ]


def test_merge_nms_for_a_layout_without_nms_is_refused_at_import(tmp_path: Path) -> None:
    rows = np.zeros((1, 300, 6), np.float32)
    rows[0, 0] = [10, 50, 110, 90, 0.95, 1]

    with pytest.raises(InvalidParameterError, match="merge-NMS needs NMS; the yolo-e2e layout"):
        register(tmp_path, {"output0": rows}, box_merge_iou=0.7)
    assert not (tmp_path / "models" / "toy" / "1").exists()


def test_yolo_default_threshold_is_ultralytics_predict_conf(tmp_path: Path) -> None:
    rows = yolo_rows(
        [(160.0, 160.0, 20.0, 20.0), (60.0, 60.0, 20.0, 20.0)], [[0.3], [0.2]], YOLO_ANCHORS_320
    )
    model = register(tmp_path, {"output0": rows}, metadata=names_metadata(["syringe"]))

    result = model.infer(png((320, 320)), DetectParams())

    assert [d.score for d in result.detections] == [0.3]


def test_yolov5_layout_scores_objectness_times_class(tmp_path: Path) -> None:
    rows = np.zeros((1, 3 * YOLO_ANCHORS_320, 5 + 3), np.float32)
    rows[0, 0] = [100, 100, 40, 20, 0.9, 0.1, 0.8, 0.0]  # 0.9 x 0.8 = 0.72 glove_box
    rows[0, 1] = [200, 200, 40, 40, 0.005, 1.0, 0.0, 0.0]  # objectness below the floor
    rows[0, 2] = [101, 100, 40, 20, 0.5, 0.0, 0.9, 0.0]  # 0.45, IoU > 0.45 with the first

    model = register(tmp_path, {"output0": rows})
    result = model.infer(png((640, 480)), ALL)

    assert model.manifest.onnx is not None and model.manifest.onnx.decoder.kind == "yolov5"
    assert boxes(result) == [
        ("glove_box", 0.72, letterbox_undo((80.0, 90.0, 120.0, 110.0), (640, 480)))
    ]


def test_end_to_end_layout_reads_rows_and_skips_the_empty_ones(tmp_path: Path) -> None:
    rows = np.zeros((1, 300, 6), np.float32)
    rows[0, 0] = [10, 50, 110, 90, 0.95, 2]  # x1 y1 x2 y2 score class id (0-based): vial
    rows[0, 1] = [12, 52, 108, 88, 0.40, 2]  # NMS is the graph's job: both are reported
    rows[0, 2] = [200, 60, 300, 260, 0.30, 0]

    model = register(
        tmp_path, {"output0": rows}, metadata={**names_metadata(LABELS), "end2end": "True"}
    )
    result = model.infer(png((640, 480)), ALL)

    assert model.manifest.onnx is not None and model.manifest.onnx.decoder.kind == "yolo-e2e"
    assert boxes(result) == [
        ("vial", 0.95, letterbox_undo((10, 50, 110, 90), (640, 480))),
        ("vial", 0.4, letterbox_undo((12, 52, 108, 88), (640, 480))),
        ("syringe", 0.3, letterbox_undo((200, 60, 300, 260), (640, 480))),
    ]


def test_end_to_end_layout_is_told_from_its_shape_without_metadata(tmp_path: Path) -> None:
    rows = np.zeros((1, 300, 6), np.float32)
    rows[0, 0] = [10, 50, 110, 90, 0.95, 1]

    model = register(tmp_path, {"output0": rows})

    assert model.manifest.onnx is not None and model.manifest.onnx.decoder.kind == "yolo-e2e"
    assert boxes(model.infer(png((320, 320)), ALL)) == [("glove_box", 0.95, (10, 50, 110, 90))]


def test_rtdetr_layout_scales_normalised_boxes_and_stretches(tmp_path: Path) -> None:
    rows = np.zeros((1, 300, 4 + 3), np.float32)
    rows[0, 0] = [0.5, 0.25, 0.2, 0.1, 0.1, 0.0, 0.85]  # cx cy w h of the input; vial
    rows[0, 1] = [0.1, 0.1, 0.05, 0.05, 0.0, 0.009, 0.0]  # below the floor

    model = register(tmp_path, {"output0": rows})
    result = model.infer(png((640, 480)), ALL)

    assert model.manifest.onnx is not None and model.manifest.onnx.decoder.kind == "rtdetr"
    assert model.manifest.resize.mode == "stretch"
    # A stretch has no padding: normalised coordinates are fractions of the image itself.
    assert boxes(result) == [("vial", 0.85, (256.0, 96.0, 384.0, 144.0))]


def test_ssd_layout_clips_thresholds_and_suppresses_per_class(tmp_path: Path) -> None:
    anchors = 8
    decoded = np.zeros((1, anchors, 4), np.float32)
    scores = np.zeros((1, anchors, 1 + 3), np.float32)
    scores[0, :, 0] = 1.0  # background
    decoded[0, 0], scores[0, 0] = [-10, 20, 100, 80], [0.1, 0.9, 0.0, 0.0]  # clipped at x=0
    decoded[0, 1], scores[0, 1] = [0, 22, 98, 80], [0.2, 0.8, 0.0, 0.0]  # IoU > 0.55: dropped
    decoded[0, 2], scores[0, 2] = [200, 200, 330, 300], [0.3, 0.0, 0.0, 0.7]  # clipped at 320
    model = register(
        tmp_path,
        {"boxes": decoded, "scores": scores},
        decoder="ssd",
        resize=ResizeConfig(mode="stretch", interpolation="antialias"),
    )

    result = model.infer(png((640, 320)), ALL)

    assert boxes(result) == [
        ("syringe", 0.9, (0.0, 20.0, 200.0, 80.0)),
        ("vial", 0.7, (400.0, 200.0, 640.0, 300.0)),
    ]


def test_fixed_batch_graph_runs_item_by_item_with_the_same_results(tmp_path: Path) -> None:
    rows = yolo_rows(
        [c[0] for c in YOLO_CANDIDATES], [c[1] for c in YOLO_CANDIDATES], YOLO_ANCHORS_320
    )
    dynamic = register(tmp_path / "dynamic", {"output0": rows})
    fixed = register(tmp_path / "fixed", {"output0": rows}, input_shape=(1, 3, 320, 320))
    images = [png((640, 480)), png((480, 640)), png((320, 320))]

    assert fixed.manifest.onnx is not None and fixed.manifest.onnx.input.batch == 1
    assert dynamic.manifest.onnx is not None and dynamic.manifest.onnx.input.batch is None
    assert [boxes(r) for r in fixed.infer_batch(images, ALL)] == [
        boxes(r) for r in dynamic.infer_batch(images, ALL)
    ]


def test_dynamic_size_graph_gets_the_minimal_stride_rectangle(tmp_path: Path) -> None:
    # Ultralytics' rect inference for dynamic exports: 640x480 -> 320x240 content, padded to
    # 320x256 (a multiple of 32), 8 pixels on top. The graph emits one box in input pixels.
    rows = np.zeros((1, 300, 6), np.float32)
    rows[0, 0] = [10, 18, 110, 58, 0.9, 0]
    model = register(
        tmp_path,
        {"output0": rows},
        input_shape=("batch", 3, "height", "width"),
        metadata={**names_metadata(LABELS), "imgsz": "[320, 320]", "stride": "32"},
    )
    prepared = model.preprocess(png((640, 480)), ImageLimits())

    assert model.manifest.resize.stride == 32
    assert prepared.views[0].pixels.shape == (256, 320, 3)
    assert prepared.views[0].pad == (0, 8)
    assert boxes(model.infer(png((640, 480)), ALL)) == [
        ("syringe", 0.9, (20.0, 20.0, 220.0, 100.0))
    ]


def test_tiled_onnx_model_maps_each_tile_back(tmp_path: Path) -> None:
    # 1280x720 in 480-pixel tiles overlapping by at least 160: 4 x 2 tiles, each letterboxed
    # (square, so no padding) at a gain of 320/480. The graph sees one item in each tile.
    rows = np.zeros((1, 300, 6), np.float32)
    rows[0, 0] = [140, 140, 180, 180, 0.9, 1]
    model = register(
        tmp_path, {"output0": rows}, tiling=TilingConfig(tile=480, overlap=160, above=960)
    )

    result = model.infer(png((1280, 720)), ALL)

    starts_x, starts_y = [0, 267, 533, 800], [0, 240]
    expected = sorted(
        (x + 210.0, y + 210.0, x + 270.0, y + 270.0) for y in starts_y for x in starts_x
    )
    assert sorted(d.box for d in result.detections) == expected
    assert {d.label for d in result.detections} == {"glove_box"}
