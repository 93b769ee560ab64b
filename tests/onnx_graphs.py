"""Tiny ONNX graphs built with `onnx.helper` that stand in for exported detectors.

Each graph takes an image batch and emits fixed rows per image (the same for every image of
the batch), so a test knows exactly which boxes, scores and classes the decoder must report.
The input still feeds the outputs (times zero): ONNX Runtime drops inputs nothing reads.
"""

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

Dim = int | str


def constant_detector(
    path: Path,
    outputs: Mapping[str, npt.NDArray[np.float32]],
    *,
    input_shape: tuple[Dim, Dim, Dim, Dim] = ("batch", 3, 320, 320),
    input_name: str = "images",
    input_type: int = TensorProto.FLOAT,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """A graph whose output `name` is `rows` (shape [1, ...]) broadcast over the batch."""
    nodes = [
        helper.make_node("Cast", [input_name], ["as_float"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["as_float"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Mul", ["mean", "zero"], ["zeros"]),
    ]
    initializers = [numpy_helper.from_array(np.zeros((), np.float32), "zero")]
    graph_outputs = []
    for name, rows in outputs.items():
        # zeros [B, 1, 1, 1] reshaped to [B, 1, ...] of the rows' rank, then broadcast
        per_image_shape = np.array([-1] + [1] * (rows.ndim - 1), np.int64)
        initializers += [
            numpy_helper.from_array(rows.astype(np.float32), f"{name}_rows"),
            numpy_helper.from_array(per_image_shape, f"{name}_shape"),
        ]
        nodes += [
            helper.make_node("Reshape", ["zeros", f"{name}_shape"], [f"{name}_zeros"]),
            helper.make_node("Add", [f"{name}_rows", f"{name}_zeros"], [name]),
        ]
        shape: list[Dim] = [input_shape[0], *rows.shape[1:]]
        graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    graph = helper.make_graph(
        nodes,
        "constant_detector",
        [helper.make_tensor_value_info(input_name, input_type, list(input_shape))],
        graph_outputs,
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (metadata or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def yolo_rows(
    boxes_cxcywh: list[tuple[float, float, float, float]],
    class_scores: list[list[float]],
    anchors: int,
) -> npt.NDArray[np.float32]:
    """Ultralytics YOLOv8/11 `[1, 4 + nc, anchors]`: the given candidates first, the rest 0."""
    classes = len(class_scores[0])
    rows = np.zeros((1, 4 + classes, anchors), np.float32)
    for i, (box, scores) in enumerate(zip(boxes_cxcywh, class_scores, strict=True)):
        rows[0, :4, i] = box
        rows[0, 4:, i] = scores
    return rows


def names_metadata(labels: list[str]) -> dict[str, str]:
    """What Ultralytics writes: a dict literal of class id to name."""
    return {"names": repr(dict(enumerate(labels)))}
