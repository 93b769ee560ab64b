"""Model manifests and discovery under the models root: `<root>/<name>/<version>/manifest.yaml`.

No torch here, so the ingress can list models without importing it.
"""

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from serve_app.core.errors import InvalidManifestError, ModelLoadError
from serve_app.core.payloads import (
    InputSpec,
    ModelRef,
    ModelSummary,
    Resize,
    Tiling,
    TilingPlan,
)

MANIFEST_FILE = "manifest.yaml"
Decoder = Literal["yolo", "yolov5", "yolo-e2e", "rtdetr", "ssd"]
# Layouts whose outputs are final: one box per item, no NMS to run (docs/models.md#decoders).
NMS_FREE_DECODERS: frozenset[Decoder] = frozenset({"yolo-e2e", "rtdetr"})
InputDtype = Literal["float32", "float16", "uint8"]
InputLayout = Literal["nchw", "nhwc"]


class TilingConfig(BaseModel):
    """Images whose longer side exceeds `above` pixels, at the scale of `tile`-pixel windows.

    `tiles` cuts them into such windows, overlapping by `overlap` pixels (at least the largest
    item, so each item lies whole in some window). `whole` runs the image once, scaled as a
    window would be (docs/models.md#tiling): fewer pixels through the model and no cut items,
    for fully-convolutional detectors that take inputs of any size.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tile: int = Field(ge=32)
    overlap: int = Field(ge=0)
    above: int = Field(ge=32)
    plan: TilingPlan = "tiles"

    @model_validator(mode="after")
    def _overlap_below_tile(self) -> "TilingConfig":
        if self.overlap >= self.tile:
            raise ValueError("overlap must be smaller than tile")
        return self


class ResizeConfig(BaseModel):
    """How an image window becomes a model input: see `serve_app.core.payloads.Resize`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["stretch", "letterbox"] = "stretch"
    interpolation: Literal["antialias", "linear"] = "antialias"
    pad_value: int = Field(default=114, ge=0, le=255)
    stride: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _stride_only_for_letterbox(self) -> "ResizeConfig":
        if self.stride is not None and self.mode != "letterbox":
            raise ValueError("stride pads a letterbox; it needs mode: letterbox")
        return self


class OnnxInputConfig(BaseModel):
    """The graph input and how uint8 RGB pixels become it: (pixels * scale - mean) / std."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    dtype: InputDtype = "float32"
    channels: Literal["rgb", "bgr"] = "rgb"
    layout: InputLayout = "nchw"
    scale: float = Field(default=1 / 255, gt=0.0)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    batch: int | None = Field(default=None, ge=1, description="fixed batch size; None: dynamic")
    dynamic_size: bool = Field(default=False, description="height and width are free")

    @model_validator(mode="after")
    def _positive_std(self) -> "OnnxInputConfig":
        if min(self.std) <= 0.0:
            raise ValueError("std must be positive")
        return self


class DecoderConfig(BaseModel):
    """Which output layout the graph has (docs/models.md#decoders) and the outputs it reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Decoder
    outputs: list[str] = Field(min_length=1, description="graph outputs, in the decoder's order")
    nms_iou: float | None = Field(
        default=None, gt=0.0, le=1.0, description="class-aware NMS; None: the layout's default"
    )
    box_merge_iou: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="merge-NMS: each kept box becomes the score-weighted mean of its class's "
        "candidates overlapping it by more than this IoU; None: plain NMS",
    )

    @model_validator(mode="after")
    def _merge_needs_nms(self) -> "DecoderConfig":
        if self.box_merge_iou is not None and self.kind in NMS_FREE_DECODERS:
            raise ValueError(f"box_merge_iou needs NMS; the {self.kind} layout has none")
        return self


class OnnxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: OnnxInputConfig
    decoder: DecoderConfig


class ModelManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    # The model runtime that loads it (serve_app/model/loader.py: RUNTIMES).
    format: Literal["torchvision", "onnx"] = "torchvision"
    architecture: str
    labels: list[str] = Field(min_length=1)
    input_size: tuple[int, int] = Field(description="model input (width, height) in pixels")
    resize: ResizeConfig = ResizeConfig()
    score_threshold: float = Field(ge=0.0, le=1.0, description="default min_score")
    candidate_score_floor: float = Field(
        default=0.01, ge=0.0, le=1.0, description="lowest score the model reports at all"
    )
    max_detections: int = Field(default=300, ge=1, le=1000)
    tiling: TilingConfig | None = None
    anchor_size_range: tuple[float, float] | None = Field(
        default=None,
        description="torchvision SSD default-box sizes, fractions of the input side; "
        "None: torchvision's (0.2, 0.95)",
    )
    onnx: OnnxConfig | None = Field(default=None, description="the graph's input and decoder")
    weights: str = "weights.pt"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    description: str = ""
    metrics: dict[str, Any] = Field(default_factory=dict)
    training: dict[str, Any] = Field(default_factory=dict, description="provenance")

    @model_validator(mode="after")
    def _onnx_section_matches_format(self) -> "ModelManifest":
        if (self.format == "onnx") != (self.onnx is not None):
            raise ValueError("an onnx section is required with format: onnx, and only then")
        if self.format == "torchvision" and self.resize.stride is not None:
            raise ValueError("torchvision models take inputs of one size: no resize.stride")
        whole = self.tiling is not None and self.tiling.plan == "whole"
        if whole and self.onnx is not None and not self.onnx.input.dynamic_size:
            raise ValueError(
                "tiling plan whole runs large images at a larger input: it needs a graph with "
                "dynamic height and width"
            )
        return self

    @property
    def ref(self) -> ModelRef:
        return ModelRef(name=self.name, version=self.version)

    @property
    def input_spec(self) -> InputSpec:
        tiling = None
        if self.tiling is not None:
            tiling = Tiling(
                self.tiling.tile, self.tiling.overlap, self.tiling.above, self.tiling.plan
            )
        resize = Resize(
            mode=self.resize.mode,
            interpolation=self.resize.interpolation,
            pad_value=self.resize.pad_value,
            stride=self.resize.stride,
        )
        return InputSpec(size=self.input_size, tiling=tiling, resize=resize)

    def summary(self) -> ModelSummary:
        return ModelSummary(
            ref=self.ref,
            format=self.format,
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
