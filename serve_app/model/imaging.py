"""Decode, validate and resize encoded images. Pure functions: no Ray, no torch.

The pixel limit is checked against the header before any pixel data is decoded, so a
small file that claims a huge canvas (a decompression bomb) costs nothing.
"""

import math
import time
import warnings
from dataclasses import dataclass
from io import BytesIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from serve_app.core.args import LimitsArgs
from serve_app.core.errors import (
    ImageTooLargeError,
    InvalidImageError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from serve_app.core.payloads import ImageView, InputSpec, PreprocessedImage, Resize, Window
from serve_app.model.linear_resize import resize_linear
from serve_app.model.tiling import input_count, input_size, plan_windows

SUPPORTED_MEDIA_TYPES: dict[str, str] = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
}
_EXIF_ORIENTATION_TAG = 0x0112
_TRANSPOSING_ORIENTATIONS = {5, 6, 7, 8}  # these swap width and height


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    # Model inputs (tiles, or the area of a whole image's larger input in inputs of the model's
    # size) one image may cost: each costs a forward. Within max_pixels a 400000 x 100 strip
    # would be 1250 tiles of a 480-pixel tiling.
    max_views: int = 64

    @classmethod
    def of(cls, limits: LimitsArgs) -> "ImageLimits":
        return cls(
            max_bytes=limits.max_body_bytes,
            max_pixels=limits.max_pixels,
            max_views=limits.max_views_per_image,
        )


def check_media_type(content_type: str | None) -> None:
    """Reject a declared Content-Type that is not one of the supported image types."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in SUPPORTED_MEDIA_TYPES:
        supported = ", ".join(SUPPORTED_MEDIA_TYPES)
        raise UnsupportedMediaTypeError(
            f"unsupported content type {media_type or '(none)'!r}; send one of {supported}"
        )


def sniff_format(data: bytes) -> str | None:
    """The PIL format name from the file's magic bytes, or None if it is not supported."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def preprocess_image(data: bytes, spec: InputSpec, limits: ImageLimits) -> PreprocessedImage:
    """Decode `data`, apply EXIF orientation and cut it into model inputs.

    One view of the whole image at `spec.size`, or overlapping tiles when the model tiles
    large images, or under the `whole` plan one larger view of a large image.
    """
    started = time.perf_counter()
    image = _open_within(data, limits)
    stored_w, stored_h = image.size
    # Before the EXIF read, which may decode a PNG: a transposition does not change the count.
    cost = input_count(stored_w, stored_h, spec)
    if cost > limits.max_views:
        unit = "tiles" if spec.tiling is None or spec.tiling.plan == "tiles" else "model inputs"
        raise ImageTooLargeError(
            f"a {stored_w}x{stored_h} image would cost {cost} {unit}; the limit is "
            f"{limits.max_views} per image"
        )
    try:
        # PNG keeps EXIF after the pixel data, so reading it may decode the whole image.
        transposed = image.getexif().get(_EXIF_ORIENTATION_TAG, 1) in _TRANSPOSING_ORIENTATIONS
        original_w, original_h = (stored_h, stored_w) if transposed else (stored_w, stored_h)
        windows = plan_windows(original_w, original_h, spec.tiling)
        target = input_size(original_w, original_h, spec)
        if image.format == "JPEG" and spec.resize.interpolation == "antialias":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the inputs are much smaller: an
            # antialiased shrink of its own. A `linear` model gets every pixel, as in training.
            need_w, need_h = _decode_size(windows[0], original_w, original_h, target)
            image.draft("RGB", (need_h, need_w) if transposed else (need_w, need_h))
        image.load()
        rgb = _to_rgb(ImageOps.exif_transpose(image))
        views = [
            _view(rgb, window, original_w, original_h, target, spec.resize) for window in windows
        ]
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImageError(f"the {image.format} image could not be decoded: {exc}") from None
    return PreprocessedImage(
        views=views,
        original_width=original_w,
        original_height=original_h,
        preprocess_ms=(time.perf_counter() - started) * 1000.0,
    )


def _open_within(data: bytes, limits: ImageLimits) -> Image.Image:
    """The image opened (not decoded) once its bytes, format and declared pixels pass."""
    if len(data) > limits.max_bytes:
        raise PayloadTooLargeError(
            f"image is {len(data)} bytes; the limit is {limits.max_bytes} bytes"
        )
    image_format = sniff_format(data)
    if image_format is None:
        raise InvalidImageError("the data is not a JPEG, PNG or WebP image")
    return _open_checked(data, image_format, limits.max_pixels)


