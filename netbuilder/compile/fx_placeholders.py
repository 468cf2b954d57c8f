"""What the importer makes of what has no node type: never a refusal, a placeholder.

A torch function, Tensor method or operator becomes a **Function node** (its dotted name and
its constant arguments); a submodule becomes a **Module node** (its class by import path, its
constructor arguments recovered from the instance, its weights under the original keys). Each
placeholder is recorded with why it was made, for the import report (``import_report``).
"""
from __future__ import annotations

import builtins
import importlib.util
import inspect
import json
import math
import operator
import os
import sys
from typing import Any

import torch
from torch import fx, nn

from ..graph import trust
from ..layers.catalog_ops_call import BINARY, REFLECTED, UNARY, resolve
from .fx_names import assigned_name, describe, module_name

_OPERATORS = {getattr(operator, k.strip("_")): k for k in [*BINARY, *UNARY]
              if hasattr(operator, k.strip("_"))}
_OPERATORS.update({operator.and_: "__and__", operator.or_: "__or__",
                   operator.getitem: "__getitem__"})
_REFLECT = {v: f"__r{v[2:]}" for v in BINARY if f"__r{v[2:]}" in REFLECTED}
_OWN_PREFIX = "netbuilder_import_"  # the module names import_source gives a user's file


class Unrepresentable(Exception):
    """An argument a Function node cannot hold (the message says which)."""


class Untraceable(Exception):
    """torch.fx cannot trace a module (the message says where and why)."""


# ATen operators (a graph from torch.export) that are reshapes, read from recorded shapes.
_ATEN_RESHAPES = {"view", "reshape", "_unsafe_view", "flatten", "squeeze", "unsqueeze",
                  "clone", "contiguous", "alias"}


def aten_kind(target: Any) -> str | None:
    """The kind (``fx_map``) of an ATen operator with a torch function of the same name."""
    from . import fx_map

    if not isinstance(target, torch._ops.OpOverload) or target.namespace != "aten":
        return None
    name = target._opname
    if name in _ATEN_RESHAPES:
        return "passthrough" if name in ("clone", "contiguous", "alias") else "reshape"
    for ns in (torch, torch.nn.functional):
        kind = fx_map.FUNCTIONS.get(getattr(ns, name, None))
        if kind is not None:
            return kind
    return None


# --- Function nodes -----------------------------------------------------------------------

def function_name(n: fx.Node) -> str | None:
    """The checked dotted name of a traced call (``torch.fft.fft``, ``Tensor.cumsum``)."""
    if n.op == "call_method":
        return f"Tensor.{n.target}"
    t = n.target
    if t in _OPERATORS:
        return f"Tensor.{_OPERATORS[t]}"
    if t is builtins.getattr:
        return f"Tensor.{n.args[1]}"
    if isinstance(t, torch._ops.OpOverload):
        return f"torch.ops.aten.{t._opname}.{t._overloadname}" if t.namespace == "aten" \
            else None
    from .fx_map import describe_target

    name = describe_target(t)  # the public name: torch.fft.fft, F.gelu
    return name if name.startswith(("torch.", "F.")) else None


def function_node(b, n: fx.Node, why: str) -> Any:
    """The call ``n`` as a Function node (a tuple result waits for its indexing)."""
    from .fx_builder import BAD, Value

    name = function_name(n)
    args, kwargs = list(n.args), dict(n.kwargs)
    if n.op == "call_function" and n.target is builtins.getattr:
        args = args[:1]
    method = (name or "").rpartition(".")[2]
    if method in _REFLECT and len(args) == 2 and not isinstance(args[0], fx.Node):
        name, args = f"Tensor.{_REFLECT[method]}", args[::-1]  # 2 - x: x.__rsub__(2)
    inputs: list[fx.Node] = []
    try:
        if name is None:
            raise Unrepresentable(f"{describe(n, b.module)} is not in torch's namespaces")
        resolve(name)
        parts = [_text(a, b, inputs) for a in args]
        parts += [f"{k}={_text(v, b, inputs)}" for k, v in kwargs.items()]
    except (Unrepresentable, ValueError) as exc:
        b.s.problem(f"{describe(n, b.module)}: {exc}", n)
        return BAD
    value = b.rec.values.get(n)
    info = {"function": name, "arguments": ", ".join(parts), "inputs": inputs, "why": why}
    if isinstance(value, (tuple, list)) and any(isinstance(v, torch.Tensor) for v in value):
        return Value("fn_tuple", info={**info, "fx": n, "made": {}})
    if not isinstance(value, torch.Tensor):
        b.s.problem(f"{describe(n, b.module)} gives a {type(value).__name__}, not a tensor", n)
        return BAD
    return _function(b, n, info, None)


