"""How the importer maps torch onto netbuilder's layers: modules by the class a spec names
(``torch_class``, subclasses included) and function calls by a spec's ``functions``; the rules
that read their arguments are the specs' ``from_module`` / ``from_call`` (layers/import_rules).

This module holds what is torch's rather than a layer's: the signatures of traced functions,
the calls that are no layer (reshapes, noise, copies) and readable names for targets.
"""
from __future__ import annotations

import importlib
import inspect
import operator
import textwrap
from collections.abc import Callable
from typing import Any

import torch
import torch.fx
from torch import nn

from ..layers import LayerSpec, all_specs, import_rules

# One answer: the specs' import rules raise it.
Unsupported = import_rules.Unsupported
compact = import_rules.compact


def is_node(value: Any) -> bool:
    return isinstance(value, torch.fx.Node)


# --- modules: each spec names the torch class it stands for (``torch_class``) -------------

ModuleRule = Callable[[nn.Module], dict]
_CLASSES: dict[type, LayerSpec] = {}
_HELPERS: dict[str, LayerSpec] = {}  # netbuilder's own helper classes, by class name
_LIBRARY: dict[str, LayerSpec] = {}  # other libraries' classes, by qualified name
_HELPER_PREFIX = "netbuilder.layers.modules."


def _tables() -> None:
    if _CLASSES or _HELPERS:
        return
    for spec in all_specs():
        if not spec.torch_class or spec.from_module is None:
            continue
        _LIBRARY.update(dict.fromkeys(spec.import_classes, spec))
        if spec.torch_class.startswith(_HELPER_PREFIX):
            _HELPERS[spec.torch_class[len(_HELPER_PREFIX):]] = spec
            continue
        module, _, name = spec.torch_class.rpartition(".")
        cls = getattr(importlib.import_module(module), name, None)
        if cls is not None:  # a class this torch version lacks is simply not imported
            _CLASSES[cls] = spec


def module_rule(m: nn.Module) -> tuple[LayerSpec, ModuleRule] | None:
    """The spec a live module maps to and its ``from_module``, or None.

    A subclass maps like the torch class it derives from (``class MyBN(nn.BatchNorm2d)``) as
    long as it keeps that class's ``forward``; one that computes something else is not mapped.
    """
    _tables()
    cls = type(m)
    for base in cls.__mro__:
        spec = _CLASSES.get(base) or _LIBRARY.get(f"{base.__module__}.{base.__qualname__}")
        if spec is not None:
            return (spec, spec.from_module) if cls.forward is base.forward else None
    spec = _HELPERS.get(cls.__name__)
    if spec is not None and _same_helper(cls):
        return spec, spec.from_module
    return None


def torch_base(cls: type) -> type | None:
    """The torch layer class that ``cls`` derives from with a ``forward`` of its own
    (``class BatchNormAct2d(nn.BatchNorm2d)``), or None."""
    _tables()
    for base in cls.__mro__[1:]:
        if base in _CLASSES:
            return base if cls.forward is not base.forward else None
    return None


def base_rule(cls: type) -> tuple[LayerSpec, ModuleRule]:
    """The spec and ``from_module`` of a torch layer class (one ``torch_base`` gave)."""
    _tables()
    spec = _CLASSES[cls]
    return spec, spec.from_module


class BaseForward:
    """A torch layer's own forward called by a subclass's (``super().forward(x)``): traced as
    one call, it becomes the layer, and what the subclass adds around it becomes nodes."""

    def __init__(self, cls: type, module: nn.Module) -> None:
        self.cls, self.module = cls, module
        self.__name__ = self.__qualname__ = f"{cls.__name__}.forward"
        self.__module__ = cls.__module__

    def __call__(self, *args, **kwargs):
        return self.cls.forward(self.module, *args, **kwargs)


