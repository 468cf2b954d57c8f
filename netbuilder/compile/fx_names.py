"""Names, places and words for traced operations: which nodes matter, what a module's node
is called, which block role it has, the variable a result was assigned to, and how to describe
an operation in an error message."""
from __future__ import annotations

import ast
import inspect
import operator
import re

from torch import fx, nn

from ..layers import get_spec
from . import fx_map
from .module_paths import is_module_path
from .naming import sanitize

_ROLES = ("encoder", "decoder", "generator", "discriminator")


def live_nodes(graph: fx.Graph) -> set[fx.Node]:
    """The nodes the output depends on (dead code is not imported)."""
    out = next(n for n in graph.nodes if n.op == "output")
    live, todo = {out}, [out]
    while todo:
        for a in todo.pop().all_input_nodes:
            if a not in live:
                live.add(a)
                todo.append(a)
    return live


def is_block(m: nn.Module) -> bool:
    """Custom modules and ``nn.Sequential`` become blocks; other torch.nn modules are layers."""
    return type(m) is nn.Sequential or not type(m).__module__.startswith("torch.")


def block_type(m: nn.Module, path: str) -> str:
    """Encoder/Decoder/Generator/Discriminator from netbuilder's own docstring, else the name."""
    doc = inspect.getdoc(type(m)) or ""
    found = re.match(r"The (\w+) '", doc)
    if found and found.group(1) in (*_ROLES, "block"):
        return found.group(1).capitalize()
    words = f"{str(path).rsplit('.', 1)[-1]} {type(m).__name__}".lower()
    return next((r.capitalize() for r in _ROLES if r in words), "Block")


def module_name(n: fx.Node, type_: str, in_block: bool = False) -> str:
    """The attribute name. Children of a Sequential inside the model keep their index (``0``,
    ``1``): the block is then written as an ``nn.Sequential`` and state-dict keys stay the
    original's. At the top (a model that is a Sequential) they get ``conv0``, ``relu1``."""
    if str(n.target).isdigit() and not in_block:
        return f"{get_spec(type_).short}{n.target}"
    return str(n.target)  # ``branches.0``: a ModuleList's member keeps its path


def node_name(wanted: str) -> str:
    """A node name from a wanted one: a module path (``0``, ``branches.0``) as it is, so
    that generated code registers the module under it; anything else sanitized."""
    return wanted if is_module_path(wanted) else sanitize(wanted)


def is_step(index, step: int, features: slice = slice(None)) -> bool:
    """Whether ``index`` is ``[:, step]`` or ``[:, step, features]``."""
    if not isinstance(index, tuple) or len(index) not in (2, 3) or index[1] != step:
        return False
    if index[0] != slice(None):
        return False
    return (len(index) == 2 and features == slice(None)) or (
        len(index) == 3 and index[2] == features)


def index_text(index) -> str:
    def one(i):
        if isinstance(i, slice):
            text = ":".join("" if v is None else str(v) for v in (i.start, i.stop))
            return text + (f":{i.step}" if i.step is not None else "")
        return "..." if i is Ellipsis else str(getattr(i, "name", i))
    return ", ".join(one(i) for i in index) if isinstance(index, tuple) else one(index)


_GENERIC = {"x", "y", "z", "h", "out", "output", "input", "result", "res", "tmp"}
_BINARY = {operator.add: ast.Add, operator.iadd: ast.Add, operator.mul: ast.Mult,
           operator.imul: ast.Mult}


def assigned_name(n: fx.Node) -> str | None:
    """The variable a call's result is assigned to on its source line (``concat = torch.cat(
    ...)`` → ``concat``), when the call is that line's outermost one and the name says more
    than ``x`` or ``out``: exported code comes back with its node names."""
    found = re.findall(r'File "[^"]+", line \d+, in \S+\n\s*(.*)', n.stack_trace or "")
    try:
        stmt = ast.parse(found[-1].strip()).body[0] if found else None
    except SyntaxError:
        return None
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1 or \
            not isinstance(stmt.targets[0], ast.Name) or stmt.targets[0].id in _GENERIC:
        return None
    value = stmt.value
    if n.target in _BINARY:
        ok = isinstance(value, ast.BinOp) and isinstance(value.op, _BINARY[n.target])
    else:
        func = value.func if isinstance(value, ast.Call) else None
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        ok = called is not None and called == getattr(n.target, "__name__", n.target)
    return stmt.targets[0].id if ok else None


def describe(n: fx.Node, module: nn.Module) -> str:
    """The operation of an fx node in words: ``torch.fft.fft``, ``Tensor.sort()``."""
    if n.op == "output":
        return "returning a value"
    if n.op == "call_method":
        return f"Tensor.{n.target}()"
    if n.op == "call_function":
        return fx_map.describe_target(n.target)
    if n.op == "call_module":
        return f"{type(module.get_submodule(n.target)).__name__} '{n.target}'"
    return f"{n.op} {n.target}"
