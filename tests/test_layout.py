"""The package's shape: no import cycles among brmc's modules, no module over 600 lines,
and no function-body imports of brmc's own modules (the standards of the developers' brief).

Imports under ``if TYPE_CHECKING:`` are for annotations only and do not count; the one
deferred import allowed is JAX's op registration in ``backends.py`` (JAX is imported only
when a JAX backend is used, to keep ``import brmc`` fast).
"""

from __future__ import annotations

import ast
from pathlib import Path

import brmc

SRC = Path(brmc.__file__).parent
#: (module, imported module) pairs imported inside a function on purpose, with the reason above.
DEFERRED = {("brmc.backends", "brmc.jax_ops")}


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _target(path: Path, node: ast.ImportFrom) -> list[str]:
    """The brmc modules a relative ``from ... import`` names (the module, or each name when it is a package)."""
    here = _module(path).split(".")
    base = here if path.name == "__init__.py" else here[:-1]
    base = base[: len(base) - (node.level - 1)]
    if node.module:
        return [".".join([*base, *node.module.split(".")])]
    return [".".join([*base, alias.name]) for alias in node.names]


def _imports() -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    """Module-level brmc imports of each module, and the (module, target) pairs imported in function bodies."""
    top: dict[str, set[str]] = {}
    nested: list[tuple[str, str]] = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        name = _module(path)
        top[name] = {t for node in tree.body if isinstance(node, ast.ImportFrom) and node.level
                     for t in _target(path, node)}
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                nested += [(name, t) for node in ast.walk(fn) if isinstance(node, ast.ImportFrom) and node.level
                           for t in _target(path, node)]
    return top, nested


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(_imports()[0]) == []


def test_no_function_body_imports_of_brmc_modules() -> None:
    assert [pair for pair in _imports()[1] if pair not in DEFERRED] == []


def test_modules_stay_under_600_lines() -> None:
    long = {_module(p): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 600}
    assert long == {}
