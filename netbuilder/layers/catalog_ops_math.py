"""Math operations: arithmetic with tensors and constants, matrix products, unary functions.

Stateless: each emits forward lines only, the call a PyTorch engineer writes (``x * 0.5``,
``a @ b``, ``torch.einsum("bij,bjk->bik", a, b)``). The Add, Multiply and Concat merges and the
Sigmoid, Tanh, Softmax and LogSoftmax activations live in ``catalog_core``.
"""
from __future__ import annotations

import re

from .define import P, Port, layer
from .ops_common import MANY, literal, unary

# --- Arithmetic ---------------------------------------------------------------------------

_OPERANDS = (Port("a", doc="First operand"),
             Port("b", optional=True, doc="Second operand (leave unwired to use the constant)"))
_CONSTANT = (
    P("scalar", "float", None, "Constant second operand, used when 'b' is not wired",
      optional=True),
    P("scalar_first", "bool", False, "Put the constant first: 0.5 - x rather than x - 0.5"),
)


def _arithmetic_forward(op: str):
    def forward(c) -> list[str]:
        s = c.params["scalar"]
        if len(c.in_vars) == 2:
            if s is not None:
                raise ValueError(f"it has both a wire on 'b' and the constant {s!r}: clear "
                                 f"'scalar' or unwire 'b'")
            return [f"{c.out} = {c.in_vars[0]} {op} {c.in_vars[1]}"]
        if s is None:
            raise ValueError("it needs a second operand: wire a tensor into 'b' or set 'scalar'")
        if c.params["scalar_first"]:
            return [f"{c.out} = {literal(s)} {op} {c.x}"]
        return [f"{c.out} = {c.x} {op} {literal(s)}"]
    return forward


def _arithmetic_call(second: str):
    """``sub(input, other)`` with a tensor or a number on either side."""
    def read(bound: dict) -> tuple[dict, list]:
        a, b = bound["input"], bound[second]
        if isinstance(a, (int, float)):
            return {"scalar": float(a), "scalar_first": True}, [b]
        if isinstance(b, (int, float)):
            return {"scalar": float(b)}, [a]
        return {}, [a, b]
    return read


def _arithmetic(type_: str, op: str, functions: tuple, doc: str, aliases: tuple, short: str,
                second: str = "other") -> None:
    layer(type_, "Math", doc, _CONSTANT, inputs=_OPERANDS, forward=_arithmetic_forward(op),
          aliases=aliases, short=short, no_macs=True,
          subtitle=lambda p: f"x {op} {p['scalar']!r}" if p["scalar"] is not None else f"a {op} b",
          functions=functions, from_call=_arithmetic_call(second))


_arithmetic("Sub", "-", ("sub", "torch.sub", "Tensor.sub", "operator.sub"),
            "Difference a - b, or a tensor and a constant (x - 0.5).",
            ("subtract", "minus", "difference", "-"), "sub")
_arithmetic("Mul", "*", ("mul", "torch.mul", "Tensor.mul", "operator.mul"),
            "Product a * b, or a tensor times a constant (x * 0.5). "
            "Multiply merges any number of tensors.",
            ("multiply scale", "times", "scale by constant", "*"), "mul")
_arithmetic("Div", "/", ("div", "torch.div", "Tensor.div", "operator.truediv"),
            "Quotient a / b, or a tensor and a constant (x / 255).",
            ("divide", "ratio", "normalize by constant", "/"), "div")
_arithmetic("FloorDiv", "//", ("floor_divide", "torch.floor_divide", "operator.floordiv"),
            "Floor division a // b, or with a constant.",
            ("floor divide", "integer division", "//"), "floordiv")
_arithmetic("Pow", "**", ("pow", "torch.pow", "Tensor.pow", "operator.pow"),
            "Power a ** b, or with a constant (x ** 2, 2.0 ** x).",
            ("power", "square", "exponent", "**"), "pow", second="exponent")
layer("AddScalar", "Math", "Adds a constant: x + 0.5 (Add merges tensors).",
      (P("scalar", "float", 1.0, "The constant added"),),
      forward=lambda c: [f"{c.out} = {c.x} + {literal(c.params['scalar'])}"],
      aliases=("add constant", "offset", "shift", "bias constant", "plus"), short="shift",
      same_shape=True, no_macs=True, subtitle=lambda p: f"x + {p['scalar']!r}",
      functions=("add", "torch.add", "Tensor.add", "operator.add"),
      from_call=lambda b: ({"scalar": float(b["other"])}, [b["input"]]))

# --- Matrix products ------------------------------------------------------------------------

_MATRICES = (Port("a", doc="Left matrix (batch of matrices)"), Port("b", doc="Right matrix"))
layer("MatMul", "Math", "Matrix product a @ b, broadcasting leading dimensions (torch.matmul).",
      inputs=_MATRICES, forward=lambda c: [f"{c.out} = {c.in_vars[0]} @ {c.in_vars[1]}"],
      aliases=("@", "matrix multiply", "matrix product", "dot product"), short="matmul",
      functions=("matmul", "torch.matmul", "Tensor.matmul", "operator.matmul"),
      from_call=lambda b: ({}, [b["input"], b["other"]]))
layer("BMM", "Math", "Batched matrix product of (N, n, m) and (N, m, p) tensors (torch.bmm).",
      inputs=_MATRICES,
      forward=lambda c: [f"{c.out} = torch.bmm({c.in_vars[0]}, {c.in_vars[1]})"],
      aliases=("batch matrix multiply", "bmm", "batched matmul"), short="bmm",
      functions=("bmm", "torch.bmm", "Tensor.bmm"),
      from_call=lambda b: ({}, [b["input"], b["mat2"]]))

