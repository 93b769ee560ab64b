"""Draw the figure: the runtime's layers and imports, the tooling, the request path."""

import textwrap
from collections import Counter
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.text import Text

from medinv_tools.architecture.descriptions import DESCRIPTIONS, REQUEST_PATH, TOOLING_DESCRIPTIONS
from medinv_tools.architecture.imports import (
    RUNTIME,
    TOOLING_CONTRACT,
    against_layers,
    build_import_graph,
    layer_index,
    layers_from_pyproject,
    subpackage_edges,
    tooling_imports,
)
from medinv_tools.architecture.layout import BOX_HEIGHT, ROW_PITCH, Box, place_boxes, route_edges
from medinv_tools.paths import REPO_ROOT

DEFAULT_OUT = REPO_ROOT / "docs" / "img" / "architecture.png"
SOURCE_COLORS = {
    "serving": "#1f77b4",
    "cli": "#8c564b",
    "api": "#2ca02c",
    "access": "#9467bd",
    "state": "#17becf",
    "inventory": "#bcbd22",
    "model": "#ff7f0e",
}
FALLBACK_COLOR = "#555555"
AGAINST_COLOR = "#d62728"


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
        y = 1.0 - row * ROW_PITCH - BOX_HEIGHT / 2
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
        color = AGAINST_COLOR if is_against else SOURCE_COLORS.get(source, FALLBACK_COLOR)
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
                edgecolor=SOURCE_COLORS.get(box.name, "#333333"),
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
        Line2D([], [], color=SOURCE_COLORS.get(name, FALLBACK_COLOR), linewidth=1.6, label=name)
        for name in sorted({source for source, _ in edges}, key=lambda n: (index[n], n))
    ]
    handles.append(
        Line2D(
            [],
            [],
            color=AGAINST_COLOR,
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
