"""serve_app.model.annotate: boxes and tags drawn on the original image, at its size."""

from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from serve_app.core.errors import ImageTooLargeError, InvalidImageError
from serve_app.core.payloads import Detection
from serve_app.model.annotate import PALETTE, annotate_image, label_color
from serve_app.model.imaging import ImageLimits

GRAY = (128, 128, 128)


def encode(image: Image.Image, image_format: str = "PNG", **options: object) -> bytes:
    buffer = BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def decoded(data: bytes) -> np.ndarray:
    image = Image.open(BytesIO(data))
    assert image.format == "JPEG"
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def near(pixel: np.ndarray, color: tuple[int, int, int]) -> bool:
    return bool(np.abs(pixel - np.array(color)).max() <= 40)  # JPEG is lossy


def test_boxes_and_tags_are_drawn_in_the_label_colour_at_the_original_size() -> None:
    data = encode(Image.new("RGB", (400, 300), GRAY))
    syringe = Detection("syringe", 0.91, (100.0, 120.0, 300.0, 260.0))
    annotated = decoded(annotate_image(data, [syringe], ImageLimits()))

    assert annotated.shape == (300, 400, 3)
    color = label_color("syringe")
    assert near(annotated[190, 101], color), "left edge of the box"
    assert near(annotated[259, 200], color), "bottom edge of the box"
    assert near(annotated[190, 200], GRAY), "inside the box is untouched"
    tag = annotated[100:119, 100:160].reshape(-1, 3)
    assert sum(near(pixel, color) for pixel in tag) > len(tag) // 2, "the tag above the box"
    assert near(annotated[20, 20], GRAY)


def test_a_box_at_the_top_gets_its_tag_inside() -> None:
    data = encode(Image.new("RGB", (200, 200), GRAY))
    top = Detection("vial", 0.5, (10.0, 0.0, 150.0, 120.0))
    annotated = decoded(annotate_image(data, [top], ImageLimits()))
    assert near(annotated[8, 40], label_color("vial"))


def test_exif_orientation_is_applied_first() -> None:
    image = Image.new("RGB", (300, 200), GRAY)
    exif = image.getexif()
    exif[0x0112] = 6  # shown rotated: 200 x 300
    data = encode(image, "JPEG", exif=exif.tobytes())
    box = Detection("iv_bag", 0.8, (20.0, 200.0, 180.0, 290.0))  # below 200: only if rotated
    annotated = decoded(annotate_image(data, [box], ImageLimits()))
    assert annotated.shape == (300, 200, 3)
    assert near(annotated[245, 21], label_color("iv_bag"))


def test_no_detections_is_the_image_itself() -> None:
    data = encode(Image.new("RGB", (64, 48), GRAY))
    annotated = decoded(annotate_image(data, [], ImageLimits()))
    assert annotated.shape == (48, 64, 3) and near(annotated[24, 32], GRAY)


def test_the_decoding_limits_hold() -> None:
    with pytest.raises(InvalidImageError):
        annotate_image(b"not an image", [], ImageLimits())
    with pytest.raises(ImageTooLargeError):
        annotate_image(encode(Image.new("RGB", (100, 100))), [], ImageLimits(max_pixels=5000))


def test_label_colours_are_stable_and_from_the_palette() -> None:
    # The console computes the same colours; the browser tests compare its overlay with these.
    labels = ("syringe", "glove_box", "vial", "iv_bag", "face_mask")
    assert all(label_color(label) in PALETTE for label in labels)
    assert [label_color(label) for label in labels] == [label_color(label) for label in labels]
    assert len({label_color(label) for label in labels}) > 1
