"""How the importer reads a live torch module into a node's parameters (a spec's
``from_module``). No torch import here: a rule only reads the module's attributes.

A rule raises ``Unsupported`` with the reason when the configuration has no netbuilder
equivalent, so nothing is ever imported with changed meaning. Input sizes (``in_features``,
``in_channels``...) are not read: the graph infers them, and the importer checks the inferred
parameter counts against the module's.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Unsupported(Exception):
    """A module or call that netbuilder cannot represent; the message says why."""


def require(ok: bool, reason: str) -> None:
    if not ok:
        raise Unsupported(reason)


def compact(value: Any) -> Any:
    """``(3, 3)`` → ``3``; lists → tuples (the catalog's "ints" parameters accept both)."""
    if isinstance(value, (list, tuple)):
        value = tuple(int(v) for v in value)
        return value[0] if value and all(v == value[0] for v in value) else value
    return value


def _bias(m) -> bool:
    return getattr(m, "bias", None) is not None


def linear(m) -> dict:
    return {"out_features": m.out_features, "bias": _bias(m)}


def conv(transpose: bool) -> Callable[[Any], dict]:
    def rule(m) -> dict:
        padding = m.padding
        if isinstance(padding, str):
            require(padding == "valid" or all(s == 1 for s in m.stride),
                    "padding='same' with a stride above 1")
            if padding == "valid":
                padding = 0
            else:
                total = [d * (k - 1) for d, k in zip(m.dilation, m.kernel_size)]
                require(all(t % 2 == 0 for t in total),
                        "padding='same' with an even kernel (uneven padding)")
                padding = tuple(t // 2 for t in total)
        params = {"out_channels": m.out_channels, "kernel_size": compact(m.kernel_size),
                  "stride": compact(m.stride), "padding": compact(padding),
                  "dilation": compact(m.dilation), "groups": m.groups, "bias": _bias(m)}
        if transpose:
            require(m.padding_mode == "zeros", "a padding_mode other than 'zeros'")
            params["output_padding"] = compact(m.output_padding)
        else:
            params["padding_mode"] = m.padding_mode
        return params
    return rule


def batchnorm(m) -> dict:
    require(m.track_running_stats, "track_running_stats=False")
    require(m.momentum is not None, "momentum=None (cumulative average)")
    return {"eps": float(m.eps), "momentum": float(m.momentum), "affine": bool(m.affine)}


def groupnorm(m) -> dict:
    return {"num_groups": m.num_groups, "eps": float(m.eps), "affine": bool(m.affine)}


def recurrent(m) -> dict:
    require(m.bias, "bias=False")
    require(getattr(m, "proj_size", 0) == 0, "proj_size (projected LSTM)")
    params = {"hidden_size": m.hidden_size, "num_layers": m.num_layers,
              "bidirectional": bool(m.bidirectional), "dropout": float(m.dropout),
              "output": "sequence"}
    if hasattr(m, "nonlinearity"):  # the Elman RNN's tanh or relu
        params["nonlinearity"] = m.nonlinearity
    return params


def attention(m) -> dict:
    require(m._qkv_same_embed_dim, "kdim/vdim different from embed_dim")
    require(m.bias_k is None and not m.add_zero_attn, "add_bias_kv or add_zero_attn")
    return {"num_heads": m.num_heads, "dropout": float(m.dropout),
            "bias": m.in_proj_bias is not None}


def encoder_layer(m) -> dict:
    attn = m.self_attn
    require(attn.batch_first, "batch_first=False: netbuilder sequences are (N, time, "
                              "features); construct it with batch_first=True")
    # F.relu / F.gelu as functions, or nn.ReLU() / nn.GELU() as modules
    act = m.activation
    func = getattr(act, "__name__", None)
    name = func if func else type(act).__name__.lower()
    origin = getattr(act, "__module__", "") if func else type(act).__module__
    activation = name if name in ("relu", "gelu") and origin.startswith("torch") else None
    require(activation is not None, "an activation other than relu or gelu")
    require(abs(m.norm1.eps - 1e-5) < 1e-12, "a layer_norm_eps other than 1e-5")
    require(m.linear1.bias is not None, "bias=False")
    return {"nhead": attn.num_heads, "dim_feedforward": m.linear1.out_features,
            "dropout": float(m.dropout.p), "activation": activation,
            "norm_first": bool(m.norm_first)}


def embedding(m) -> dict:
    require(m.max_norm is None, "max_norm")
    require(not m.scale_grad_by_freq and not m.sparse, "scale_grad_by_freq or sparse")
    return {"num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim,
            "padding_idx": m.padding_idx}


def prelu(m) -> dict:
    return {"num_parameters": "one" if m.num_parameters == 1 else "per_channel",
            "init_slope": float(m.init)}


def softmax(m) -> dict:
    require(m.dim is not None, "dim=None (give the dimension explicitly)")
    return {"dim": m.dim}


def flatten(m) -> dict:
    require(m.start_dim >= 1 or m.start_dim < 0, "start_dim=0 (it would flatten the batch)")
    return {"start_dim": m.start_dim, "end_dim": m.end_dim}


def unflatten(m) -> dict:
    require(m.dim == 1, "a dim other than 1")
    return {"shape": tuple(m.unflattened_size)}


# --- function calls (a spec's ``from_call``: bound arguments -> (params, input tensors)) ------

def _operand(value: Any) -> bool:
    """Whether a traced argument is a tensor (a traced value), not a Python constant."""
    return not (value is None or isinstance(value, (bool, int, float, complex, str)))


def unary(*names: str) -> Callable[[dict], tuple[dict, list]]:
    """One tensor in; params are the call's arguments of the same names."""
    return lambda b: ({k: b[k] for k in names}, [b["input"]])


def softmax_call(b: dict) -> tuple[dict, list]:
    if b["dim"] is None or b.get("dtype") is not None:
        raise Unsupported("no explicit dim, or a dtype")
    return {"dim": b["dim"]}, [b["input"]]


def pool_call(b: dict) -> tuple[dict, list]:
    if compact(b.get("dilation", 1)) != 1:
        raise Unsupported("a dilation other than 1")
    if b.get("return_indices") or not b.get("count_include_pad", True) \
            or b.get("divisor_override") is not None:
        raise Unsupported("return_indices, count_include_pad=False or divisor_override")
    kernel = compact(b["kernel_size"])
    stride = compact(b["stride"]) if b["stride"] not in (None, [], ()) else None
    return ({"kernel_size": kernel, "stride": None if stride == kernel else stride,
             "padding": compact(b["padding"]), "ceil_mode": bool(b["ceil_mode"])}, [b["input"]])


def adaptive_call(b: dict) -> tuple[dict, list]:
    if b.get("return_indices"):
        raise Unsupported("return_indices=True")
    return {"output_size": compact(b["output_size"])}, [b["input"]]


def binary_call(b: dict) -> tuple[dict, list]:
    if b.get("alpha", 1) != 1:
        raise Unsupported("alpha")
    if not _operand(b["input"]) or not _operand(b["other"]):
        raise Unsupported("a constant operand (only tensors can be merged)")
    return {}, [b["input"], b["other"]]


def cat_call(b: dict) -> tuple[dict, list]:
    if b["dim"] == 0:
        raise Unsupported("dim=0 (it would join along the batch)")
    return {"dim": b["dim"]}, list(b["tensors"])


def interpolate_call(b: dict) -> tuple[dict, list]:
    size, scale = b["size"], b["scale_factor"]
    if (size is None) == (scale is None):
        raise Unsupported("neither or both of size and scale_factor")
    params = {"mode": b["mode"], "align_corners": bool(b["align_corners"])}
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,)
        if not all(isinstance(s, int) for s in sizes):
            raise Unsupported("a size computed from another tensor")
        return {**params, "size": sizes}, [b["input"]]
    scale = scale[0] if isinstance(scale, (tuple, list)) and len(set(scale)) == 1 else scale
    if isinstance(scale, (tuple, list)):
        raise Unsupported("different scale factors per dimension")
    return {**params, "scale_factor": float(scale)}, [b["input"]]


def pad_call(b: dict) -> tuple[dict, list]:
    if b["mode"] != "constant" or b["value"] not in (None, 0, 0.0) or len(b["pad"]) != 4:
        raise Unsupported("padding other than zeros on the 4 sides of an image")
    return {"padding": compact(b["pad"])}, [b["input"]]


def pairwise_call(b: dict) -> tuple[dict, list]:
    return ({"p": float(b["p"]), "eps": float(b["eps"]), "keepdim": bool(b["keepdim"])},
            [b["x1"], b["x2"]])


# --- functional forms on a module's own tensors (a spec's ``from_weights``) -------------------

def _tuple(value: Any, dims: int) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * dims


def linear_weights(b: dict) -> dict:
    return {"out_features": int(b["weight"].shape[0]), "bias": b["bias"] is not None}


def conv_weights(dims: int) -> Callable[[dict], dict]:
    """``F.conv2d(x, self.weight, self.bias, stride, padding, dilation, groups)``: the module
    rule of a Conv2d read from the call (``padding='same'`` included)."""
    def rule(b: dict) -> dict:
        w = b["weight"]

        class Call:  # the attributes ``conv`` reads off a module
            out_channels = int(w.shape[0])
            kernel_size = tuple(int(k) for k in w.shape[2:])
            stride = _tuple(b["stride"], dims)
            padding = b["padding"] if isinstance(b["padding"], str) else \
                _tuple(b["padding"], dims)
            dilation = _tuple(b["dilation"], dims)
            groups = int(b["groups"])
            bias = b["bias"]
            padding_mode = "zeros"
        return conv(False)(Call)
    return rule


def batchnorm_weights(b: dict) -> dict:
    require(b["running_mean"] is not None and b["running_var"] is not None and
            not b["training"], "batch statistics in evaluation (no running statistics)")
    require(b["momentum"] is not None, "momentum=None (cumulative average)")
    return {"eps": float(b["eps"]), "momentum": float(b["momentum"]),
            "affine": b["weight"] is not None and b["bias"] is not None}


def layernorm_weights(b: dict) -> dict:
    shape = b["normalized_shape"]
    dims = len(shape) if isinstance(shape, (list, tuple)) else 1
    return {"dims": dims, "eps": float(b["eps"]), "elementwise_affine": b["weight"] is not None,
            "bias": b["bias"] is not None or b["weight"] is None}


def channels_layernorm_weights(b: dict) -> dict:
    """F.layer_norm over the channels alone (a channels-first LayerNorm2d)."""
    params = layernorm_weights(b)
    require(params.pop("dims") == 1, "a normalized_shape of more than the channels")
    return params


def groupnorm_weights(b: dict) -> dict:
    return {"num_groups": int(b["num_groups"]), "eps": float(b["eps"]),
            "affine": b["weight"] is not None and b["bias"] is not None}


def embedding_weights(b: dict) -> dict:
    require(b["max_norm"] is None, "max_norm")
    require(not b["scale_grad_by_freq"] and not b["sparse"], "scale_grad_by_freq or sparse")
    n = int(b["weight"].shape[0])
    pad = b["padding_idx"]
    return {"num_embeddings": n, "embedding_dim": int(b["weight"].shape[1]),
            "padding_idx": None if pad is None else pad % n}
