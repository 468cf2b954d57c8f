"""What the tensor-operation specs share: dimension checks, literals and importer helpers.

NOTE: dims in operation parameters are PyTorch's own (dim 0 is the batch), so the emitted code
reads as written by hand (``x.transpose(1, 2)``). Shapes in an ``EmitContext`` exclude the
batch; an operation may never reduce, move or index the batch dimension. An emitter raises
``ValueError`` with a sentence about the setting; analysis reports it on the node.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from .spec import Port, fmt

MAX_PARTS = 8  # output ports of Chunk and Split
PART_PORTS = tuple(Port(f"part{i}", doc=f"part {i} exists when the node makes more than {i} "
                                             f"parts") for i in range(MAX_PARTS))
MANY = (Port("in", variadic=True, doc="One or more tensors, in order"),)


def shape_text(shape: Sequence[int]) -> str:
    """``(N, 3, 4)``: a tensor's shape as the user sees it (N is the batch)."""
    return "(" + ", ".join(["N", *(str(d) for d in shape)]) + ")"


def sample_dim(dim: int, shape: Sequence[int], what: str = "dim", extra: int = 0) -> int:
    """``dim`` of a tensor whose sample shape is ``shape``, normalized to 1..rank-1.

    ``extra`` is 1 where the dim may name a new position (unsqueeze, stack).
    """
    rank = len(shape) + 1 + extra
    if not -rank <= dim < rank:
        raise ValueError(f"{what} = {dim} is out of range for {shape_text(shape)}: use 1 to "
                         f"{rank - 1}, or -1 for the last")
    d = dim % rank
    if d == 0:
        raise ValueError(f"{what} = {dim} is the batch dimension, which an operation keeps: use "
                         f"1 to {rank - 1}, or -1 for the last")
    return d


def sample_dims(dims: int | tuple, shape: Sequence[int], what: str = "dim") -> tuple[int, ...]:
    """Several distinct dims (reductions over ``(1, 2)``), each checked by ``sample_dim``."""
    dims = dims if isinstance(dims, tuple) else (dims,)
    out = tuple(sample_dim(d, shape, what) for d in dims)
    if len(set(out)) != len(out):
        raise ValueError(f"{what} = {fmt(dims)} names a dimension twice")
    return out


def literal(value: float) -> str:
    """A constant operand; negatives in parentheses so ``(-2.0) ** x`` keeps its meaning."""
    text = fmt(value)
    return f"({text})" if value < 0 else text


def args_text(args: Sequence, kwargs: dict | None = None) -> str:
    """``1, 2, dim=3``: arguments as literals (every value goes through ``repr``)."""
    parts = [fmt(a) for a in args]
    parts += [f"{k}={fmt(v)}" for k, v in (kwargs or {}).items()]
    return ", ".join(parts)


def unary(fn: Callable[[str], str]) -> Callable:
    """A forward emitter ``out = fn(x)``."""
    return lambda c: [f"{c.out} = {fn(c.x)}"]


def from_input(*names: str, **renames: str) -> Callable[[dict], tuple[dict, list]]:
    """Importer mapping of ``f(input, a, b)``: parameters ``names`` (``renames``: param=arg)."""
    def read(bound: dict) -> tuple[dict, list]:
        params = {n: _plain(bound[n]) for n in names if n in bound}
        params.update({p: _plain(bound[a]) for p, a in renames.items() if a in bound})
        return params, [bound["input"]]
    return read


def _plain(value):
    return tuple(value) if isinstance(value, list) else value


__all__ = ["MANY", "MAX_PARTS", "PART_PORTS", "args_text", "from_input", "literal",
           "sample_dim", "sample_dims", "shape_text", "unary"]
