"""The model runtime interface: what a loaded model must do for the inference contract.

One implementation per model format (`torchvision_runtime.TorchvisionRuntime`,
`onnx_detectors.runtime.OnnxRuntime`); the loader picks it by the manifest's `format`.
No torch here: the interface is importable by anything that only needs to name it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from serve_app.model.postprocess import RawDetections


@dataclass(frozen=True)
class RuntimeOptions:
    device: str | None = None  # "cpu", "cuda", "cuda:1"; None: a GPU if there is one
    threads: int | None = None  # intra-op threads of each forward; None: the runtime's default


class ModelRuntime(Protocol):
    @property
    def device(self) -> str:
        """Where the forwards run: "cpu", "cuda", "cuda:1", ..."""
        ...

    def predict(self, images: Sequence[npt.NDArray[np.uint8]]) -> list[RawDetections]:
        """Batched forwards over H x W x 3 RGB uint8 images of the model's input size (or, for
        whole large images, larger); boxes in input pixels, class ids 1-based."""
        ...


def group_by_shape(images: Sequence[npt.NDArray[np.uint8]]) -> list[list[int]]:
    """The indices of `images`, grouped by shape: one batch each."""
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for index, image in enumerate(images):
        by_shape.setdefault(image.shape, []).append(index)
    return list(by_shape.values())
