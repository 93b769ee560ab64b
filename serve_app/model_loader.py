"""Build torchvision detectors from manifests and load their verified weights."""

import hashlib
import pickle
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torchvision.models.detection import (
    fasterrcnn_mobilenet_v3_large_320_fpn,
    ssdlite320_mobilenet_v3_large,
)

from serve_app.errors import ModelLoadError
from serve_app.model_manifest import ModelManifest, read_manifest, write_manifest

Builder = Callable[[ModelManifest], nn.Module]


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
        raise ModelLoadError(
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
        raise ModelLoadError(f"weights file {weights_path} is missing")
    actual = sha256_file(weights_path)
    if actual != manifest.sha256:
        raise ModelLoadError(
            f"checksum mismatch for {weights_path}: manifest {manifest.sha256}, file {actual}"
        )
    model = build_model(manifest)
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except (RuntimeError, ValueError, TypeError, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise ModelLoadError(f"weights in {weights_path} do not fit the manifest: {exc}") from None
    return model.eval().to(device), manifest


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
