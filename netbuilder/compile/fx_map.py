"""What each torch.nn module and torch function becomes in a netbuilder graph (used by importer).

A module rule reads a live module and returns ``(layer type, params)``; a function rule reads
the bound arguments of a traced call. Either raises ``Unsupported`` with the reason when the
configuration has no netbuilder equivalent, so nothing is ever imported with changed meaning.
Input sizes (``in_features``, ``in_channels``...) are not read here: the graph infers them, and
the importer checks the inferred parameter counts against the module's.
"""
from __future__ import annotations

import inspect
import operator
import textwrap
from collections.abc import Callable
from typing import Any

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn


class Unsupported(Exception):
    """A module or call that netbuilder cannot represent; the message says why."""


def compact(value: Any) -> Any:
    """``(3, 3)`` → ``3``; lists → tuples (the catalog's "ints" parameters accept both)."""
    if isinstance(value, (list, tuple)):
        value = tuple(int(v) for v in value)
        return value[0] if value and all(v == value[0] for v in value) else value
    return value


def is_node(value: Any) -> bool:
    return isinstance(value, torch.fx.Node)


def _require(ok: bool, reason: str) -> None:
    if not ok:
        raise Unsupported(reason)


# --- modules -----------------------------------------------------------------------------------


def _bias(m: nn.Module) -> bool:
    return getattr(m, "bias", None) is not None


def _linear(m: nn.Linear):
    return "Linear", {"out_features": m.out_features, "bias": _bias(m)}


