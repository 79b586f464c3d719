"""The package's structure: imports flow one way, no private names across modules, small rooms.

The import graph is built from the source with :mod:`ast`, function-local imports included (a
function-local import is still a dependency, and it is how the cycle this guards against was
hidden); a package's ``__init__`` re-exporting its own submodules is not a dependency of them.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "proforient_diag"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 900, 100


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = p.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


MODULES = _modules()


def _target(mod: str, node: ast.ImportFrom, is_pkg: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(mod: str) -> tuple[set[str], list[str]]:
    """(modules of the package imported by ``mod``, private names it imports from another)."""
    path = MODULES[mod]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    deps, private = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _target(mod, node, is_pkg)
            for alias in node.names:
                full = f"{target}.{alias.name}"
                if full in MODULES:
                    deps.add(full)
                elif target in MODULES:
                    deps.add(target)
                    if alias.name.startswith("_") and not alias.name.startswith("__") \
                            and target != mod:
                        private.append(f"{mod}: {alias.name} from {target}")
        elif isinstance(node, ast.Import):
            deps.update(a.name for a in node.names if a.name in MODULES)
    # a package's __init__ re-exporting its submodules is not their dependency
    deps = {d for d in deps if d != mod and not (mod.startswith(d + ".")
                                                 and MODULES[d].name == "__init__.py")}
    return deps, private


GRAPH = {m: _imports(m) for m in MODULES}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read():
    # the test would pass vacuously on an empty graph: check it sees known edges
    assert "proforient_diag.store" in GRAPH["proforient_diag.sources"][0]
    assert "proforient_diag.rows" in GRAPH["proforient_diag.ingest"][0]
    assert len(MODULES) > 40


def test_no_import_cycle():
    assert _cycles({m: d for m, (d, _) in GRAPH.items()}) == []


def test_cycle_detection_finds_a_planted_cycle():
    edges = {m: set(d) for m, (d, _) in GRAPH.items()}
    edges["proforient_diag.store.database"].add("proforient_diag.sources")
    assert any("proforient_diag.sources" in c for c in _cycles(edges))


def test_no_private_name_across_modules():
    assert [p for _, (_, priv) in GRAPH.items() for p in priv] == []


@pytest.mark.parametrize("lower, upper", [
    ("proforient_diag.store", "proforient_diag.sources"),
    ("proforient_diag.store", "proforient_diag.diagnostics"),
    ("proforient_diag.store", "proforient_diag.monitoring"),
    ("proforient_diag.ingest", "proforient_diag.store"),
    ("proforient_diag.forms", "proforient_diag.store"),
    ("proforient_diag.datafolder", "proforient_diag.ingest"),
    ("proforient_diag.monitoring", "proforient_diag.report"),
    ("proforient_diag.diagnostics", "proforient_diag.report"),
])
def test_imports_flow_one_way(lower, upper):
    """A lower room (data folder → readers → store → analysis → notes) never imports a higher."""
    offenders = [m for m, (deps, _) in GRAPH.items() if (m == lower or m.startswith(lower + "."))
                 and any(d == upper or d.startswith(upper + ".") for d in deps)]
    assert offenders == []


def test_modules_are_small():
    big = {m: n for m, p in MODULES.items()
           if (n := p.read_text(encoding="utf-8").count("\n") + 1) > MAX_MODULE_LINES}
    assert big == {}


def test_functions_fit_on_a_screen_or_two():
    long = []
    for m, p in MODULES.items():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and \
                        isinstance(getattr(body[0], "value", None), ast.Constant) and \
                        isinstance(body[0].value.value, str):
                    body = body[1:]   # the docstring does not count
                if body and body[-1].end_lineno - body[0].lineno + 1 > MAX_FUNCTION_LINES:
                    long.append(f"{m}.{node.name}")
    assert long == []


def test_every_exception_class_is_in_errors():
    """Exception classes are defined only in errors.py, and its docstring lists each one."""
    from proforient_diag import errors

    defined_elsewhere = []
    for m, p in MODULES.items():
        if m == "proforient_diag.errors":
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                    getattr(b, "id", getattr(b, "attr", "")).endswith(("Error", "Exception"))
                    for b in node.bases):
                defined_elsewhere.append(f"{m}.{node.name}")
    assert defined_elsewhere == []
    classes = [n for n in errors.__all__ if isinstance(getattr(errors, n), type)]
    assert all(issubclass(getattr(errors, n), errors.DiagError) for n in classes)
    assert [n for n in classes if n not in errors.__doc__] == []
