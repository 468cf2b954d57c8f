"""Per-layer knowledge lives in the layers' specs (DESIGN.md §4): no production module outside
netbuilder/layers branches on a layer type's name.

The scan flags a registered type name in a string literal that code *branches* on: compared
(``==``, ``!=``, ``in``), gathered in a tuple, list or set (a table of types), or used as a dict
key. Code that *uses* a type passes it to a call (``g.add("Input", ...)``), a default argument
or a return value: that is building, not deciding, and is allowed.
"""
from __future__ import annotations

import ast
from pathlib import Path

import netbuilder as nb

PACKAGE = Path(nb.__file__).resolve().parent
TYPES = {s.type for s in nb.all_specs()}

# (file, type name): why that file may name it in a branch. Keep this short.
ALLOWED = {
    # Captions of the inspector's rows ("Input: (N, 1, 28, 28)"): words on screen, not a test.
    ("ui/panels/inspector.py", "Input"): "row caption",
    ("ui/panels/inspector.py", "Output"): "row caption",
    # The example builder gives DCGAN's LeakyReLU its 0.2 slope: building, not deciding.
    ("graph/templates.py", "LeakyReLU"): "example builder's DCGAN setting",
}


def _branching_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, type name)`` of type names in comparisons, collections and dict keys."""
    found: list[tuple[int, str]] = []

    def names_in(node: ast.AST) -> list[ast.Constant]:
        if isinstance(node, ast.Constant) and node.value in TYPES:
            return [node]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [e for e in node.elts if isinstance(e, ast.Constant) and e.value in TYPES]
        return []

    for node in ast.walk(tree):
        hits: list[ast.Constant] = []
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                hits += names_in(side)
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            hits += names_in(node)
        elif isinstance(node, ast.Dict):
            hits += [k for k in node.keys if k is not None for k in names_in(k)]
        found += [(c.lineno, c.value) for c in hits if isinstance(c.value, str)]
    return sorted(set(found))


def _offenders() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("layers/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), rel)
        for line, name in _branching_literals(tree):
            if (rel, name) not in ALLOWED:
                out.append(f"netbuilder/{rel}:{line} branches on the layer type {name!r}: "
                           f"read a field of its spec instead (layers/spec.py LayerSpec)")
    return out


def test_no_module_outside_layers_branches_on_a_type_name():
    offenders = _offenders()
    assert not offenders, "\n".join(offenders)


def test_the_scan_finds_each_kind_of_branch():
    code = ('if node.type == "Conv2d": pass\n'
            'if t in ("ReLU", "Tanh"): pass\n'
            'RULES = {"Linear": 1}\n'
            'g.add("Input", shape=(1,))\n'           # building: allowed
            'def f(type_="Block"): return "Add"\n')  # defaults and results: allowed
    found = _branching_literals(ast.parse(code))
    assert found == [(1, "Conv2d"), (2, "ReLU"), (2, "Tanh"), (3, "Linear")]


def test_every_allowed_entry_names_a_real_type_and_file():
    for (rel, name), reason in ALLOWED.items():
        assert name in TYPES and (PACKAGE / rel).exists() and reason
