"""nn_core's layers import downward only: no import cycle between its modules (imports inside
functions included), and no dashboard library inside the engine.

registries → losses → network → recording → train → schedule → compare → sweep; results;
datasets → tabular → data (tabular builds on datasets, never the reverse).
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nn_core"
MODULES = {p.stem for p in PACKAGE.glob("*.py")}


def imports_of(module: str) -> set[str]:
    """The nn_core modules ``module`` imports anywhere in its file (top level or in a function),
    by relative (``from . import x``, ``from .x import y``) or absolute (``nn_core.x``) name."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "nn_core":
                    found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1 or (node.module or "").split(".")[0] == "nn_core":
                path = (node.module or "").split(".")
                path = path[1:] if node.level == 0 else path
                if path and path[0]:
                    found.add(path[0])
                else:  # from . import a, b: submodules, or names of the package itself
                    for alias in node.names:
                        found.add(alias.name if alias.name in MODULES else "__init__")
    found.discard(module)
    return found & MODULES


def graph(skip: set[tuple[str, str]] = frozenset()) -> dict[str, set[str]]:
    return {m: {d for d in imports_of(m) if (m, d) not in skip} for m in sorted(MODULES)}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan), as sorted lists."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_the_scanner_sees_function_local_and_relative_imports():
    assert "train" in imports_of("sweep")  # `from .train import ...` inside train_task
    assert {"losses", "activations", "initializers"} <= imports_of("network")
    assert "presets" in imports_of("config")  # imported inside ExperimentConfig.preset
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nn_core_has_no_import_cycle():
    assert cycles(graph()) == []


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ("losses", "network"),
        ("network", "recording"),
        ("recording", "train"),
        ("train", "schedule"),
        ("schedule", "compare"),
        ("schedule", "sweep"),
        ("network", "landscape"),
        ("datasets", "tabular"),
        ("tabular", "data"),
    ],
)
def test_layers_import_downward_only(lower, upper):
    def reaches(a, b, edges, seen=None):
        seen = seen or set()
        if a == b:
            return True
        seen.add(a)
        return any(reaches(n, b, edges, seen) for n in edges[a] if n not in seen)

    edges = graph()
    assert reaches(upper, lower, edges), f"{upper} should build on {lower}"
    assert not reaches(lower, upper, edges), f"{lower} must not import {upper}"


def test_the_landscape_uses_the_network_not_training():
    edges = graph()
    assert "network" in edges["landscape"]
    assert not edges["landscape"] & {"train", "schedule", "compare"}


def test_no_dashboard_library_in_the_engine():
    for module in MODULES:
        tree = ast.parse((PACKAGE / f"{module}.py").read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in {"streamlit", "plotly"}, (module, name)


def test_synthetic_datasets_refuse_bundled_names_clearly():
    from nn_core import datasets
    from nn_core.config import DatasetConfig
    from nn_core.data import make

    with pytest.raises(ValueError, match="bundled dataset"):
        datasets.make(DatasetConfig(name="iris"))
    assert make(DatasetConfig(name="iris")).name == "iris"
