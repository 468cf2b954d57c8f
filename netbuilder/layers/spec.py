"""Layer specs: what a layer type is, as data. No torch here, so specs load instantly.

A spec's ``emit`` turns a node into PyTorch source (an ``__init__`` expression and ``forward``
lines). Building, shape analysis and export all go through that source: one path.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParamError

PARAM_KINDS = ("int", "float", "bool", "choice", "ints", "shape", "str")


@dataclass(frozen=True)
class Param:
    """A typed layer parameter with its default, range and a one-line doc."""

    name: str
    kind: str
    default: Any
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    length: int | None = None  # for "ints": the tuple length an int expands to
    optional: bool = False  # None is allowed (shown as "auto" in the UI)
    # Nodes sharing one module each keep their own value (which element of a tuple result
    # the call takes); every other setting is the module's and changes for all of them.
    per_call: bool = False

    def __post_init__(self):
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"param {self.name!r}: unknown kind {self.kind!r}")

    def describe_range(self) -> str:
        """The valid values in words, for error messages and tooltips."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind in ("int", "float", "ints"):
            lo = "-inf" if self.min is None else _num(self.min)
            hi = "inf" if self.max is None else _num(self.max)
            what = {"int": "an integer", "float": "a number",
                    "ints": "an integer or tuple of integers"}
            return f"{what[self.kind]} in [{lo}, {hi}]"
        if self.kind == "shape":
            if self.min == -1:
                return "a tuple of positive integers with at most one -1 (inferred)"
            return "a tuple of positive integers"
        return "text"

    def validate(self, value: Any, where: str = "") -> Any:
        """Return the normalized value, or raise ParamError naming ``where`` and the valid range."""
        label = f"{where}: {self.name}" if where else self.name
        if value is None:
            if self.optional:
                return None
            raise ParamError(f"{label} needs a value ({self.describe_range()})", field=self.name)
        try:
            return _CHECKERS[self.kind](self, value)
        except (TypeError, ValueError, OverflowError) as exc:  # (a huge int as a float)
            detail = f" ({exc})" if str(exc) else ""
            raise ParamError(
                f"{label} = {value!r} is not valid: expected {self.describe_range()}{detail}",
                field=self.name,
            ) from None


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _in_range(p: Param, v: float) -> None:
    if (p.min is not None and v < p.min) or (p.max is not None and v > p.max):
        raise ValueError("")


