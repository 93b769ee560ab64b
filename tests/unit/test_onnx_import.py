"""`medinv models import`: what it registers, what it refuses and why, and load-time checks."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from serve_app.cli import main
from serve_app.core.errors import (
    ChecksumMismatchError,
    ConflictError,
    InvalidParameterError,
    LabelMismatchError,
    ModelLoadError,
    NotOnnxError,
    UnsupportedModelError,
)
from serve_app.core.payloads import ModelRef
from serve_app.model.checksum import sha256_file
from serve_app.model.loader import load_registered
from serve_app.model.onnx_detectors.importer import ImportOptions, import_onnx
from serve_app.model.runtime import RuntimeOptions
from tests.onnx_graphs import constant_detector, names_metadata, yolo_rows

LABELS = ["syringe", "glove_box", "vial"]
REF = ModelRef("toy", "1")
OPTIONS = ImportOptions(name=REF.name, version=REF.version)


def yolo_graph(path: Path, classes: int = 3, **kwargs: Any) -> Path:
    rows = yolo_rows([(160.0, 160.0, 50.0, 50.0)], [[0.9] + [0.0] * (classes - 1)], 2100)
    kwargs.setdefault("metadata", names_metadata(LABELS))
    return constant_detector(path, {"output0": rows}, **kwargs)


def assert_nothing_registered(root: Path) -> None:
    assert not (root / REF.name / REF.version).exists()
    assert not list(root.glob(".import-*")) if root.exists() else True


@pytest.mark.parametrize(
    ("outputs", "metadata", "reason"),
    [
        ({"output0": np.zeros((1, 1000), np.float32)}, {}, "classification model"),
        (
            {
                "output0": np.zeros((1, 4 + 3 + 32, 2100), np.float32),
                "output1": np.zeros((1, 32, 80, 80), np.float32),
            },
            names_metadata(LABELS),
            "segmentation export",
        ),
        (
            {"output0": np.zeros((1, 4 + 1 + 51, 2100), np.float32)},
            {**names_metadata(["person"]), "task": "pose"},
            "'pose' export",
        ),
        (
            {"output0": np.zeros((1, 3000, 3), np.float32)},
            names_metadata(LABELS),
            "cannot interpret",
        ),
        (
            {"output0": np.zeros((1, 7, 8400), np.float32)},  # a 640 export given a 320 input
            names_metadata(LABELS),
            "another image size",
        ),
    ],
)
def test_what_is_not_a_detector_is_refused_with_the_reason(
    tmp_path: Path, outputs: dict[str, Any], metadata: dict[str, str], reason: str
) -> None:
    graph = constant_detector(tmp_path / "m.onnx", outputs, metadata=metadata)

    with pytest.raises(UnsupportedModelError, match=reason):
        import_onnx(graph, tmp_path / "models", OPTIONS)
    assert_nothing_registered(tmp_path / "models")


@pytest.mark.parametrize("content", [b"", b"\xff\xd8\xff\xe0 a jpeg", b"\x00" * 64])
def test_a_file_that_is_not_onnx_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(content)

    with pytest.raises(NotOnnxError, match="not an ONNX model"):
        import_onnx(path, tmp_path / "models", OPTIONS)
    assert_nothing_registered(tmp_path / "models")


def test_an_existing_version_is_refused_unless_forced(tmp_path: Path) -> None:
    root = tmp_path / "models"
    import_onnx(yolo_graph(tmp_path / "a.onnx"), root, OPTIONS)
    second = yolo_graph(tmp_path / "b.onnx", classes=2, metadata=names_metadata(["a", "b"]))

    with pytest.raises(ConflictError, match="--force"):
        import_onnx(second, root, OPTIONS)
    assert load_registered(root, REF, RuntimeOptions("cpu")).manifest.labels == LABELS

    import_onnx(second, root, ImportOptions(name=REF.name, version=REF.version, force=True))
    assert load_registered(root, REF, RuntimeOptions("cpu")).manifest.labels == ["a", "b"]


def test_labels_that_do_not_match_the_classes_are_refused(tmp_path: Path) -> None:
    graph = yolo_graph(tmp_path / "m.onnx")

    with pytest.raises(LabelMismatchError, match="2 labels but the yolo outputs have 3 classes"):
        import_onnx(graph, tmp_path / "models", ImportOptions("toy", "1", labels=["a", "b"]))
    assert_nothing_registered(tmp_path / "models")


def test_labels_come_from_the_option_over_the_metadata(tmp_path: Path) -> None:
    graph = yolo_graph(tmp_path / "m.onnx")

    report = import_onnx(
        graph, tmp_path / "models", ImportOptions("toy", "1", labels=["x", "y", "z"])
    )

    assert report.manifest.labels == ["x", "y", "z"] and report.labels_from == "--labels"


def test_no_labels_anywhere_is_refused(tmp_path: Path) -> None:
    graph = yolo_graph(tmp_path / "m.onnx", metadata={})

    with pytest.raises(InvalidParameterError, match="--labels"):
        import_onnx(graph, tmp_path / "models", OPTIONS)


def test_a_dynamic_size_without_imgsz_needs_the_input_size(tmp_path: Path) -> None:
    graph = yolo_graph(tmp_path / "m.onnx", input_shape=("batch", 3, "height", "width"))

    with pytest.raises(InvalidParameterError, match="--input-size"):
        import_onnx(graph, tmp_path / "models", OPTIONS)
    report = import_onnx(
        graph, tmp_path / "models", ImportOptions("toy", "1", input_size=(320, 320))
    )
    assert report.manifest.resize.stride == 32 and report.config.input.dynamic_size


def test_a_decoder_given_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    graph = yolo_graph(tmp_path / "m.onnx")

    with pytest.raises(UnsupportedModelError, match="the rtdetr decoder expects"):
        import_onnx(graph, tmp_path / "models", ImportOptions("toy", "1", decoder="rtdetr"))


def test_the_manifest_records_checksum_layout_input_and_provenance(tmp_path: Path) -> None:
    graph = yolo_graph(
        tmp_path / "m.onnx", metadata={**names_metadata(LABELS), "license": "AGPL-3.0"}
    )

    report = import_onnx(graph, tmp_path / "models", OPTIONS)

    manifest = yaml.safe_load((report.directory / "manifest.yaml").read_text())
    assert manifest["format"] == "onnx"
    assert manifest["sha256"] == sha256_file(report.directory / "model.onnx")
    assert manifest["onnx"]["decoder"] == {
        "kind": "yolo",
        "outputs": ["output0"],
        "nms_iou": None,
        "box_merge_iou": None,
    }
    assert manifest["onnx"]["input"]["name"] == "images"
    assert manifest["resize"] == {
        "mode": "letterbox",
        "interpolation": "linear",
        "pad_value": 114,
        "stride": None,
    }
    assert manifest["training"]["onnx_license"] == "AGPL-3.0"


def edit(directory: Path, change: Any) -> None:
    path = directory / "manifest.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda m: m.update(labels=["a", "b"]), LabelMismatchError, "2 labels"),
        (lambda m: m["onnx"]["input"].update(name="pixels"), ModelLoadError, "'pixels'"),
        (lambda m: m["onnx"]["decoder"].update(kind="yolov5"), UnsupportedModelError, "yolov5"),
        (lambda m: m.update(sha256="0" * 64), ChecksumMismatchError, "checksum"),
        (lambda m: m.pop("onnx"), ModelLoadError, "onnx section"),
    ],
)
def test_a_registered_onnx_model_is_checked_when_it_loads(
    tmp_path: Path, change: Any, error: type[Exception], match: str
) -> None:
    report = import_onnx(yolo_graph(tmp_path / "m.onnx"), tmp_path / "models", OPTIONS)
    edit(report.directory, change)

    with pytest.raises(error, match=match):
        load_registered(tmp_path / "models", REF, RuntimeOptions("cpu"))


def test_cli_import_prints_what_it_detected_and_list_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = yolo_graph(tmp_path / "m.onnx")
    root = str(tmp_path / "models")

    code = main(
        ["models", "import", str(graph), "--name", "toy", "--version", "1", "--models-root", root]
    )

    out = capsys.readouterr().out
    assert code == 0
    assert "decoder   yolo (outputs output0)" in out
    assert "letterbox, pad 114" in out and "3 from metadata: syringe, glove_box, vial" in out
    assert main(["models", "list", "--models-root", root]) == 0
    assert "toy:1" in capsys.readouterr().out


def test_cli_import_with_merge_nms_records_it_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = yolo_graph(tmp_path / "m.onnx")
    root = tmp_path / "models"

    command = ["models", "import", str(graph), "--name", "toy", "--version", "1"]
    code = main([*command, "--models-root", str(root), "--box-merge-iou", "0.65"])

    assert code == 0
    assert "decoder   yolo (outputs output0), merge-NMS 0.65" in capsys.readouterr().out
    manifest = yaml.safe_load((root / "toy" / "1" / "manifest.yaml").read_text())
    assert manifest["onnx"]["decoder"]["box_merge_iou"] == 0.65


def test_cli_refusal_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(b"not a model")

    code = main(
        [
            "models",
            "import",
            str(path),
            "--name",
            "toy",
            "--version",
            "1",
            "--models-root",
            str(tmp_path),
        ]
    )

    assert code == 2
    assert "refused:" in capsys.readouterr().err
