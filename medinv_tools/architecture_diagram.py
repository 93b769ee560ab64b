"""`make diagram`: docs/img/architecture.png, drawn from the code so it cannot go stale.

The import graph comes from grimp (what `lint-imports` reads too), aggregated to serve_app's
subpackages; the layer order from the "serve_app layers" contract in pyproject.toml. Edges that
go against the layer order (or between independent siblings of one layer) are drawn in red.
The request path of POST /v1/detect is `REQUEST_PATH` below; a test checks that every file it
names exists. grimp comes with import-linter (the dev extra), matplotlib with tools[loadtest]:
`make diagram` installs both.

    python -m medinv_tools.architecture_diagram [--out docs/img/architecture.png]
"""

import argparse
import sys
import textwrap
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import grimp
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.text import Text

from medinv_tools.paths import REPO_ROOT

RUNTIME = "serve_app"
# The tooling's own layers contract ("Tooling layers") puts these above serve_app.
TOOLING = ("medinv_tools", "training", "loadtest", "benchmarks")
LAYERS_CONTRACT = "serve_app layers"
TOOLING_CONTRACT = "Tooling layers"
DEFAULT_OUT = REPO_ROOT / "docs" / "img" / "architecture.png"

# What lives in each subpackage of serve_app: one line each. A test fails when a subpackage
# has none, or when one is described that does not exist.
DESCRIPTIONS: dict[str, str] = {
    "serving": "Ray Serve deployments: Ingress, Preprocessor, Detector; app builder, "
    "ServePipeline, Serve control client",
    "cli": "the runtime's `medinv` commands: migrations, retention, API keys",
    "api": "FastAPI app of API v1: routers, schemas, guards, upload parsing, error mapping",
    "access": "API keys, authentication, rate limits, the key store",
    "state": "Redis-backed shared state: result cache, live update bus, stream sessions",
    "inventory": "SQLAlchemy store, Alembic migrations, recorder + spool",
    "model": "imaging, tiling, manifests, loader, torchvision runtime, inference, postprocess",
    "core": "settings, errors, payloads, metrics, args, the DetectionPipeline protocol",
}

TOOLING_DESCRIPTIONS: dict[str, str] = {
    "medinv_tools": "cluster drivers, manifests, monitoring, config checks, local pipeline",
    "training": "synthetic shelf data, COCO datasets, train / evaluate",
    "loadtest": "Locust users, load shapes, timelines",
    "benchmarks": "`make bench`, `make bench-swap`",
}


@dataclass(frozen=True)
class Hop:
    """One hop of a request: what happens, and the files (repository paths) where."""

    step: str
    files: tuple[str, ...] = ()


# POST /v1/detect, as the code runs it (serve_app/api/detect.py and what it calls).
REQUEST_PATH: tuple[Hop, ...] = (
    Hop("client → Serve proxy (HTTP; HAProxy with `make run HAPROXY=1`)"),
    Hop(
        "Ingress replica → the FastAPI app of API v1",
        ("serve_app/serving/ingress.py", "serve_app/api/app.py"),
    ),
    Hop(
        "route guard DETECT: API key, then one token of the request budget",
        ("serve_app/api/guards.py", "serve_app/access/authn.py", "serve_app/access/controls.py"),
    ),
    Hop(
        "detect(): admission limit; with ?location, the location must exist",
        ("serve_app/api/detect.py", "serve_app/api/context.py", "serve_app/inventory/recorder.py"),
    ),
    Hop("reads the upload: raw body or multipart, size limit", ("serve_app/api/body.py",)),
    Hop(
        "result cache CachedDetections: a hit returns from here (X-Cache: hit)",
        ("serve_app/state/result_cache.py",),
    ),
    Hop(
        "ServePipeline.detect: Preprocessor response passed into the Detector call",
        ("serve_app/serving/pipeline.py",),
    ),
    Hop(
        "Preprocessor replica: decode, views / tiles at the model's input size",
        (
            "serve_app/serving/preprocessor.py",
            "serve_app/model/imaging.py",
            "serve_app/model/tiling.py",
        ),
    ),
    Hop(
        "Detector replica: serve.batch → DetectionModel.predict (forward thread) → postprocess",
        (
            "serve_app/serving/detector.py",
            "serve_app/model/inference.py",
            "serve_app/model/postprocess.py",
        ),
    ),
    Hop(
        "back in the cache (result stored) and detect(): DetectResponse",
        ("serve_app/state/result_cache.py", "serve_app/api/detect.py"),
    ),
    Hop(
        "with ?location: record the counts, in the database or the spool",
        ("serve_app/api/recording.py", "serve_app/inventory/recorder.py"),
    ),
    Hop(
        "publish the counts (and below-par alerts) to live updates",
        ("serve_app/state/update_bus.py",),
    ),
    Hop("response: DetectResponse JSON, X-Cache header"),
)


