"""Tensors a ``forward`` reads or takes apart itself: its own parameters and buffers
(``self.cls_token``), the batch size of a tensor (``x.shape[0]``), a recurrent layer's states."""
from __future__ import annotations

import builtins
import operator
from typing import Any

import torch
from torch import fx, nn

from ..layers import EmitContext, get_spec
from . import fx_map
from .fx_names import describe


def uses_state(n: fx.Node, mod: nn.Module) -> bool:
    """Whether ``out, (h, c) = self.lstm(x)`` uses a state other than the last layer's final
    h (which is the output's last step, so the recurrent layer covers it)."""
    layers = getattr(mod, "num_layers", 1)
    last = {-2, -1, 2 * layers - 2, 2 * layers - 1} if getattr(mod, "bidirectional", False) \
        else {-1, layers - 1}

    def items(node: fx.Node) -> list | None:  # the used getitems of a tuple, None: other use
        used = [u for u in node.users if u.users or u.op == "output"]
        if any(u.op != "call_function" or u.target is not operator.getitem for u in used):
            return None
        return used

    hidden = items(n)
    if hidden is None:
        return True
    for part in (u for u in hidden if u.args[1] != 0):
        if part.args[1] != 1:
            return True
        h_n = items(part)
        if h_n is None:
            return True
        if isinstance(mod, nn.LSTM):
            if any(u.args[1] != 0 for u in h_n):  # c_n
                return True
            h_n = [w for u in h_n for w in (items(u) or [None])]
        if any(u is None or u.args[1] not in last for u in h_n):
            return True
    return False


def batch_source(size: Any) -> fx.Node | None:
    """The tensor whose batch size ``size`` is (``x.shape[0]``, ``x.size(0)``), or None."""
    if not isinstance(size, fx.Node):
        return None
    if size.op == "call_method" and size.target == "size" and size.args[1:] == (0,):
        return size.args[0]
    if size.op == "call_function" and size.target is operator.getitem and size.args[1] == 0:
        shape = size.args[0]
        if isinstance(shape, fx.Node) and shape.op == "call_function" and \
                shape.target is builtins.getattr and shape.args[1] == "shape":
            return shape.args[0]
    return None


def parameter_node(b, n: fx.Node) -> Any:
    """``self.cls_token`` read by ``n`` in builder ``b``'s module: a Parameter node (a
    buffer: a Constant node) named after the attribute, so its state-dict key is the
    original's."""
    from .fx_builder import BAD, Value

    path = f"{b.prefix}{n.target}"
    value = b.rec.values.get(n)
    if not isinstance(value, torch.Tensor):
        value = b.module.get_submodule(".".join(n.target.split(".")[:-1])) \
            if "." in n.target else b.module
        value = getattr(value, n.target.rsplit(".", 1)[-1], None)
    buffer = not isinstance(value, nn.Parameter)
    if not buffer and value.dim() >= 1 and value.shape[0] != 1 and "." not in n.target:
        # a gamma (C,) or (C, 1, 1): the multiplication it feeds makes it a LayerScale
        return Value("scale", info={"path": path, "attr": n.target, "tensor": value,
                                    "shape": tuple(value.shape), "get_attr": n})
    if not isinstance(value, torch.Tensor) or value.dim() < 1 or value.shape[0] != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else None
        b.s.problem(f"forward uses the tensor '{path}' of shape {shape} directly: a "
                    f"Parameter node holds a tensor of shape (1, ...) (reshape it so)", n)
        return BAD
    if "." in n.target:  # a submodule's tensor read here: its key would change
        b.s.problem(f"forward uses '{path}', a tensor of a submodule, directly: only "
                    f"the block's own tensors keep their state-dict key", n)
        return BAD
    if buffer:
        params = {"shape": tuple(value.shape[1:]), "persistent": path in _persistent(b)}
        type_ = "Constant"
    else:
        params = {"shape": tuple(value.shape[1:])}
        type_ = "Parameter"
    nid = b.add(type_, n.target, params, n)
    if nid is None:
        return BAD
    if b.g.node(nid).name != n.target:
        b.s.problem(f"the {type_.lower()} '{path}' cannot keep its name (another node is "
                    f"called '{n.target}')", n)
        return BAD
    b.s.state_names[path] = [*b.id_path, nid]
    return Value("tensor", nid, get_spec(type_).outputs[0].name)


def _persistent(b) -> set[str]:
    """Paths of the buffers that go into the state dict."""
    return {f"{b.prefix}{k}" for k in b.module.state_dict(keep_vars=True)}