def _conv(type_: str, dims: int):
    def rule(m):
        padding = m.padding
        if isinstance(padding, str):
            _require(padding == "valid" or all(s == 1 for s in m.stride),
                     "padding='same' with a stride above 1")
            if padding == "valid":
                padding = 0
            else:
                total = [d * (k - 1) for d, k in zip(m.dilation, m.kernel_size)]
                _require(all(t % 2 == 0 for t in total),
                         "padding='same' with an even kernel (uneven padding)")
                padding = tuple(t // 2 for t in total)
        params = {"out_channels": m.out_channels, "kernel_size": compact(m.kernel_size),
                  "stride": compact(m.stride), "padding": compact(padding),
                  "dilation": compact(m.dilation), "groups": m.groups, "bias": _bias(m)}
        if type_ == "ConvTranspose2d":
            _require(m.padding_mode == "zeros", "a padding_mode other than 'zeros'")
            params["output_padding"] = compact(m.output_padding)
        else:
            params["padding_mode"] = m.padding_mode
        return type_, params
    return rule


def _pool(type_: str):
    def rule(m):
        _require(compact(getattr(m, "dilation", 1)) == 1, "a dilation other than 1")
        _require(not getattr(m, "return_indices", False), "return_indices=True")
        _require(getattr(m, "count_include_pad", True), "count_include_pad=False")
        _require(getattr(m, "divisor_override", None) is None, "divisor_override")
        stride = compact(m.stride)
        if stride == compact(m.kernel_size):
            stride = None  # PyTorch's default: the window size
        return type_, {"kernel_size": compact(m.kernel_size), "stride": stride,
                       "padding": compact(m.padding), "ceil_mode": bool(m.ceil_mode)}
    return rule


def _adaptive(type_: str):
    def rule(m):
        size = m.output_size
        _require(size is not None and not (isinstance(size, tuple) and None in size),
                 "an output_size with None entries")
        _require(not getattr(m, "return_indices", False), "return_indices=True")
        return type_, {"output_size": compact(size)}
    return rule


def _upsample(m: nn.Upsample):
    _require(m.size is None, "a fixed output size (use scale_factor)")
    _require(m.mode in ("nearest", "bilinear"), f"mode={m.mode!r} (nearest or bilinear only)")
    _require(not m.align_corners, "align_corners=True")
    scale = m.scale_factor
    if isinstance(scale, tuple):
        _require(len(set(scale)) == 1, "different scale factors per dimension")
        scale = scale[0]
    return "Upsample", {"scale_factor": float(scale), "mode": m.mode}


def _zeropad(m: nn.ZeroPad2d):
    return "ZeroPad2d", {"padding": compact(m.padding)}


def _batchnorm(type_: str):
    def rule(m):
        _require(m.track_running_stats, "track_running_stats=False")
        _require(m.momentum is not None, "momentum=None (cumulative average)")
        return type_, {"eps": float(m.eps), "momentum": float(m.momentum),
                       "affine": bool(m.affine)}
    return rule


def _layernorm(m: nn.LayerNorm):
    _require(len(m.normalized_shape) == 1, "normalizing over more than the last dimension")
    _require(not m.elementwise_affine or m.bias is not None,
             "elementwise_affine without a bias")
    return "LayerNorm", {"eps": float(m.eps), "elementwise_affine": bool(m.elementwise_affine)}


def _groupnorm(m: nn.GroupNorm):
    return "GroupNorm", {"num_groups": m.num_groups, "eps": float(m.eps),
                         "affine": bool(m.affine)}


def _recurrent(m: nn.RNNBase):
    _require(m.batch_first, "batch_first=False: netbuilder sequences are (N, time, features); "
                            "construct it with batch_first=True")
    _require(m.bias, "bias=False")
    _require(getattr(m, "proj_size", 0) == 0, "proj_size (projected LSTM)")
    params = {"hidden_size": m.hidden_size, "num_layers": m.num_layers,
              "bidirectional": bool(m.bidirectional), "dropout": float(m.dropout),
              "output": "sequence"}
    if isinstance(m, nn.RNN):
        params["nonlinearity"] = m.nonlinearity
    return type(m).__name__, params


def _attention(m: nn.MultiheadAttention):
    _require(m.batch_first, "batch_first=False: netbuilder sequences are (N, time, features); "
                            "construct it with batch_first=True")
    _require(m._qkv_same_embed_dim, "kdim/vdim different from embed_dim")
    _require(m.bias_k is None and not m.add_zero_attn, "add_bias_kv or add_zero_attn")
    return "MultiheadAttention", {"num_heads": m.num_heads, "dropout": float(m.dropout),
                                  "bias": m.in_proj_bias is not None}


def _encoder_layer(m: nn.TransformerEncoderLayer):
    attn = m.self_attn
    _require(attn.batch_first, "batch_first=False: netbuilder sequences are (N, time, "
                               "features); construct it with batch_first=True")
    activation = {F.relu: "relu", F.gelu: "gelu"}.get(m.activation)
    if activation is None and isinstance(m.activation, (nn.ReLU, nn.GELU)):
        activation = "relu" if isinstance(m.activation, nn.ReLU) else "gelu"
    _require(activation is not None, "an activation other than relu or gelu")
    _require(abs(m.norm1.eps - 1e-5) < 1e-12, "a layer_norm_eps other than 1e-5")
    _require(m.linear1.bias is not None, "bias=False")
    return "TransformerEncoderLayer", {
        "nhead": attn.num_heads, "dim_feedforward": m.linear1.out_features,
        "dropout": float(m.dropout.p), "activation": activation, "norm_first": bool(m.norm_first)}


def _embedding(m: nn.Embedding):
    _require(m.max_norm is None, "max_norm")
    _require(not m.scale_grad_by_freq and not m.sparse, "scale_grad_by_freq or sparse")
    return "Embedding", {"num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim,
                         "padding_idx": m.padding_idx}


def _prelu(m: nn.PReLU):
    w = m.weight.detach()
    slope = float(w.flatten()[0]) if w.numel() and bool((w == w.flatten()[0]).all()) else 0.25
    slope = slope if 0.0 <= slope <= 1.0 else 0.25
    return "PReLU", {"num_parameters": "one" if m.num_parameters == 1 else "per_channel",
                     "init_slope": slope}


def _softmax(type_: str):
    def rule(m):
        _require(m.dim is not None, "dim=None (give the dimension explicitly)")
        return type_, {"dim": m.dim}
    return rule


def _flatten(m: nn.Flatten):
    _require(m.start_dim >= 1 or m.start_dim < 0, "start_dim=0 (it would flatten the batch)")
    return "Flatten", {"start_dim": m.start_dim, "end_dim": m.end_dim}


def _unflatten(m: nn.Unflatten):
    _require(m.dim == 1, "a dim other than 1")
    return "Unflatten", {"shape": tuple(m.unflattened_size)}


def _simple(type_: str, **attrs: str):
    def rule(m):
        return type_, {k: getattr(m, a) for k, a in attrs.items()}
    return rule


MODULE_RULES: dict[type, Callable[[nn.Module], tuple[str, dict]]] = {
    nn.Linear: _linear,
    nn.Conv1d: _conv("Conv1d", 1), nn.Conv2d: _conv("Conv2d", 2),
    nn.ConvTranspose2d: _conv("ConvTranspose2d", 2),
    nn.MaxPool1d: _pool("MaxPool1d"), nn.MaxPool2d: _pool("MaxPool2d"),
    nn.AvgPool2d: _pool("AvgPool2d"),
    nn.AdaptiveAvgPool2d: _adaptive("AdaptiveAvgPool2d"),
    nn.AdaptiveMaxPool2d: _adaptive("AdaptiveMaxPool2d"),
    nn.Upsample: _upsample, nn.ZeroPad2d: _zeropad,
    nn.BatchNorm1d: _batchnorm("BatchNorm1d"), nn.BatchNorm2d: _batchnorm("BatchNorm2d"),
    nn.LayerNorm: _layernorm, nn.GroupNorm: _groupnorm,
    nn.Dropout: _simple("Dropout", p="p"), nn.Dropout2d: _simple("Dropout2d", p="p"),
    nn.ReLU: _simple("ReLU"), nn.SiLU: _simple("SiLU"), nn.Sigmoid: _simple("Sigmoid"),
    nn.Tanh: _simple("Tanh"),
    nn.LeakyReLU: _simple("LeakyReLU", negative_slope="negative_slope"),
    nn.ELU: _simple("ELU", alpha="alpha"), nn.GELU: _simple("GELU", approximate="approximate"),
    nn.PReLU: _prelu,
    nn.Softmax: _softmax("Softmax"), nn.LogSoftmax: _softmax("LogSoftmax"),
    nn.RNN: _recurrent, nn.LSTM: _recurrent, nn.GRU: _recurrent,
    nn.MultiheadAttention: _attention, nn.TransformerEncoderLayer: _encoder_layer,
    nn.Embedding: _embedding, nn.Flatten: _flatten, nn.Unflatten: _unflatten,
    nn.Identity: _simple("Identity"),
}

RECURRENT = ("RNN", "LSTM", "GRU")


# --- netbuilder's own helper modules (found in exported code by name and exact source) -------

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


HELPER_RULES: dict[str, Callable[[nn.Module], tuple[str, dict]]] = {
    "Reshape": lambda m: ("Reshape", {"shape": tuple(m.shape)}),
    "AddCoords": lambda m: ("AddCoords", {}),
    "PositionalEncoding": lambda m: ("PositionalEncoding", {"kind": m.kind,
                                                            "max_len": m.table.shape[0]}),
    "RBM": lambda m: ("RBM", {"n_hidden": m.weight.shape[0], "cd_k": m.k}),
    "Reparameterize": lambda m: ("Reparameterize", {}),
}


def helper_rule(m: nn.Module) -> Callable[[nn.Module], tuple[str, dict]] | None:
    """The rule for one of netbuilder's helper classes, recognised by name and the exact source
    of its methods (so exported code imports back as the same layers; a look-alike does not)."""
    cls = type(m)
    rule = HELPER_RULES.get(cls.__name__)
    if rule is None:
        return None
    from ..layers import modules as helpers

    ours = getattr(helpers, cls.__name__, None)
    if cls is ours:
        return rule
    if ours is None or cls.__name__ not in _HELPER_SOURCES:
        _HELPER_SOURCES[cls.__name__] = _method_sources(ours) if ours is not None else None
    theirs = _method_sources(cls)
    return rule if theirs is not None and theirs == _HELPER_SOURCES[cls.__name__] else None


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
    "max_pool2d": (("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                    "return_indices"), {"stride": None, "padding": 0, "dilation": 1,
                                        "ceil_mode": False, "return_indices": False}),
    "avg_pool2d": (("input", "kernel_size", "stride", "padding", "ceil_mode",
                    "count_include_pad", "divisor_override"),
                   {"stride": None, "padding": 0, "ceil_mode": False,
                    "count_include_pad": True, "divisor_override": None}),
    "adaptive_avg_pool2d": (("input", "output_size"), {}),
    "adaptive_max_pool2d": (("input", "output_size", "return_indices"),
                            {"return_indices": False}),
    "dropout": (("input", "p", "training", "inplace"), {"p": 0.5}),
    "dropout2d": (("input", "p", "training", "inplace"), {"p": 0.5}),
    "add": (("input", "other", "alpha"), {"alpha": 1}),
    "mul": (("input", "other"), {}),
    "cat": (("tensors", "dim"), {"dim": 0}),
    "interpolate": (("input", "size", "scale_factor", "mode", "align_corners"),
                    {"size": None, "scale_factor": None, "mode": "nearest",
                     "align_corners": None}),
    "pad": (("input", "pad", "mode", "value"), {"mode": "constant", "value": None}),
    "reshape": ((), {}),  # read from the recorded shapes, not the arguments
    "passthrough": (("input",), {}),
}