# The import graph.


def layers_from_pyproject(pyproject: Path, contract: str = LAYERS_CONTRACT) -> list[list[str]]:
    """The layers of the named import-linter contract, top first; each a list of siblings
    (`a | b`, independent ones; `a : b` siblings are read the same way, stricter than the
    contract: no contract here uses them)."""
    with pyproject.open("rb") as file:
        data = tomllib.load(file)
    for entry in data["tool"]["importlinter"]["contracts"]:
        if entry.get("name") == contract:
            return [
                [name.strip() for name in layer.replace(":", "|").split("|") if name.strip()]
                for layer in entry["layers"]
            ]
    raise LookupError(f"no import-linter contract named {contract!r} in {pyproject}")


def build_import_graph() -> grimp.ImportGraph:
    return grimp.build_graph(RUNTIME, *TOOLING, cache_dir=None)


def subpackages(graph: grimp.ImportGraph, package: str = RUNTIME) -> list[str]:
    """The direct subpackages of `package` (short names), sorted."""
    prefix = f"{package}."
    return sorted(
        child.removeprefix(prefix)
        for child in graph.find_children(package)
        if graph.find_children(child)
    )


def subpackage_edges(graph: grimp.ImportGraph, package: str = RUNTIME) -> Counter[tuple[str, str]]:
    """(importer, imported) subpackages of `package` → how many module-level imports."""
    edges: Counter[tuple[str, str]] = Counter()
    for module in graph.modules:
        source = _subpackage_of(module, package)
        if source is None:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            target = _subpackage_of(imported, package)
            if target is not None and target != source:
                edges[(source, target)] += 1
    return edges


