"""The ONNX Runtime model runtime: a session on the CPU, CUDA or TensorRT execution provider,
the manifest's input conversion, and the decoder of the graph's output layout.

No torch: onnxruntime and NumPy only, so any exporter's model runs the same way.
"""

import os
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from serve_app.core.errors import (
    LabelMismatchError,
    ModelLoadError,
    NotOnnxError,
    UnsupportedModelError,
)
from serve_app.model.manifest import (
    InputDtype,
    InputLayout,
    ModelManifest,
    OnnxConfig,
    OnnxInputConfig,
)
from serve_app.model.onnx_detectors.decoders import DECODERS, DEFAULT_NMS_IOU, DecodeParams
from serve_app.model.onnx_detectors.layout import Layout, Output, read_layout
from serve_app.model.postprocess import RawDetections
from serve_app.model.runtime import RuntimeOptions, group_by_shape

# What ONNX Runtime raises for files it cannot load: none of them derives from RuntimeError.
_ORT_ERRORS: tuple[type[Exception], ...] = tuple(
    getattr(ort.capi.onnxruntime_pybind11_state, name)
    for name in (
        "Fail",
        "InvalidArgument",
        "NoSuchFile",
        "NoModel",
        "InvalidProtobuf",
        "InvalidGraph",
        "NotImplemented",
        "RuntimeException",
    )
)
_UNLOADABLE: tuple[type[Exception], ...] = (*_ORT_ERRORS, RuntimeError, ValueError)
_GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
_NUMPY_DTYPES: dict[str, type[np.generic]] = {
    "float32": np.float32,
    "float16": np.float16,
    "uint8": np.uint8,
}


def open_session(path: Path, options: RuntimeOptions) -> ort.InferenceSession:
    """A session on the best provider `options.device` allows; `NotOnnxError` if the file is
    not a model ONNX Runtime can run."""
    settings = ort.SessionOptions()
    settings.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    settings.inter_op_num_threads = 1
    if options.threads is not None:
        settings.intra_op_num_threads = options.threads
        # Idle intra-op workers spin by default; beside other forwards on a small CPU that
        # steals their cores (as torch's OpenMP workers would).
        settings.add_session_config_entry("session.intra_op.allow_spinning", "0")
    settings.log_severity_level = 3  # errors only: fallbacks are reported through `device`
    try:
        return ort.InferenceSession(
            str(path), sess_options=settings, providers=_providers(options.device, path)
        )
    except _UNLOADABLE as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NotOnnxError(
            f"{path} is not an ONNX model ONNX Runtime can load: {message}"
        ) from None


def _providers(device: str | None, path: Path) -> list[Any]:
    available = ort.get_available_providers()
    # Ray gives actors without a GPU CUDA_VISIBLE_DEVICES="": no CUDA provider to try there.
    if device == "cpu" or (device is None and os.environ.get("CUDA_VISIBLE_DEVICES") == ""):
        return ["CPUExecutionProvider"]
    device_id = 0
    if device is not None:
        kind, _, index = device.partition(":")
        if kind != "cuda" or (index and not index.isdigit()):
            raise ModelLoadError(f"unknown device {device!r} for ONNX Runtime: cpu or cuda[:N]")
        if "CUDAExecutionProvider" not in available:
            raise ModelLoadError(
                f"device {device} asked for, but this onnxruntime has no CUDA execution "
                f"provider (it has {', '.join(available)}): install onnxruntime-gpu"
            )
        device_id = int(index or 0)
    providers: list[Any] = []
    if "TensorrtExecutionProvider" in available:
        cache = Path(tempfile.gettempdir()) / "medinv-tensorrt" / path.parent.name
        providers.append(
            (
                "TensorrtExecutionProvider",
                {
                    "device_id": device_id,
                    "trt_engine_cache_enable": True,
                    "trt_engine_cache_path": str(cache),
                },
            )
        )
    if "CUDAExecutionProvider" in available:
        providers.append(("CUDAExecutionProvider", {"device_id": device_id}))
    return [*providers, "CPUExecutionProvider"]


def graph_outputs(session: ort.InferenceSession, input_size: tuple[int, int]) -> list[Output]:
    """The outputs' concrete shapes, from one run on a zero image of the input size."""
    [graph_input] = session.get_inputs()
    width, height = input_size
    pixels = np.zeros((1, height, width, 3), dtype=np.uint8)
    spec = OnnxInputConfig(
        name=graph_input.name,
        dtype=graph_dtype(graph_input.type),
        layout=_graph_layout(graph_input.shape),
        scale=1.0,
    )
    try:
        values = session.run(None, {graph_input.name: to_input(pixels, spec)})
    except _ORT_ERRORS as exc:
        raise UnsupportedModelError(
            f"the graph fails on a {width}x{height} image: {str(exc).splitlines()[0]}"
        ) from None
    return [
        Output(output.name, tuple(int(d) for d in np.shape(value)))
        for output, value in zip(session.get_outputs(), values, strict=True)
    ]