FUNCTIONS: dict[Any, str] = {
    F.relu: "relu", torch.relu: "relu", F.relu_: "relu", torch.relu_: "relu",
    torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid", torch.tanh: "tanh", F.tanh: "tanh",
    F.silu: "silu", F.gelu: "gelu", F.leaky_relu: "leaky_relu", F.elu: "elu",
    F.softmax: "softmax", torch.softmax: "softmax",
    F.log_softmax: "log_softmax", torch.log_softmax: "log_softmax",
    torch.flatten: "flatten", torch.reshape: "reshape", torch.squeeze: "reshape",
    torch.unsqueeze: "reshape",
    F.max_pool1d: "max_pool1d", torch.max_pool1d: "max_pool1d",
    F.max_pool2d: "max_pool2d", torch.max_pool2d: "max_pool2d",
    F.avg_pool2d: "avg_pool2d",
    F.adaptive_avg_pool2d: "adaptive_avg_pool2d",
    F.adaptive_max_pool2d: "adaptive_max_pool2d",
    F.dropout: "dropout", torch.dropout: "dropout", F.dropout2d: "dropout2d",
    operator.add: "add", operator.iadd: "add", torch.add: "add",
    operator.mul: "mul", operator.imul: "mul", torch.mul: "mul",
    torch.cat: "cat", torch.concat: "cat", torch.concatenate: "cat",
    F.interpolate: "interpolate", F.pad: "pad",
    torch.randn: "randn", torch.rand: "rand",
}

