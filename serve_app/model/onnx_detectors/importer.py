"""Register an ONNX detector under the models root: `medinv models import FILE.onnx`.

The graph is opened, its input and output layout read (or checked against `--decoder`), its
labels taken from `--labels` or the metadata `names`; the model directory is written beside
the root, loaded by the ONNX runtime and warmed up, and only then moved into place.
"""

import datetime
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serve_app.core.errors import (
    ConflictError,
    InvalidParameterError,
    LabelMismatchError,
    UnsupportedModelError,
)
from serve_app.core.payloads import ModelRef
from serve_app.model.checksum import sha256_file
from serve_app.model.inference import DetectionModel
from serve_app.model.manifest import (
    NMS_FREE_DECODERS,
    Decoder,
    DecoderConfig,
    ModelManifest,
    OnnxConfig,
    OnnxInputConfig,
    ResizeConfig,
    TilingConfig,
    model_dir,
    read_manifest,
    write_manifest,
)
from serve_app.model.onnx_detectors.layout import Layout, detect_layout, read_layout
from serve_app.model.onnx_detectors.metadata import GraphMetadata
from serve_app.model.onnx_detectors.runtime import (
    OnnxRuntime,
    graph_dtype,
    graph_outputs,
    open_session,
)
from serve_app.model.runtime import RuntimeOptions

WEIGHTS_FILE = "model.onnx"
# Ultralytics' `predict` reports boxes above 0.25 by default.
DEFAULT_SCORE_THRESHOLD = 0.25
# Ultralytics' stride when the metadata does not give one.
_DEFAULT_STRIDE = 32
# What the metadata keys worth keeping are called; `license` matters: Ultralytics' is AGPL.
_PROVENANCE_KEYS = ("author", "date", "version", "license", "docs", "description")


@dataclass(frozen=True)
class ImportOptions:
    name: str
    version: str
    labels: list[str] | None = None  # None: the metadata `names`
    decoder: Decoder | None = None  # None: told from the output shapes
    input_size: tuple[int, int] | None = None  # (width, height); needed for dynamic-size graphs
    resize: ResizeConfig | None = None  # None: what the decoder's exporters train with
    scale: float = 1 / 255
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    channels: str = "rgb"
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    candidate_score_floor: float = 0.01  # the lowest score reported at all
    max_detections: int = 300
    tiling: TilingConfig | None = None
    box_merge_iou: float | None = None  # merge-NMS (serve_app/model/nms.py); None: plain NMS
    architecture: str | None = None
    description: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    force: bool = False


@dataclass(frozen=True)
class ImportReport:
    manifest: ModelManifest
    config: OnnxConfig
    directory: Path
    device: str
    warm_up_ms: float
    labels_from: str  # "metadata" or "--labels"

    def lines(self) -> list[str]:
        m = self.manifest
        spec, decoder = self.config.input, self.config.decoder
        width, height = m.input_size
        batch = "dynamic" if spec.batch is None else str(spec.batch)
        size = f"{width}x{height}" + (" (dynamic height and width)" if spec.dynamic_size else "")
        resize: str = m.resize.mode
        if m.resize.mode == "letterbox":
            resize += f", pad {m.resize.pad_value}"
            if m.resize.stride:
                resize += f", to a multiple of {m.resize.stride}"
        shown = ", ".join(m.labels[:6]) + (", ..." if len(m.labels) > 6 else "")
        return [
            f"imported {m.ref} into {self.directory}",
            f"  decoder   {decoder.kind} (outputs {', '.join(decoder.outputs)})"
            + ("" if decoder.box_merge_iou is None else f", merge-NMS {decoder.box_merge_iou}"),
            f"  input     {spec.name} {spec.dtype} {spec.layout.upper()} {size}, batch {batch}",
            f"  resize    {resize}, {m.resize.interpolation} interpolation",
            f"  labels    {len(m.labels)} from {self.labels_from}: {shown}",
            f"  threshold {m.score_threshold}",
            f"  warm-up   {self.warm_up_ms:.0f} ms on {self.device}",
        ]


def import_onnx(source: Path, models_root: Path, options: ImportOptions) -> ImportReport:
    """Write `models_root/<name>/<version>/`, load it and warm it up; refuse what cannot be
    served with a `ModelLoadError` that says why."""
    ref = ModelRef(options.name, options.version)
    target = model_dir(models_root, ref)
    if target.exists() and not options.force:
        raise ConflictError(f"{ref} already exists in {target}; --force replaces it")
    if not source.is_file():
        raise InvalidParameterError(f"{source} is not a file")
    session = open_session(source, RuntimeOptions(device="cpu"))
    metadata = GraphMetadata.parse(session.get_modelmeta().custom_metadata_map)
    spec, input_size = _input_spec(session, metadata, options)
    outputs = graph_outputs(session, input_size)
    if options.decoder is None:
        layout = detect_layout(outputs, input_size, metadata)
    else:
        layout = read_layout(options.decoder, outputs, input_size)
    labels, labels_from = _labels(options, metadata, layout)
    if options.box_merge_iou is not None and layout.decoder in NMS_FREE_DECODERS:
        raise InvalidParameterError(
            f"merge-NMS needs NMS; the {layout.decoder} layout's outputs are final"
        )
    config = OnnxConfig(
        input=spec,
        decoder=DecoderConfig(
            kind=layout.decoder, outputs=layout.outputs, box_merge_iou=options.box_merge_iou
        ),
    )
    manifest = ModelManifest(
        name=ref.name,
        version=ref.version,
        format="onnx",
        architecture=options.architecture or f"onnx {layout.decoder}",
        labels=labels,
        input_size=input_size,
        resize=options.resize or _default_resize(layout.decoder, spec, metadata),
        score_threshold=options.score_threshold,
        candidate_score_floor=options.candidate_score_floor,
        max_detections=options.max_detections,
        tiling=options.tiling,
        onnx=config,
        weights=WEIGHTS_FILE,
        sha256="0" * 64,
        description=options.description or _metadata_text(session, "description"),
        metrics=options.metrics,
        training={**_provenance(source, session), **options.provenance},
    )
    models_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".import-", dir=models_root) as scratch:
        staged = Path(scratch) / ref.name / ref.version
        staged.mkdir(parents=True)
        shutil.copyfile(source, staged / WEIGHTS_FILE)
        manifest = manifest.model_copy(update={"sha256": sha256_file(staged / WEIGHTS_FILE)})
        write_manifest(staged, manifest)
        # As the loader would (serve_app.model.loader, which imports this package's runtime),
        # with the manifest read back from the file just written.
        written = read_manifest(staged)
        runtime = OnnxRuntime.load(staged / WEIGHTS_FILE, written, RuntimeOptions(device="cpu"))
        model = DetectionModel(written, runtime)
        warm_up_ms = model.warm_up()
        _move_into_place(staged, target)
    return ImportReport(manifest, config, target, model.device, warm_up_ms, labels_from)


