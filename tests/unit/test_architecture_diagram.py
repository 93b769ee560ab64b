"""docs/img/architecture.png (`make diagram`): the import graph it draws, its descriptions and
the request path it names are the code's."""

import itertools
import re
from collections import Counter
from pathlib import Path

import grimp
import pytest

from medinv_tools.architecture import __main__ as cli
from medinv_tools.architecture import descriptions, figure, imports, layout
from medinv_tools.paths import REPO_ROOT

PYPROJECT = REPO_ROOT / "pyproject.toml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return imports.build_import_graph()


@pytest.fixture(scope="module")
def layers() -> list[list[str]]:
    return imports.layers_from_pyproject(PYPROJECT)


def _subpackages_on_disk() -> set[str]:
    return {init.parent.name for init in (REPO_ROOT / imports.RUNTIME).glob("*/__init__.py")}


def test_the_layers_are_the_contracts_and_name_every_subpackage(
    graph: grimp.ImportGraph, layers: list[list[str]]
) -> None:
    assert layers == [
        ["serving", "cli"],
        ["api"],
        ["access"],
        ["inventory", "state", "model", "cameras"],
        ["core"],
    ]
    named = [name for layer in layers for name in layer]
    assert sorted(named) == imports.subpackages(graph) == sorted(_subpackages_on_disk())


def test_subpackage_edges_only_go_down_the_layers(
    graph: grimp.ImportGraph, layers: list[list[str]]
) -> None:
    edges = imports.subpackage_edges(graph)
    assert edges, "grimp found no imports between serve_app's subpackages"
    assert imports.against_layers(edges, layers) == []


def test_against_layers_flags_upward_and_sibling_edges(layers: list[list[str]]) -> None:
    edges = [("api", "core"), ("core", "api"), ("state", "inventory"), ("serving", "cli")]
    assert imports.against_layers(edges, layers) == [
        ("core", "api"),
        ("serving", "cli"),
        ("state", "inventory"),
    ]


def test_every_subpackage_has_a_description_and_every_description_a_subpackage() -> None:
    assert set(descriptions.DESCRIPTIONS) == _subpackages_on_disk()
    assert all(line.strip() and "\n" not in line for line in descriptions.DESCRIPTIONS.values())


def test_the_tooling_descriptions_are_the_tooling_contracts() -> None:
    tooling = imports.layers_from_pyproject(PYPROJECT, imports.TOOLING_CONTRACT)
    named = {name for layer in tooling for name in layer} - {imports.RUNTIME}
    assert named == set(imports.TOOLING) == set(descriptions.TOOLING_DESCRIPTIONS)


def test_every_file_of_the_request_path_exists() -> None:
    files = [path for hop in descriptions.REQUEST_PATH for path in hop.files]
    assert files
    assert [path for path in files if not (REPO_ROOT / path).is_file()] == []


def test_the_request_path_names_what_the_detect_route_calls() -> None:
    detect = (REPO_ROOT / "serve_app/api/detect.py").read_text()
    for call in ("read_image_upload", "context.state.results.detect", "record_counts"):
        assert call in detect
    recording = (REPO_ROOT / "serve_app/api/recording.py").read_text()
    assert "context.inventory.record(" in recording
    assert "context.state.updates.publish(" in recording
    named = " ".join(" ".join(hop.files) for hop in descriptions.REQUEST_PATH)
    for path in (
        "api/body.py",
        "state/result_cache.py",
        "serving/pipeline.py",
        "state/update_bus.py",
    ):
        assert path in named


def _crosses(points: list[tuple[float, float]], box: layout.Box) -> bool:
    for (xa, ya), (xb, yb) in itertools.pairwise(points):
        if (
            max(xa, xb) > box.x0
            and min(xa, xb) < box.x1
            and max(ya, yb) > box.y0
            and min(ya, yb) < box.y1
        ):
            return True
    return False


def test_the_edges_cross_no_box_but_their_own_ends(
    graph: grimp.ImportGraph, layers: list[list[str]]
) -> None:
    boxes = layout.place_boxes(layers)
    routes = layout.route_edges(boxes, layers, imports.subpackage_edges(graph))
    for (source, target), points in routes.items():
        assert all(x0 == x1 or y0 == y1 for (x0, y0), (x1, y1) in itertools.pairwise(points))
        assert points[0][1] == pytest.approx(boxes[source].y0)
        assert points[-1][1] == pytest.approx(boxes[target].y1)
        crossed = [
            b.name for b in boxes.values() if b.name not in (source, target) and _crosses(points, b)
        ]
        assert crossed == [], f"{source} -> {target} crosses {crossed}"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_the_figure_renders_to_a_png_the_same_each_time(tmp_path: Path) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    assert cli.main(["--out", str(first)]) == 0
    figure.render(second)
    data = first.read_bytes()
    assert len(data) > 10_000
    width, height = _png_size(data)
    assert width <= 1600 and height <= 1000
    assert second.read_bytes() == data, "a rerun on the same code must write the same bytes"
    assert b"tIME" not in data and not re.search(rb"Software|Creation", data[:4096])


def test_edges_against_the_layers_still_render(tmp_path: Path, graph: grimp.ImportGraph) -> None:
    layers = imports.layers_from_pyproject(PYPROJECT)
    edges = Counter(imports.subpackage_edges(graph))
    edges[("core", "state")] += 1
    edges[("state", "inventory")] += 1
    out = tmp_path / "against.png"
    tooling = imports.layers_from_pyproject(PYPROJECT, imports.TOOLING_CONTRACT)
    figure.draw(out, layers, tooling, edges, imports.tooling_imports(graph))
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert imports.against_layers(edges, layers) == [("core", "state"), ("state", "inventory")]


def test_the_committed_png_is_there() -> None:
    assert (REPO_ROOT / "docs/img/architecture.png").read_bytes()[:8] == PNG_MAGIC
