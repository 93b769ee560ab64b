"""Which decoder reads a graph's outputs, told from their shapes (and the metadata).

Shapes are the concrete ones of a run on an input of the model's size: exports with dynamic
axes report names instead of sizes until then.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from serve_app.core.errors import UnsupportedModelError
from serve_app.model.manifest import Decoder
from serve_app.model.onnx_detectors.metadata import GraphMetadata

# The strides of the three detection scales of YOLOv5/v8/11 heads.
_YOLO_STRIDES = (8, 16, 32)
# DETR-style and end-to-end outputs have one row per query (300 by default); grids have more.
_MAX_QUERIES = 1000
_MAX_CLASSES = 1000


@dataclass(frozen=True)
class Output:
    name: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Layout:
    decoder: Decoder
    outputs: list[str]  # what the decoder reads, in its order
    num_classes: int | None  # None: the layout does not say (end-to-end rows carry an id)


def detect_layout(
    outputs: Sequence[Output], input_size: tuple[int, int], metadata: GraphMetadata
) -> Layout:
    """The layout of these outputs; `UnsupportedModelError` naming what it is otherwise."""
    if metadata.task not in (None, "detect"):
        raise UnsupportedModelError(
            f"this is a {metadata.task!r} export (metadata `task`); only detection models "
            "(task 'detect') can be served"
        )
    _refuse_non_detectors(outputs)
    if len(outputs) == 2:
        return read_layout("ssd", outputs, input_size)
    if metadata.head == "RTDETRDecoder":
        return read_layout("rtdetr", outputs, input_size)
    if metadata.end2end:
        return read_layout("yolo-e2e", outputs, input_size)
    for decoder in ("yolo", "yolov5", "yolo-e2e", "rtdetr"):
        try:
            return read_layout(decoder, outputs, input_size)
        except UnsupportedModelError:
            continue
    width, height = input_size
    raise UnsupportedModelError(
        f"cannot interpret the outputs {_describe(outputs)} for a {width}x{height} input: "
        f"YOLOv8/11 give [batch, 4 + classes, {_cells(input_size)}], YOLOv5 [batch, "
        f"{3 * _cells(input_size)}, 5 + classes], end-to-end YOLO [batch, 300, 6], RT-DETR "
        "[batch, 300, 4 + classes]; was it exported at another image size?"
    )


def _cells(input_size: tuple[int, int]) -> int:
    """Grid cells of the three YOLO scales for this input: one anchor point each."""
    width, height = input_size
    return sum(-(-height // s) * -(-width // s) for s in _YOLO_STRIDES)


def read_layout(decoder: Decoder, outputs: Sequence[Output], input_size: tuple[int, int]) -> Layout:
    """Check that the outputs have `decoder`'s layout; `UnsupportedModelError` if not."""
    width, height = input_size
    if decoder == "ssd":
        return _ssd_layout(outputs)
    if len(outputs) != 1 or len(outputs[0].shape) != 3:
        raise UnsupportedModelError(
            f"the {decoder} decoder reads one output [batch, rows, columns]; the model has "
            f"{_describe(outputs)}"
        )
    [output] = outputs
    _, rows, columns = output.shape
    cells = _cells(input_size)
    fits = {
        "yolo": columns == cells and rows > 4,
        "yolov5": rows == 3 * cells and columns > 5,
        "yolo-e2e": columns == 6 and rows <= _MAX_QUERIES,
        "rtdetr": rows <= _MAX_QUERIES and 4 < columns <= 4 + _MAX_CLASSES,
    }
    if not fits[decoder]:
        expected = {
            "yolo": f"[batch, 4 + classes, {cells}] for a {width}x{height} input",
            "yolov5": f"[batch, {3 * cells}, 5 + classes] for a {width}x{height} input",
            "yolo-e2e": f"[batch, at most {_MAX_QUERIES} detections, 6]",
            "rtdetr": f"[batch, at most {_MAX_QUERIES} queries, 4 + classes or 6]",
        }[decoder]
        raise UnsupportedModelError(
            f"the {decoder} decoder expects {expected}; the model has {_describe(outputs)}"
        )
    # End-to-end rows and Ultralytics 8.4's RT-DETR rows (box, score, class id) do not say.
    rtdetr_classes = None if columns == 6 else columns - 4
    classes = {
        "yolo": rows - 4,
        "yolov5": columns - 5,
        "yolo-e2e": None,
        "rtdetr": rtdetr_classes,
    }
    return Layout(decoder, [output.name], classes[decoder])


def _ssd_layout(outputs: Sequence[Output]) -> Layout:
    by_name = {output.name: output for output in outputs}
    boxes, scores = by_name.get("boxes"), by_name.get("scores")
    if (
        len(outputs) != 2
        or boxes is None
        or scores is None
        or len(boxes.shape) != 3
        or len(scores.shape) != 3
        or boxes.shape[2] != 4
        or boxes.shape[:2] != scores.shape[:2]
        or scores.shape[2] < 2
    ):
        raise UnsupportedModelError(
            "the ssd decoder reads `boxes` [batch, anchors, 4] and `scores` [batch, anchors, "
            f"1 + classes] (medinv-train export-onnx); the model has {_describe(outputs)}"
        )
    return Layout("ssd", ["boxes", "scores"], scores.shape[2] - 1)


def _refuse_non_detectors(outputs: Sequence[Output]) -> None:
    ranks = sorted(len(output.shape) for output in outputs)
    if ranks == [2]:
        raise UnsupportedModelError(
            f"this looks like a classification model (one output {_describe(outputs)}: "
            "[batch, classes]); only detection models can be served"
        )
    if len(outputs) == 2 and ranks == [3, 4]:
        raise UnsupportedModelError(
            f"this looks like a segmentation export (outputs {_describe(outputs)}: detections "
            "and mask prototypes); export the detection model instead"
        )
    if len(outputs) > 2:
        raise UnsupportedModelError(f"cannot interpret {len(outputs)} outputs {_describe(outputs)}")


def _describe(outputs: Sequence[Output]) -> str:
    return ", ".join(f"{o.name} {list(o.shape)}" for o in outputs) or "no outputs"
