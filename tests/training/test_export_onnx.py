"""export-onnx: the shipped SSDlite as an ONNX graph detects what the torch model detects."""

import contextlib
import io
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from medinv_tools.paths import REPO_ROOT
from serve_app.core.demo_model import DEMO_MODEL
from serve_app.core.errors import ConflictError, LabelMismatchError
from serve_app.core.payloads import DetectParams, ModelRef, PreprocessedImage
from serve_app.model.imaging import ImageLimits
from serve_app.model.inference import DetectionModel
from serve_app.model.loader import load_directory
from serve_app.model.manifest import model_dir, read_manifest
from serve_app.model.onnx_detectors.importer import ImportOptions, import_onnx
from serve_app.model.onnx_detectors.runtime import OnnxRuntime
from serve_app.model.postprocess import RawDetections
from serve_app.model.runtime import RuntimeOptions
from tests.training.equivalence import BOX_TOLERANCE_PX, SCORE_TOLERANCE, assert_equivalent
from training.cli import main
from training.coco import read_coco
from training.export_onnx import ExportConfig, export_onnx
from training.generate import generate

EXPORTED = ModelRef(DEMO_MODEL.name, "9.9.9-onnx")
EXAMPLES = [REPO_ROOT / "examples" / "shelf.jpg", REPO_ROOT / "examples" / "camera-frame.jpg"]