def function_item(b, v, n: fx.Node, index) -> Any:
    """``values, _ = x.sort()``: the tuple element as the Function node's ``item``."""
    from .fx_builder import BAD

    if not isinstance(index, int):
        b.s.problem(f"indexing the result of {v.info['function']} with {index!r}", n)
        return BAD
    made = v.info["made"]
    if index not in made:
        made[index] = _function(b, v.info["fx"], v.info, index, n)
    return made[index]


def _function(b, n: fx.Node, info: dict, item, named: fx.Node | None = None):
    from .fx_builder import BAD

    if any(b.values.get(a) is BAD for a in info["inputs"]):
        return BAD
    attr = n.args[1] if n.target is builtins.getattr else None
    base = assigned_name(named or n) or attr or n.name
    value = b.layer(named or n, "Function", {"function": info["function"],
                                             "arguments": info["arguments"], "item": item},
                    info["inputs"], base)
    if value.kind == "tensor":
        what = info["function"] if attr or isinstance(n.target, torch._ops.OpOverload) \
            else describe(n, b.module)
        b.s.placeholder("Function", what, b.prefix.rstrip("."), info["why"], n)
    return value


def _text(a: Any, b, inputs: list) -> str:
    """An argument as the Function node's text: a wired input, a size of one, or a literal."""
    if isinstance(a, fx.Node):
        v = b.values.get(a)
        if v is not None and v.kind == "tensor":
            if a not in inputs:
                inputs.append(a)
            return f"in{inputs.index(a)}"
        return _helper(a, b, inputs)
    if isinstance(a, (tuple, list)):
        inner = [_text(x, b, inputs) for x in a]
        if isinstance(a, list):
            return f"[{', '.join(inner)}]"
        return f"({inner[0]},)" if len(inner) == 1 else f"({', '.join(inner)})"
    if isinstance(a, slice):
        return f"slice({_text(a.start, b, inputs)}, {_text(a.stop, b, inputs)}, " \
               f"{_text(a.step, b, inputs)})"
    if isinstance(a, torch.dtype):
        return f"torch.{str(a).rpartition('.')[2]}"
    if isinstance(a, float) and not math.isfinite(a):
        raise Unrepresentable(f"the constant {a!r}")
    if a is None or a is Ellipsis or isinstance(a, (bool, int, float, str)):
        return repr(a)
    raise Unrepresentable(f"the argument {a!r} is no literal")


def _helper(a: fx.Node, b, inputs: list) -> str:
    """``x.size(0)``, ``x.shape[1]``, ``n // 2``: sizes read from a wired input."""
    if a.op == "call_method" and a.target in ("size", "dim", "numel"):
        rest = ", ".join(_text(x, b, inputs) for x in a.args[1:])
        return f"{_text(a.args[0], b, inputs)}.{a.target}({rest})"
    if a.op == "call_function" and a.target is builtins.getattr and \
            a.args[1] in ("shape", "dtype", "device", "ndim"):
        return f"{_text(a.args[0], b, inputs)}.{a.args[1]}"
    if a.op == "call_function" and a.target is operator.getitem and \
            isinstance(a.args[1], int):
        return f"{_text(a.args[0], b, inputs)}[{a.args[1]}]"
    ops = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.floordiv: "//",
           operator.truediv: "/", operator.mod: "%"}
    if a.op == "call_function" and a.target in ops:
        left, right = (_text(x, b, inputs) for x in a.args)
        return f"({left} {ops[a.target]} {right})"
    raise Unrepresentable(f"the value {a.name} ({describe(a, b.module)}) is no tensor, size "
                          f"or literal")


# --- Module nodes -------------------------------------------------------------------------

