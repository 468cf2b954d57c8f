"""The one rule of direction (DESIGN.md §1): ui → train → compile → graph → layers.

import-linter's contracts (pyproject.toml, [tool.importlinter]) check every import statement,
those inside functions included; `importlib.import_module("...")` calls with literal names are
invisible to it and are checked here. Each headless package is also imported in a fresh
interpreter: it must not pull in Qt or pyqtgraph, and the graph model and the layer catalog
must not pull in torch either.
"""
from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "netbuilder"
HEADLESS = ["netbuilder", "netbuilder.graph", "netbuilder.layers", "netbuilder.compile",
            "netbuilder.train", "netbuilder.model_import"]
GUI_ROOTS = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6")
# Top to bottom, as in the import-linter contract; a module may import only floors below it.
FLOORS = ("netbuilder.__main__", "netbuilder.cli", "netbuilder.commands", "netbuilder.ui",
          "netbuilder.model_import", "netbuilder.train", "netbuilder.compile",
          "netbuilder.graph", "netbuilder.layers")
# importlib calls that go up a floor, each with its reason.
DYNAMIC_EXCEPTIONS = {
    # Graph.analyze()/build()/to_python() are conveniences for users' scripts; the compiler is
    # loaded only when one of them is called, so `import netbuilder.graph` stays free of torch.
    ("netbuilder.graph.model", "netbuilder.compile"),
}


def _loaded_modules(module: str) -> set[str]:
    """Top-level names of every module that ``import module`` loads in a fresh interpreter."""
    code = (f"import sys, json; import {module}; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=False)
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


def _lint_imports() -> list[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    return [str(exe)] if exe.exists() else [shutil.which("lint-imports") or "lint-imports"]


def test_import_contracts_are_kept():
    done = subprocess.run([*_lint_imports(), "--no-cache"], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "3 kept, 0 broken" in done.stdout  # every contract was read and checked


def _floor(module: str) -> int | None:
    for i, floor in enumerate(FLOORS):
        if module == floor or module.startswith(floor + "."):
            return i
    return None


def _dynamic_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, name)`` of each ``importlib.import_module("literal")`` / ``import_module(...)``
    call in a file; an f-string counts by its literal prefix (``netbuilder.commands.``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        fn = node.func
        name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
        if name != "import_module":
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            out.append((node.lineno, arg.value))
        elif isinstance(arg, ast.JoinedStr) and arg.values and isinstance(
                arg.values[0], ast.Constant):
            out.append((node.lineno, str(arg.values[0].value).rstrip(".")))
    return out


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def test_dynamic_imports_point_downward():
    offenders, seen = [], 0
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _module_name(path)
        for line, target in _dynamic_imports(path):
            seen += 1
            mine, theirs = _floor(here), _floor(target)
            if mine is None or theirs is None or theirs >= mine:
                continue
            if (here, target) not in DYNAMIC_EXCEPTIONS:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert seen >= 2  # the scan finds the known calls (cli's subcommands, the graph facade)
    assert not offenders, "\n".join(offenders)


def test_dynamic_import_scan_sees_the_graph_facade():
    # Guards the scanner: graph/model.py loads the compiler by name, lazily.
    found = _dynamic_imports(PACKAGE / "graph" / "model.py")
    assert [name for _, name in found] == ["netbuilder.compile"]
    assert _floor("netbuilder.compile") < _floor("netbuilder.graph.model")