# --- functional forms on a layer's tensors (F.layer_norm(x, ..., self.ln.weight, ...)) -------

def own_state(module: nn.Module) -> set[str]:
    """Names of the module's own parameters and saved buffers (not its children's)."""
    params = {k for k, v in module._parameters.items() if v is not None}
    buffers = {k for k, v in module._buffers.items()
               if v is not None and k not in module._non_persistent_buffers_set}
    return params | buffers


def _bound(n: fx.Node) -> dict | None:
    if n.op != "call_function" or n.target not in fx_map.WEIGHT_FUNCTIONS:
        return None
    names, defaults = fx_map.SIGNATURES[fx_map.WEIGHT_FUNCTIONS[n.target]]
    return fx_map.bind(names, defaults, n.args, n.kwargs)


def child_of_call(module: nn.Module, n: fx.Node) -> str | None:
    """The child module (its path) whose own tensors, and nothing else, the functional call
    ``n`` takes (``F.layer_norm(x, s, self.ln.weight, self.ln.bias, eps)``: "ln"); else None.
    Such a call is that child's layer."""
    b = _bound(n)
    if b is None:
        return None
    children, used = set(), set()
    for key in fx_map.WEIGHT_ARGS:
        arg = b.get(key)
        if arg is None:
            continue
        if not isinstance(arg, fx.Node) or arg.op != "get_attr":
            return None
        child, _, name = arg.target.rpartition(".")
        if name != key or not child:
            return None
        children.add(child)
        used.add(name)
    if len(children) != 1:
        return None
    child = children.pop()
    return child if used and used <= own_state(module.get_submodule(child)) else None


def weight_call(b, n: fx.Node, owner: str = "", permuted: tuple | None = None):
    """``F.linear(x, <owner>weight, <owner>bias)`` in builder ``b``: ``(spec, params,
    inputs)`` of the layer its spec's ``from_weights`` reads from the call, the tensors being
    the module ``owner`` names' own of the same names; None (reported) otherwise.
    ``permuted`` (``fx_inline.permuted_owner``) makes it the permuted spec on the input
    before the permutation."""
    bound = _bound(n)
    what = describe(n, b.module)
    for key in fx_map.WEIGHT_ARGS:
        arg = bound.get(key)
        if not isinstance(arg, fx.Node):
            continue
        v = b.values.get(arg)
        if v is None or v.kind != "attr" or v.info["target"] != f"{owner}{key}":
            name = arg.target if arg.op == "get_attr" else arg.name
            b.s.problem(f"{what} with '{b.prefix}{name}' as its {key}: only the "
                        f"module's own tensor named {key} can become a layer's", n)
            return None
        bound[key] = b.rec.values[arg]
    x = b.rec.values.get(bound["input"])
    kind = fx_map.WEIGHT_FUNCTIONS[n.target]
    spec = fx_map.weight_spec(kind, x.dim() - 1) if isinstance(x, torch.Tensor) else None
    if permuted:  # F.layer_norm(x.permute(0, 2, 3, 1), ...).permute(0, 3, 1, 2)
        spec, bound["input"] = permuted[0], permuted[1].args[0]
    if spec is None:
        b.s.problem(f"{what} on a value of shape {tuple(getattr(x, 'shape', ()))} has no "
                    f"layer", n)
        return None
    try:
        params = spec.from_weights(bound)
    except fx_map.Unsupported as exc:
        b.s.problem(f"{what} with {exc}", n)
        return None
    return spec, params, [bound["input"]]


def layer_state(g, nid: str, value: torch.Tensor) -> set[str]:
    """The state-dict keys of the layer ``nid`` of graph ``g``, on an input like ``value``."""
    from .analysis import _meta_module

    node = g.node(nid)
    dtype = "float32" if value.is_floating_point() else "int64"
    ctx = EmitContext(name="m", params=node.params, in_vars=["i0"],
                      in_shapes=[tuple(value.shape[1:])], in_dtypes=[dtype], out_vars=["o"])
    init = node.spec.emit(ctx).init
    return set(_meta_module(init).state_dict()) if init else set()


