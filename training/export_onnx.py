"""Export a registered torchvision SSDlite to ONNX and register it as a new version:
`medinv-train export-onnx --model NAME:VERSION --version NEW`.

The graph holds the backbone, the head, the anchors' box decoding and the softmax; its input
`images` [batch, 3, height, width] (320x320, or any size for the `whole` tiling plan) is
already normalised (the manifest's `onnx.input` does
(pixels / 255 - 0.5) / 0.5, as torchvision's transform would), and its outputs are what
`serve_app.model.onnx_detectors.decoders.decode_ssd` reads: `boxes` [batch, anchors, 4]
x1 y1 x2 y2 in input pixels and `scores` [batch, anchors, 1 + classes]. The rest of
torchvision's `postprocess_detections` (clip, per-class floor and top-k, NMS) runs in NumPy.
"""

import datetime
import tempfile
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch
from torch import Tensor, nn
from torchvision.models.detection.ssd import SSD

from serve_app.core.errors import (
    ConflictError,
    InvalidParameterError,
    UnknownArchitectureError,
)
from serve_app.core.payloads import ModelRef, TilingPlan
from serve_app.model.manifest import (
    ModelManifest,
    ResizeConfig,
    TilingConfig,
    model_dir,
    read_manifest,
)
from serve_app.model.onnx_detectors.importer import ImportOptions, ImportReport, import_onnx
from serve_app.model.runtime import RuntimeOptions
from serve_app.model.ssd_any_size import PixelBoxGenerator, pixel_default_boxes
from serve_app.model.torchvision_runtime import TorchvisionRuntime

OPSET = 17
INPUT_NAME = "images"
OUTPUT_NAMES = ["boxes", "scores"]
EXPORTABLE = ("ssdlite320_mobilenet_v3_large",)
# torchvision's SSDlite transform: /255 (the runtime's), then (x - 0.5) / 0.5.
SSDLITE_MEAN = (0.5, 0.5, 0.5)
SSDLITE_STD = (0.5, 0.5, 0.5)


class ExportableSSD(nn.Module):
    """An SSD's inference forward up to its post-processing: normalised images in, decoded
    boxes and class probabilities of every anchor out. The anchors are computed in the graph
    from the input's size, in pixels as on the training input (serve_app.model.ssd_any_size),
    so the graph runs inputs of any height and width: tiles at the training size, or whole
    large images scaled as a tile would be."""

    def __init__(self, ssd: SSD, input_size: tuple[int, int]) -> None:
        super().__init__()
        self.backbone = ssd.backbone
        self.head = ssd.head
        generator = ssd.anchor_generator
        self.generator = (
            generator.generator if isinstance(generator, PixelBoxGenerator) else generator
        )
        self.training_size = input_size
        weights = ssd.box_coder.weights
        self.weights = (float(weights[0]), float(weights[1]), float(weights[2]), float(weights[3]))
        self.clip = float(ssd.box_coder.bbox_xform_clip)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        features = list(self.backbone(images).values())
        head = self.head(features)
        anchors = pixel_default_boxes(self.generator, self.training_size, images, features)
        boxes = self._decode(head["bbox_regression"], anchors)
        return boxes, torch.softmax(head["cls_logits"], dim=-1)

    def _decode(self, codes: Tensor, anchors: Tensor) -> Tensor:
        """torchvision's `BoxCoder.decode_single`, over a batch: [B, N, 4] codes to x1 y1 x2 y2."""
        anchor_widths = anchors[:, 2] - anchors[:, 0]
        anchor_heights = anchors[:, 3] - anchors[:, 1]
        anchor_ctr_x = anchors[:, 0] + 0.5 * anchor_widths
        anchor_ctr_y = anchors[:, 1] + 0.5 * anchor_heights
        wx, wy, ww, wh = self.weights
        dx = codes[..., 0] / wx
        dy = codes[..., 1] / wy
        dw = torch.clamp(codes[..., 2] / ww, max=self.clip)
        dh = torch.clamp(codes[..., 3] / wh, max=self.clip)
        ctr_x = dx * anchor_widths + anchor_ctr_x
        ctr_y = dy * anchor_heights + anchor_ctr_y
        half_w = 0.5 * (torch.exp(dw) * anchor_widths)
        half_h = 0.5 * (torch.exp(dh) * anchor_heights)
        return torch.stack((ctr_x - half_w, ctr_y - half_h, ctr_x + half_w, ctr_y + half_h), dim=2)


