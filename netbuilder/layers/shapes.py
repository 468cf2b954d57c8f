"""Closed-form shapes and MACs of common layers, and shape checks worded as advice.

A rule gives exactly what a meta-tensor run gives (tests compare both over many shapes).
NOTE: a rule returns None whenever it is not sure (an unusual argument, a size torch would
reject): the layer then runs on meta tensors, so torch still decides and words every error.
Shapes exclude the batch dimension.
"""
from __future__ import annotations

import math
from collections.abc import Callable

Rule = Callable[[dict, list], "tuple[tuple, int] | None"]


def _fmt(shape) -> str:
    return "(N, " + ", ".join(str(d) for d in shape) + ")"


def _tuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def linear(p: dict, shapes: list):
    s = shapes[0]
    if not s:
        return None
    return (*s[:-1], p["out_features"]), math.prod(s[:-1]) * s[-1] * p["out_features"]


def conv(dims: int) -> Rule:
    def rule(p: dict, shapes: list):
        s = shapes[0]
        groups = p["groups"]
        if (len(s) != dims + 1 or p.get("padding_mode", "zeros") != "zeros"
                or s[0] % groups or p["out_channels"] % groups):
            return None
        kernel, stride = _tuple(p["kernel_size"], dims), _tuple(p["stride"], dims)
        pad, dil = _tuple(p["padding"], dims), _tuple(p["dilation"], dims)
        out = []
        for size, k, st, pd, d in zip(s[1:], kernel, stride, pad, dil):
            span = d * (k - 1) + 1
            if size + 2 * pd < span:
                return None  # torch explains: the input is smaller than the kernel
            out.append((size + 2 * pd - span) // st + 1)
        macs = p["out_channels"] * math.prod(out) * (s[0] // groups) * math.prod(kernel)
        return (p["out_channels"], *out), macs
    return rule


def flatten(p: dict, shapes: list):
    full = (1, *shapes[0])
    n = len(full)
    start, end = p["start_dim"], p["end_dim"]
    start, end = (start + n if start < 0 else start), (end + n if end < 0 else end)
    if not (0 <= start <= end < n):
        return None
    out = (*full[:start], math.prod(full[start:end + 1]), *full[end + 1:])
    return out[1:], 0


def elementwise(p: dict, shapes: list):
    first = shapes[0]
    if any(tuple(s) != tuple(first) for s in shapes[1:]):
        return None
    return tuple(first), 0


def concat(p: dict, shapes: list):
    first = shapes[0]
    rank = len(first) + 1
    d = p["dim"] + rank if p["dim"] < 0 else p["dim"]
    if d < 1 or d >= rank:
        return None
    axis = d - 1
    for s in shapes[1:]:
        if len(s) != len(first) or any(a != b for i, (a, b) in enumerate(zip(first, s))
                                        if i != axis):
            return None
    out = list(first)
    out[axis] = sum(s[axis] for s in shapes)
    return tuple(out), 0


def pool(dims: int) -> Rule:
    def rule(p: dict, shapes: list):
        s = shapes[0]
        # indices are a second result, and dilation spreads the window: the meta run decides
        if (len(s) != dims + 1 or p["ceil_mode"] or p.get("return_indices")
                or p.get("dilation", 1) != 1):
            return None
        kernel = _tuple(p["kernel_size"], dims)
        stride = kernel if p["stride"] is None else _tuple(p["stride"], dims)
        pad = _tuple(p["padding"], dims)
        out = []
        for size, k, st, pd in zip(s[1:], kernel, stride, pad):
            if 2 * pd > k or size + 2 * pd < k:
                return None  # torch explains: too much padding, or a window larger than the map
            out.append((size + 2 * pd - k) // st + 1)
        return (s[0], *out), 0
    return rule


def adaptive(p: dict, shapes: list):
    s = shapes[0]
    if len(s) != 3 or p.get("return_indices"):
        return None
    return (s[0], *_tuple(p["output_size"], 2)), 0


# --- checks: advice that follows the node's label ----------------------------------------------

def softmax_dim(p: dict, shapes: list) -> str | None:
    rank = len(shapes[0]) + 1
    if not -rank <= p["dim"] < rank:
        return (f"normalizes along dim {p['dim']}, but {_fmt(shapes[0])} has dims 0 to "
                f"{rank - 1}: use -1 (the last) or 1 to {rank - 1}")
    return None


def sequence_length(p: dict, shapes: list) -> str | None:
    if shapes[0] and shapes[0][0] > p["max_len"]:
        return (f"covers sequences of up to max_len = {p['max_len']} steps but receives "
                f"{shapes[0][0]}: raise max_len")
    return None


def same_pair(p: dict, shapes: list) -> str | None:
    if len(shapes) == 2 and shapes[1] is not None and tuple(shapes[0]) != tuple(shapes[1]):
        return (f"receives mu {_fmt(shapes[0])} and logvar {_fmt(shapes[1])}: they must have "
                f"the same shape (give both Linear layers the same out_features)")
    return None


def reshape_fits(p: dict, shapes: list) -> str | None:
    total = math.prod(shapes[0])
    known = math.prod(d for d in p["shape"] if d != -1)
    fits = total % known == 0 if -1 in p["shape"] else known == total
    if not fits:
        return (f"cannot reshape {_fmt(shapes[0])} ({total} values per sample) into "
                f"{_fmt(p['shape'])}: the sizes must multiply to {total}")
    return None


def unflatten_fits(p: dict, shapes: list) -> str | None:
    if math.prod(p["shape"]) != shapes[0][0]:
        return (f"cannot unflatten {shapes[0][0]} features into {_fmt(p['shape'])}: the sizes "
                f"must multiply to {shapes[0][0]}")
    return None