def child_layer(b, n: fx.Node, child: str):
    """The functional call ``n`` on the child ``child``'s own tensors as that child's layer,
    named as the child, so its state-dict keys are the child's (``encoder.ln.weight``)."""
    from .fx_builder import BAD

    found = weight_call(b, n, f"{child}.")
    if found is None:
        return BAD
    spec, params, inputs = found
    value = b.layer(n, spec.type, params, inputs, child.replace(".", "_"))
    if value.kind != "tensor":
        return value
    mod, path = b.module.get_submodule(child), f"{b.prefix}{child}"
    own, theirs = own_state(mod), layer_state(b.g, value.node, b.rec.values[inputs[0]])
    if own != theirs:
        b.s.problem(f"{type(mod).__name__} '{path}' holds the tensors {', '.join(sorted(own))} "
                    f"but a {spec.type} layer holds {', '.join(sorted(theirs))}", n)
        return BAD
    b.s.state_names[path] = [*b.id_path, value.node]
    b.s.checks.append((b.g, value.node, mod, n))
    return b.module_value(spec, value)


# --- layer scale: a learned (C,) or (C, 1, 1) gamma multiplied in forward -------------------

_VIEWS = {"view", "reshape"}
_MULS = {"mul", "mul_"}


def _is_mul(n: fx.Node) -> bool:
    if n.op == "call_method":
        return n.target in _MULS
    return n.op == "call_function" and n.target in (operator.mul, torch.mul)


def _is_view(n: fx.Node) -> bool:
    return (n.op == "call_method" and n.target in _VIEWS) or \
        (n.op == "call_function" and n.target is torch.reshape)


def scale_use(b, n: fx.Node) -> Any:
    """A call ``n`` on a gamma (a ``scale`` value from ``parameter_node``): a view of it stays
    a gamma (``self.gamma.view(1, -1, 1, 1)``), a product with a tensor is a LayerScale node
    named after the gamma's attribute; anything else uses the tensor in a way no node holds."""
    from .fx_builder import BAD, Value

    gamma = next(b.values[a] for a in n.all_input_nodes if b.values.get(a).kind == "scale")
    info = gamma.info
    if _is_view(n) and isinstance(b.rec.values.get(n), torch.Tensor):
        return Value("scale", info={**info, "shape": tuple(b.rec.values[n].shape)})
    others = [a for a in n.args if isinstance(a, fx.Node) and b.values.get(a) is not gamma]
    if _is_mul(n) and len(n.args) == 2 and not n.kwargs and len(others) == 1:
        x = b.rec.values.get(others[0])
        params = _scale_params(info, tuple(x.shape) if isinstance(x, torch.Tensor) else ())
        if params is not None:
            nid = b.add("LayerScale", info["attr"], params, n)
            if nid is None:
                return BAD
            if b.g.node(nid).name != info["attr"]:
                b.s.problem(f"the gamma '{info['path']}' cannot keep its name (another node is "
                            f"called '{info['attr']}')", n)
                return BAD
            if not b.connect_all(nid, n, others):
                return BAD
            b.s.state_names[info["path"]] = [*b.id_path, nid]
            return Value("tensor", nid, "out")
    b.s.problem(f"forward uses the tensor '{info['path']}' of shape {tuple(info['tensor'].shape)} "
                f"directly: a Parameter node holds a tensor of shape (1, ...), a LayerScale a "
                f"gamma (C,) or (C, 1, 1) multiplying the channels", info["get_attr"])
    return BAD


def _scale_params(info: dict, x_shape: tuple) -> dict | None:
    """LayerScale's settings for a gamma stored as ``info["tensor"]`` and multiplied as
    ``info["shape"]`` with a tensor of ``x_shape``; None when it scales no single axis."""
    stored, used, rank = tuple(info["tensor"].shape), info["shape"], len(x_shape)
    if rank < 2 or len(used) > rank:
        return None
    used = (1,) * (rank - len(used)) + used
    c = stored[0]
    if used[:-1] == (1,) * (rank - 1) and used[-1] == c == x_shape[-1] and len(stored) == 1:
        params = {"channels": "last"}
    elif used[:2] == (1, c) and set(used[2:]) <= {1} and x_shape[1] == c and (
            stored == (c,) or stored == (c, *[1] * (rank - 2))):
        params = {"channels": "first", "keepdim": len(stored) > 1}
    else:
        return None
    values = info["tensor"].detach().flatten()
    if bool((values == values[0]).all()):  # as constructed: every gamma the init value
        params["init_value"] = _shortest(values[0])
    return params


def _shortest(value: torch.Tensor) -> float:
    """The shortest decimal that is ``value`` in its dtype (0.1, not 0.10000000149011612)."""
    for digits in range(1, 18):
        short = float(f"{float(value):.{digits}g}")
        if torch.tensor(short, dtype=value.dtype) == value:
            return short
    return float(value)
