"""Build torchvision detectors from manifests and load their verified weights."""

import hashlib
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision.models.detection import (
    fasterrcnn_mobilenet_v3_large_320_fpn,
    ssdlite320_mobilenet_v3_large,
)
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator

from serve_app.core.errors import (
    ChecksumMismatchError,
    LabelMismatchError,
    MissingWeightsError,
    ModelLoadError,
    UnknownArchitectureError,
)
from serve_app.model.manifest import ModelManifest, read_manifest, write_manifest

Builder = Callable[[ModelManifest], nn.Module]
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
    low, high = manifest.anchor_size_range
    # Same number of boxes per location as torchvision's default, so the head's shape holds;
    # smaller `low` helps small items.
    model.anchor_generator = DefaultBoxGenerator([[2, 3]] * 6, min_ratio=low, max_ratio=high)
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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_model(directory: Path, device: torch.device) -> tuple[nn.Module, ModelManifest]:
    """Read the manifest, verify the weights' checksum and return the model in eval mode."""
    manifest = read_manifest(directory)
    weights_path = directory / manifest.weights
    if not weights_path.is_file():
        raise MissingWeightsError(f"weights file {weights_path} is missing")
    actual = sha256_file(weights_path)
    if actual != manifest.sha256:
        raise ChecksumMismatchError(
            f"checksum mismatch for {weights_path}: manifest {manifest.sha256}, file {actual}"
        )
    model = build_model(manifest)
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        _check_classifier(model, state, manifest)
        model.load_state_dict(state)
    except LabelMismatchError:
        raise
    except (RuntimeError, ValueError, TypeError, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelLoadError(f"weights in {weights_path} do not fit the manifest: {exc}") from None
    return model.eval().to(device), manifest


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
