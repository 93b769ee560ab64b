"""serve_app.model.imaging: decoding, orientation, resizing and the size/format guards."""

import struct
import time
import zlib
from collections.abc import Callable
from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from serve_app.core.errors import (
    ImageTooLargeError,
    InvalidImageError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from serve_app.core.payloads import InputSpec
from serve_app.model.imaging import ImageLimits, check_media_type, preprocess_image, sniff_format

LIMITS = ImageLimits()
RED = (255, 0, 0)
BLUE = (0, 0, 255)
ORIENTATION = 0x0112


def encode(image: Image.Image, image_format: str, **save_args: object) -> bytes:
    buffer = BytesIO()
    image.save(buffer, image_format, **save_args)
    return buffer.getvalue()


def solid(size: tuple[int, int], color: tuple[int, int, int], mode: str = "RGB") -> Image.Image:
    return Image.new(mode, size, color)


def noise(size: tuple[int, int]) -> Image.Image:
    """Incompressible content, so that a truncated file is cut inside the pixel data."""
    return Image.effect_noise(size, 64).convert("RGB")


def red_left_blue_right(size: tuple[int, int]) -> Image.Image:
    width, height = size
    image = solid(size, BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image


def with_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif


def assert_color(region: np.ndarray, color: tuple[int, int, int], tolerance: int = 12) -> None:
    difference = np.abs(region.reshape(-1, 3).astype(int) - np.array(color)).max()
    assert difference <= tolerance, f"region differs from {color} by up to {difference}"


def png_declaring_size(width: int, height: int) -> bytes:
    """A real 1x1 PNG whose IHDR claims width x height (CRC fixed up): its pixel data is a
    single pixel, so only a check of the header can tell the image is too large."""
    data = bytearray(encode(solid((1, 1), RED), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def jpeg_declaring_size(width: int, height: int) -> bytes:
    """A real 8x8 baseline JPEG whose SOF0 segment claims width x height."""
    data = bytearray(encode(solid((8, 8), RED), "JPEG"))
    sof = data.index(b"\xff\xc0")
    # marker (2), length (2), precision (1), height (2), width (2)
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


# --- decoding ---------------------------------------------------------------------------


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_decodes_each_supported_format_to_target_rgb_array(image_format: str) -> None:
    data = encode(solid((64, 48), (200, 40, 90)), image_format)

    result = preprocess_image(data, InputSpec((32, 24)), LIMITS)

    assert result.views[0].pixels.shape == (24, 32, 3)
    assert result.views[0].pixels.dtype == np.uint8
    assert (result.original_width, result.original_height) == (64, 48)
    assert_color(result.views[0].pixels, (200, 40, 90))
    assert result.preprocess_ms >= 0.0


@pytest.mark.parametrize(
    ("target", "expected_shape"),
    [((320, 320), (320, 320, 3)), ((320, 240), (240, 320, 3)), ((17, 91), (91, 17, 3))],
)
def test_output_array_is_height_by_width_of_target(
    target: tuple[int, int], expected_shape: tuple[int, int, int]
) -> None:
    result = preprocess_image(encode(solid((100, 60), RED), "PNG"), InputSpec(target), LIMITS)

    assert result.views[0].pixels.shape == expected_shape


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_scale_maps_target_pixels_back_to_original_size(image_format: str) -> None:
    data = encode(solid((640, 480), RED), image_format)

    result = preprocess_image(data, InputSpec((320, 160)), LIMITS)

    assert result.views[0].gain == pytest.approx((1 / 2, 1 / 3))
    assert 320 / result.views[0].gain[0] == pytest.approx(result.original_width) == 640
    assert 160 / result.views[0].gain[1] == pytest.approx(result.original_height) == 480


def test_large_jpeg_reports_original_size_although_decoded_at_reduced_scale() -> None:
    # 1600x1200 into 200x150 lets libjpeg decode at 1/8 scale (draft); the reported size and
    # the scale factors must still refer to the original image.
    data = encode(red_left_blue_right((1600, 1200)), "JPEG", quality=95)

    result = preprocess_image(data, InputSpec((200, 150)), LIMITS)

    assert (result.original_width, result.original_height) == (1600, 1200)
    assert result.views[0].gain == (1 / 8, 1 / 8)
    assert result.views[0].pixels.shape == (150, 200, 3)
    assert_color(result.views[0].pixels[:, :90], RED)
    assert_color(result.views[0].pixels[:, 110:], BLUE)


@pytest.mark.parametrize(
    ("mode", "color", "expected"),
    [
        ("RGBA", (10, 200, 30, 255), (10, 200, 30)),
        ("LA", (77, 255), (77, 77, 77)),
        ("L", 77, (77, 77, 77)),
        ("1", 1, (255, 255, 255)),
    ],
)
def test_png_modes_are_converted_to_rgb(
    mode: str, color: object, expected: tuple[int, int, int]
) -> None:
    data = encode(Image.new(mode, (20, 10), color), "PNG")

    result = preprocess_image(data, InputSpec((20, 10)), LIMITS)

    assert result.views[0].pixels.shape == (10, 20, 3)
    assert result.views[0].pixels.dtype == np.uint8
    assert_color(result.views[0].pixels, expected, tolerance=0)


def test_16_bit_grayscale_png_keeps_its_tones() -> None:
    gradient = np.linspace(0, 65535, 256).astype(np.uint16).reshape(1, 256).repeat(4, axis=0)
    image = Image.fromarray(gradient)
    assert image.mode == "I;16"

    result = preprocess_image(encode(image, "PNG"), InputSpec((256, 4)), LIMITS)

    expected = np.linspace(0, 255, 256)
    assert np.abs(result.views[0].pixels[0, :, 0].astype(int) - expected).max() <= 2


def test_palette_png_is_converted_to_rgb_colors_of_its_palette() -> None:
    image = Image.new("P", (20, 10), 0)
    image.putpalette([*RED, *BLUE] + [0] * (256 - 2) * 3)
    image.paste(1, (10, 0, 20, 10))
    data = encode(image, "PNG")

    result = preprocess_image(data, InputSpec((20, 10)), LIMITS)

    assert_color(result.views[0].pixels[:, :10], RED, tolerance=0)
    assert_color(result.views[0].pixels[:, 10:], BLUE, tolerance=0)


def test_palette_png_with_single_transparent_index_is_converted_to_rgb() -> None:
    image = Image.new("P", (20, 10), 0)
    image.putpalette([*RED, *BLUE] + [0] * (256 - 2) * 3)
    image.paste(1, (10, 0, 20, 10))
    data = encode(image, "PNG", transparency=0)

    result = preprocess_image(data, InputSpec((20, 10)), LIMITS)

    assert result.views[0].pixels.shape == (10, 20, 3)
    assert_color(result.views[0].pixels[:, 10:], BLUE, tolerance=0)


def test_palette_png_with_alpha_table_is_converted_to_rgb_without_warning() -> None:
    image = Image.new("P", (20, 10), 0)
    image.putpalette([*RED, *BLUE] + [0] * (256 - 2) * 3)
    image.paste(1, (10, 0, 20, 10))
    data = encode(image, "PNG", transparency=bytes([255, 128]))

    result = preprocess_image(data, InputSpec((20, 10)), LIMITS)

    assert result.views[0].pixels.shape == (10, 20, 3)


@pytest.mark.parametrize(("mode", "color"), [("L", 128), ("CMYK", (0, 255, 255, 0))])
def test_non_rgb_jpeg_is_converted_to_rgb(mode: str, color: object) -> None:
    expected = {"L": (128, 128, 128), "CMYK": RED}[mode]
    data = encode(Image.new(mode, (64, 64), color), "JPEG")

    result = preprocess_image(data, InputSpec((32, 32)), LIMITS)

    assert result.views[0].pixels.shape == (32, 32, 3)
    assert_color(result.views[0].pixels, expected, tolerance=3)


# --- EXIF orientation ---------------------------------------------------------------------


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_exif_orientation_6_swaps_size_and_rotates_left_half_to_top(image_format: str) -> None:
    # Stored 120x60 with the left half red; orientation 6 means "rotate 90 degrees clockwise
    # to display", so the displayed image is 60x120 with the red half on top.
    stored = red_left_blue_right((120, 60))
    data = encode(stored, image_format, exif=with_orientation(6))

    result = preprocess_image(data, InputSpec((30, 40)), LIMITS)

    assert (result.original_width, result.original_height) == (60, 120)
    assert result.views[0].gain == pytest.approx((1 / 2, 1 / 3))
    assert result.views[0].pixels.shape == (40, 30, 3)
    assert_color(result.views[0].pixels[:16], RED)
    assert_color(result.views[0].pixels[24:], BLUE)


@pytest.mark.parametrize(
    ("orientation", "displayed_size", "red_region", "blue_region"),
    [
        # 8: rotate 90 counter-clockwise to display, the left half goes to the bottom
        (8, (60, 120), np.s_[24:, :], np.s_[:16, :]),
        # 3: rotate 180, the left half goes to the right; no swap of width and height
        (3, (120, 60), np.s_[:, 24:], np.s_[:, :16]),
        # 1: as stored
        (1, (120, 60), np.s_[:, :16], np.s_[:, 24:]),
    ],
)
def test_exif_orientation_is_applied_to_jpeg(
    orientation: int,
    displayed_size: tuple[int, int],
    red_region: tuple[slice, slice],
    blue_region: tuple[slice, slice],
) -> None:
    data = encode(red_left_blue_right((120, 60)), "JPEG", exif=with_orientation(orientation))

    result = preprocess_image(data, InputSpec((40, 40)), LIMITS)

    assert (result.original_width, result.original_height) == displayed_size
    assert result.views[0].gain == (40 / displayed_size[0], 40 / displayed_size[1])
    assert_color(result.views[0].pixels[red_region], RED)
    assert_color(result.views[0].pixels[blue_region], BLUE)


# --- limits -------------------------------------------------------------------------------


def test_body_over_max_bytes_is_payload_too_large() -> None:
    data = encode(solid((32, 32), RED), "PNG")

    with pytest.raises(PayloadTooLargeError) as caught:
        preprocess_image(data, InputSpec((16, 16)), ImageLimits(max_bytes=len(data) - 1))

    assert caught.value.code == "payload_too_large"
    assert str(len(data)) in caught.value.message


def test_body_of_exactly_max_bytes_is_accepted() -> None:
    data = encode(solid((32, 32), RED), "PNG")

    result = preprocess_image(data, InputSpec((16, 16)), ImageLimits(max_bytes=len(data)))

    assert result.views[0].pixels.shape == (16, 16, 3)


def test_size_is_checked_before_format_so_large_garbage_is_payload_too_large() -> None:
    with pytest.raises(PayloadTooLargeError):
        preprocess_image(b"x" * 2048, InputSpec((16, 16)), ImageLimits(max_bytes=1024))


def test_image_exactly_at_pixel_limit_is_accepted() -> None:
    # 73 * 137 = 10001 pixels
    data = encode(solid((73, 137), RED), "PNG")

    result = preprocess_image(data, InputSpec((10, 10)), ImageLimits(max_pixels=10001))

    assert (result.original_width, result.original_height) == (73, 137)


def test_image_one_pixel_over_limit_is_too_large() -> None:
    data = encode(solid((73, 137), RED), "PNG")

    with pytest.raises(ImageTooLargeError) as caught:
        preprocess_image(data, InputSpec((10, 10)), ImageLimits(max_pixels=10000))

    assert caught.value.code == "image_too_large"


@pytest.mark.parametrize(
    "declared",
    [
        (8000, 8000),  # 64 MP: over our 40 MP limit, under PIL's own warning threshold
        (10000, 10000),  # 100 MP: PIL warns (DecompressionBombWarning)
        (60000, 60000),  # 3.6 GP: PIL refuses (DecompressionBombError)
    ],
    ids=lambda size: f"{size[0]}x{size[1]}",
)
@pytest.mark.parametrize("make_bomb", [png_declaring_size, jpeg_declaring_size])
def test_header_declaring_huge_canvas_is_too_large_without_decoding(
    make_bomb: Callable[[int, int], bytes], declared: tuple[int, int]
) -> None:
    data = make_bomb(*declared)
    assert len(data) < 1000

    # The file holds (at most) a few pixels: if it were decoded, it would be invalid rather
    # than too large.
    with pytest.raises(ImageTooLargeError):
        preprocess_image(data, InputSpec((320, 320)), LIMITS)


def test_real_highly_compressed_large_png_is_rejected_quickly() -> None:
    data = encode(Image.new("1", (8000, 8000)), "PNG")  # 64 MP of black in a few KB
    assert len(data) < 20_000

    started = time.perf_counter()
    with pytest.raises(ImageTooLargeError) as caught:
        preprocess_image(data, InputSpec((320, 320)), LIMITS)
    elapsed = time.perf_counter() - started

    assert "8000x8000" in caught.value.message
    # Decoding and converting 64 MP takes ~0.3 s here; reading the header takes well under 1 ms.
    assert elapsed < 0.1


# --- invalid data ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is plain text and not an image at all",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        b"\xff\xd8\xff" + b"\x00" * 64,
        b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 64,
    ],
    ids=["empty", "text", "gif", "png-magic-then-zeros", "jpeg-magic-then-zeros", "webp-garbage"],
)
def test_non_image_bytes_are_invalid_image(data: bytes) -> None:
    with pytest.raises(InvalidImageError) as caught:
        preprocess_image(data, InputSpec((16, 16)), LIMITS)

    assert caught.value.code == "invalid_image"


@pytest.mark.parametrize(
    ("image_format", "keep"),
    [
        ("JPEG", 0.1),
        ("JPEG", 0.5),
        ("JPEG", 0.99),
        ("JPEG", 40),
        ("WEBP", 0.5),
        ("WEBP", 0.99),
        ("PNG", 20),
        ("PNG", 40),
        ("PNG", 0.5),
        ("PNG", 0.99),
    ],
)
def test_truncated_image_is_invalid_image(image_format: str, keep: float) -> None:
    """`keep` is the fraction of the file kept, or (when >= 1) a number of bytes."""
    data = encode(noise((160, 120)), image_format)
    cut = data[: int(len(data) * keep)] if keep < 1 else data[: int(keep)]
    assert sniff_format(cut) == image_format or len(cut) < 12

    with pytest.raises(InvalidImageError):
        preprocess_image(cut, InputSpec((32, 32)), LIMITS)


# --- media type and format sniffing ------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/jpeg; charset=x",
        "IMAGE/PNG",
        "  image/webp ; q=1",
    ],
)
def test_check_media_type_accepts_supported_types(content_type: str) -> None:
    check_media_type(content_type)


@pytest.mark.parametrize(
    "content_type",
    [None, "", "image/gif", "image/jpg2", "text/plain", "application/octet-stream", "; image/png"],
)
def test_check_media_type_rejects_others(content_type: str | None) -> None:
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        check_media_type(content_type)

    assert caught.value.code == "unsupported_media_type"
    assert "image/jpeg" in caught.value.message  # tells the client what it may send


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_sniff_format_recognises_real_files(image_format: str) -> None:
    assert sniff_format(encode(solid((4, 4), RED), image_format)) == image_format


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xd8",
        b"\x89PNG\r\n",
        b"RIFF",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"GIF89a....",
        b"BM\x00\x00\x00\x00",
    ],
)
def test_sniff_format_returns_none_for_other_data(data: bytes) -> None:
    assert sniff_format(data) is None


def test_sniff_format_recognises_gif_and_bmp_files_as_unsupported() -> None:
    assert sniff_format(encode(solid((4, 4), RED), "GIF")) is None
    assert sniff_format(encode(solid((4, 4), RED), "BMP")) is None
