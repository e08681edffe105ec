"""The package's layers, read from its imports (every import, function-level ones included).

core (tagseg.core, tagseg.data) knows neither paper; neither paper imports the other or the
reporting; no module imports a trainer; models do not import the data layer; no import circle;
and the workflow parses with the light part of the package only.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "tagseg"
MODELS = {"tagseg.sun2018.fcn", "tagseg.sun2018.classifier", "tagseg.sun2018.auxiliary", "tagseg.sun2018.network",
          "tagseg.luo2017.network"}  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """The tagseg modules a file imports, anywhere in it (``from tagseg.x import y`` counts y when y is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("tagseg")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tagseg"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py").exists()
                          else node.module)  # fmt: skip
    return found - {"tagseg"}


GRAPH = {module_name(path): imports(path) for path in PACKAGE.rglob("*.py")}


def layer(module: str) -> str:
    top = module.split(".")[1] if module.count(".") else "tagseg"
    return {"core": "core", "data": "core", "sun2018": "sun2018", "luo2017": "luo2017", "reporting": "reporting"}.get(
        top, top
    )


def edges(source_layer: str):
    return [(a, b) for a, targets in GRAPH.items() if layer(a) == source_layer for b in targets]


def test_the_graph_sees_the_package():
    assert {
        "tagseg.core.training",
        "tagseg.sun2018.fusion",
        "tagseg.luo2017.inference",
        "tagseg.reporting.claims",
    } <= set(GRAPH)
    assert "tagseg.core.checkpoint" in GRAPH["tagseg.sun2018.network"]


def test_the_core_imports_neither_paper_nor_the_reporting():
    assert [(a, b) for a, b in edges("core") if layer(b) != "core"] == []


@pytest.mark.parametrize("paper, other", [("sun2018", "luo2017"), ("luo2017", "sun2018")])
def test_a_paper_imports_neither_the_other_nor_the_reporting(paper, other):
    assert [(a, b) for a, b in edges(paper) if layer(b) in (other, "reporting")] == []


def test_no_module_imports_a_trainer():
    """Evaluators, figures and exports load models through the model modules, never through a trainer."""
    assert [(a, b) for a, targets in GRAPH.items() for b in targets if b.rsplit(".", 1)[-1].startswith("train_")] == []


def test_models_do_not_import_the_data_layer():
    assert [(a, b) for a in MODELS for b in GRAPH[a] if b.startswith("tagseg.data")] == []


def test_there_is_no_import_circle():
    state: dict[str, str] = {}
    circle: list[str] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(GRAPH.get(module, ())):
            if state.get(target) == "open" and not circle:
                circle.extend(path[path.index(target) :] + [target] if target in path else [module, target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert circle == []


def test_the_workflow_parses_without_torch_numpy_or_pil():
    """The modules the workflow imports at parse time, in a fresh interpreter: none pulls in a heavy library."""
    text = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    modules = re.findall(r"^from (tagseg[\w.]*) import", text, flags=re.M)
    assert len(modules) >= 4
    code = ("import sys; " + "; ".join(f"import {m}" for m in modules)
            + "; print(sorted(m for m in ('torch', 'numpy', 'PIL', 'pandas', 'scipy') if m in sys.modules))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(ROOT / "src")})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