def _method_sources(cls: type) -> dict[str, str] | None:
    """Each method's source, normalized; None when it cannot be read. Methods are read through
    their code objects, so classes executed from generated text (``build()``) work too."""
    out = {}
    for name, fn in vars(cls).items():
        if inspect.isfunction(fn) or inspect.isfunction(inspect.unwrap(fn)):
            try:
                src = inspect.getsource(fn)
            except (OSError, TypeError):
                return None
            out[name] = "\n".join(line.rstrip() for line in textwrap.dedent(src).splitlines()
                                  if line.strip())
    return out


def _same_helper(cls: type) -> bool:
    """Whether ``cls`` is one of netbuilder's helper classes, recognised by name and the exact
    source of its methods (so exported code imports back as the same layers; a look-alike
    does not)."""
    from ..layers import modules as helpers

    ours = getattr(helpers, cls.__name__, None)
    if cls is ours:
        return True
    if ours is None or cls.__name__ not in _HELPER_SOURCES:
        _HELPER_SOURCES[cls.__name__] = _method_sources(ours) if ours is not None else None
    theirs = _method_sources(cls)
    return theirs is not None and theirs == _HELPER_SOURCES[cls.__name__]


_HELPER_SOURCES: dict[str, dict | None] = {}


# --- functions and tensor methods --------------------------------------------------------------

def bind(names: tuple[str, ...], defaults: dict, args: tuple, kwargs: dict) -> dict:
    """Arguments of a traced call by name (``names`` in positional order)."""
    out = dict(defaults)
    out.update(zip(names, args))
    out.update(kwargs)
    return out


