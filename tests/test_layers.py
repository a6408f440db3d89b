"""The package's layers are rules, not advice: import-linter contracts plus a cycle check."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """The contracts in pyproject.toml: layers, pure wire/offers, report reads records only."""
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0, (
        "an import breaks a layer contract; run `lint-imports` for the chain")


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _import_graph() -> dict[str, set[str]]:
    graph = grimp.build_graph("scanner")
    return {module: {imported for imported in graph.find_modules_directly_imported_by(module)
                     if imported != "scanner"}
            for module in graph.modules}


def test_no_module_imports_itself_through_others() -> None:
    assert _cycles(_import_graph()) == []


def test_no_package_cycles() -> None:
    """Sub-packages (scanner.engine, scanner.probes, ...) form a DAG as well as modules do."""
    packages: dict[str, set[str]] = {}
    for module, imported in _import_graph().items():
        source = ".".join(module.split(".")[:2])
        for target in imported:
            package = ".".join(target.split(".")[:2])
            if package != source:
                packages.setdefault(source, set()).add(package)
    assert _cycles(packages) == []


def test_cycle_finder_finds_cycles() -> None:
    """The checks above can fail: a two-module loop and a three-module loop are both found."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _cycles({"x": {"y"}, "y": {"z"}, "z": {"x"}}) == [["x", "y", "z"]]
    assert _cycles({"x": {"y"}, "y": {"z"}}) == []
