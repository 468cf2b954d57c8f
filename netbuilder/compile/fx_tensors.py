"""Tensors a ``forward`` reads or takes apart itself: its own parameters and buffers
(``self.cls_token``), the batch size of a tensor (``x.shape[0]``), a recurrent layer's states."""
from __future__ import annotations

import builtins
import operator
from typing import Any

import torch
from torch import fx, nn

from ..layers import get_spec


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