# Subscripts, commas between operands, one optional arrow: nothing else reaches the source.
_EINSUM = re.compile(r"^(?:\.\.\.)?[A-Za-z]*(?:\.\.\.)?[A-Za-z]*"
                     r"(?:,(?:\.\.\.)?[A-Za-z]*(?:\.\.\.)?[A-Za-z]*)*"
                     r"(?:->(?:\.\.\.)?[A-Za-z]*(?:\.\.\.)?[A-Za-z]*)?$")


def einsum_equation(text: str, n_inputs: int) -> str:
    """The equation, checked: letters, '...', commas and one '->'; one term per input; every
    term (the result too) starts with the batch index, the same letter everywhere."""
    eq = text.replace(" ", "")
    if not _EINSUM.fullmatch(eq) or eq.count("...") > eq.count(",") + 2:
        raise ValueError(f"equation {text!r} is not an einsum equation: use letters, commas "
                         f"and '->', as in 'bij,bjk->bik'")
    terms = eq.split("->")[0].split(",")
    if len(terms) != n_inputs:
        raise ValueError(f"equation {text!r} has {len(terms)} operand(s) but {n_inputs} "
                         f"input(s) are wired")
    batch = {t[:1] for t in eq.replace("->", ",").split(",")}
    if len(batch) != 1 or not batch.pop().isalpha():
        raise ValueError(f"equation {text!r} must keep the batch: start every term, the "
                         f"result too, with the same letter (as in 'bij,bjk->bik')")
    return eq


layer("Einsum", "Math", "Einstein summation over its inputs (torch.einsum); the batch index "
      "comes first in every term.",
      (P("equation", "str", "bij,bjk->bik", "Subscripts, e.g. 'bij,bjk->bik' or "
         "'bhqd,bhkd->bhqk'"),),
      inputs=MANY,
      forward=lambda c: [f"{c.out} = torch.einsum("
                         f"{einsum_equation(c.params['equation'], len(c.in_vars))!r}, "
                         f"{', '.join(c.in_vars)})"],
      aliases=("einstein summation", "tensor contraction", "einsum"), short="einsum",
      subtitle=lambda p: p["equation"], functions=("einsum", "torch.einsum"),
      from_call=lambda b: ({"equation": b["equation"]}, list(b["operands"])))

# --- Unary functions ------------------------------------------------------------------------


def _unary(type_: str, fn: str, doc: str, aliases: tuple, method: bool = False) -> None:
    call = unary(lambda x: f"{x}.{fn}()" if method else f"torch.{fn}({x})")
    layer(type_, "Math", doc, forward=call, aliases=aliases, short=fn, same_shape=True,
          no_macs=True, functions=(fn, f"torch.{fn}", f"Tensor.{fn}"),
          from_call=lambda b: ({}, [b["input"]]))


_unary("Exp", "exp", "Exponential e^x, element-wise.", ("exponential", "e^x"))
_unary("Log", "log", "Natural logarithm, element-wise.", ("logarithm", "ln"))
_unary("Sqrt", "sqrt", "Square root, element-wise.", ("square root", "root"))
_unary("Rsqrt", "rsqrt", "Reciprocal square root 1/√x, element-wise.",
       ("reciprocal square root", "inverse sqrt"))
_unary("Abs", "abs", "Absolute value, element-wise.", ("absolute", "magnitude", "modulus"))
_unary("Erf", "erf", "Gauss error function, element-wise.", ("error function", "gaussian cdf"))
_unary("Sin", "sin", "Sine, element-wise (positional features, periodic signals).",
       ("sine", "trigonometric"))
_unary("Cos", "cos", "Cosine, element-wise.", ("cosine", "trigonometric"))
layer("Neg", "Math", "Negation -x.", forward=unary(lambda x: f"-{x}"),
      aliases=("negate", "negative", "minus sign", "flip sign"), short="neg", same_shape=True,
      no_macs=True, functions=("neg", "torch.neg", "Tensor.neg", "operator.neg"),
      from_call=lambda b: ({}, [b["input"]]))


def _clamp(c) -> list[str]:
    lo, hi = c.params["min"], c.params["max"]
    if lo is None and hi is None:
        raise ValueError("it needs a bound: set 'min', 'max' or both")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"min = {lo!r} is above max = {hi!r}")
    kw = ", ".join(f"{k}={v!r}" for k, v in (("min", lo), ("max", hi)) if v is not None)
    return [f"{c.out} = {c.x}.clamp({kw})"]


layer("Clamp", "Math", "Limits values to [min, max] (either bound may be left out).",
      (P("min", "float", None, "Lower bound (none: no lower bound)", optional=True),
       P("max", "float", 1.0, "Upper bound (none: no upper bound)", optional=True)),
      forward=_clamp, aliases=("clip", "limit", "saturate", "bound"), short="clamp",
      same_shape=True, no_macs=True,
      subtitle=lambda p: f"[{p['min']}, {p['max']}]",
      functions=("clamp", "clip", "torch.clamp", "torch.clip", "Tensor.clamp", "Tensor.clip"),
      from_call=lambda b: ({"min": b.get("min"), "max": b.get("max")}, [b["input"]]))

__all__ = ["einsum_equation"]
