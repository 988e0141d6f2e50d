"""The package's layers import downward only, without cycles, as the README documents them;
and the model can be imported by a worker process without the Excel writer or the
command line."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "planner"

# The README's layers, lowest first; a module may import its own layer and those below.
LAYERS = [
    ("contract", {"__init__", "errors", "schema", "cells", "inputs", "sheets", "highs",
                  "terminal"}),
    ("read", {"xlsx", "workbook"}),
    ("validate", {"validate"}),
    ("scenarios", {"scenarios", "risk"}),
    ("network", {"network", "loops"}),
    ("model", {"lp", "provenance", "rules", "model"}),
    ("solve", {"solve"}),
    ("analysis", {"report", "headlines", "diagnose", "rule_costs", "plan", "frontier",
                  "stress", "cluster", "hedge"}),
    ("write", {"excel", "template", "output"}),
    ("api", {"api"}),
    ("cli", {"supervise", "cli"}),
]
LAYER = {module: i for i, (_, modules) in enumerate(LAYERS) for module in modules}


def _imports(path: Path) -> set[str]:
    """Planner modules imported anywhere in the file, inside functions too."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:  # from . import x
                found.update(a.name for a in node.names)
            elif node.module and node.module.split(".")[0] == "planner":
                parts = node.module.split(".")
                found.update([parts[1]] if len(parts) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names
                         if a.name.startswith("planner."))
    found.discard("__version__")
    return {m if (PACKAGE / f"{m}.py").exists() else "__init__" for m in found}


def _graph() -> dict[str, set[str]]:
    return {p.stem: _imports(p) for p in PACKAGE.glob("*.py")}


def test_every_module_has_a_layer():
    assert set(_graph()) <= set(LAYER), sorted(set(_graph()) - set(LAYER))


def test_imports_go_downward_only():
    upward = [(module, used) for module, uses in _graph().items() for used in uses
              if used != module and LAYER[used] > LAYER[module]]
    assert upward == []


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(module, path):
        state[module] = 1
        for used in sorted(graph.get(module, ())):
            if used == module:
                continue
            assert state.get(used) != 1, " -> ".join(path + [used])
            if used not in state:
                visit(used, path + [used])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_the_model_loads_neither_openpyxl_nor_click():
    code = ("import sys, planner.model, planner.solve; "
            "print(sorted(m for m in ('openpyxl', 'click', 'python_calamine') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_walker_sees_imports_inside_functions(tmp_path):
    """The check would miss the circle a function-level import dodges, were it blind to it."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from .network import build_network\n"
                      "from . import schema\nimport planner.model\n")
    assert _imports(source) == {"network", "schema", "model"}
