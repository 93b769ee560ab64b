"""A loaded detector that turns batches of uint8 images into raw detections."""

import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from serve_app.core.payloads import InputSpec
from serve_app.model.postprocess import RawDetections
from serve_app.model.torchvision_runtime import load_model

# Versions a request may pin with `?model=` that one replica (or the local pipeline) keeps
# loaded besides the active model; the least recently used is evicted.
MAX_PINNED_MODELS = 2


def pick_device() -> torch.device:
    # Inside a Ray replica without a GPU, CUDA_VISIBLE_DEVICES may be set to "": ask torch.
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class DetectorModel:
    def __init__(self, directory: Path, device: torch.device) -> None:
        self.device = device
        self.model, self.manifest = load_model(directory, device)

    @property
    def input_spec(self) -> InputSpec:
        return self.manifest.input_spec

    def predict(self, images: list[npt.NDArray[np.uint8]]) -> list[RawDetections]:
        """Run one batched forward pass over H x W x 3 uint8 images of the input size."""
        batch = torch.from_numpy(np.stack(images)).to(self.device, non_blocking=True)
        tensors = batch.permute(0, 3, 1, 2).float().div_(255.0)
        with torch.inference_mode():
            outputs = self.model(list(tensors))
        return [
            RawDetections(
                boxes=out["boxes"].float().cpu().numpy(),
                scores=out["scores"].float().cpu().numpy(),
                class_ids=out["labels"].cpu().numpy(),
            )
            for out in outputs
        ]

    def warm_up(self, iterations: int = 2) -> float:
        """Run dummy batches so the first request does not pay for lazy initialisation."""
        width, height = self.manifest.input_size
        dummy = np.zeros((height, width, 3), dtype=np.uint8)
        started = time.perf_counter()
        for _ in range(iterations):
            self.predict([dummy])
        return (time.perf_counter() - started) * 1000.0
