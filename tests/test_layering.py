"""The house (issue 13, item 7): packages import downward only, no module imports another that
imports it back, and the demo stays out of the product and the wheel.

Imports are read with ``ast`` from the source, including the ones inside functions (a lazy import
is still a dependency; it only hides a cycle from Python's import machinery, not from a reader).
"""

from __future__ import annotations

import ast
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: What each product package may import (besides itself). ``common`` imports nothing of ours; the
#: card folders build on it; ``pipeline`` (stages, runner, CLI, Airflow glue) sits on top.
ALLOWED: dict[str, set[str]] = {
    "common": set(),
    "extractors": {"common"},
    "transforms": {"common"},
    "quality": {"common", "transforms"},
    "warehouse": {"common", "transforms"},
    "reports": {"common", "transforms", "warehouse"},
    "pipeline": {"common", "extractors", "transforms", "quality", "warehouse", "reports"},
    "dags": {"common", "pipeline"},
}
OUTSIDE_THE_PRODUCT = {"demo", "tools", "bench", "tests"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(f): f for pkg in ALLOWED for f in sorted((ROOT / pkg).rglob("*.py"))}


def _imported(path: Path) -> set[str]:
    """Dotted names a file imports (absolute imports; we use no relative ones)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            names.add(node.module or "")
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    """Module -> our modules it imports (``from a.b import c`` counts as a.b.c when c is a module)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imported(path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_packages_import_downward_only() -> None:
    wrong: dict[str, set[str]] = defaultdict(set)
    for module, targets in _graph().items():
        package = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if other != package and other not in ALLOWED[package]:
                wrong[module].add(target)
    assert not wrong, f"imports against the layering: {dict(wrong)}"


def test_no_module_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_check_can_fail() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_the_product_never_imports_the_demo_tools_or_tests(package: str) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        leaked = {name for name in _imported(path) if name.split(".")[0] in OUTSIDE_THE_PRODUCT}
        assert not leaked, f"{path.relative_to(ROOT)} imports {leaked}"


def test_the_wheel_holds_the_product_packages_only() -> None:
    """pyproject's package list (what a wheel ships) has the product and not the demo."""
    from setuptools import find_packages

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    shipped = {name.split(".")[0] for name in find_packages(str(ROOT), include=include)}
    assert shipped == set(ALLOWED) - {"dags"}
    assert not shipped & OUTSIDE_THE_PRODUCT
