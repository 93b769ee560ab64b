"""Tiling for images much larger than the model input: plan overlapping windows, then merge.

A 1280x720 camera frame squeezed into a 320x320 input shrinks small items below what the model
can see. Large images are cut into windows of about the training scale instead; each window is
a separate model input. The overlap is at least the largest item, so every item lies whole in
some window; boxes cut by an inner window edge are dropped and duplicates removed by NMS.
Pure NumPy: the preprocessor plans, the detector merges.
"""

import math

import numpy as np
import numpy.typing as npt

from serve_app.core.payloads import Tiling, Window

_EDGE_TOLERANCE_PX = 2.0


def plan_windows(width: int, height: int, tiling: Tiling | None) -> list[Window]:
    """One window for the whole image, or a grid of overlapping tiles if it is large enough."""
    if tiling is None or max(width, height) <= tiling.above:
        return [Window(0, 0, width, height, (False, False, False, False))]
    xs = _starts(width, tiling.tile, tiling.overlap)
    ys = _starts(height, tiling.tile, tiling.overlap)
    windows = []
    for row, y in enumerate(ys):
        for col, x in enumerate(xs):
            windows.append(
                Window(
                    x,
                    y,
                    min(tiling.tile, width),
                    min(tiling.tile, height),
                    (col > 0, row > 0, col < len(xs) - 1, row < len(ys) - 1),
                )
            )
    return windows


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    return [round(v) for v in np.linspace(0, length - tile, count)]


def drop_truncated(boxes: npt.NDArray[np.float64], window: Window) -> npt.NDArray[np.bool_]:
    """Keep-mask for boxes (window coordinates) that do not touch an inner edge."""
    left, top, right, bottom = window.inner_edges
    keep = np.ones(len(boxes), dtype=bool)
    if left:
        keep &= boxes[:, 0] > _EDGE_TOLERANCE_PX
    if top:
        keep &= boxes[:, 1] > _EDGE_TOLERANCE_PX
    if right:
        keep &= boxes[:, 2] < window.width - _EDGE_TOLERANCE_PX
    if bottom:
        keep &= boxes[:, 3] < window.height - _EDGE_TOLERANCE_PX
    return keep
