"""Plain data passed between deployments (pickled by Ray). No framework imports."""

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

TilingPlan = Literal["tiles", "whole"]


@dataclass(frozen=True)
class Tiling:
    """Images whose longer side exceeds `above` pixels are seen at the scale of `tile`-pixel
    windows: cut into such windows (`tiles`), or whole, scaled as a window would be (`whole`)."""

    tile: int
    overlap: int
    above: int
    plan: TilingPlan = "tiles"


@dataclass(frozen=True)
class Resize:
    """How a window of an image becomes a model input.

    `stretch` scales width and height independently to the input size; `letterbox` keeps the
    aspect ratio and pads with `pad_value` (centred), as Ultralytics does. `stride` (letterbox
    only) pads to the next multiple of it instead of the whole input: Ultralytics' rectangular
    inputs for exports with dynamic height and width. `antialias` is Pillow's bilinear filter,
    which widens when it shrinks; `linear` is OpenCV's INTER_LINEAR, which does not: a model
    must get the filter it was trained with.
    """

    mode: Literal["stretch", "letterbox"] = "stretch"
    interpolation: Literal["antialias", "linear"] = "antialias"
    pad_value: int = 114
    stride: int | None = None


@dataclass(frozen=True)
class InputSpec:
    """How a model wants its images: input (width, height), resizing, tiling for large ones."""

    size: tuple[int, int]
    tiling: Tiling | None = None
    resize: Resize = Resize()


@dataclass(frozen=True)
class Window:
    """A rectangle of an image in its original pixels: the whole image, or one tile."""

    x: int
    y: int
    width: int
    height: int
    # Which sides border another window (left, top, right, bottom): boxes touching those
    # sides are truncated views of items that a neighbour sees whole.
    inner_edges: tuple[bool, bool, bool, bool]


@dataclass(frozen=True)
class ImageView:
    """One model input cut from an image: `window`, resized (and padded) to the model input.

    A point at (x, y) of the window lies at (x * gain_x + pad_x, y * gain_y + pad_y) of the input.
    """

    pixels: npt.NDArray[np.uint8]  # H x W x 3 RGB, the model's input
    window: Window
    gain: tuple[float, float]  # model-input pixels per original pixel, x and y
    pad: tuple[int, int] = (0, 0)  # letterbox padding left and top, in model-input pixels


@dataclass(frozen=True)
class PreprocessedImage:
    """A decoded image as model inputs, with what is needed to map boxes back."""

    views: list[ImageView]
    original_width: int
    original_height: int
    preprocess_ms: float


@dataclass(frozen=True)
class DetectParams:
    min_score: float | None = None  # None: the model's default threshold
    max_detections: int = 100


@dataclass(frozen=True)
class Detection:
    label: str
    score: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in original-image pixels


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str

    @classmethod
    def parse(cls, text: str) -> "ModelRef":
        name, sep, version = text.partition(":")
        if not sep or not name or not version:
            raise ValueError(f"model reference must look like 'name:version', got {text!r}")
        return cls(name=name, version=version)

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class DetectionResult:
    model: ModelRef
    image_width: int
    image_height: int
    detections: list[Detection]
    preprocess_ms: float
    inference_ms: float
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSummary:
    ref: ModelRef
    format: str
    architecture: str
    labels: list[str]
    score_threshold: float
    input: InputSpec
    description: str
    metrics: dict[str, object]
    training: dict[str, object]


@dataclass(frozen=True)
class BatchingInfo:
    max_batch_size: int
    batch_wait_timeout_s: float
    concurrent_batches: int


@dataclass(frozen=True)
class ModelsInfo:
    active: ModelSummary
    device: str
    available: list[ModelSummary]
    batching: BatchingInfo
