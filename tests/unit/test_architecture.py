"""What the import contracts (pyproject.toml, `lint-imports`) cannot see: what importing a module
really loads, parent packages included, and what the image and the two distributions declare."""

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME = "serve_app"
# The tooling: tools/pyproject.toml's packages and benchmarks/, run from the checkout.
TOOLING = frozenset({"medinv_tools", "training", "loadtest", "benchmarks"})
HEAVY = ("torch", "torchvision")


def _loaded_after_import(module: str) -> list[str]:
    """The heavy packages in sys.modules after `import module` in a fresh interpreter with
    this one's sys.path."""
    probe = (
        "import importlib, json, sys\n"
        "sys.path[:] = json.loads(sys.argv[1])\n"
        "importlib.import_module(sys.argv[2])\n"
        "print(json.dumps([name for name in json.loads(sys.argv[3]) if name in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(sys.path), module, json.dumps(HEAVY)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.splitlines()[-1])
    return loaded


@pytest.mark.parametrize("module", ["serve_app.serving.ingress", "serve_app.api.app"])
def test_the_ingress_and_the_api_load_without_torch(module: str) -> None:
    assert _loaded_after_import(module) == []


def test_the_probe_sees_torch_where_it_is_imported() -> None:
    assert "torch" in _loaded_after_import("serve_app.model.torchvision_runtime")


# The image and the distributions.


def _pyproject(path: Path) -> dict[str, object]:
    with path.open("rb") as file:
        return tomllib.load(file)


def _table(data: dict[str, object], *keys: str) -> dict[str, object]:
    for key in keys:
        value = data[key]
        assert isinstance(value, dict), f"{'.'.join(keys)} is not a table"
        data = value
    return data


def _copy_sources(dockerfile: str) -> list[str]:
    """The sources of the Dockerfile's COPY and ADD instructions, as paths of the build context
    (`./serve_app/` -> `serve_app`)."""
    sources = []
    for line in dockerfile.replace("\\\n", " ").splitlines():
        words = line.split()
        if len(words) < 3 or words[0].upper() not in ("COPY", "ADD"):
            continue
        args = [word for word in words[1:] if not word.startswith("--")]
        sources += [re.sub(r"^\./", "", source).rstrip("/") or "." for source in args[:-1]]
    return sources


def _module_file(module: str) -> Path | None:
    parts = module.split(".")
    for candidate in (
        REPO_ROOT.joinpath(*parts).with_suffix(".py"),
        REPO_ROOT.joinpath(*parts, "__init__.py"),
    ):
        if candidate.is_file():
            return candidate
    return None


def _defines(path: Path, name: str) -> bool:
    """Whether the module's top level defines, assigns or imports `name`."""
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return True
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        elif isinstance(node, ast.Import | ast.ImportFrom) and any(
            (alias.asname or alias.name.split(".")[0]) == name for alias in node.names
        ):
            return True
    return False


def _assert_points_at_code(reference: str, packages: list[str]) -> None:
    """An entry-point reference `module:attr` names a module of one of `packages` (the
    distribution's setuptools `include` patterns) that defines `attr`."""
    module, _, attr = reference.partition(":")
    top = module.split(".")[0]
    assert any(re.fullmatch(pattern.replace("*", ".*"), top) for pattern in packages), (
        f"{reference}: {top} is not a package of the distribution ({packages})"
    )
    path = _module_file(module)
    assert path is not None, f"{reference}: no module {module} in the checkout"
    assert attr and _defines(path, attr.split(".")[0]), f"{reference}: {module} has no {attr}"


ROOT_PYPROJECT = _pyproject(REPO_ROOT / "pyproject.toml")
TOOLS_PYPROJECT = _pyproject(REPO_ROOT / "tools" / "pyproject.toml")
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()


def _includes(pyproject: dict[str, object]) -> list[str]:
    include = _table(pyproject, "tool", "setuptools", "packages", "find")["include"]
    assert isinstance(include, list)
    return [str(pattern) for pattern in include]


def test_the_dockerfile_copies_the_runtime_and_no_tooling() -> None:
    sources = _copy_sources(DOCKERFILE)
    assert RUNTIME in sources and "pyproject.toml" in sources
    assert "." not in sources, "the image would hold the whole checkout"
    assert not {"tools", *TOOLING} & set(sources), sources


def test_every_runtime_console_script_is_in_the_image() -> None:
    scripts = _table(ROOT_PYPROJECT, "project", "scripts")
    assert scripts, "the runtime declares no console scripts"
    copied = set(_copy_sources(DOCKERFILE))
    for name, reference in scripts.items():
        assert isinstance(reference, str)
        _assert_points_at_code(reference, _includes(ROOT_PYPROJECT))
        top = reference.split(".")[0].split(":")[0]
        assert top in copied, f"console script {name} ({reference}): the image lacks {top}/"


def test_the_runtime_distribution_holds_no_tooling() -> None:
    assert _includes(ROOT_PYPROJECT) == [f"{RUNTIME}*"]


def test_the_tooling_distribution_is_the_tooling() -> None:
    packages = {pattern.rstrip("*") for pattern in _includes(TOOLS_PYPROJECT)}
    assert packages <= TOOLING and RUNTIME not in packages


def test_the_tooling_console_scripts_and_commands_point_at_code() -> None:
    project = _table(TOOLS_PYPROJECT, "project")
    scripts = _table(project, "scripts")
    commands = _table(project, "entry-points", "medinv.commands")
    assert scripts and commands
    for reference in [*scripts.values(), *commands.values()]:
        assert isinstance(reference, str)
        _assert_points_at_code(reference, _includes(TOOLS_PYPROJECT))


def test_the_medinv_command_group_is_the_one_the_runtime_loads() -> None:
    from serve_app.cli import COMMAND_PLUGINS

    assert COMMAND_PLUGINS in _table(TOOLS_PYPROJECT, "project", "entry-points")


def _imported_top_levels(path: Path) -> set[str]:
    """The top-level packages a module imports anywhere (function bodies included), with
    `importlib.import_module("...")` / `__import__("...")` of a literal name."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (
                    isinstance(node.func, ast.Name)
                    and node.func.id in ("import_module", "__import__")
                )
            )
        ):
            names.add(node.args[0].value)
    return {name.split(".")[0] for name in names}


def test_no_runtime_module_imports_the_tooling() -> None:
    modules = sorted((REPO_ROOT / RUNTIME).rglob("*.py"))
    assert len(modules) > 20
    offenders = {
        str(path.relative_to(REPO_ROOT)): sorted(found)
        for path in modules
        if (found := _imported_top_levels(path) & TOOLING)
    }
    assert offenders == {}


def test_the_import_walk_sees_function_local_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    import training.cli\n"
        "def g():\n    from loadtest import cli\n"
        "def h():\n    importlib.import_module('benchmarks.run')\n"
    )
    assert _imported_top_levels(module) == {"training", "loadtest", "benchmarks"}