def tooling_imports(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    """Each tooling package → the serve_app subpackages it imports."""
    imports: dict[str, set[str]] = {name: set() for name in TOOLING}
    for module in graph.modules:
        root = module.split(".")[0]
        if root not in imports:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            target = _subpackage_of(imported, RUNTIME)
            if target is not None:
                imports[root].add(target)
    return imports


def _subpackage_of(module: str, package: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != package:
        return None
    return parts[1]


def layer_index(layers: Sequence[Sequence[str]]) -> dict[str, int]:
    return {name: index for index, layer in enumerate(layers) for name in layer}


def against_layers(
    edges: Iterable[tuple[str, str]], layers: Sequence[Sequence[str]]
) -> list[tuple[str, str]]:
    """The edges that are not downward: upward, or between siblings of one layer."""
    index = layer_index(layers)
    return sorted((a, b) for a, b in edges if index[a] >= index[b])


# Drawing. The serve_app panel works in its own units: x across [0, 1], rows downward.


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
_ROW_PITCH = 0.2
_BOX_HEIGHT = 0.12
_PAD = 0.012  # clearance kept between an edge and a box it does not touch
_LANE_GAP = 0.014  # between two parallel edge segments
_SOURCE_COLORS = {
    "serving": "#1f77b4",
    "cli": "#8c564b",
    "api": "#2ca02c",
    "access": "#9467bd",
    "state": "#17becf",
    "inventory": "#bcbd22",
    "model": "#ff7f0e",
}
_FALLBACK_COLOR = "#555555"
_AGAINST_COLOR = "#d62728"


def place_boxes(layers: Sequence[Sequence[str]]) -> dict[str, Box]:
    boxes: dict[str, Box] = {}
    for row, layer in enumerate(layers):
        y1 = 1.0 - row * _ROW_PITCH
        y0 = y1 - _BOX_HEIGHT
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
        return box.y1 + (_ROW_PITCH - _BOX_HEIGHT)

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


def _wrap_to_width(text: Text, words: str, box: Box, axes: Axes) -> None:
    """Wrap `words` into `text` at the most characters a line whose lines fit in `box`."""
    left, right = axes.transData.transform([(box.x0, 0.0), (box.x1, 0.0)])[:, 0]
    room = right - left - 18  # pixels, a margin on each side
    for chars in range(len(words), 10, -1):
        text.set_text("\n".join(textwrap.wrap(words, chars)))
        if text.get_window_extent().width <= room:
            return


def _draw_runtime(axes: Axes, layers: list[list[str]], edges: Counter[tuple[str, str]]) -> None:
    boxes = place_boxes(layers)
    bottom = min(box.y0 for box in boxes.values())
    axes.set_xlim(-0.13, 1.08)
    axes.set_ylim(bottom - 0.09, 1.1)
    axes.set_axis_off()
    axes.add_patch(
        FancyBboxPatch(
            (-0.11, bottom - 0.08),
            1.18,
            1.15 - bottom,
            boxstyle="round,pad=0,rounding_size=0.02",
            facecolor="#f7f7f7",
            edgecolor="#999999",
            linewidth=1.0,
            zorder=0,
        )
    )
    axes.text(
        -0.09,
        1.055,
        "serve_app — the runtime, what the image holds",
        fontsize=13,
        fontweight="bold",
        va="center",
    )
    for row in range(len(layers)):
        y = 1.0 - row * _ROW_PITCH - _BOX_HEIGHT / 2
        axes.text(
            -0.095,
            y,
            f"layer {row + 1}",
            fontsize=9,
            color="#666666",
            va="center",
            ha="left",
        )
    against = set(against_layers(edges, layers))
    index = layer_index(layers)
    for (source, target), points in route_edges(boxes, layers, edges).items():
        is_against = (source, target) in against
        color = _AGAINST_COLOR if is_against else _SOURCE_COLORS.get(source, _FALLBACK_COLOR)
        axes.add_patch(
            FancyArrowPatch(
                path=MplPath(points),
                arrowstyle="-|>,head_length=6,head_width=3.5",
                color=color,
                linewidth=2.4 if is_against else 1.4,
                shrinkA=0,
                shrinkB=0,
                zorder=2,
            )
        )
    for box in boxes.values():
        axes.add_patch(
            FancyBboxPatch(
                (box.x0, box.y0),
                box.x1 - box.x0,
                box.y1 - box.y0,
                boxstyle="round,pad=0,rounding_size=0.012",
                facecolor="white",
                edgecolor=_SOURCE_COLORS.get(box.name, "#333333"),
                linewidth=1.8,
                zorder=3,
            )
        )
        axes.text(
            box.center,
            box.y1 - 0.025,
            f"{RUNTIME}.{box.name}",
            fontsize=11.5,
            fontweight="bold",
            ha="center",
            va="center",
            zorder=4,
        )
        description = axes.text(
            box.center,
            box.y1 - 0.045,
            "",
            fontsize=9,
            color="#333333",
            ha="center",
            va="top",
            zorder=4,
            linespacing=1.25,
        )
        words = DESCRIPTIONS.get(box.name, "(no description)")
        _wrap_to_width(description, words, box, axes)
    handles = [
        Line2D([], [], color=_SOURCE_COLORS.get(name, _FALLBACK_COLOR), linewidth=1.6, label=name)
        for name in sorted({source for source, _ in edges}, key=lambda n: (index[n], n))
    ]
    handles.append(
        Line2D(
            [],
            [],
            color=_AGAINST_COLOR,
            linewidth=2.4,
            label=f"against the layers ({len(against)})",
        )
    )
    axes.legend(
        handles=handles,
        title="arrows: imports from",
        loc="upper center",
        bbox_to_anchor=(0.5, bottom - 0.005),
        bbox_transform=axes.transData,
        fontsize=8.5,
        title_fontsize=8.5,
        ncol=len(handles),
        frameon=False,
        handlelength=1.6,
        columnspacing=1.0,
    )


def _draw_tooling(
    axes: Axes, tooling_layers: list[list[str]], imports: dict[str, set[str]]
) -> None:
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_axis_off()
    axes.add_patch(
        FancyBboxPatch(
            (0.01, 0.02),
            0.98,
            0.96,
            boxstyle="round,pad=0,rounding_size=0.03",
            facecolor="#fff8e6",
            edgecolor="#c98a00",
            linewidth=1.5,
            linestyle="--",
        )
    )
    axes.text(0.04, 0.91, "Tooling — not in the image", fontsize=13, fontweight="bold", va="center")
    axes.text(
        0.04,
        0.79,
        "tools/pyproject.toml + benchmarks/, run from the checkout\nlayers: "
        + " → ".join(" | ".join(layer) for layer in tooling_layers),
        fontsize=8.5,
        color="#555555",
        va="center",
        linespacing=1.3,
    )
    names = [name for layer in tooling_layers for name in layer if name != RUNTIME]
    row_height = 0.62 / max(len(names), 1)
    for row, name in enumerate(names):
        y = 0.61 - row * row_height
        used = ", ".join(sorted(imports.get(name, ()))) or "nothing"
        axes.text(0.04, y, name, fontsize=10.5, fontweight="bold", va="center")
        axes.text(0.30, y + 0.035, TOOLING_DESCRIPTIONS.get(name, ""), fontsize=8.5, va="center")
        axes.text(
            0.30,
            y - 0.04,
            f"imports serve_app: {used}",
            fontsize=8.5,
            color="#555555",
            va="center",
        )


def _draw_request_path(axes: Axes) -> None:
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_axis_off()
    axes.add_patch(
        Rectangle((0.01, 0.0), 0.98, 1.0, facecolor="#eef4fb", edgecolor="#4a7ab5", linewidth=1.2)
    )
    axes.text(
        0.04, 0.965, "Request path of POST /v1/detect", fontsize=13, fontweight="bold", va="center"
    )
    pitch = 0.92 / len(REQUEST_PATH)
    for number, hop in enumerate(REQUEST_PATH, start=1):
        y = 0.905 - (number - 1) * pitch
        axes.text(0.04, y, f"{number}.", fontsize=9.5, fontweight="bold", va="top", ha="left")
        axes.text(0.09, y, hop.step, fontsize=9.5, va="top", ha="left")
        if hop.files:
            axes.text(
                0.09,
                y - pitch * 0.45,
                "  ".join(path.removeprefix(f"{RUNTIME}/") for path in hop.files),
                fontsize=8.5,
                family="monospace",
                color="#35598a",
                va="top",
                ha="left",
            )


def render(out: Path, pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[tuple[str, str]]:
    """Write the diagram of the code to `out` (PNG); returns the edges against the layers."""
    graph = build_import_graph()
    edges = subpackage_edges(graph)
    layers = layers_from_pyproject(pyproject)
    draw(
        out,
        layers,
        layers_from_pyproject(pyproject, TOOLING_CONTRACT),
        edges,
        tooling_imports(graph),
    )
    return against_layers(edges, layers)


def draw(
    out: Path,
    layers: list[list[str]],
    tooling_layers: list[list[str]],
    edges: Counter[tuple[str, str]],
    tooling: dict[str, set[str]],
) -> None:
    """Write the diagram of these layers and edges to `out` (PNG)."""
    figure = Figure(figsize=(16, 10), dpi=100)
    FigureCanvasAgg(figure)  # measures the text that is wrapped to fit its box
    figure.text(
        0.01,
        0.975,
        "Medical Inventory Detection — packages, dependency direction, request path",
        fontsize=16,
        fontweight="bold",
        va="center",
    )
    figure.text(
        0.01,
        0.945,
        "Arrows: imports between serve_app's subpackages, found by grimp (module-level, "
        "aggregated); layers from the import-linter contract in pyproject.toml. "
        "Generated by `make diagram`.",
        fontsize=9.5,
        color="#444444",
        va="center",
    )
    runtime_axes = figure.add_axes((0.005, 0.01, 0.56, 0.92))
    tooling_axes = figure.add_axes((0.6, 0.69, 0.395, 0.245))
    path_axes = figure.add_axes((0.6, 0.01, 0.395, 0.66))
    _draw_runtime(runtime_axes, layers, edges)
    _draw_tooling(tooling_axes, tooling_layers, tooling)
    _draw_request_path(path_axes)
    # The tooling imports the runtime, never the reverse.
    figure.add_artist(
        FancyArrowPatch(
            (0.602, 0.80),
            (0.551, 0.80),
            transform=figure.transFigure,
            arrowstyle="-|>,head_length=8,head_width=5",
            color="#c98a00",
            linewidth=2.0,
        )
    )
    figure.text(0.5765, 0.815, "imports", fontsize=9.5, color="#8a5e00", ha="center")
    out.parent.mkdir(parents=True, exist_ok=True)
    # No Software or date entries: a rerun on unchanged code writes the same bytes.
    figure.savefig(out, format="png", metadata={"Software": None})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the PNG to write")
    args = parser.parse_args(argv)
    against = render(args.out)
    print(f"wrote {args.out}")
    for source, target in against:
        # Drawn in red; `make lint` (lint-imports) is what fails on it.
        print(f"against the layers: {RUNTIME}.{source} imports {RUNTIME}.{target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