def class_target(cls: type) -> str | None:
    """``package.module:Class`` when the class can be imported by name, else
    ``/path/file.py:Class``; None for a class that is not at a module's top level."""
    qual, mod = cls.__qualname__, cls.__module__
    if not qual.isidentifier():
        return None
    if getattr(sys.modules.get(mod), qual, None) is cls and mod != "__main__" and \
            not mod.startswith(_OWN_PREFIX):
        if mod.startswith("torch.") and getattr(nn, qual, None) is cls:
            return f"torch.nn:{qual}"
        try:
            if importlib.util.find_spec(mod) is not None:
                return f"{mod}:{qual}"
        except (ImportError, ValueError):
            pass
    try:
        path = inspect.getsourcefile(cls)
    except TypeError:
        return None
    return f"{os.path.abspath(path)}:{qual}" if path and path.endswith(".py") else None


def _json_literal(v: Any) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    if v is None or isinstance(v, (bool, int, str)):
        return True
    return isinstance(v, (list, tuple)) and all(_json_literal(x) for x in v)


def constructor_args(m: nn.Module) -> dict:
    """The keyword arguments that rebuild ``m``: ``__init__``'s parameters read from the
    instance's same-named attributes (defaults where it keeps none). Raises Unrepresentable."""
    for klass in type(m).__mro__:
        init = vars(klass).get("__init__")
        if init is None:
            continue
        params = [p for p in list(inspect.signature(init).parameters.values())[1:]
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if params or klass is nn.Module:
            break
    out = {}
    for p in params:
        if p.name in ("device", "dtype"):
            continue
        v = getattr(m, p.name, inspect.Parameter.empty)
        if v is not inspect.Parameter.empty and _json_literal(v):
            if p.default is inspect.Parameter.empty or json.dumps(v) != json.dumps(p.default):
                out[p.name] = json.loads(json.dumps(v))  # (a default stays implicit)
        elif p.default is inspect.Parameter.empty:
            raise Unrepresentable(f"its argument {p.name!r} is not kept as a JSON-literal "
                                  f"attribute")
    return out


def rebuild(m: nn.Module, args: dict) -> tuple[nn.Module, dict]:
    """``type(m)(**args)`` with ``m``'s weights; arguments a base class sets itself are left
    out (``LSTM`` passes ``mode``). Raises Unrepresentable when it cannot be rebuilt."""
    args = dict(args)
    for _ in range(len(args) + 1):
        try:
            new = type(m)(**args)
            break
        except TypeError as exc:
            bad = next((k for k in args if f"'{k}'" in str(exc)), None)
            if bad is None:
                raise Unrepresentable(f"{type(m).__name__}(**{args}) fails: {exc}") from None
            args.pop(bad)
        except Exception as exc:  # noqa: BLE001 (the user's constructor may raise anything)
            raise Unrepresentable(f"{type(m).__name__}(**{args}) fails: "
                                  f"{type(exc).__name__}: {exc}") from None
    else:
        raise Unrepresentable(f"{type(m).__name__} cannot be rebuilt from its attributes")
    try:
        new.load_state_dict(m.state_dict())
    except Exception as exc:  # noqa: BLE001
        raise Unrepresentable(f"rebuilt from its attributes, its weights differ "
                              f"({str(exc).splitlines()[0]})") from None
    return new.train(m.training), args


def _same_outputs(a: Any, b: Any) -> bool:
    if a is None:  # what the original call left out (attention weights), nobody uses
        return True
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and \
            torch.allclose(a.float(), b.float(), atol=1e-5, rtol=1e-4)
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(
            _same_outputs(x, y) for x, y in zip(a, b))
    return a == b


def module_spec(m: nn.Module, inputs: tuple, output: Any) -> tuple[str, str]:
    """``(target, arguments JSON)`` of a Module node standing for ``m``, checked by rebuilding
    it and comparing its output on ``inputs`` with ``output``. Raises Unrepresentable."""
    if type(m).__module__ == "__main__":
        raise Unrepresentable(f"{type(m).__qualname__} is defined in the script being run "
                              f"(__main__), which a graph cannot import")
    target = class_target(type(m))
    if target is None:
        raise Unrepresentable(f"{type(m).__qualname__} is not importable by name (define it "
                              f"at the top level of a module)")
    new, args = rebuild(m, constructor_args(m))
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(0)
        got = new.eval()(*inputs)
    if not _same_outputs(output, got):
        raise Unrepresentable(f"{type(m).__name__}({json.dumps(args)[1:-1]}) rebuilt from its "
                              f"attributes computes something else (its constructor keeps "
                              f"an argument under another name)")
    trust.allow([target])  # the person is importing this very code
    return target, json.dumps(args)


def module_node(b, n: fx.Node, mod: nn.Module, path: str, why: str) -> Any:
    """The submodule called by ``n`` as a Module node (a tuple result waits for indexing);
    a problem naming ``why`` when it cannot be one."""
    from .fx_builder import BAD

    try:
        return _module_value(b, n, mod, path, why)
    except Unrepresentable as exc:
        b.s.problem(f"{type(mod).__name__} '{path}' ({why}) cannot be kept as a Module node: "
                    f"{exc}", n)
        return BAD


def _module_value(b, n: fx.Node, mod: nn.Module, path: str, why: str) -> Any:
    from .fx_builder import Value

    out = b.rec.values.get(n)
    inputs = list(n.args)
    while inputs and inputs[-1] is None:
        inputs.pop()
    if not all(isinstance(b.rec.values.get(a), torch.Tensor) for a in inputs) or \
            any(isinstance(v, fx.Node) for v in n.kwargs.values()):
        raise Unrepresentable("it is called with arguments other than tensors in order")
    # NOTE: keyword constants are not passed; rebuilding and comparing outputs below shows
    # whether the call needs them.
    target, arguments = module_spec(mod, tuple(b.rec.values.get(a) for a in inputs), out)
    info = {"target": target, "arguments": arguments, "inputs": inputs, "why": why,
            "path": path, "mod": mod, "fx": n, "made": {}}
    if isinstance(out, (tuple, list)) and any(isinstance(v, torch.Tensor) for v in out):
        return Value("mod_tuple", info=info)
    if not isinstance(out, torch.Tensor):
        raise Unrepresentable(f"it returns a {type(out).__name__}, which a Module node cannot "
                              f"pass on")
    return _module(b, info, None)


def keep_untraceable(b, n: fx.Node, mod: nn.Module, path: str, reason: str):
    """An untraceable block kept whole as a Module node; None (with why, for the next
    fallback) when it cannot be."""
    try:
        value = _module_value(b, n, mod, path, "torch.fx cannot trace it")  # (why: below)
    except Unrepresentable as exc:
        return None, str(exc)
    b.s.fallback(path, "kept as a Module node (torch.fx cannot trace it)", reason, n)
    return value, ""


def module_item(b, v, n: fx.Node, index) -> Any:
    """``out, hidden = self.rnn(x)``: each used element is a Module node sharing the first."""
    from .fx_builder import BAD

    if not isinstance(index, int):
        b.s.problem(f"indexing the result of '{v.info['path']}' with {index!r}", n)
        return BAD
    out = b.rec.values.get(v.info["fx"])
    if not isinstance(out[index], torch.Tensor):
        b.s.problem(f"'{v.info['path']}' returns a {type(out[index]).__name__} at [{index}]: "
                    f"a Module node passes on tensors only (as item 0, 1, ...)", n)
        return BAD
    made = v.info["made"]
    if index not in made:
        made[index] = _module(b, v.info, index, n)
    return made[index]


def _module(b, info: dict, item, named: fx.Node | None = None):
    n, mod = info["fx"], info["mod"]
    out = b.rec.values.get(n)
    shown = out[item] if item is not None else out
    params = {"target": info["target"], "arguments": info["arguments"], "item": item,
              "out_shape": tuple(shown.shape[1:]) or None,
              "n_params": sum(p.numel() for p in mod.parameters())}
    name = (assigned_name(named) if named is not None else None) or module_name(n, "Module")
    value = b.layer(n, "Module", params, info["inputs"], name)
    if value.kind != "tensor":
        return value
    first = info.get("owner") or b.owners.get(n.target)
    if first is None:
        info["owner"] = b.owners[n.target] = value.node
        b.s.state_names[info["path"]] = [*b.id_path, value.node]
        b.s.checks.append((b.g, value.node, mod, n))
        what = type(mod).__name__
        b.s.placeholder("Module", what, info["path"], info["why"], n)
    else:
        b.g.share(value.node, first)
    return value


__all__ = ["function_node", "function_item", "module_node", "module_item", "module_spec",
           "keep_untraceable",
           "class_target", "constructor_args", "Unrepresentable"]
