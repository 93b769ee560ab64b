"""Tiling for images much larger than the model input: plan overlapping windows, then merge.

A 1280x720 camera frame squeezed into a 320x320 input shrinks small items below what the model
can see. Large images are seen at about the training scale instead. Under the `tiles` plan they
are cut into windows, each a separate model input; the overlap is at least the largest item, so
every item lies whole in some window; boxes cut by an inner window edge are dropped and
duplicates removed by NMS. Under the `whole` plan the image is one input, scaled as a window
would be: fewer pixels than the overlapping tiles, for detectors that take any input size.
Pure NumPy: the preprocessor plans, the detector merges.
"""

import math

import numpy as np
import numpy.typing as npt

from serve_app.core.payloads import InputSpec, Tiling, Window

_EDGE_TOLERANCE_PX = 2.0
# The sides of a whole large image's input are multiples of this: the coarsest stride at which
# the detector's feature maps still divide the input evenly.
WHOLE_INPUT_MULTIPLE = 32


def plan_windows(width: int, height: int, tiling: Tiling | None) -> list[Window]:
    """One window for the whole image, or a grid of overlapping tiles if it is large enough."""
    if tiling is None or tiling.plan == "whole" or max(width, height) <= tiling.above:
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


def input_size(width: int, height: int, spec: InputSpec) -> tuple[int, int]:
    """The model input (width, height) for the windows of a `width` x `height` image: the
    model's own, but for a large image under the `whole` plan its size scaled as a tile's."""
    tiling = spec.tiling
    if tiling is None or tiling.plan == "tiles" or max(width, height) <= tiling.above:
        return spec.size
    return (
        _scaled_side(width, spec.size[0], tiling.tile),
        _scaled_side(height, spec.size[1], tiling.tile),
    )


def input_count(width: int, height: int, spec: InputSpec) -> int:
    """What an image costs, in inputs of the model's own size: its tiles, or the area of its
    one larger input."""
    if spec.tiling is not None and spec.tiling.plan == "whole":
        input_w, input_h = input_size(width, height, spec)
        return math.ceil(input_w * input_h / (spec.size[0] * spec.size[1]))
    return len(plan_windows(width, height, spec.tiling))


def _scaled_side(length: int, input_side: int, tile: int) -> int:
    multiples = math.ceil(length * input_side / tile / WHOLE_INPUT_MULTIPLE)
    return max(1, multiples) * WHOLE_INPUT_MULTIPLE


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
