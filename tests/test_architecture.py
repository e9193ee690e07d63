"""The folders show the architecture: every import in sweep/ points down the layers, and none goes round.

Layers, top to bottom: the two faces (cli, then api), search, results, training, space, data. Imports inside
functions count as much as those at the top. A name from another sub-package comes through that package's
``__init__`` (its ``EXPORTS``), as Optuna's samplers/ and storages/ are used.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sweep"
LAYERS = ["cli", "api", "search", "results", "training", "space", "data"]
MOST_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str | None:
    """The sub-package (or face) a module belongs to; None for the package's own plumbing."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def resolve(package: str, name: str) -> str:
    """The module that ``from package import name`` really reads: a submodule, or the module a lazy
    export names."""
    if f"{package}.{name}" in MODULES:
        return f"{package}.{name}"
    exports = getattr(importlib.import_module(package), "EXPORTS", {})
    return f"{package}.{exports[name]}" if name in exports else package


def imports(module: str) -> list[tuple[str, str]]:
    """(statement as written, module imported) for every import of sweep in ``module``, at any depth."""
    found = []
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, alias.name) for alias in node.names if alias.name.startswith("sweep")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sweep"):
            found += [(node.module, resolve(node.module, alias.name)) for alias in node.names]
    return found


def graph() -> dict[str, set[str]]:
    return {module: {target for _, target in imports(module) if target in MODULES} for module in MODULES}


def test_no_import_circle_anywhere():
    edges, state, circles = graph(), {}, []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                circles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_imports_only_point_down_the_layers():
    upward = []
    for module in MODULES:
        here = layer(module)
        for written, target in imports(module):
            there = layer(target)
            if here and there and LAYERS.index(there) < LAYERS.index(here):
                upward.append(f"{module} imports {written} ({there} is above {here})")
    assert not upward, "\n".join(upward)


def test_other_packages_are_used_through_their_public_names():
    reaching_in = []
    for module in MODULES:
        for written, _ in imports(module):
            parts = written.split(".")
            if len(parts) > 2 and parts[1] in LAYERS and parts[1] != layer(module):
                reaching_in.append(f"{module} imports from {written}; use sweep.{parts[1]}")
    assert not reaching_in, "\n".join(reaching_in)


def test_the_cli_is_a_thin_face_over_the_api():
    for module in MODULES:
        for written, _ in imports(module):
            if written.startswith("sweep.cli") and layer(module) != "cli":
                assert module == "sweep.__main__", f"{module} imports the CLI"
    for module in (name for name in MODULES if layer(name) == "cli"):
        others = {written for written, _ in imports(module) if not written.startswith("sweep.cli")}
        assert others <= {"sweep"}, f"{module} reaches past sweep.api: {others}"  # `from sweep import api`


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_short(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MOST_LINES, f"{module} has {lines} lines; split it by concern"


def test_no_public_name_is_shadowed_by_a_module_of_the_same_name():
    """`from sweep.results import query` would hand over a module once sweep/results/query.py was imported."""
    for package in (f"sweep.{name}" for name in LAYERS if name not in ("cli", "api")):
        exports = importlib.import_module(package).EXPORTS
        clashes = [name for name in exports if f"{package}.{name}" in MODULES]
        assert not clashes, f"{package} exports {clashes}, which are also its module names"


def test_every_public_name_resolves():
    for package in (f"sweep.{name}" for name in LAYERS if name not in ("cli", "api")):
        loaded = importlib.import_module(package)
        for name in loaded.EXPORTS:
            assert getattr(loaded, name) is not None, f"{package}.{name}"
