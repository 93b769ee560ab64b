"""What `detect` and `stream` accept as an image, encoded to the bytes the service takes."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    import numpy
    from PIL import Image as PILImage

ImageInput = Union[
    bytes, bytearray, memoryview, str, os.PathLike[str], "PILImage.Image", "numpy.ndarray[Any, Any]"
]
"""Encoded bytes (JPEG, PNG, WebP), a file path, a PIL image, or an HxW or HxWx3/4 uint8 NumPy
array in RGB(A) order (convert OpenCV's BGR first: `frame[..., ::-1]`)."""

JPEG_QUALITY = 95


def media_type(data: bytes) -> str:
    """The Content-Type of encoded image bytes, from their magic number."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"  # the service answers 415


def encode_image(image: ImageInput) -> bytes:
    """`image` as encoded bytes: read a path, encode a PIL image or NumPy array (JPEG, or PNG
    when it has an alpha channel or is not 8-bit)."""
    if isinstance(image, bytes):
        return image
    if isinstance(image, bytearray | memoryview):
        return bytes(image)
    if isinstance(image, str | os.PathLike):
        return Path(image).read_bytes()
    module = type(image).__module__.split(".")[0]
    if module == "numpy":
        return _encode_pil(_from_array(image))
    if module == "PIL":
        return _encode_pil(image)  # type: ignore[arg-type]
    raise TypeError(
        f"cannot send a {type(image).__name__} as an image: pass bytes, a path, a PIL image "
        "or a NumPy array"
    )


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(
            "encoding PIL images and NumPy arrays needs Pillow: "
            "pip install 'medinv-client[pillow]' (or '[numpy]')"
        ) from error
    return Image


def _from_array(array: Any) -> PILImage.Image:
    Image = _pil()
    if array.dtype.name != "uint8":
        raise ValueError(f"a NumPy image must be uint8, not {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"a NumPy image must be HxW, HxWx3 or HxWx4, not {array.shape}")
    return Image.fromarray(array)  # type: ignore[no-any-return]


def _encode_pil(image: PILImage.Image) -> bytes:
    buffer = io.BytesIO()
    if image.mode in ("RGB", "L"):
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    else:
        if image.mode != "RGBA":
            image = image.convert("RGBA")
        image.save(buffer, format="PNG")
    return buffer.getvalue()
