"""The Module node: any ``nn.Module`` class, by import path or from a ``.py`` file.

The generated file imports it (``import package.module`` or, for a file, ``importlib`` on its
path, as a literal) and calls ``package.module.Class(key=value, ...)`` with JSON-literal
arguments. The import path is checked as dotted identifiers and the argument names as
identifiers: nothing from the file reaches source any other way. Whether the code may be
imported at all is the graph's trust (``netbuilder.graph.trust``), not decided here.
"""
from __future__ import annotations

import json
import keyword
import re

from .registry import register
from .spec import Emission, EmitContext, LayerSpec, Param, Port, call

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class TargetError(ValueError):
    """A Module node's target or arguments cannot be used (the message says why)."""


def parse_target(text) -> tuple[str, str, bool]:
    """``(module path or file, class name, is_file)`` of ``package.module:Class`` or
    ``some/file.py:Class``; TargetError for anything else."""
    if not isinstance(text, str) or ":" not in text:
        raise TargetError(f"a module target is 'package.module:Class' or 'file.py:Class', not "
                          f"{text!r}")
    where, _, cls = text.rpartition(":")
    if not (cls.isidentifier() and cls.isascii()) or keyword.iskeyword(cls):
        raise TargetError(f"{cls!r} is not a class name (in the target {text!r})")
    if where.endswith(".py"):
        if not where.isprintable():
            raise TargetError(f"the module file {where!r} is not a usable path")
        return where, cls, True
    if not _DOTTED.fullmatch(where) or any(keyword.iskeyword(p) for p in where.split(".")):
        raise TargetError(f"{where!r} is not a dotted module path such as 'torch.nn' (in the "
                          f"target {text!r})")
    return where, cls, False


def parse_arguments(text) -> dict:
    """The constructor's keyword arguments: a JSON object whose keys are identifiers."""
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError as exc:
        raise TargetError(f"the arguments are not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise TargetError(f"the arguments must be a JSON object such as {{\"dim\": 8}}, not "
                          f"{text!r}")
    for key in value:
        if not (key.isidentifier() and key.isascii()) or keyword.iskeyword(key):
            raise TargetError(f"{key!r} is not an argument name")
    return value


def module_alias(where: str) -> str:
    """The name a file's module gets in generated code (``my_layers.py`` → ``my_layers``)."""
    stem = re.sub(r"[^0-9A-Za-z_]+", "_", where.replace("\\", "/").rsplit("/", 1)[-1][:-3])
    return f"user_{stem.strip('_') or 'module'}"


def _emit(ctx: EmitContext) -> Emission:
    where, cls, is_file = parse_target(ctx.params["target"])
    kwargs = parse_arguments(ctx.params["arguments"])
    if is_file:
        alias = module_alias(where)
        spec = f"_{alias}_spec"
        imports = ("import importlib.util",
                   f"{spec} = importlib.util.spec_from_file_location(\n    {json.dumps(alias)}, "
                   f"{json.dumps(where)}\n)\n{alias} = importlib.util.module_from_spec({spec})\n"
                   f"{spec}.loader.exec_module({alias})")
        qualname = f"{alias}.{cls}"
    else:
        imports, qualname = (f"import {where}",), f"{where}.{cls}"
    item = ctx.params.get("item")
    took = f"[{int(item)}]" if item is not None else ""
    forward = [f"{ctx.out} = self.{ctx.name}({', '.join(ctx.in_vars)}){took}"]
    return Emission(init=call(qualname, (), kwargs), forward=forward, imports=imports)


register(LayerSpec(
    type="Module", category="Modules",
    doc="Any nn.Module class, by import path (package.module:Class) or from a .py file; its "
        "code runs only once the graph is trusted.",
    params=(
        Param("target", "str", "torch.nn:Identity",
              "The class: package.module:Class, or path/to/file.py:Class"),
        Param("arguments", "str", "{}", "Constructor keyword arguments as a JSON object"),
        Param("out_shape", "shape", None, "Output shape last seen (a placeholder's shape "
                                          "while the graph is not trusted)", optional=True),
        Param("n_params", "int", 0, "Parameter count last seen", min=0),
        Param("item", "int", None, "Take this element of a tuple result (an LSTM's output, "
                                   "say)", optional=True, min=-8, max=8),
    ),
    # Its forward's tensor arguments, in order (most modules take one).
    inputs=(Port("in", variadic=True, doc="The module's tensor arguments, in order"),),
    aliases=("custom module", "import", "nn.Module", "user layer"),
    short="module", emit=_emit, code_target=lambda params: params["target"],
))
