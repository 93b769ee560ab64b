"""Where the boxes go, by layer, and how the import arrows are routed around them."""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from medinv_tools.architecture.imports import layer_index


@dataclass(frozen=True)
class Box:
    name: str
    x0: float
    x1: float
    y0: float
    y1: float

    @property
    def center(self) -> float:
        return (self.x0 + self.x1) / 2


# Where each subpackage sits in its row (x0, x1); a row with a package not named here is
# spread evenly instead. Gaps are left so that skipping edges have lanes to run down.
_PLACEMENT: dict[str, tuple[float, float]] = {
    "serving": (0.02, 0.46),
    "cli": (0.62, 0.98),
    "api": (0.14, 0.56),
    "access": (0.44, 0.84),
    "model": (0.02, 0.30),
    "state": (0.36, 0.64),
    "inventory": (0.70, 0.98),
    "core": (0.02, 0.98),
}
ROW_PITCH = 0.2
BOX_HEIGHT = 0.12
_PAD = 0.012  # clearance kept between an edge and a box it does not touch
_LANE_GAP = 0.014  # between two parallel edge segments


def place_boxes(layers: Sequence[Sequence[str]]) -> dict[str, Box]:
    boxes: dict[str, Box] = {}
    for row, layer in enumerate(layers):
        y1 = 1.0 - row * ROW_PITCH
        y0 = y1 - BOX_HEIGHT
        if all(name in _PLACEMENT for name in layer):
            spans = [_PLACEMENT[name] for name in layer]
        else:
            width = 0.96 / len(layer)
            spans = [
                (0.02 + i * width + 0.02, 0.02 + (i + 1) * width - 0.02) for i in range(len(layer))
            ]
        for name, (x0, x1) in zip(layer, spans, strict=True):
            boxes[name] = Box(name, x0, x1, y0, y1)
    return boxes


class _Router:
    """Orthogonal routes that never cross a box other than their two ends: straight down when
    possible, else down, across in the gap between two rows, and down again; else around the
    side of the panel."""

    def __init__(self, boxes: dict[str, Box]) -> None:
        self._boxes = boxes
        self._verticals: list[tuple[float, float, float]] = []  # x, y_low, y_high
        self._levels: Counter[float] = Counter()  # gap (its top y) -> horizontals in it
        self._side_lanes = {"left": 0, "right": 0}

    def route(self, source: str, target: str) -> list[tuple[float, float]]:
        src, dst = self._boxes[source], self._boxes[target]
        if src.y0 <= dst.y1:  # against the layers: drawn straight, to stand out
            if abs(src.y0 - dst.y0) < 1e-9:
                y = (src.y0 + src.y1) / 2
                return (
                    [(src.x1, y), (dst.x0, y)] if src.x1 <= dst.x0 else [(src.x0, y), (dst.x1, y)]
                )
            # Beside the centre, where a downward edge between the two would run.
            return [(src.center + 0.04, src.y1), (dst.center + 0.04, dst.y0)]
        top, bottom = src.y0, dst.y1
        others = [b for b in self._boxes.values() if b.name not in (source, target)]
        # Straight down.
        x = self._free_x(max(src.x0, dst.x0), min(src.x1, dst.x1), bottom, top, others, dst.center)
        if x is not None:
            self._verticals.append((x, bottom, top))
            return [(x, top), (x, bottom)]
        # Down, across a gap, down: across the gap right under the source, or right over the
        # target, whichever is clear.
        for gap_top in (top, self._gap_over(dst)):
            y = self._level(gap_top)
            a = self._free_x(src.x0, src.x1, y, top, others, dst.center)
            b = self._free_x(dst.x0, dst.x1, bottom, y, others, src.center)
            if a is not None and b is not None:
                self._take_level(gap_top)
                self._verticals += [(a, y, top), (b, bottom, y)]
                return [(a, top), (a, y), (b, y), (b, bottom)]
        # Around the side.
        side = "left" if dst.center + src.center < 1.0 else "right"
        lane = self._side_lanes[side]
        self._side_lanes[side] += 1
        lane_x = -0.02 - lane * _LANE_GAP if side == "left" else 1.02 + lane * _LANE_GAP
        y_out, y_in = self._level(top), self._level(self._gap_over(dst))
        self._take_level(top)
        self._take_level(self._gap_over(dst))
        a = src.x0 + 0.03 if side == "left" else src.x1 - 0.03
        b = dst.x0 + 0.03 if side == "left" else dst.x1 - 0.03
        return [(a, top), (a, y_out), (lane_x, y_out), (lane_x, y_in), (b, y_in), (b, bottom)]

    def _gap_over(self, box: Box) -> float:
        return box.y1 + (ROW_PITCH - BOX_HEIGHT)

    def _level(self, gap_top: float) -> float:
        return gap_top - (self._levels[round(gap_top, 6)] + 1) * _LANE_GAP

    def _take_level(self, gap_top: float) -> None:
        self._levels[round(gap_top, 6)] += 1

    def _free_x(
        self,
        x0: float,
        x1: float,
        y_low: float,
        y_high: float,
        others: Sequence[Box],
        toward: float,
    ) -> float | None:
        """A clear x in [x0, x1] for a vertical from y_high down to y_low, nearest `toward`."""
        steps = int((x1 - x0) / 0.005)
        candidates = [x0 + 0.025 + i * 0.005 for i in range(max(steps - 9, 0))]
        candidates.sort(key=lambda x: abs(x - toward))
        for x in candidates:
            if any(
                b.x0 - _PAD < x < b.x1 + _PAD and b.y0 - _PAD < y_high and y_low < b.y1 + _PAD
                for b in others
            ):
                continue
            if any(
                abs(x - vx) < _LANE_GAP and vy0 < y_high and y_low < vy1
                for vx, vy0, vy1 in self._verticals
            ):
                continue
            return x
        return None


def route_edges(
    boxes: dict[str, Box], layers: Sequence[Sequence[str]], edges: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Each edge's polyline (panel units), from the bottom of its source to the top of its
    target. Long edges are routed first: they take the outer lanes, short ones stay straight."""
    router = _Router(boxes)
    index = layer_index(layers)
    order = sorted(edges, key=lambda e: (-abs(index[e[1]] - index[e[0]]), e))
    return {edge: router.route(*edge) for edge in order}
