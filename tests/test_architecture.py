"""The one rule of direction (DESIGN.md §1): ui → train → compile → graph → layers.

Each headless package is imported in a fresh interpreter and must not pull in Qt or pyqtgraph;
the graph model and the layer catalog must not pull in torch either. A static pass over the
source checks the same rule for every module, including those no test imports.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "netbuilder"
HEADLESS = ["netbuilder", "netbuilder.graph", "netbuilder.layers", "netbuilder.compile"]
if (PACKAGE / "train" / "__init__.py").exists():
    HEADLESS.append("netbuilder.train")
GUI_ROOTS = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6")


def _loaded_modules(module: str) -> set[str]:
    """Top-level names of every module that ``import module`` loads in a fresh interpreter."""
    code = (f"import sys, json; import {module}; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=PACKAGE.parent, check=False)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", HEADLESS)
def test_headless_package_loads_no_gui_toolkit(module):
    loaded = _loaded_modules(module)
    assert module.split(".")[0] in loaded  # the probe really imported it
    assert not loaded & set(GUI_ROOTS), f"{module} loads {sorted(loaded & set(GUI_ROOTS))}"


@pytest.mark.parametrize("module", ["netbuilder.graph", "netbuilder.layers"])
def test_graph_and_layers_load_without_torch(module):
    loaded = _loaded_modules(module)
    assert "networkx" in loaded or module == "netbuilder.layers"
    assert "torch" not in loaded, f"import {module} loaded torch"


def _python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path, top_level_only: bool) -> list[tuple[int, str]]:
    """``(line, absolute module name)`` of the imports in a file.

    ``top_level_only`` keeps the imports that run when the module is imported (module body,
    including ``if``/``try`` blocks there) and leaves out those inside functions and classes.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    package = list(rel.parts[:-1])  # the package a relative import starts from
    out: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_def: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_def or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                  ast.ClassDef, ast.Lambda))
            if isinstance(child, ast.Import) and not (top_level_only and in_def):
                out.extend((child.lineno, a.name) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and not (top_level_only and in_def):
                if child.level:
                    base = package[: len(package) - child.level + 1]
                    name = ".".join(base + ([child.module] if child.module else []))
                    if child.module is None:  # from . import a, b
                        out.extend((child.lineno, f"{name}.{a.name}") for a in child.names)
                        continue
                else:
                    name = child.module or ""
                out.append((child.lineno, name))
            visit(child, nested)

    visit(tree, False)
    return out


def test_static_probe_resolves_relative_imports():
    # Guards the checker itself: it must see `from ..layers import get_spec` in graph/model.py.
    names = [n for _, n in _imports(PACKAGE / "graph" / "model.py", top_level_only=True)]
    assert "netbuilder.layers" in names
    assert "netbuilder.errors" in names


def test_only_ui_imports_qt_or_pyqtgraph():
    offenders = []
    for path in _python_files(PACKAGE):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "ui":
            continue
        for line, name in _imports(path, top_level_only=False):
            if name.split(".")[0] in GUI_ROOTS:
                offenders.append(f"netbuilder/{rel}:{line} imports {name}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("package,forbidden", [
    ("graph", ("netbuilder.compile", "netbuilder.train", "netbuilder.ui", "torch")),
    ("layers", ("netbuilder.graph", "netbuilder.compile", "netbuilder.train", "netbuilder.ui")),
    ("compile", ("netbuilder.train", "netbuilder.ui")),
])
def test_imports_point_downward(package, forbidden):
    offenders = []
    for path in _python_files(PACKAGE / package):
        for line, name in _imports(path, top_level_only=True):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                offenders.append(f"netbuilder/{package}/{path.name}:{line} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_nothing_imports_ui():
    offenders = []
    for path in _python_files(PACKAGE):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "ui" or rel.name in ("cli.py", "__main__.py"):
            continue  # the entry points may open the editor
        if rel.parts[0] == "commands":
            continue
        for line, name in _imports(path, top_level_only=True):
            if name == "netbuilder.ui" or name.startswith("netbuilder.ui."):
                offenders.append(f"netbuilder/{rel}:{line} imports {name}")
    assert not offenders, "\n".join(offenders)