def to_input(pixels: npt.NDArray[np.uint8], spec: OnnxInputConfig) -> npt.NDArray[Any]:
    """B x H x W x 3 RGB uint8 pixels as the graph's input tensor."""
    if spec.channels == "bgr":
        pixels = pixels[..., ::-1]
    tensor: npt.NDArray[Any] = pixels
    if spec.dtype != "uint8":
        values: npt.NDArray[np.float32] = pixels.astype(np.float32) * np.float32(spec.scale)
        if spec.mean != (0.0, 0.0, 0.0) or spec.std != (1.0, 1.0, 1.0):
            values -= np.asarray(spec.mean, np.float32)
            values /= np.asarray(spec.std, np.float32)
        tensor = values.astype(_NUMPY_DTYPES[spec.dtype], copy=False)
    if spec.layout == "nchw":
        tensor = tensor.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(tensor)


def graph_dtype(onnx_type: str) -> InputDtype:
    dtypes: dict[str, InputDtype] = {
        "tensor(float)": "float32",
        "tensor(float16)": "float16",
        "tensor(uint8)": "uint8",
    }
    if onnx_type not in dtypes:
        raise UnsupportedModelError(
            f"the input is {onnx_type}; float, float16 or uint8 images only"
        )
    return dtypes[onnx_type]


def _graph_layout(shape: Sequence[object]) -> InputLayout:
    if len(shape) != 4:
        raise UnsupportedModelError(f"the input has shape {list(shape)}; an image batch has 4 axes")
    return "nhwc" if shape[3] == 3 and shape[1] != 3 else "nchw"


class OnnxRuntime:
    def __init__(
        self,
        session: ort.InferenceSession,
        config: OnnxConfig,
        layout: Layout,
        manifest: ModelManifest,
    ) -> None:
        self._session = session
        self._input = config.input
        self._outputs = layout.outputs
        self._decode = DECODERS[layout.decoder]
        nms_iou = config.decoder.nms_iou
        self._params = DecodeParams(
            input_size=manifest.input_size,
            num_classes=len(manifest.labels),
            score_floor=manifest.candidate_score_floor,
            max_detections=manifest.max_detections,
            nms_iou=DEFAULT_NMS_IOU[layout.decoder] if nms_iou is None else nms_iou,
            box_merge_iou=config.decoder.box_merge_iou,
        )
        provider = session.get_providers()[0]
        self._device = "cuda" if provider in _GPU_PROVIDERS else "cpu"

    @classmethod
    def load(
        cls, weights_path: Path, manifest: ModelManifest, options: RuntimeOptions
    ) -> "OnnxRuntime":
        """Open the (checksum-verified) graph and check it against the manifest."""
        config = manifest.onnx
        if config is None:
            raise ModelLoadError(f"{manifest.ref} has no onnx section")
        session = open_session(weights_path, options)
        inputs = [i.name for i in session.get_inputs()]
        if inputs != [config.input.name]:
            raise ModelLoadError(
                f"the manifest's input is {config.input.name!r}; the graph's inputs are {inputs}"
            )
        outputs = graph_outputs(session, manifest.input_size)
        layout = read_layout(
            config.decoder.kind,
            [o for o in outputs if o.name in config.decoder.outputs],
            manifest.input_size,
        )
        if layout.num_classes is not None and layout.num_classes != len(manifest.labels):
            raise LabelMismatchError(
                f"the manifest lists {len(manifest.labels)} labels but the graph's outputs "
                f"have {layout.num_classes} classes ({', '.join(config.decoder.outputs)})"
            )
        return cls(session, config, layout, manifest)

    @property
    def device(self) -> str:
        return self._device

    def predict(self, images: Sequence[npt.NDArray[np.uint8]]) -> list[RawDetections]:
        """One run per batch (per item for a graph with a fixed batch size), grouped by input
        shape: the inputs of a dynamic-size model may differ."""
        decoded: dict[int, RawDetections] = {}
        for indices in group_by_shape(images):
            for chunk in self._chunks(indices):
                batch = np.stack([images[i] for i in chunk])
                for index, raw in zip(chunk, self._run(batch), strict=True):
                    decoded[index] = raw
        return [decoded[index] for index in range(len(images))]

    def _chunks(self, indices: list[int]) -> list[list[int]]:
        size = self._input.batch or len(indices)
        return [indices[start : start + size] for start in range(0, len(indices), size)]

    def _run(self, batch: npt.NDArray[np.uint8]) -> list[RawDetections]:
        count = len(batch)
        fixed = self._input.batch
        if fixed is not None and count < fixed:  # a fixed batch axis: fill it with blanks
            batch = np.concatenate([batch, np.zeros((fixed - count, *batch.shape[1:]), np.uint8)])
        height, width = batch.shape[1:3]
        values = self._session.run(self._outputs, {self._input.name: to_input(batch, self._input)})
        params = replace(self._params, input_size=(width, height))
        return self._decode(values, params)[:count]
