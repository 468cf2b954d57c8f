"""The Function node: any torch function, Tensor method or operator by its dotted name, with
constant arguments. What the importer makes of an operation no other node type stands for.

    function="torch.fft.rfft", arguments="in0, n=16"  →  o = torch.fft.rfft(x, n=16)

The name must lie in torch's tensor namespaces (``torch``'s native functions, ``torch.nn.
functional``, ``torch.fft``, ``torch.linalg``, ``torch.special``, ``torch.ops.aten``, public
``Tensor`` methods and properties, Tensor operators); the arguments are literals, the wired
inputs ``in0, in1, ...``, their sizes (``in0.size(0)``, ``in0.shape[1]``, ``in0.dtype``) and
integer arithmetic on them. Nothing else reaches the generated source: the text is parsed,
checked node by node and written back from the checked tree. No torch at import time.
"""
from __future__ import annotations

import ast
import re

from .define import P, layer
from .ops_common import MANY

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_INPUT = re.compile(r"in(\d+)")
_SUBMODULES = ("torch.nn.functional", "torch.fft", "torch.linalg", "torch.special")
# Tensor operators by their method name: binary (x OP y), reflected (y OP x) and unary (OP x).
BINARY = {"__add__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/",
          "__floordiv__": "//", "__mod__": "%", "__pow__": "**", "__matmul__": "@",
          "__and__": "&", "__or__": "|", "__xor__": "^", "__lshift__": "<<",
          "__rshift__": ">>", "__eq__": "==", "__ne__": "!=", "__lt__": "<", "__le__": "<=",
          "__gt__": ">", "__ge__": ">="}
REFLECTED = {f"__r{k[2:]}": v for k, v in BINARY.items() if k[2:-2] in (
    "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor")}
UNARY = {"__neg__": "-", "__pos__": "+", "__invert__": "~", "__abs__": "abs"}
# Public Tensor attributes that are no computation on values (they leave the graph or run code).
_NOT_OPERATIONS = {"backward", "register_hook", "register_post_accumulate_grad_hook", "tolist",
                   "numpy", "item", "storage", "untyped_storage", "share_memory_", "data_ptr",
                   "apply_", "map_", "map2_", "pin_memory", "record_stream", "retain_grad"}
DTYPES = {"float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64",
          "long", "int32", "int", "int16", "int8", "uint8", "bool", "complex64", "complex128",
          "contiguous_format", "channels_last", "preserve_format"}


def normalize_name(name: str) -> str:
    """``F.gelu`` → ``torch.nn.functional.gelu``; other names unchanged."""
    return f"torch.nn.functional.{name[2:]}" if name.startswith("F.") else name


def resolve(name: str) -> tuple[str, object]:
    """``(kind, target)`` of a checked function name: kind is "function", "method",
    "property", "getitem", "binary", "reflected" or "unary". ValueError says why a name is
    refused. Imports torch (only analysis and code generation call it)."""
    import torch

    name = normalize_name(name)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a dotted name such as torch.fft.fft or Tensor.cumsum")
    head, _, attr = name.rpartition(".")
    if head == "Tensor":
        if attr == "__getitem__":
            return "getitem", None
        for kind, table in (("binary", BINARY), ("reflected", REFLECTED), ("unary", UNARY)):
            if attr in table:
                return kind, table[attr]
        target = getattr(torch.Tensor, attr, None)
        if attr.startswith("_") or target is None or attr in _NOT_OPERATIONS:
            raise ValueError(f"Tensor.{attr} is not a public Tensor method or property")
        return ("method" if callable(target) else "property"), target
    if head == "torch":
        public = hasattr(torch._C._VariableFunctions, attr) or \
            attr in getattr(torch.functional, "__all__", ())
        if attr.startswith("_") or not public:
            raise ValueError(f"torch.{attr} is not one of torch's tensor functions")
        return "function", getattr(torch, attr)
    if head in _SUBMODULES:
        target = getattr(__import__(head, fromlist=["_"]), attr, None)
        if attr.startswith("_") or not callable(target) or isinstance(target, type):
            raise ValueError(f"{name} is not a function of {head}")
        return "function", target
    parts = name.split(".")
    if parts[:3] == ["torch", "ops", "aten"] and len(parts) in (4, 5):
        target = getattr(torch.ops.aten, parts[3], None)
        target = getattr(target, parts[4], None) if len(parts) == 5 and target else target
        if target is None:
            raise ValueError(f"{name} is not an ATen operator")
        return "function", target
    raise ValueError(f"{name} is not in torch's tensor namespaces (torch, torch.nn.functional, "
                     f"torch.fft, torch.linalg, torch.special, torch.ops.aten, Tensor)")


