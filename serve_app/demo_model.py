"""The placeholder demo model: real architecture and loading path, randomly initialised weights.

Until a trained model ships (the synthetic-data training pipeline), `medinv init-demo-model`
writes this one so a fresh checkout serves end to end. Its detections are not meaningful.
"""

from pathlib import Path

import torch

from serve_app.errors import ModelLoadError
from serve_app.model_loader import build_model, save_model
from serve_app.model_manifest import ModelManifest, model_dir, read_manifest
from serve_app.payloads import ModelRef

DEMO_MODEL = ModelRef(name="demo-ssdlite", version="0.0.0-untrained")
SUPPLY_LABELS = [
    "syringe",
    "glove_box",
    "face_mask",
    "gauze_pad",
    "bandage_roll",
    "iv_bag",
    "vial",
    "pill_bottle",
    "sanitizer_bottle",
    "catheter_kit",
    "thermometer",
    "scalpel_pack",
]
DEMO_SEED = 20261125


def demo_manifest_template() -> ModelManifest:
    return ModelManifest(
        name=DEMO_MODEL.name,
        version=DEMO_MODEL.version,
        architecture="ssdlite320_mobilenet_v3_large",
        labels=SUPPLY_LABELS,
        input_size=(320, 320),
        score_threshold=0.6,
        candidate_score_floor=0.05,
        max_detections=300,
        sha256="0" * 64,  # replaced by the real checksum when the weights are written
        description="UNTRAINED placeholder (random weights, seed "
        f"{DEMO_SEED}): exercises the serving path; its detections mean nothing.",
    )


def ensure_demo_model(root: Path, force: bool = False) -> tuple[Path, bool]:
    """Create the demo model under `root` unless it is there; returns (directory, created)."""
    directory = model_dir(root, DEMO_MODEL)
    template = demo_manifest_template()
    if not force and _is_current(directory, template):
        return directory, False
    torch.manual_seed(DEMO_SEED)
    model = build_model(template)
    # torchvision's init gives every class the same score (1/13) whatever the image; random
    # class biases spread the scores so a few boxes clear the threshold.
    for name, parameter in model.head.classification_head.named_parameters():  # type: ignore[union-attr]
        if name.endswith("bias"):
            torch.nn.init.normal_(parameter, std=1.0)
    save_model(directory, model, template)
    return directory, True


def _is_current(directory: Path, template: ModelManifest) -> bool:
    """True if the weights exist and the manifest matches the template (checksum aside)."""
    if not (directory / template.weights).is_file():
        return False
    try:
        manifest = read_manifest(directory)
    except ModelLoadError:
        return False
    return manifest.model_copy(update={"sha256": template.sha256}) == template