# kind -> (positional names, defaults); the first name is always the input tensor.
SIGNATURES: dict[str, tuple[tuple[str, ...], dict]] = {
    "relu": (("input", "inplace"), {}),
    "sigmoid": (("input",), {}),
    "tanh": (("input",), {}),
    "silu": (("input", "inplace"), {}),
    "gelu": (("input", "approximate"), {"approximate": "none"}),
    "leaky_relu": (("input", "negative_slope", "inplace"), {"negative_slope": 0.01}),
    "elu": (("input", "alpha", "inplace"), {"alpha": 1.0}),
    "softmax": (("input", "dim", "_stacklevel", "dtype"), {"dim": None, "dtype": None}),
    "log_softmax": (("input", "dim", "_stacklevel", "dtype"), {"dim": None, "dtype": None}),
    "flatten": (("input", "start_dim", "end_dim"), {"start_dim": 0, "end_dim": -1}),
    "max_pool1d": (("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                    "return_indices"), {"stride": None, "padding": 0, "dilation": 1,
                                        "ceil_mode": False, "return_indices": False}),
    **{f"max_pool{d}d": (("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                          "return_indices"), {"stride": None, "padding": 0, "dilation": 1,
                                              "ceil_mode": False, "return_indices": False})
       for d in (2, 3)},
    "avg_pool1d": (("input", "kernel_size", "stride", "padding", "ceil_mode",
                    "count_include_pad"),
                   {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True}),
    **{f"avg_pool{d}d": (("input", "kernel_size", "stride", "padding", "ceil_mode",
                          "count_include_pad", "divisor_override"),
                         {"stride": None, "padding": 0, "ceil_mode": False,
                          "count_include_pad": True, "divisor_override": None})
       for d in (2, 3)},
    **{f"adaptive_avg_pool{d}d": (("input", "output_size"), {}) for d in (1, 2, 3)},
    **{f"adaptive_max_pool{d}d": (("input", "output_size", "return_indices"),
                                  {"return_indices": False}) for d in (1, 2, 3)},
    "dropout": (("input", "p", "training", "inplace"), {"p": 0.5}),
    "dropout1d": (("input", "p", "training", "inplace"), {"p": 0.5}),
    "dropout3d": (("input", "p", "training", "inplace"), {"p": 0.5}),
    "hardtanh": (("input", "min_val", "max_val", "inplace"), {"min_val": -1.0, "max_val": 1.0}),
    "celu": (("input", "alpha", "inplace"), {"alpha": 1.0}),
    "softplus": (("input", "beta", "threshold"), {"beta": 1.0, "threshold": 20.0}),
    "glu": (("input", "dim"), {"dim": -1}),
    "threshold": (("input", "threshold", "value", "inplace"), {}),
    "softshrink": (("input", "lambd"), {"lambd": 0.5}),
    "hardshrink": (("input", "lambd"), {"lambd": 0.5}),
    "softmin": (("input", "dim", "_stacklevel", "dtype"), {"dim": None, "dtype": None}),
    "dropout2d": (("input", "p", "training", "inplace"), {"p": 0.5}),
    "add": (("input", "other", "alpha"), {"alpha": 1}),
    "mul": (("input", "other"), {}),
    **{k: (("input", "other"), {}) for k in ("sub", "div", "truediv", "floordiv",
                                              "floor_divide", "matmul")},
    "pow": (("input", "exponent"), {}),
    "normalize": (("input", "p", "dim", "eps", "out"), {"p": 2.0, "dim": 1, "eps": 1e-12}),
    "bmm": (("input", "mat2"), {}),
    "cat": (("tensors", "dim"), {"dim": 0}),
    "pairwise_distance": (("x1", "x2", "p", "eps", "keepdim"),
                          {"p": 2.0, "eps": 1e-6, "keepdim": False}),
    "interpolate": (("input", "size", "scale_factor", "mode", "align_corners"),
                    {"size": None, "scale_factor": None, "mode": "nearest",
                     "align_corners": None}),
    "pad": (("input", "pad", "mode", "value"), {"mode": "constant", "value": None}),
    "reshape": ((), {}),  # read from the recorded shapes, not the arguments
    # called with their sizes one by one (``VARARGS``) or by keyword
    "permute": (("input", "dims"), {}),
    "repeat": (("input", "repeats"), {}),
    # functional forms of layers, on a module's own tensors (``WEIGHT_FUNCTIONS``)
    "linear": (("input", "weight", "bias"), {"bias": None}),
    **{f"conv{d}d": (("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
                     {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1})
       for d in (1, 2, 3)},
    "batch_norm": (("input", "running_mean", "running_var", "weight", "bias", "training",
                    "momentum", "eps"), {"weight": None, "bias": None, "training": False,
                                         "momentum": 0.1, "eps": 1e-5}),
    "layer_norm": (("input", "normalized_shape", "weight", "bias", "eps"),
                   {"weight": None, "bias": None, "eps": 1e-5}),
    "group_norm": (("input", "num_groups", "weight", "bias", "eps"),
                   {"weight": None, "bias": None, "eps": 1e-5}),
    "embedding": (("input", "weight", "padding_idx", "max_norm", "norm_type",
                   "scale_grad_by_freq", "sparse"),
                  {"padding_idx": None, "max_norm": None, "norm_type": 2.0,
                   "scale_grad_by_freq": False, "sparse": False}),
    "passthrough": (("input",), {}),
    # Operation nodes: torch's own positional order (``x.chunk(2, 1)``, ``x.mean([2, 3])``).
    **{k: (("input", "inplace"), {}) for k in ("relu6", "hardswish", "hardsigmoid", "mish",
                                                "selu")},
    **{k: (("input", "dim", "keepdim"), {"keepdim": False})
       for k in ("mean", "sum", "amax", "amin", "max", "min", "logsumexp", "argmax")},
    **{k: (("input", "dim", "correction", "keepdim"), {"keepdim": False}) for k in ("std", "var")},
    "norm": (("input", "p", "dim", "keepdim"), {"p": "fro", "dim": None, "keepdim": False}),
    "vector_norm": (("input", "ord", "dim", "keepdim"), {"ord": 2, "dim": None,
                                                          "keepdim": False}),
    **{k: (("input", "min", "max"), {"min": None, "max": None}) for k in ("clamp", "clip")},
    "transpose": (("input", "dim0", "dim1"), {}),
    "squeeze": (("input", "dim"), {"dim": None}),
    "unsqueeze": (("input", "dim"), {}),
    "chunk": (("input", "chunks", "dim"), {"dim": 0}),
    "split": (("input", "split_size_or_sections", "dim"), {"dim": 0}),
    "stack": (("tensors", "dim"), {"dim": 0}),
    "getitem": (("input", "index"), {}),
    "einsum": (("equation", "operands"), {}),
}
# Calls whose sizes may come one per argument (``x.permute(0, 2, 1)``, ``x.expand(n, -1, -1)``)
# or as one sequence: the name the sequence is bound to.
VARARGS: dict[str, str] = {"permute": "dims", "view": "shape", "expand": "size",
                           "repeat": "repeats"}


def bind_call(kind: str, args: tuple, kwargs: dict) -> tuple[dict, bool]:
    """The call's arguments by name, and whether every positional one got a name."""
    names, defaults = SIGNATURES.get(kind, (("input",), {}))
    rest = VARARGS.get(kind)
    if rest is not None and rest not in kwargs and len(args) >= 2:
        sizes = args[1] if len(args) == 2 and isinstance(args[1], (tuple, list)) else args[1:]
        return {**defaults, "input": args[0], rest: tuple(sizes), **kwargs}, True
    if kind == "einsum" and len(args) > 2:  # torch.einsum(eq, a, b)
        args = (args[0], tuple(args[1:]))
    return bind(names, defaults, args, kwargs), len(args) <= len(names)

# Calls that are not a layer of their own: reshapes are read from the recorded shapes, noise
# becomes a Noise node, copies pass their input through.
FUNCTIONS: dict[Any, str] = {
    torch.flatten: "flatten", torch.reshape: "reshape", torch.squeeze: "reshape",
    torch.unsqueeze: "reshape", torch.randn: "randn", torch.rand: "rand",
}
METHODS: dict[str, str] = {
    "flatten": "flatten", "view": "reshape", "reshape": "reshape", "squeeze": "reshape",
    "unsqueeze": "reshape", "contiguous": "passthrough", "clone": "passthrough",
}
# kind -> spec: the layers a traced call becomes, from each spec's ``functions``.
LAYER_KINDS: dict[str, LayerSpec] = {}
# kind -> every spec that names it, in catalog order: a call the first cannot take (``0.5 * x``
# for the Multiply merge) may be the next one's (Mul with a constant).
KIND_SPECS: dict[str, list[LayerSpec]] = {}
# Names torch gives one operation several ways; the kind is what SIGNATURES knows it by.
_SAME_KIND = {"iadd": "add", "imul": "mul", "concat": "cat", "concatenate": "cat",
              "swapaxes": "transpose", "swapdims": "transpose"}


def _kind(qualified: str) -> str:
    name = qualified.rsplit(".", 1)[-1].rstrip("_")
    return _SAME_KIND.get(name, name)


def _function_tables() -> None:
    """Fill FUNCTIONS, METHODS and LAYER_KINDS from the specs' ``functions``."""
    for spec in all_specs():
        for qualified in spec.functions:
            if "." not in qualified:
                continue  # a bare kind name ("sub"): its qualified forms are listed beside it
            kind = _kind(qualified)
            LAYER_KINDS.setdefault(kind, spec)
            if spec not in KIND_SPECS.setdefault(kind, []):
                KIND_SPECS[kind].append(spec)
            module, _, name = qualified.rpartition(".")
            # The calls handled here (reshapes read from the recorded shapes, noise, copies)
            # keep their handling: an operation node naming them too does not take them over.
            if module == "Tensor":
                METHODS.setdefault(name, kind)
                continue
            if module.partition(".")[0] not in ("torch", "operator"):  # another library's
                # (torchvision's): known by name, never imported
                LIBRARY_FUNCTIONS.setdefault(qualified, kind)
                continue
            target = getattr(importlib.import_module(module), name, None)
            if target is not None:  # a function this torch version lacks is simply not mapped
                FUNCTIONS.setdefault(target, kind)


# Other libraries' functions (torchvision's ``_patch_merging_pad``), by qualified name.
LIBRARY_FUNCTIONS: dict[str, str] = {}


def function_kind(target: Any) -> str | None:
    """The kind a called function is known by: torch's by identity, another library's by
    its qualified name; None when no spec names it."""
    kind = FUNCTIONS.get(target)
    if kind is None and LIBRARY_FUNCTIONS:
        name = f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}"
        kind = LIBRARY_FUNCTIONS.get(name)
    return kind


