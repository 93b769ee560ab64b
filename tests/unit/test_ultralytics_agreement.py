"""Served boxes agree with Ultralytics' own predictions for its export (tests/fixtures/ultralytics).

The fixture's README says how the model and the references were made; Ultralytics itself is not
installed here and never imported.
"""

import numpy as np
import pytest
from PIL import Image

from serve_app.core.payloads import DetectParams, ModelRef
from serve_app.model.imaging import ImageLimits
from serve_app.model.inference import DetectionModel
from serve_app.model.loader import load_registered
from serve_app.model.onnx_detectors.importer import ImportOptions, import_onnx
from serve_app.model.runtime import RuntimeOptions
from tests.ultralytics_reference import FIXTURE, REFERENCE, assert_agrees_with_ultralytics


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> DetectionModel:
    root = tmp_path_factory.mktemp("models")
    import_onnx(FIXTURE / "yolov8n-shelves.onnx", root, ImportOptions(name="yolov8n", version="1"))
    return load_registered(root, ModelRef("yolov8n", "1"), RuntimeOptions("cpu"))


def test_the_import_reads_what_ultralytics_wrote(model: DetectionModel) -> None:
    assert model.manifest.onnx is not None
    assert model.manifest.onnx.decoder.kind == "yolo"
    assert model.manifest.resize.mode == "letterbox" and model.manifest.resize.pad_value == 114
    assert (
        model.manifest.labels[:2] == ["syringe", "glove_box"] and len(model.manifest.labels) == 12
    )


@pytest.mark.parametrize("image", ["std_val_000000", "portrait_500x700"])
def test_the_letterboxed_input_is_ultralytics_own_to_the_bit(
    model: DetectionModel, image: str
) -> None:
    data = next((FIXTURE / "images").glob(f"{image}.*")).read_bytes()
    expected = np.asarray(Image.open(FIXTURE / f"input_{image}.png"))

    [view] = model.preprocess(data, ImageLimits()).views

    assert view.pixels.shape == expected.shape
    assert np.array_equal(view.pixels, expected)


@pytest.mark.parametrize("image", sorted(REFERENCE["images"]))
def test_every_box_matches_ultralytics_predict(model: DetectionModel, image: str) -> None:
    conf = REFERENCE["predict_args"]["conf"]
    data = (FIXTURE / "images" / image).read_bytes()

    served = model.infer(data, DetectParams(min_score=conf, max_detections=300)).detections

    assert_agrees_with_ultralytics(image, served)