def _check_int(p: Param, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError("")
    if isinstance(v, float) and (not math.isfinite(v) or not v.is_integer()):
        raise ValueError("")
    _in_range(p, int(v))
    return int(v)


def _check_float(p: Param, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError("")
    if not math.isfinite(v):  # NaN and infinities are no setting, and JSON cannot hold them
        raise ValueError("")
    _in_range(p, float(v))
    return float(v)


def _check_bool(p: Param, v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError("")
    return v


def _check_choice(p: Param, v: Any) -> Any:
    if v not in p.choices:
        raise ValueError("")
    return v


def _check_ints(p: Param, v: Any) -> int | tuple[int, ...]:
    if isinstance(v, (list, tuple)):
        if p.length is not None and len(v) != p.length:
            raise ValueError(f"a tuple must have {p.length} entries")
        return tuple(_check_int(p, x) for x in v)
    return _check_int(p, v)


def _check_shape(p: Param, v: Any) -> tuple[int, ...]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = (v,)
    if not isinstance(v, (list, tuple)) or not v:
        raise TypeError("")
    inferable = p.min == -1  # Reshape: one entry may be -1, inferred from the others
    out = tuple(_check_int(Param("d", "int", 1, min=-1 if inferable else 1), x) for x in v)
    if 0 in out:
        raise ValueError("")
    if out.count(-1) > 1:
        raise ValueError("only one entry can be -1")
    return out


def _check_str(p: Param, v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError("")
    return v


_CHECKERS: dict[str, Callable[[Param, Any], Any]] = {
    "int": _check_int, "float": _check_float, "bool": _check_bool, "choice": _check_choice,
    "ints": _check_ints, "shape": _check_shape, "str": _check_str,
}


@dataclass(frozen=True)
class Port:
    """An input or output of a layer. A variadic input takes any number of ordered wires."""

    name: str
    variadic: bool = False
    optional: bool = False
    doc: str = ""
    integer: bool = False  # takes int64 indices (a MaxUnpool's "indices"), not values


@dataclass
class EmitContext:
    """What a spec's ``emit`` sees of one node: sanitized names, parameters and input shapes.

    Shapes exclude the batch dimension; ``None`` where unknown.
    """

    name: str  # attribute and variable name in generated code
    params: dict
    in_vars: list[str]
    in_shapes: list[tuple | None]
    in_dtypes: list[str] = field(default_factory=list)
    out_vars: list[str] = field(default_factory=list)
    in_axes: list[int] = field(default_factory=list)  # where each input's batch lies (0)

    @property
    def batch_first(self) -> bool:
        """Whether the first input's batch is its dimension 0 (else an Input's batch_dim
        put it at 1: sequence-first)."""
        return not self.in_axes or self.in_axes[0] == 0

    @property
    def x(self) -> str:
        return self.in_vars[0]

    @property
    def shape(self) -> tuple:
        return self.in_shapes[0]

    @property
    def out(self) -> str:
        return self.out_vars[0] if self.out_vars else self.name


@dataclass
class Emission:
    """Generated source for one node.

    ``init``: expression assigned to ``self.<name>`` in ``__init__`` (None for stateless ops).
    ``forward``: lines of ``forward``. ``helpers``: helper classes from ``layers.modules`` it uses.
    ``uses_functional``: whether ``F`` is referenced. ``imports``: statements the file starts
    with (made only of checked identifiers and literals).
    """

    init: str | None
    forward: list[str]
    helpers: tuple[str, ...] = ()
    uses_functional: bool = False
    imports: tuple[str, ...] = ()  # top-of-file statements (a Module node's import)


@dataclass(frozen=True)
class RankRule:
    """Input ranks (without batch) a layer accepts, and what to tell the user otherwise."""

    ranks: tuple[int, ...]
    expects: str  # e.g. "(N, features)"
    hint: Callable[[int], str] | None = None  # rank received -> advice
    # A bool parameter that lifts the rule (Linear's ``over_last``: any rank, as torch
    # allows); the importer sets it for a call on another rank.
    unless: str | None = None


@dataclass(frozen=True)
class LayerSpec:
    """A layer type: data plus an emitter."""

    type: str
    category: str
    doc: str
    params: tuple[Param, ...] = ()
    inputs: tuple[Port, ...] = (Port("in"),)
    outputs: tuple[Port, ...] = (Port("out"),)
    # How many of ``outputs`` (a prefix) a node shows with these params (Chunk: ``chunks``;
    # a max pool's "indices" only with return_indices); None shows them all.
    output_count: Callable[[dict], int] | None = None
    aliases: tuple[str, ...] = ()
    short: str = ""  # prefix of default node names
    emit: Callable[[EmitContext], Emission] | None = None
    rank: RankRule | None = None
    weight_layer: bool = False  # gets init / l1 / l2 parameters
    block_role: str | None = None  # set for block types ("" for a plain block)
    source: bool = False  # produces data without inputs (Input, Noise)
    # --- Per-layer knowledge. NOTE: everything particular to a layer type lives here, read by
    # the floors above through these fields; no module outside layers/ names a layer type.
    # Canvas: the node's subtitle from its params ("6@5×5 s1"); None draws none.
    subtitle: Callable[[dict], str] | None = None
    # Shape analysis: output shape == input shape (element-wise on float input) ...
    same_shape: bool = False
    # ... forward calls nothing FlopCounterMode counts (0 MACs without counting) ...
    no_macs: bool = False
    # ... or a closed form (params, input shapes) -> (output shape, MACs), None when unsure.
    shape_rule: Callable[[dict, list], tuple | None] | None = None
    # Settings that do not fit the incoming shapes: (params, input shapes) -> advice that
    # follows the node's label ("normalizes along dim 3, but ..."), None when they fit.
    shape_check: Callable[[dict, list], str | None] | None = None
    merge: str | None = None  # "elementwise" or "concat": how its several inputs combine
    conv_dims: int = 0  # spatial dims of a convolution (probes, filter views, channels_last)
    boundary: str = ""  # "input" / "output": where a graph's data enters / leaves (structural)
    # What it computes on: "float" values, "int64" token ids only (a lookup), or "any" (passes
    # integer tensors through: reshapes, merges, Output).
    input_dtype: str = "float"
    # Feature maps: "auto" probed by default (convolutions, dense layers), "on_demand" when
    # selected, "never" when it has no activations of its own worth showing (reshapes, merges).
    probe: str = "on_demand"
    # What its output holds, for tasks choosing losses and views: "probabilities" (sum to 1),
    # "log_probabilities", "unit_interval" (0..1 each), "signed_unit" (-1..1), "nonnegative".
    output_range: str = ""
    passes_values: bool = False  # its output holds its input's values (reshaped, some zeroed)
    samples_latent: bool = False  # draws z from (mu, logvar) and keeps the KL term (VAE)
    pretrained_layerwise: bool = False  # trained greedily apart from the forward pass (RBM)
    # Importer: the torch class it stands for ("torch.nn.Conv2d"; subclasses map too) and
    # module instance -> params; torch functions / Tensor methods ("torch.nn.functional.relu",
    # "Tensor.relu") and bound call arguments -> (params, input tensors).
    torch_class: str | None = None
    # Classes of other libraries it stands for, by qualified name (matched on the class's
    # ``__module__`` and ``__qualname__``: the library is never imported for it).
    import_classes: tuple[str, ...] = ()
    # How that torch module is called and what it returns, where it is not one tensor in and
    # one out: "recurrent" (out, h_n), "recurrent_with_cell" (out, (h_n, c_n)),
    # "self_attention" (called with query, key, value; returns out, weights), "sizes" (called
    # with a tensor's sizes only: the node takes that tensor).
    torch_call: str = ""
    from_module: Callable[[Any], dict] | None = None
    functions: tuple[str, ...] = ()
    from_call: Callable[[dict], tuple[dict, list]] | None = None
    # The functional form that takes the layer's own tensors as arguments
    # ("torch.nn.functional.linear" with self.weight, self.bias): a module whose forward calls
    # it on its own parameters is this layer. ``from_weights``: bound call arguments, the
    # tensors among them real -> params. Several specs may name one function; the input's rank
    # (``rank``) picks among them (F.batch_norm: BatchNorm1d, 2d or 3d).
    weight_functions: tuple[str, ...] = ()
    from_weights: Callable[[dict], dict] | None = None
    # The input's permutation that the weight function runs on, permuted back after it
    # (LayerNorm2d: F.layer_norm on x.permute(0, 2, 3, 1)); () for none.
    permuted: tuple[int, ...] = ()
    code_target: Callable[[dict], str] | None = None  # the Python code it names (trust gates it)

    @property
    def is_block(self) -> bool:
        return self.block_role is not None

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def outputs_for(self, params: dict) -> tuple[Port, ...]:
        """The output ports a node with ``params`` has."""
        if self.output_count is None:
            return self.outputs
        return self.outputs[:self.output_count({**self.defaults(), **params})]

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def matches(self, text: str, docs: bool = True) -> bool:
        """Whether a palette search for ``text`` finds this layer: every word is in its name,
        an alias or its category, or (with ``docs``) in its doc."""
        t = text.strip().lower()
        hay = [self.type.lower(), self.category.lower(), *(a.lower() for a in self.aliases)]
        if docs:
            hay.append(self.doc.lower())
        return all(any(word in h for h in hay) for word in t.split())


WEIGHT_INITS = (
    "default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
    "orthogonal", "zeros", "constant", "normal",
)

WEIGHT_PARAMS = (
    Param("init", "choice", "default", "Weight initializer (default keeps PyTorch's own)",
          choices=WEIGHT_INITS),
    Param("init_value", "float", 0.0, "Value for 'constant'; standard deviation for 'normal' "
                                      "(0 means 0.02, as in DCGAN)"),
    Param("l1", "float", 0.0, "L1 penalty on the weights, added to the loss", min=0.0),
    Param("l2", "float", 0.0, "L2 penalty on the weights, added to the loss", min=0.0),
)


def fmt(value: Any) -> str:
    """Python literal for a parameter value (tuples stay tuples, floats stay short)."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(fmt(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def call(fn: str, args: Sequence[Any] = (), kwargs: dict | None = None,
         defaults: dict | None = None) -> str:
    """``fn(arg, ..., key=value)`` leaving out keyword values equal to PyTorch's defaults."""
    parts = [str(a) if isinstance(a, Code) else fmt(a) for a in args]
    defaults = defaults or {}
    kept = _KEPT_DEFAULTS.get()
    for k, v in (kwargs or {}).items():
        if k in defaults and _same(defaults[k], v):
            if kept is None:
                continue
            kept.setdefault((fn, k), set()).add(fmt(v))
        parts.append(f"{k}={fmt(v)}")
    return f"{fn}({', '.join(parts)})"


_KEPT_DEFAULTS: ContextVar[dict | None] = ContextVar("kept_defaults", default=None)


@contextmanager
def keeping_defaults() -> Iterator[dict]:
    """While open, ``call`` writes keyword values equal to the defaults too, and records them
    as ``{(fn, key): {text}}``: uses of one block then differ in values, not in which keywords
    they write (a default ``stride`` left out of one and written in another)."""
    kept: dict = {}
    token = _KEPT_DEFAULTS.set(kept)
    try:
        yield kept
    finally:
        _KEPT_DEFAULTS.reset(token)


class Code(str):
    """A string that is emitted verbatim (not quoted) by ``call``."""


def _same(a: Any, b: Any) -> bool:
    """Whether a value equals a default (``1`` equals ``(1, 1)``; ``True`` never equals ``1``)."""
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, tuple) and not isinstance(b, tuple):
        return all(_same(x, b) for x in a)
    if isinstance(b, tuple) and not isinstance(a, tuple):
        return all(_same(a, x) for x in b)
    return a == b