# Creation functions torch.fx does not record by itself (no tensor argument): the importer's
# tracer wraps them, so a generator's ``torch.randn(x.shape[0], 100)`` becomes a Noise node.
NOISE_FUNCTIONS = ("randn", "rand")

METHODS: dict[str, str] = {
    "relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
    "log_softmax": "log_softmax", "flatten": "flatten", "view": "reshape", "reshape": "reshape",
    "squeeze": "reshape", "unsqueeze": "reshape", "add": "add", "mul": "mul",
    "contiguous": "passthrough", "clone": "passthrough",
}

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
        import importlib

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


# --- function calls → layers (``b``: the call's bound arguments) -------------------------------

def _pool_params(b: dict, dims: int) -> dict:
    if compact(b.get("dilation", 1)) != 1:
        raise Unsupported("a dilation other than 1")
    if b.get("return_indices") or not b.get("count_include_pad", True) \
            or b.get("divisor_override") is not None:
        raise Unsupported("return_indices, count_include_pad=False or divisor_override")
    kernel = compact(b["kernel_size"])
    stride = compact(b["stride"]) if b["stride"] not in (None, [], ()) else None
    return {"kernel_size": kernel, "stride": None if stride == kernel else stride,
            "padding": compact(b["padding"]), "ceil_mode": bool(b["ceil_mode"])}