@pytest.fixture(scope="module")
def export_root(tmp_path_factory: pytest.TempPathFactory, shipped_demo_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("export-models")
    shutil.copytree(shipped_demo_dir, model_dir(root, DEMO_MODEL))
    return root


@pytest.fixture(scope="module")
def cli_output(export_root: Path) -> str:
    """The export, through the command line."""
    out = io.StringIO()
    args = ["export-onnx", "--model", str(DEMO_MODEL), "--version", EXPORTED.version]
    with contextlib.redirect_stdout(out):
        assert main([*args, "--models-root", str(export_root)]) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def exported_dir(export_root: Path, cli_output: str) -> Path:
    return model_dir(export_root, EXPORTED)


@pytest.fixture(scope="module")
def models(export_root: Path, exported_dir: Path) -> tuple[DetectionModel, DetectionModel]:
    options = RuntimeOptions(device="cpu")
    return (
        load_directory(model_dir(export_root, DEMO_MODEL), options),
        load_directory(exported_dir, options),
    )


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The examples (the camera frame is tiled) and a few generated shelves of both kinds."""
    root = tmp_path_factory.mktemp("shelves")
    paths = list(EXAMPLES)
    for split, count, seed in (("standard", 6, 7), ("hard", 3, 8)):
        generate(split, count, seed, root / split, workers=2)
        paths += [entry.path for entry in read_coco(root / split).images]
    return paths


def test_the_export_is_registered_as_an_onnx_version_of_the_source(
    cli_output: str, exported_dir: Path, export_root: Path
) -> None:
    source = read_manifest(model_dir(export_root, DEMO_MODEL))
    manifest = read_manifest(exported_dir)

    assert f"imported {EXPORTED}" in cli_output
    assert "decoder   ssd (outputs boxes, scores)" in cli_output
    assert manifest.format == "onnx" and manifest.onnx is not None
    assert manifest.weights == "model.onnx"
    assert manifest.labels == source.labels
    assert manifest.architecture == f"{source.architecture} (onnx)"
    assert manifest.onnx.decoder.kind == "ssd"
    assert manifest.onnx.input.mean == manifest.onnx.input.std == (0.5, 0.5, 0.5)
    assert manifest.onnx.input.batch is None  # dynamic
    assert (manifest.resize.mode, manifest.resize.interpolation) == ("stretch", "antialias")
    for field in ("score_threshold", "candidate_score_floor", "max_detections", "tiling"):
        assert getattr(manifest, field) == getattr(source, field), field
    assert manifest.training["exported_from"] == str(DEMO_MODEL)
    assert str(DEMO_MODEL) in manifest.description


def test_the_graph_metadata_names_the_labels(exported_dir: Path) -> None:
    graph = onnx.load(str(exported_dir / "model.onnx"))
    props = {p.key: p.value for p in graph.metadata_props}
    labels = read_manifest(exported_dir).labels

    assert props["names"] == repr(dict(enumerate(labels)))
    assert [i.name for i in graph.graph.input] == ["images"]
    assert [o.name for o in graph.graph.output] == ["boxes", "scores"]


def test_labels_that_do_not_fit_the_graph_are_refused_by_name(
    exported_dir: Path, tmp_path: Path
) -> None:
    labels = read_manifest(exported_dir).labels
    options = ImportOptions(name="mismatched", version="1", labels=labels[:-1], decoder="ssd")

    with pytest.raises(LabelMismatchError, match="11 labels"):
        import_onnx(exported_dir / "model.onnx", tmp_path, options)
    assert not (tmp_path / "mismatched").exists()


def test_an_existing_version_is_not_replaced_without_force(export_root: Path) -> None:
    config = ExportConfig(source=DEMO_MODEL, version=EXPORTED.version, models_root=export_root)
    with pytest.raises(ConflictError):
        export_onnx(config)


@pytest.fixture(scope="module")
def forwards(
    models: tuple[DetectionModel, DetectionModel], images: list[Path]
) -> list[tuple[PreprocessedImage, list[RawDetections], list[RawDetections]]]:
    """Each image's views and both models' outputs: the first two steps of `infer`, run once
    for both parameter sets (the forwards are what takes the time)."""
    torch_model, onnx_model = models
    assert isinstance(onnx_model.runtime, OnnxRuntime)
    done = []
    for path in images:
        prepared = torch_model.preprocess(path.read_bytes(), ImageLimits())
        assert onnx_model.input_spec == torch_model.input_spec  # so the same views fit both
        pixels = [view.pixels for view in prepared.views]
        done.append((prepared, torch_model.predict(pixels), onnx_model.predict(pixels)))
    return done


@pytest.mark.parametrize("min_score", [0.3, 0.0])
def test_onnx_detections_match_the_torch_model(
    models: tuple[DetectionModel, DetectionModel],
    forwards: list[tuple[PreprocessedImage, list[RawDetections], list[RawDetections]]],
    min_score: float,
) -> None:
    """What `DetectionModel.infer` returns: the merge of every view, thresholded and capped."""
    torch_model, onnx_model = models
    params = DetectParams(min_score=min_score, max_detections=100)
    total, worst = 0, (0.0, 0.0)
    for prepared, torch_raws, onnx_raws in forwards:
        expected = torch_model.postprocess(torch_raws, prepared, params, 0.0).detections
        found = onnx_model.postprocess(onnx_raws, prepared, params, 0.0).detections
        box_diff, score_diff = assert_equivalent(expected, found)
        worst = (max(worst[0], box_diff), max(worst[1], score_diff))
        total += len(expected)
    print(
        f"min_score {min_score}: {total} detections, max box diff {worst[0]:.2f} px, "
        f"max score diff {worst[1]:.4f}"
    )
    assert total > len(forwards)  # the comparison compared something


def test_infer_on_the_tiled_example_is_the_same_for_both_runtimes(
    models: tuple[DetectionModel, DetectionModel],
) -> None:
    """The whole `infer` path once, on the camera frame (tiled: one batch of all its tiles)."""
    torch_model, onnx_model = models
    data = EXAMPLES[1].read_bytes()
    params = DetectParams(min_score=0.3, max_detections=100)
    assert len(torch_model.preprocess(data, ImageLimits()).views) > 1
    assert_equivalent(
        torch_model.infer(data, params).detections, onnx_model.infer(data, params).detections
    )


def test_raw_outputs_of_a_batch_agree(
    models: tuple[DetectionModel, DetectionModel], images: list[Path]
) -> None:
    """The runtimes' own outputs, before the merge: one batch of four model inputs."""
    torch_model, onnx_model = models

    views = [
        view.pixels
        for path in images[:4]
        for view in torch_model.preprocess(path.read_bytes(), ImageLimits()).views
    ][:4]
    assert len(views) == 4
    for t, o in zip(torch_model.predict(views), onnx_model.predict(views), strict=True):
        assert len(t.scores) == len(o.scores)
        keep = t.scores > 0.05  # the tail near the floor may tie and reorder
        np.testing.assert_array_equal(t.class_ids[keep], o.class_ids[keep])
        np.testing.assert_allclose(t.boxes[keep], o.boxes[keep], atol=BOX_TOLERANCE_PX)
        np.testing.assert_allclose(t.scores[keep], o.scores[keep], atol=SCORE_TOLERANCE)
        box_diff = float(np.abs(t.boxes[keep] - o.boxes[keep]).max(initial=0.0))
        score_diff = float(np.abs(t.scores[keep] - o.scores[keep]).max(initial=0.0))
        print(
            f"raw: {keep.sum()} of {len(t.scores)} compared, max box diff {box_diff:.5f} px, "
            f"max score diff {score_diff:.6f}"
        )