def parse_arguments(text: str, n_inputs: int) -> tuple[list[ast.expr], list[ast.keyword]]:
    """The checked argument trees of ``text`` ("in0, 1, dim=-1"); ValueError says what is not
    allowed. Every wired input must be used."""
    try:
        call = ast.parse(f"_f({text})", mode="eval").body
    except SyntaxError:
        raise ValueError(f"the arguments {text!r} are not a Python argument list") from None
    if not isinstance(call, ast.Call) or len(call.args) + len(call.keywords) != \
            len(call.args) + sum(1 for k in call.keywords if k.arg):
        raise ValueError(f"the arguments {text!r} cannot use ** unpacking")
    used: set[int] = set()
    for node in [*call.args, *(k.value for k in call.keywords)]:
        _check(node, n_inputs, used)
    missing = sorted(set(range(n_inputs)) - used)
    if missing:
        raise ValueError(f"input in{missing[0]} is wired but the arguments do not use it")
    return call.args, call.keywords


def _check(node: ast.AST, n: int, used: set[int]) -> None:
    """Literals, inputs, their sizes and integer arithmetic; nothing else."""
    if isinstance(node, ast.Constant):
        return
    if isinstance(node, ast.Name):
        m = _INPUT.fullmatch(node.id)
        if m is None or int(m.group(1)) >= n:
            raise ValueError(f"{node.id!r} is not a wired input (in0 to in{n - 1})" if n else
                             f"{node.id!r}: the node has no inputs wired")
        used.add(int(m.group(1)))
        return
    if isinstance(node, (ast.Tuple, ast.List)):
        for e in node.elts:
            _check(e, n, used)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _check(node.operand, n, used)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult,
                                                            ast.FloorDiv, ast.Div, ast.Mod)):
        _check(node.left, n, used)
        return _check(node.right, n, used)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == "slice" and not node.keywords and len(node.args) <= 3:
        for a in node.args:
            _check(a, n, used)
        return
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        if node.value.id == "torch" and node.attr in DTYPES:
            return
        if _INPUT.fullmatch(node.value.id) and node.attr in ("shape", "dtype", "device",
                                                              "ndim"):
            return _check(node.value, n, used)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr in ("size", "dim", "numel") and not node.keywords and \
            isinstance(node.func.value, ast.Name) and _INPUT.fullmatch(node.func.value.id):
        _check(node.func.value, n, used)
        for a in node.args:
            _check(a, n, used)
        return
    if isinstance(node, ast.Subscript) and isinstance(node.slice, (ast.Constant, ast.UnaryOp)) \
            and isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
        _check(node.value, n, used)
        return _check(node.slice, n, used)
    raise ValueError(f"`{ast.unparse(node)}` is not allowed in the arguments (literals, the "
                     f"inputs in0, in1, ..., their size(), shape, dtype and arithmetic only)")