def _input_spec(
    session: Any, metadata: GraphMetadata, options: ImportOptions
) -> tuple[OnnxInputConfig, tuple[int, int]]:
    inputs = session.get_inputs()
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise UnsupportedModelError(f"the graph has {len(inputs)} inputs ({names}); one image")
    [graph_input] = inputs
    shape = list(graph_input.shape)
    if len(shape) != 4:
        raise UnsupportedModelError(f"the input {graph_input.name} has shape {shape}: 4 axes")
    nhwc = shape[3] == 3 and shape[1] != 3
    height, width = (shape[1], shape[2]) if nhwc else (shape[2], shape[3])
    channels = shape[3] if nhwc else shape[1]
    if channels not in (3, None) and isinstance(channels, int):
        raise UnsupportedModelError(f"the input {graph_input.name} has {channels} channels")
    dynamic_size = not (isinstance(height, int) and isinstance(width, int))
    if options.input_size is not None:
        size = options.input_size
        if not dynamic_size and size != (width, height):
            raise InvalidParameterError(
                f"--input-size {size[0]}x{size[1]}: the graph's input is fixed at {width}x{height}"
            )
    elif not dynamic_size:
        size = (width, height)
    elif metadata.imgsz is not None:
        size = (metadata.imgsz[1], metadata.imgsz[0])
    else:
        raise InvalidParameterError(
            "the graph's input height and width are dynamic and its metadata has no imgsz: "
            "pass --input-size WIDTHxHEIGHT (the size it was trained at)"
        )
    spec = OnnxInputConfig(
        name=graph_input.name,
        dtype=graph_dtype(graph_input.type),
        channels="bgr" if options.channels == "bgr" else "rgb",
        layout="nhwc" if nhwc else "nchw",
        scale=options.scale,
        mean=options.mean,
        std=options.std,
        batch=shape[0] if isinstance(shape[0], int) else None,
        dynamic_size=dynamic_size,
    )
    return spec, size


def _labels(
    options: ImportOptions, metadata: GraphMetadata, layout: Layout
) -> tuple[list[str], str]:
    if options.labels is not None:
        labels, source = options.labels, "--labels"
    elif metadata.names is not None:
        labels, source = metadata.names, "metadata"
    else:
        raise InvalidParameterError(
            "the graph's metadata has no `names`: pass --labels FILE (one label per line, "
            "in class-id order)"
        )
    if layout.num_classes is not None and layout.num_classes != len(labels):
        raise LabelMismatchError(
            f"{source} gives {len(labels)} labels but the {layout.decoder} outputs have "
            f"{layout.num_classes} classes"
        )
    return labels, source


def _default_resize(
    decoder: Decoder, spec: OnnxInputConfig, metadata: GraphMetadata
) -> ResizeConfig:
    """What the exporters of each layout train and predict with (docs/models.md#decoders)."""
    if decoder == "ssd":  # medinv-train's SSDlite: the torchvision path, Pillow's filter
        return ResizeConfig(mode="stretch", interpolation="antialias")
    if decoder == "rtdetr":  # Ultralytics' RT-DETR predictor: a plain resize, no letterbox
        return ResizeConfig(mode="stretch", interpolation="linear")
    # Ultralytics letterboxes; a dynamic-size export gets the minimal padded rectangle.
    stride = (metadata.stride or _DEFAULT_STRIDE) if spec.dynamic_size else None
    return ResizeConfig(mode="letterbox", interpolation="linear", pad_value=114, stride=stride)


def _metadata_text(session: Any, key: str) -> str:
    value: str = session.get_modelmeta().custom_metadata_map.get(key, "")
    return value


def _provenance(source: Path, session: Any) -> dict[str, Any]:
    meta = session.get_modelmeta()
    props = meta.custom_metadata_map
    provenance: dict[str, Any] = {
        "imported_from": source.name,
        "imported_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "producer": meta.producer_name,
    }
    provenance.update({f"onnx_{key}": props[key] for key in _PROVENANCE_KEYS if key in props})
    return provenance


def _move_into_place(staged: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        shutil.rmtree(target)
    staged.rename(target)
