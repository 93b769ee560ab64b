"""Model manifests and discovery under the models root: `<root>/<name>/<version>/manifest.yaml`.

No torch here, so the ingress can list models without importing it.
"""

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from serve_app.core.errors import InvalidManifestError, ModelLoadError
from serve_app.core.payloads import InputSpec, ModelRef, ModelSummary, Tiling

MANIFEST_FILE = "manifest.yaml"


class TilingConfig(BaseModel):
    """Cut images whose longer side exceeds `above` pixels into `tile`-pixel windows that overlap
    by `overlap` pixels (at least the largest item, so each item lies whole in some window)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tile: int = Field(ge=32)
    overlap: int = Field(ge=0)
    above: int = Field(ge=32)

    @model_validator(mode="after")
    def _overlap_below_tile(self) -> "TilingConfig":
        if self.overlap >= self.tile:
            raise ValueError("overlap must be smaller than tile")
        return self


class ModelManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    # The model runtime that loads it (serve_app/model/loader.py: RUNTIMES).
    format: Literal["torchvision"] = "torchvision"
    architecture: str
    labels: list[str] = Field(min_length=1)
    input_size: tuple[int, int] = Field(description="model input (width, height) in pixels")
    score_threshold: float = Field(ge=0.0, le=1.0, description="default min_score")
    candidate_score_floor: float = Field(
        default=0.01, ge=0.0, le=1.0, description="lowest score the model reports at all"
    )
    max_detections: int = Field(default=300, ge=1, le=1000)
    tiling: TilingConfig | None = None
    anchor_size_range: tuple[float, float] = Field(
        default=(0.2, 0.95), description="SSD default-box sizes, fractions of the input side"
    )
    weights: str = "weights.pt"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    description: str = ""
    metrics: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict, description="provenance")

    @property
    def ref(self) -> ModelRef:
        return ModelRef(name=self.name, version=self.version)

    @property
    def input_spec(self) -> InputSpec:
        tiling = None
        if self.tiling is not None:
            tiling = Tiling(self.tiling.tile, self.tiling.overlap, self.tiling.above)
        return InputSpec(size=self.input_size, tiling=tiling)

    def summary(self) -> ModelSummary:
        return ModelSummary(
            ref=self.ref,
            architecture=self.architecture,
            labels=list(self.labels),
            score_threshold=self.score_threshold,
            input=self.input_spec,
            description=self.description,
            metrics=dict(self.metrics),
            training=dict(self.training),
        )


def model_dir(root: Path, ref: ModelRef) -> Path:
    return root / ref.name / ref.version


def read_manifest(directory: Path) -> ModelManifest:
    path = directory / MANIFEST_FILE
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InvalidManifestError(f"no {MANIFEST_FILE} in {directory}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidManifestError(f"{path} is not valid YAML: {exc}") from None
    try:
        manifest = ModelManifest.model_validate(raw)
    except ValidationError as exc:
        raise InvalidManifestError(f"{path} is not a valid manifest: {exc}") from None
    if (manifest.name, manifest.version) != (directory.parent.name, directory.name):
        raise InvalidManifestError(
            f"{path} names {manifest.ref} but lies in {directory.parent.name}/{directory.name}"
        )
    return manifest


def write_manifest(directory: Path, manifest: ModelManifest) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    data = manifest.model_dump(mode="json")
    (directory / MANIFEST_FILE).write_text(yaml.safe_dump(data, sort_keys=False))


def list_manifests(root: Path) -> list[ModelManifest]:
    """Every readable manifest under `root`, sorted by name and version; broken ones skipped."""
    found = []
    for path in sorted(root.glob(f"*/*/{MANIFEST_FILE}")):
        try:
            found.append(read_manifest(path.parent))
        except ModelLoadError:
            continue
    return found