def decode_image(data: bytes, limits: ImageLimits) -> Image.Image:
    """The whole image in RGB at its original size, EXIF orientation applied: the pixels
    detection boxes refer to. The same checks as `preprocess_image`."""
    image = _open_within(data, limits)
    try:
        image.load()
        return _to_rgb(ImageOps.exif_transpose(image))
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImageError(f"the {image.format} image could not be decoded: {exc}") from None


def _decode_size(
    window: Window, original_w: int, original_h: int, target: tuple[int, int]
) -> tuple[int, int]:
    """The smallest full-image size at which a window still has the model's input resolution."""
    return (
        math.ceil(original_w * target[0] / window.width),
        math.ceil(original_h * target[1] / window.height),
    )


def _view(
    rgb: Image.Image,
    window: Window,
    original_w: int,
    original_h: int,
    target: tuple[int, int],
    resize: Resize,
) -> ImageView:
    """Crop `window` (original pixels) from the decoded image and make it a `target`-sized
    model input."""
    to_decoded_x, to_decoded_y = rgb.width / original_w, rgb.height / original_h
    crop_box = (
        window.x * to_decoded_x,
        window.y * to_decoded_y,
        (window.x + window.width) * to_decoded_x,
        (window.y + window.height) * to_decoded_y,
    )
    target_w, target_h = target
    if resize.mode == "stretch":
        resized = _resize(rgb, crop_box, (target_w, target_h), resize)
        gain = (target_w / window.width, target_h / window.height)
        return ImageView(pixels=np.asarray(resized, dtype=np.uint8), window=window, gain=gain)
    # Ultralytics' LetterBox(center=True): one scale for both sides, rounded per side, centred
    # padding; boxes map back with each side's own gain (its `scale_boxes`).
    ratio = min(target_w / window.width, target_h / window.height)
    content_w = max(round(window.width * ratio), 1)
    content_h = max(round(window.height * ratio), 1)
    canvas_w, canvas_h = target_w, target_h
    if resize.stride is not None:
        canvas_w = content_w + (target_w - content_w) % resize.stride
        canvas_h = content_h + (target_h - content_h) % resize.stride
    left = round((canvas_w - content_w) / 2 - 0.1)
    top = round((canvas_h - content_h) / 2 - 0.1)
    pad = resize.pad_value
    canvas = Image.new("RGB", (canvas_w, canvas_h), (pad, pad, pad))
    canvas.paste(_resize(rgb, crop_box, (content_w, content_h), resize), (left, top))
    return ImageView(
        pixels=np.asarray(canvas, dtype=np.uint8),
        window=window,
        gain=(content_w / window.width, content_h / window.height),
        pad=(left, top),
    )


def _resize(
    rgb: Image.Image,
    box: tuple[float, float, float, float],
    size: tuple[int, int],
    resize: Resize,
) -> Image.Image:
    """`box` of `rgb` scaled to `size` with the model's filter."""
    if resize.interpolation == "antialias":
        return rgb.resize(size, Image.Resampling.BILINEAR, box=box, reducing_gap=3.0)
    # `linear` images are decoded whole, so the box is in whole pixels.
    x1, y1, x2, y2 = (round(v) for v in box)
    window = np.asarray(rgb)[y1:y2, x1:x2]
    return Image.fromarray(resize_linear(window, size))


def _open_checked(data: bytes, image_format: str, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and enforce the pixel limit before decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data), formats=[image_format])
    except Image.DecompressionBombError:
        raise ImageTooLargeError(f"image exceeds the limit of {max_pixels} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidImageError(f"the {image_format} header could not be read: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise InvalidImageError("image has no pixels")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height} = {width * height} pixels; the limit is {max_pixels} pixels"
        )
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # convert("RGB") clips 16-bit values at 255 (a white image); scale to 8 bits instead,
        # shifting in the image's own integer width (no 8-byte copy of a 40 MP image).
        wide = np.asarray(image)
        bits = 16 if image.mode.startswith("I;16") or wide.max(initial=0) < 65536 else 32
        narrow = np.clip(wide >> (bits - 8), 0, 255).astype(np.uint8)
        return Image.fromarray(narrow, mode="L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # what PIL asks for palette images with alpha
    return image.convert("RGB")