def _softmax(type_: str):
    def make(b):
        if b["dim"] is None or b.get("dtype") is not None:
            raise Unsupported("no explicit dim, or a dtype")
        return type_, {"dim": b["dim"]}, [b["input"]]
    return make


def _binary(type_: str):
    def make(b):
        if b.get("alpha", 1) != 1:
            raise Unsupported("alpha")
        if not is_node(b["input"]) or not is_node(b["other"]):
            raise Unsupported("a constant operand (only tensors can be merged)")
        return type_, {}, [b["input"], b["other"]]
    return make


def _cat(b):
    tensors = list(b["tensors"])
    if b["dim"] == 0:
        raise Unsupported("dim=0 (it would join along the batch)")
    return "Concat", {"dim": b["dim"]}, tensors


def _interpolate(b):
    if b["size"] is not None or b["scale_factor"] is None:
        raise Unsupported("a fixed size (use scale_factor)")
    if b["mode"] not in ("nearest", "bilinear") or b["align_corners"]:
        raise Unsupported(f"mode={b['mode']!r} or align_corners=True")
    scale = b["scale_factor"]
    scale = scale[0] if isinstance(scale, (tuple, list)) and len(set(scale)) == 1 else scale
    if isinstance(scale, (tuple, list)):
        raise Unsupported("different scale factors per dimension")
    return "Upsample", {"scale_factor": float(scale), "mode": b["mode"]}, [b["input"]]


def _pad(b):
    if b["mode"] != "constant" or b["value"] not in (None, 0, 0.0) or len(b["pad"]) != 4:
        raise Unsupported("padding other than zeros on the 4 sides of an image")
    return "ZeroPad2d", {"padding": compact(b["pad"])}, [b["input"]]


FUNCTION_LAYERS = {
    "relu": lambda b: ("ReLU", {}, [b["input"]]),
    "sigmoid": lambda b: ("Sigmoid", {}, [b["input"]]),
    "tanh": lambda b: ("Tanh", {}, [b["input"]]),
    "silu": lambda b: ("SiLU", {}, [b["input"]]),
    "gelu": lambda b: ("GELU", {"approximate": b["approximate"]}, [b["input"]]),
    "leaky_relu": lambda b: ("LeakyReLU", {"negative_slope": b["negative_slope"]}, [b["input"]]),
    "elu": lambda b: ("ELU", {"alpha": b["alpha"]}, [b["input"]]),
    "softmax": _softmax("Softmax"),
    "log_softmax": _softmax("LogSoftmax"),
    "max_pool1d": lambda b: ("MaxPool1d", _pool_params(b, 1), [b["input"]]),
    "max_pool2d": lambda b: ("MaxPool2d", _pool_params(b, 2), [b["input"]]),
    "avg_pool2d": lambda b: ("AvgPool2d", _pool_params(b, 2), [b["input"]]),
    "adaptive_avg_pool2d": lambda b: ("AdaptiveAvgPool2d",
                                      {"output_size": compact(b["output_size"])},
                                      [b["input"]]),
    "adaptive_max_pool2d": lambda b: ("AdaptiveMaxPool2d",
                                      {"output_size": compact(b["output_size"])},
                                      [b["input"]]),
    "dropout": lambda b: ("Dropout", {"p": b["p"]}, [b["input"]]),
    "dropout2d": lambda b: ("Dropout2d", {"p": b["p"]}, [b["input"]]),
    "add": _binary("Add"),
    "mul": _binary("Multiply"),
    "cat": _cat,
    "interpolate": _interpolate,
    "pad": _pad,
}
