"""The `whole` tiling plan: a large image as one input, scaled as a tile would be."""

import time

import pytest
import torch
from PIL import Image
from pydantic import ValidationError
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.image_list import ImageList

from serve_app.core.errors import ImageTooLargeError
from serve_app.core.payloads import InputSpec, Tiling
from serve_app.model.imaging import ImageLimits, preprocess_image
from serve_app.model.manifest import ModelManifest
from serve_app.model.ssd_any_size import pixel_default_boxes
from serve_app.model.tiling import input_count, input_size, plan_windows
from tests.factories import encode, shelf

WHOLE = Tiling(tile=480, overlap=160, above=960, plan="whole")
SPEC = InputSpec((320, 320), WHOLE)


def test_a_camera_frame_is_one_window_at_the_scale_of_a_tile() -> None:
    (window,) = plan_windows(1280, 720, WHOLE)

    assert (window.x, window.y, window.width, window.height) == (0, 0, 1280, 720)
    assert window.inner_edges == (False, False, False, False)
    # 1280 x 320/480 = 853.3, up to a multiple of 32; 720 x 320/480 = 480 exactly.
    assert input_size(1280, 720, SPEC) == (864, 480)
    assert input_count(1280, 720, SPEC) == 5  # 864 x 480 is 4.05 inputs of 320 x 320


def test_small_images_keep_the_model_input() -> None:
    assert input_size(640, 480, SPEC) == (320, 320)
    assert input_size(960, 960, SPEC) == (320, 320)  # `above` is exclusive, as for tiles
    assert input_count(640, 480, SPEC) == 1


def test_preprocessing_a_camera_frame_yields_one_larger_view() -> None:
    data = encode(shelf(1280, 720), "JPEG")

    prepared = preprocess_image(data, SPEC, ImageLimits())

    (view,) = prepared.views
    assert view.pixels.shape == (480, 864, 3)
    assert view.gain == pytest.approx((864 / 1280, 480 / 720))


def test_an_image_whose_input_would_exceed_the_limit_is_refused_before_decoding() -> None:
    # Under the tiles plan this strip is 1250 tiles; whole, its input is 266688 x 96 pixels.
    strip = encode(Image.new("RGB", (400_000, 100)), "PNG")

    started = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match="would cost 251 model inputs; the limit is 64"):
        preprocess_image(strip, SPEC, ImageLimits(max_views=64))
    assert time.perf_counter() - started < 1.0


def _generator() -> DefaultBoxGenerator:
    return DefaultBoxGenerator([[2, 3]] * 6, min_ratio=0.1, max_ratio=0.9)


def _features(width: int, height: int) -> list[torch.Tensor]:
    """Feature maps of SSDlite's six levels on a width x height input."""
    sizes = [(height // 16, width // 16), (height // 32, width // 32)]
    for _ in range(4):
        h, w = sizes[-1]
        sizes.append(((h + 1) // 2, (w + 1) // 2))
    return [torch.zeros(1, 8, h, w) for h, w in sizes]


def test_on_the_training_input_the_boxes_are_torchvisions() -> None:
    images = torch.zeros(1, 3, 320, 320)
    features = _features(320, 320)
    expected = _generator()(ImageList(images, [(320, 320)]), features)[0]

    boxes = pixel_default_boxes(_generator(), (320, 320), images, features)

    torch.testing.assert_close(boxes, expected, atol=1e-3, rtol=0)


def test_on_a_larger_input_each_level_keeps_its_box_sizes_and_spreads_its_centres() -> None:
    small = pixel_default_boxes(
        _generator(), (320, 320), torch.zeros(1, 3, 320, 320), _features(320, 320)
    )
    large_features = _features(864, 480)
    large = pixel_default_boxes(
        _generator(), (320, 320), torch.zeros(1, 3, 480, 864), large_features
    )

    assert len(large) == sum(f.shape[2] * f.shape[3] * 6 for f in large_features)
    first_level = large_features[0].shape[2] * large_features[0].shape[3] * 6
    sizes = large[:, 2:] - large[:, :2]
    torch.testing.assert_close(sizes[:6], (small[:, 2:] - small[:, :2])[:6])
    centres = (large[:first_level, :2] + large[:first_level, 2:]) / 2
    assert centres[:, 0].min() == pytest.approx(8.0) and centres[:, 0].max() == pytest.approx(856.0)
    assert centres[:, 1].min() == pytest.approx(8.0) and centres[:, 1].max() == pytest.approx(472.0)


def test_a_graph_of_fixed_size_cannot_take_the_whole_plan() -> None:
    manifest = {
        "name": "fixed",
        "version": "1",
        "format": "onnx",
        "architecture": "onnx ssd",
        "labels": ["a"],
        "input_size": [320, 320],
        "score_threshold": 0.5,
        "tiling": {"tile": 480, "overlap": 160, "above": 960, "plan": "whole"},
        "onnx": {
            "input": {"name": "images", "dynamic_size": False},
            "decoder": {"kind": "ssd", "outputs": ["boxes", "scores"]},
        },
        "weights": "model.onnx",
        "sha256": "0" * 64,
    }
    with pytest.raises(ValidationError, match="dynamic height and width"):
        ModelManifest.model_validate(manifest)
    manifest["onnx"]["input"]["dynamic_size"] = True  # type: ignore[index]
    assert ModelManifest.model_validate(manifest).input_spec.tiling == WHOLE
