"""OpenCV's `resize(INTER_LINEAR)` of uint8 images, reproduced in NumPy.

Ultralytics resizes with it; a model trained on its pixels should get the same pixels, and
float bilinear (or Pillow's, which truncates and antialiases) differs by a gray level in most
of them. OpenCV works in fixed point: each output pixel samples the source at
((x + 0.5) * scale - 0.5), clamped at the border, with weights rounded to 11 bits; the
horizontal pass is exact in integers, the vertical pass is its SIMD kernel's
`((row >> 4) * weight >> 16)` pair, rounded by `(sum + 2) >> 2`. No OpenCV dependency.
"""

import numpy as np
import numpy.typing as npt

_COEF_SCALE = 2048  # INTER_RESIZE_COEF_SCALE: 11-bit weights

Taps = tuple[
    npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.int64], npt.NDArray[np.int64]
]


def _taps(target: int, source: int) -> Taps:
    """Per output index: the two source indices and their fixed-point weights."""
    position = ((np.arange(target, dtype=np.float64) + 0.5) * (source / target) - 0.5).astype(
        np.float32
    )
    first = np.floor(position).astype(np.intp)
    fraction = position - first.astype(np.float32)
    before = first < 0
    fraction[before], first[before] = 0.0, 0
    after = first >= source - 1
    fraction[after], first[after] = 0.0, source - 1
    second = np.minimum(first + 1, source - 1)
    weight_first = np.rint((np.float32(1.0) - fraction) * _COEF_SCALE).astype(np.int64)
    weight_second = np.rint(fraction * _COEF_SCALE).astype(np.int64)
    return first, second, weight_first, weight_second


def resize_linear(pixels: npt.NDArray[np.uint8], size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """H x W x C uint8 `pixels` resized to `size` (width, height) as cv2.INTER_LINEAR does."""
    height, width = pixels.shape[:2]
    target_w, target_h = size
    if (target_w, target_h) == (width, height):
        return pixels
    x0, x1, ax0, ax1 = _taps(target_w, width)
    y0, y1, by0, by1 = _taps(target_h, height)
    rows = np.union1d(y0, y1)
    source = pixels[rows].astype(np.int64)
    horizontal = source[:, x0] * ax0[None, :, None] + source[:, x1] * ax1[None, :, None]
    row_index = np.searchsorted(rows, np.stack([y0, y1]))
    top, bottom = horizontal[row_index[0]] >> 4, horizontal[row_index[1]] >> 4
    vertical = ((top * by0[:, None, None]) >> 16) + ((bottom * by1[:, None, None]) >> 16)
    resized: npt.NDArray[np.uint8] = np.clip((vertical + 2) >> 2, 0, 255).astype(np.uint8)
    return resized