@dataclass(frozen=True)
class ExportConfig:
    source: ModelRef
    version: str
    models_root: Path
    name: str | None = None  # None: the source's name
    tiling_plan: TilingPlan | None = None  # None: the source's
    box_merge_iou: float | None = None  # merge-NMS in the served decoder; None: plain NMS
    score_threshold: float | None = None  # the export's default min_score; None: the source's
    force: bool = False


def export_graph(manifest: ModelManifest, weights: Path, out: Path) -> Path:
    """Write the ONNX graph of a torchvision SSDlite with its labels in the metadata `names`."""
    if manifest.format != "torchvision" or manifest.architecture not in EXPORTABLE:
        raise UnknownArchitectureError(
            f"{manifest.ref} is {manifest.format} {manifest.architecture}; export-onnx exports "
            f"torchvision {', '.join(EXPORTABLE)}"
        )
    runtime = TorchvisionRuntime.load(weights, manifest, RuntimeOptions(device="cpu"))
    module = ExportableSSD(runtime.module, manifest.input_size).eval()
    width, height = manifest.input_size
    example = torch.zeros(1, 3, height, width)
    with torch.no_grad():
        torch.onnx.export(
            module,
            (example,),
            str(out),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=OUTPUT_NAMES,
            dynamic_axes={
                INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                **{name: {0: "batch", 1: "anchors"} for name in OUTPUT_NAMES},
            },
        )
    graph = onnx.load(str(out))
    # As Ultralytics writes them: a dict literal of class id to name.
    metadata = {
        "names": repr(dict(enumerate(manifest.labels))),
        "imgsz": repr([height, width]),
        "description": f"{manifest.ref} exported by medinv-train export-onnx",
        "exported_from": str(manifest.ref),
    }
    for key, value in metadata.items():
        graph.metadata_props.add(key=key, value=value)
    graph.producer_name = "medinv-train export-onnx"
    onnx.checker.check_model(graph)
    onnx.save(graph, str(out))
    return out


def export_onnx(config: ExportConfig) -> ImportReport:
    """Export `config.source` and register it as `name:version` under the models root."""
    source_dir = model_dir(config.models_root, config.source)
    if not source_dir.is_dir():
        raise InvalidParameterError(f"no model {config.source} in {config.models_root}")
    source = read_manifest(source_dir)
    target = ModelRef(config.name or source.name, config.version)
    if model_dir(config.models_root, target).exists() and not config.force:
        raise ConflictError(f"{target} already exists in {config.models_root}; --force replaces it")
    options = ImportOptions(
        name=target.name,
        version=target.version,
        decoder="ssd",
        resize=ResizeConfig(mode="stretch", interpolation="antialias"),
        scale=1 / 255,
        mean=SSDLITE_MEAN,
        std=SSDLITE_STD,
        score_threshold=(
            source.score_threshold if config.score_threshold is None else config.score_threshold
        ),
        candidate_score_floor=source.candidate_score_floor,
        max_detections=source.max_detections,
        tiling=_tiling(source.tiling, config.tiling_plan),
        box_merge_iou=config.box_merge_iou,
        architecture=f"{source.architecture} (onnx)",
        description=f"{source.ref} exported to ONNX (medinv-train export-onnx). "
        f"{source.description}".strip(),
        provenance={
            "exported_from": str(source.ref),
            "exported_from_sha256": source.sha256,
            "exported_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "exporter": f"torch.onnx.export (TorchScript), opset {OPSET}",
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "source_training": dict(source.training),
        },
        force=config.force,
    )
    with tempfile.TemporaryDirectory(prefix="medinv-export-") as scratch:
        graph = export_graph(source, source_dir / source.weights, Path(scratch) / "model.onnx")
        return import_onnx(graph, config.models_root, options)


def _tiling(source: TilingConfig | None, plan: TilingPlan | None) -> TilingConfig | None:
    if plan is None or plan == (source.plan if source else "tiles"):
        return source
    if source is None:
        raise InvalidParameterError(
            f"--tiling-plan {plan}: the source model does not tile, so there is no tile scale"
        )
    return source.model_copy(update={"plan": plan})