_function_tables()

# Functional forms that take a layer's own tensors (F.linear(x, self.weight, self.bias)):
# target -> kind, and kind -> the specs naming it (the input's rank picks one).
WEIGHT_FUNCTIONS: dict[Any, str] = {}
_WEIGHT_SPECS: dict[str, list[LayerSpec]] = {}
# The arguments of those calls that must be the module's own tensors of the same name.
WEIGHT_ARGS = ("weight", "bias", "running_mean", "running_var")


def _weight_tables() -> None:
    for spec in all_specs():
        for qualified in spec.weight_functions:
            module, _, name = qualified.rpartition(".")
            target = getattr(importlib.import_module(module), name, None)
            if target is not None:
                WEIGHT_FUNCTIONS[target] = name
                _WEIGHT_SPECS.setdefault(name, []).append(spec)


_weight_tables()


def weight_spec(kind: str, rank: int) -> LayerSpec | None:
    """The spec a functional form on ``rank``-dimensional samples stands for."""
    for spec in _WEIGHT_SPECS.get(kind, ()):
        if not spec.permuted and (spec.rank is None or rank in spec.rank.ranks):
            return spec
    return None


def permuted_spec(kind: str, dims: tuple) -> LayerSpec | None:
    """The spec that is the functional form ``kind`` run on its input permuted by ``dims``
    and permuted back (LayerNorm2d), or None."""
    return next((s for s in _WEIGHT_SPECS.get(kind, ()) if s.permuted == tuple(dims)), None)