class _Inputs(ast.NodeTransformer):
    """``in0`` → the input's variable; ``slice(a, b)`` → ``a:b`` inside a subscript."""

    def __init__(self, names: list[str], subscript: bool = False):
        self.names, self.subscript = names, subscript

    def visit_Name(self, node):
        m = _INPUT.fullmatch(node.id)
        return ast.Name(self.names[int(m.group(1))]) if m else node

    def visit_Call(self, node):
        node = self.generic_visit(node)
        if self.subscript and isinstance(node.func, ast.Name) and node.func.id == "slice":
            a = [None if isinstance(x, ast.Constant) and x.value is None else x
                 for x in node.args]
            a = ([None] + a + [None, None])[:3] if len(a) == 1 else (a + [None, None])[:3]
            return ast.Slice(*a)
        return node


def source(function: str, arguments: str, item, in_vars: list[str]) -> str:
    """The call the node makes, written from the checked trees."""
    kind, _ = resolve(function)
    name = normalize_name(function)
    args, keywords = parse_arguments(arguments, len(in_vars))
    fix = _Inputs(in_vars, subscript=kind == "getitem")
    args = [fix.visit(a) for a in args]
    keywords = [ast.keyword(k.arg, _Inputs(in_vars).visit(k.value)) for k in keywords]
    text = [ast.unparse(a) for a in args] + [f"{k.arg}={ast.unparse(k.value)}" for k in keywords]
    method = name.rpartition(".")[2]
    if kind in ("method", "property", "getitem", "binary", "reflected", "unary"):
        if not args or keywords and kind != "method":
            raise ValueError(f"{name} needs its tensor first (in0), with no keyword arguments")
        self_, rest = f"({text[0]})" if not isinstance(args[0], ast.Name) else text[0], text[1:]
        if kind == "method":
            expr = f"{self_}.{method}({', '.join(rest)})"
        elif kind == "property" and not rest:
            expr = f"{self_}.{method}"
        elif kind == "getitem" and len(args) == 2:
            index = args[1]
            inner = ", ".join(ast.unparse(e) for e in index.elts) if isinstance(
                index, ast.Tuple) and index.elts else ast.unparse(index)
            expr = f"{self_}[{inner}]"
        elif kind in ("binary", "reflected") and len(rest) == 1:
            op = BINARY.get(method) or REFLECTED[method]
            expr = f"{self_} {op} ({rest[0]})" if kind == "binary" else \
                f"({rest[0]}) {op} {self_}"
        elif kind == "unary" and not rest:
            op = UNARY[method]
            expr = f"abs({self_})" if op == "abs" else f"{op}{self_}"
        else:
            raise ValueError(f"{name} takes {'no' if kind != 'getitem' else 'one'} further "
                             f"argument here, not {len(rest)}")
    else:
        expr = f"{name}({', '.join(text)})"
    if item is not None:
        expr = f"{expr}[{int(item)}]"
    return expr


def _forward(c) -> list[str]:
    expr = source(c.params["function"], c.params["arguments"], c.params["item"], c.in_vars)
    return [f"{c.out} = {expr}"]


def _subtitle(p: dict) -> str:
    name = normalize_name(p["function"]).rpartition(".")[2]
    return name + (f"[{p['item']}]" if p["item"] is not None else "")


layer("Function", "Modules", "Any torch function, Tensor method or operator by its dotted name "
      "(torch.fft.rfft, F.gelu, Tensor.cumsum) with constant arguments: what the importer "
      "makes of an operation no other node stands for.",
      (P("function", "str", "torch.abs", "torch.<fn>, torch.nn.functional.<fn> (or F.<fn>), "
                                         "torch.fft/linalg/special.<fn>, Tensor.<method>"),
       P("arguments", "str", "in0", "The call's arguments: the inputs in0, in1, ..., literals "
                                    "and keywords, e.g. in0, dim=1"),
       P("item", "int", None, "Take this element of a tuple result (values of sort(), say)",
         optional=True, min=-8, max=8)),
      inputs=MANY, forward=_forward, short="fn", no_macs=False, subtitle=_subtitle,
      aliases=("function", "operation", "torch function", "tensor method", "custom op"))


__all__ = ["resolve", "source", "parse_arguments", "normalize_name", "BINARY", "REFLECTED",
           "UNARY", "DTYPES"]
