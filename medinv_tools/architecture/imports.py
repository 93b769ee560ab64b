"""The import graph of the checkout (grimp, as `lint-imports` reads it), aggregated to
serve_app's subpackages, and the layer order of the import-linter contracts."""

import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import grimp

RUNTIME = "serve_app"
# The tooling's own layers contract ("Tooling layers") puts these above serve_app.
TOOLING = ("medinv_tools", "training", "loadtest", "benchmarks")
LAYERS_CONTRACT = "serve_app layers"
TOOLING_CONTRACT = "Tooling layers"


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
