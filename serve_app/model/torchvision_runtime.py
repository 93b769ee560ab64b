"""The torchvision runtime: detectors built from their manifest's architecture, weights loaded
from a state dict (`torch.load(weights_only=True)`), forwards on CUDA or the CPU."""

import pickle
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from torchvision.models.detection import (
    fasterrcnn_mobilenet_v3_large_320_fpn,
    ssdlite320_mobilenet_v3_large,
)
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator

from serve_app.core.errors import LabelMismatchError, ModelLoadError, UnknownArchitectureError
from serve_app.model.checksum import sha256_file
from serve_app.model.manifest import ModelManifest, write_manifest
from serve_app.model.postprocess import RawDetections
from serve_app.model.runtime import RuntimeOptions, group_by_shape
from serve_app.model.ssd_any_size import take_any_size

Builder = Callable[[ModelManifest], nn.Module]
# What torch.load / load_state_dict raise for a file that is not this model's state dict.
_UNREADABLE_WEIGHTS = (
    RuntimeError,
    ValueError,
    TypeError,
    OSError,
    EOFError,
    pickle.UnpicklingError,
)
# torchvision's SSDlite default-box sizes (fractions of the input side).
TORCHVISION_ANCHOR_SIZES = (0.2, 0.95)
_CLASSIFIER_KEY = re.compile(r"classification_head|cls_score|bbox_pred")


def _ssdlite(manifest: ModelManifest) -> nn.Module:
    if tuple(manifest.input_size) != (320, 320):
        raise ModelLoadError("ssdlite320_mobilenet_v3_large has a fixed input_size of [320, 320]")
    model: nn.Module = ssdlite320_mobilenet_v3_large(
        weights=None,
        weights_backbone=None,
        num_classes=len(manifest.labels) + 1,  # + background
        score_thresh=manifest.candidate_score_floor,
        detections_per_img=manifest.max_detections,
    )
    low, high = manifest.anchor_size_range or TORCHVISION_ANCHOR_SIZES
    # Same number of boxes per location as torchvision's default, so the head's shape holds;
    # smaller `low` helps small items.
    model.anchor_generator = DefaultBoxGenerator([[2, 3]] * 6, min_ratio=low, max_ratio=high)
    if manifest.tiling is not None and manifest.tiling.plan == "whole":
        take_any_size(model, manifest.input_size)
    return model


def _fasterrcnn(manifest: ModelManifest) -> nn.Module:
    model: nn.Module = fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None,
        weights_backbone=None,
        num_classes=len(manifest.labels) + 1,
        box_score_thresh=manifest.candidate_score_floor,
        box_detections_per_img=manifest.max_detections,
        min_size=min(manifest.input_size),
        max_size=max(manifest.input_size),
    )
    return model


ARCHITECTURES: dict[str, Builder] = {
    "ssdlite320_mobilenet_v3_large": _ssdlite,
    "fasterrcnn_mobilenet_v3_large_320_fpn": _fasterrcnn,
}


def build_model(manifest: ModelManifest) -> nn.Module:
    try:
        builder = ARCHITECTURES[manifest.architecture]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise UnknownArchitectureError(
            f"unknown architecture {manifest.architecture!r}; known: {known}"
        ) from None
    return builder(manifest)


def pick_device() -> str:
    # Inside a Ray replica without a GPU, CUDA_VISIBLE_DEVICES may be set to "": ask torch.
    return "cuda" if torch.cuda.is_available() else "cpu"


class TorchvisionRuntime:
    def __init__(self, module: nn.Module, device: torch.device) -> None:
        self.module = module
        self._device = device

    @classmethod
    def load(
        cls, weights_path: Path, manifest: ModelManifest, options: RuntimeOptions
    ) -> "TorchvisionRuntime":
        """Build the manifest's architecture and load the (checksum-verified) weights.

        `options.threads` is not applied here: torch's intra-op threads belong to the thread
        that runs the forward (the Detector's forward workers set them)."""
        target = torch.device(options.device or pick_device())
        module = build_model(manifest)
        try:
            state = torch.load(weights_path, map_location="cpu", weights_only=True)
            _check_classifier(module, state, manifest)
            module.load_state_dict(state)
        except LabelMismatchError:
            raise
        except _UNREADABLE_WEIGHTS as exc:
            raise ModelLoadError(
                f"weights in {weights_path} do not fit the manifest: {exc}"
            ) from None
        return cls(module.eval().to(target), target)

    @property
    def device(self) -> str:
        return str(self._device)

    def predict(self, images: Sequence[npt.NDArray[np.uint8]]) -> list[RawDetections]:
        """One forward per input shape among `images` (one, but for whole large images)."""
        decoded: dict[int, RawDetections] = {}
        for indices in group_by_shape(images):
            for index, raw in zip(
                indices, self._forward([images[i] for i in indices]), strict=True
            ):
                decoded[index] = raw
        return [decoded[index] for index in range(len(images))]

    def _forward(self, images: list[npt.NDArray[np.uint8]]) -> list[RawDetections]:
        batch = torch.from_numpy(np.stack(images)).to(self._device, non_blocking=True)
        tensors = batch.permute(0, 3, 1, 2).float().div_(255.0)
        with torch.inference_mode():
            outputs = self.module(list(tensors))
        return [
            RawDetections(
                boxes=out["boxes"].float().cpu().numpy(),
                scores=out["scores"].float().cpu().numpy(),
                class_ids=out["labels"].cpu().numpy(),
            )
            for out in outputs
        ]


def _check_classifier(model: nn.Module, state: Any, manifest: ModelManifest) -> None:
    """Name the common mistake: weights trained for another number of classes."""
    if not isinstance(state, dict):
        return
    expected = model.state_dict()
    mismatched = [
        key
        for key, value in state.items()
        if key in expected and hasattr(value, "shape") and value.shape != expected[key].shape
    ]
    if mismatched and all(_CLASSIFIER_KEY.search(key) for key in mismatched):
        key = mismatched[0]
        raise LabelMismatchError(
            f"the manifest lists {len(manifest.labels)} labels but the weights' classifier was "
            f"trained for another number of classes ({key}: {tuple(state[key].shape)}, "
            f"expected {tuple(expected[key].shape)})"
        )


def save_model(
    directory: Path, model: nn.Module, manifest_template: ModelManifest
) -> ModelManifest:
    """Write the weights and a manifest carrying their checksum; returns that manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    weights_path = directory / manifest_template.weights
    torch.save(model.state_dict(), weights_path)
    manifest = manifest_template.model_copy(update={"sha256": sha256_file(weights_path)})
    write_manifest(directory, manifest)
    return manifest