# Creation functions torch.fx does not record by itself (no tensor argument): the importer's
# tracer wraps them, so a generator's ``torch.randn(x.shape[0], 100)`` becomes a Noise node.
NOISE_FUNCTIONS = ("randn", "rand")

# Calls that compute no tensor (sizes for a view, say): ignored unless an unsupported op uses them.
SHAPE_HELPERS = {"size", "dim", "numel"}

_OPERATOR_TEXT = {
    operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/",
    operator.floordiv: "//", operator.matmul: "@", operator.pow: "**", operator.neg: "unary -",
    operator.getitem: "indexing [...]", operator.mod: "%",
}
_NAMESPACES = ("torch", "torch.nn.functional", "torch.fft", "torch.linalg", "torch.special",
               "torch.nn.init")
_PUBLIC_NAMES: dict[int, str] = {}


def describe_target(target: Any) -> str:
    """A readable name for a traced function: ``torch.fft.fft``, ``F.gelu``, ``*``."""
    if target in _OPERATOR_TEXT:
        return f"the {_OPERATOR_TEXT[target]} operator"
    if not _PUBLIC_NAMES:
        for ns in _NAMESPACES:
            mod = importlib.import_module(ns)
            prefix = "F" if ns == "torch.nn.functional" else ns
            for name in dir(mod):
                if not name.startswith("_"):
                    _PUBLIC_NAMES.setdefault(id(getattr(mod, name)), f"{prefix}.{name}")
    name = _PUBLIC_NAMES.get(id(target))
    if name:
        return name
    module = getattr(target, "__module__", None) or ""
    return f"{module}.{getattr(target, '__qualname__', repr(target))}".lstrip(".")
