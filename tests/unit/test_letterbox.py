"""The letterbox and OpenCV-style linear resizing of `serve_app.model.imaging`."""

import io

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from serve_app.core.payloads import InputSpec, Resize
from serve_app.model.imaging import ImageLimits, preprocess_image

LETTERBOX = Resize(mode="letterbox", interpolation="linear", pad_value=114)


def encoded(pixels: npt.NDArray[np.uint8], image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, image_format)
    return buffer.getvalue()


def opencv_inter_linear(
    pixels: npt.NDArray[np.uint8], size: tuple[int, int]
) -> npt.NDArray[np.float64]:
    """cv2.resize(INTER_LINEAR) by its definition: sample at (x + 0.5) * scale - 0.5, the
    four neighbours weighted by distance, indices clamped at the border; no antialiasing."""
    height, width = pixels.shape[:2]
    out_w, out_h = size

    def taps(
        out: int, src: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        position = (np.arange(out) + 0.5) * (src / out) - 0.5
        low = np.floor(position).astype(np.int64)
        weight = position - low
        return np.clip(low, 0, src - 1), np.clip(low + 1, 0, src - 1), weight

    x0, x1, wx = taps(out_w, width)
    y0, y1, wy = taps(out_h, height)
    image = pixels.astype(np.float64)
    top = image[y0][:, x0] * (1 - wx)[None, :, None] + image[y0][:, x1] * wx[None, :, None]
    bottom = image[y1][:, x0] * (1 - wx)[None, :, None] + image[y1][:, x1] * wx[None, :, None]
    return top * (1 - wy)[:, None, None] + bottom * wy[:, None, None]


def random_image(width: int, height: int) -> npt.NDArray[np.uint8]:
    rng = np.random.default_rng(width * 1000 + height)
    smooth = rng.integers(0, 256, size=(height // 8 + 2, width // 8 + 2, 3)).astype(np.uint8)
    return np.asarray(Image.fromarray(smooth).resize((width, height), Image.Resampling.BICUBIC))


@pytest.mark.parametrize(
    ("image", "content"),
    [
        ((640, 480), (320, 240)),
        ((1280, 720), (320, 180)),
        ((333, 250), (320, 240)),
        ((100, 150), (213, 320)),
    ],
)
def test_linear_resize_matches_opencv_inter_linear_within_one_level(
    image: tuple[int, int], content: tuple[int, int]
) -> None:
    pixels = random_image(*image)

    view = preprocess_image(
        encoded(pixels), InputSpec((320, 320), resize=LETTERBOX), ImageLimits()
    ).views[0]

    left, top = view.pad
    inside = view.pixels[top : top + content[1], left : left + content[0]].astype(np.float64)
    assert np.abs(inside - opencv_inter_linear(pixels, content)).max() <= 1.0


def test_letterbox_centres_the_image_between_gray_bars() -> None:
    pixels = np.zeros((480, 640, 3), np.uint8)
    pixels[100:200, 320:640] = (255, 0, 0)  # a red block in the right half

    view = preprocess_image(
        encoded(pixels), InputSpec((320, 320), resize=LETTERBOX), ImageLimits()
    ).views[0]

    assert view.pixels.shape == (320, 320, 3)
    assert view.pad == (0, 40) and view.gain == (0.5, 0.5)
    assert (view.pixels[:40] == 114).all() and (view.pixels[280:] == 114).all()
    assert (view.pixels[40 + 55 : 40 + 95, 165:315] == (255, 0, 0)).all()
    assert (view.pixels[40 + 10 : 40 + 45, :150] == 0).all()


def test_letterbox_of_a_portrait_image_pads_left_and_right() -> None:
    pixels = np.full((640, 480, 3), 7, np.uint8)

    view = preprocess_image(
        encoded(pixels), InputSpec((320, 320), resize=LETTERBOX), ImageLimits()
    ).views[0]

    assert view.pad == (40, 0)
    assert (view.pixels[:, :40] == 114).all() and (view.pixels[:, 280:] == 114).all()
    assert (view.pixels[:, 40:280] == 7).all()


def test_linear_models_get_the_whole_jpeg_not_a_reduced_decode() -> None:
    # libjpeg's reduced decode is a shrink of its own: a model trained on OpenCV's resize of
    # the full image must not get it.
    pixels = random_image(1280, 960)
    jpeg = encoded(pixels, "JPEG")
    full = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))

    view = preprocess_image(jpeg, InputSpec((320, 320), resize=LETTERBOX), ImageLimits()).views[0]

    inside = view.pixels[view.pad[1] : view.pad[1] + 240].astype(np.float64)
    assert np.abs(inside - opencv_inter_linear(full, (320, 240))).max() <= 1.0


def test_stretch_is_unchanged_for_the_torchvision_models() -> None:
    pixels = random_image(640, 480)

    view = preprocess_image(encoded(pixels), InputSpec((320, 320)), ImageLimits()).views[0]

    expected = Image.fromarray(pixels).resize(
        (320, 320), Image.Resampling.BILINEAR, reducing_gap=3.0
    )
    assert view.pad == (0, 0)
    assert (view.pixels == np.asarray(expected)).all()
