"""export-onnx --tiling-plan whole: a graph of any input size that sees a camera frame whole,
detecting what the torch model does under the same plan, and what the tiles find."""

import contextlib
import io
import shutil
from pathlib import Path

import pytest

from medinv_tools.paths import REPO_ROOT
from serve_app.core.demo_model import DEMO_MODEL
from serve_app.core.payloads import DetectParams, ModelRef
from serve_app.model.imaging import ImageLimits
from serve_app.model.inference import DetectionModel
from serve_app.model.loader import load_directory
from serve_app.model.manifest import model_dir, read_manifest, write_manifest
from serve_app.model.runtime import RuntimeOptions
from tests.training.equivalence import assert_equivalent, iou
from training.cli import main

EXPORTED = ModelRef(DEMO_MODEL.name, "9.9.9-whole")
TORCH_WHOLE = ModelRef(DEMO_MODEL.name, "9.9.9-torch-whole")
CAMERA_FRAME = REPO_ROOT / "examples" / "camera-frame.jpg"
PARAMS = DetectParams(min_score=0.3, max_detections=100)


@pytest.fixture(scope="module")
def export_root(tmp_path_factory: pytest.TempPathFactory, shipped_demo_dir: Path) -> Path:
    """The demo model, its export under the whole plan, and the torch model under that plan."""
    root = tmp_path_factory.mktemp("whole-models")
    shutil.copytree(shipped_demo_dir, model_dir(root, DEMO_MODEL))
    args = ["export-onnx", "--model", str(DEMO_MODEL), "--version", EXPORTED.version]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*args, "--tiling-plan", "whole", "--models-root", str(root)]) == 0
    torch_dir = model_dir(root, TORCH_WHOLE)
    shutil.copytree(shipped_demo_dir, torch_dir)
    source = read_manifest(shipped_demo_dir)
    assert source.tiling is not None
    tiling = source.tiling.model_copy(update={"plan": "whole"})
    write_manifest(
        torch_dir, source.model_copy(update={"version": TORCH_WHOLE.version, "tiling": tiling})
    )
    return root


def _load(root: Path, ref: ModelRef) -> DetectionModel:
    return load_directory(model_dir(root, ref), RuntimeOptions(device="cpu"))


def test_the_export_has_a_dynamic_input_and_the_whole_plan(export_root: Path) -> None:
    source = read_manifest(model_dir(export_root, DEMO_MODEL))
    manifest = read_manifest(model_dir(export_root, EXPORTED))

    assert manifest.onnx is not None and manifest.onnx.input.dynamic_size
    assert manifest.input_size == source.input_size == (320, 320)
    assert source.tiling is not None and manifest.tiling is not None
    assert manifest.tiling == source.tiling.model_copy(update={"plan": "whole"})


def test_the_camera_frame_is_one_view_with_the_torch_models_detections(export_root: Path) -> None:
    torch_model, onnx_model = _load(export_root, TORCH_WHOLE), _load(export_root, EXPORTED)
    data = CAMERA_FRAME.read_bytes()

    (view,) = onnx_model.preprocess(data, ImageLimits()).views
    assert view.pixels.shape == (480, 864, 3)
    found = onnx_model.infer(data, PARAMS).detections
    assert len(found) >= 5
    assert_equivalent(torch_model.infer(data, PARAMS).detections, found)


def test_small_images_get_the_same_detections_as_under_the_tiles_plan(export_root: Path) -> None:
    """On an image below `above` the plan changes nothing: the graph at 320 x 320 is the
    fixed-size one."""
    tiles, whole = _load(export_root, DEMO_MODEL), _load(export_root, EXPORTED)
    data = (REPO_ROOT / "examples" / "shelf.jpg").read_bytes()

    assert_equivalent(tiles.infer(data, PARAMS).detections, whole.infer(data, PARAMS).detections)


def test_whole_frames_find_the_items_the_tiles_find(export_root: Path) -> None:
    """The same weights on the camera frame, tiled and whole: every confident tiled detection
    has a whole-frame one of the same label over it."""
    tiles, whole = _load(export_root, DEMO_MODEL), _load(export_root, EXPORTED)
    data = CAMERA_FRAME.read_bytes()
    confident = [d for d in tiles.infer(data, PARAMS).detections if d.score >= 0.6]
    found = whole.infer(data, DetectParams(min_score=0.2, max_detections=100)).detections

    assert confident
    for d in confident:
        assert any(o.label == d.label and iou(o.box, d.box) >= 0.5 for o in found), d


def test_an_export_with_merge_nms_reports_the_same_items_with_boxes_moved_a_little(
    export_root: Path,
) -> None:
    merged_ref = ModelRef(DEMO_MODEL.name, "9.9.9-merged")
    args = ["export-onnx", "--model", str(DEMO_MODEL), "--version", merged_ref.version]
    options = ["--tiling-plan", "whole", "--box-merge-iou", "0.65", "--score-threshold", "0.3"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*args, *options, "--models-root", str(export_root)]) == 0
    manifest = read_manifest(model_dir(export_root, merged_ref))
    assert manifest.onnx is not None and manifest.onnx.decoder.box_merge_iou == 0.65
    assert manifest.score_threshold == 0.3
    data = CAMERA_FRAME.read_bytes()

    plain = _load(export_root, EXPORTED).infer(data, PARAMS).detections
    merged = _load(export_root, merged_ref).infer(data, PARAMS).detections

    # Scores tie at 1.0 here, so the order among them is not the comparison.
    merged, plain = (sorted(found, key=lambda d: (d.label, d.score)) for found in (merged, plain))
    assert [d.label for d in merged] == [d.label for d in plain]
    assert [d.score for d in merged] == pytest.approx([d.score for d in plain], abs=1e-3)
    assert all(iou(m.box, p.box) >= 0.8 for m, p in zip(merged, plain, strict=True))
    assert any(m.box != p.box for m, p in zip(merged, plain, strict=True))
