"""What an ONNX file says about itself in `metadata_props`.

Ultralytics writes `names` (a Python dict literal `{0: 'syringe', ...}`), `imgsz` (`[h, w]`),
`stride`, `task`, `end2end`, `batch` and `head`; other exporters write some or none of these.
"""

import ast
from collections.abc import Mapping
from dataclasses import dataclass

from serve_app.core.errors import UnsupportedModelError


@dataclass(frozen=True)
class GraphMetadata:
    names: list[str] | None = None
    imgsz: tuple[int, int] | None = None  # height, width
    stride: int | None = None
    task: str | None = None
    end2end: bool = False
    head: str | None = None  # the detection head's class: "RTDETRDecoder" tells RT-DETR apart

    @classmethod
    def parse(cls, props: Mapping[str, str]) -> "GraphMetadata":
        return cls(
            names=_names(props.get("names")),
            imgsz=_imgsz(props.get("imgsz")),
            stride=_int(props.get("stride")),
            task=props.get("task"),
            # `nms=True` exports say so only in their export `args` (Ultralytics reads both).
            end2end=props.get("end2end", "").strip().lower() == "true" or _exported_with_nms(props),
            head=props.get("head"),
        )


def _literal(text: str | None) -> object:
    if text is None:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _names(text: str | None) -> list[str] | None:
    value = _literal(text)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    if isinstance(value, dict):
        if sorted(value) != list(range(len(value))) or not all(
            isinstance(v, str) for v in value.values()
        ):
            raise UnsupportedModelError(
                "the model's metadata `names` must map class ids 0..n-1 to names"
            )
        return [value[k] for k in range(len(value))]
    return None


def _imgsz(text: str | None) -> tuple[int, int] | None:
    value = _literal(text)
    if isinstance(value, int):
        return value, value
    if isinstance(value, list | tuple) and len(value) == 2:
        height, width = value
        if isinstance(height, int) and isinstance(width, int):
            return height, width
    return None


def _int(text: str | None) -> int | None:
    value = _literal(text)
    return value if isinstance(value, int) else None


def _exported_with_nms(props: Mapping[str, str]) -> bool:
    args = _literal(props.get("args"))
    return isinstance(args, dict) and args.get("nms") is True
