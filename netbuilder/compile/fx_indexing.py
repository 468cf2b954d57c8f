"""The importer's indexing and sources: a recurrent layer's outputs and states, attention's
output, a block's tuple (``getitem``), and noise drawn in ``forward`` (a generator's latent)."""
from __future__ import annotations

import operator

import torch
from torch import fx

from . import fx_map
from . import fx_placeholders as placeholders
from .fx_names import describe, index_text, is_step
from .fx_values import BAD, HELPER, Value


class Indexing:
    """Mixed into the ``Builder``: what indexing a value and drawing noise become."""

    # --- noise (a generator's latent input) ----------------------------------------------

    def noise(self, n: fx.Node, kind: str) -> Value:
        value = self.rec.values.get(n)
        size = tuple(value.shape) if isinstance(value, torch.Tensor) else ()
        batch = next((v.shape[0] for v in self.rec.values.values()
                      if isinstance(v, torch.Tensor) and v.dim()), None)
        first = n.args[0] if n.args else None
        first = first[0] if isinstance(first, (tuple, list)) and first else first
        from_data = isinstance(first, fx.Node) and self.values.get(first, BAD).kind == "helper"
        if not from_data or len(size) not in (2, 4) or size[0] != batch or \
                (len(size) == 4 and size[2:] != (1, 1)):
            self.s.problem(f"{describe(n, self.module)} other than noise of shape (batch, "
                           f"latent) or (batch, latent, 1, 1) with the batch size of the data", n)
            return BAD
        params = {"latent_size": size[1], "spatial": len(size) == 4}
        if kind == "rand":
            return Value("noise", info={**params, "step": 0, "fx": n})
        return self.noise_node(n, {**params, "distribution": "normal"})

    def uniform(self, n: fx.Node) -> Value:
        """``torch.rand(...) * 2 - 1``: uniform noise in [-1, 1], netbuilder's other kind."""
        v = self.values[n.args[0]]
        step = v.info["step"]
        want = (operator.mul, 2) if step == 0 else (operator.sub, 1)
        if (n.target, n.args[1]) != want:
            self.s.problem("torch.rand other than as uniform noise in [-1, 1] "
                           "(torch.rand(...) * 2 - 1)", n)
            return BAD
        if step == 0:
            return Value("noise", info={**v.info, "step": 1})
        params = {k: v.info[k] for k in ("latent_size", "spatial")}
        return self.noise_node(v.info["fx"], {**params, "distribution": "uniform"})

    def noise_node(self, n: fx.Node, params: dict) -> Value:
        name = self.noise_names.pop(0) if self.noise_names else "noise"
        nid = self.add("Noise", name, params, n)
        return Value("tensor", nid, "out") if nid else BAD

    # --- indexing: recurrent outputs, attention, block tuples ------------------------------

    def getitem(self, n: fx.Node) -> Value:
        base, index = n.args
        v = self.values.get(base, BAD)
        if v.kind == "helper" and "of" in v.info and isinstance(index, int):
            return Value("helper", info={"batch_of": v.info["of"]} if index == 0 else
                         {"dim_of": (v.info["of"], index)})
        if v.kind in ("bad", "helper"):
            return HELPER if v.kind == "helper" else v
        if v.kind in ("fn_tuple", "mod_tuple"):  # a placeholder's tuple: take the element
            take = placeholders.function_item if v.kind == "fn_tuple" else \
                placeholders.module_item
            return take(self, v, n, index)
        if v.kind == "rnn_state" and index in (0, 1):  # (output, final state) of a stateful call
            if index == 0:
                return Value("rnn_seq", v.node)
            if self.g.node(v.node).spec.torch_call == "recurrent_with_cell":
                return Value("tuple", v.node, ports=["h_n", "c_n"])
            return Value("tensor", v.node, "h_n")
        if v.kind == "rnn" and index in (0, 1):
            return Value("rnn_seq" if index == 0 else "rnn_hidden", v.node)
        if v.kind == "rnn_hidden":
            if self.g.node(v.node).spec.torch_call == "recurrent_with_cell":
                return Value("rnn_hn", v.node) if index == 0 else self.rnn_state(n, "c_n")
            return self.final_state(n, v, index)
        if v.kind == "rnn_hn":
            return self.final_state(n, v, index)
        if v.kind == "rnn_seq":
            node = self.g.node(v.node)
            if is_step(index, -1) and not node.params["bidirectional"]:
                self.rnn_usage.setdefault(v.node, {}).setdefault("last", n)
                return Value("tensor", v.node, "out")
            h = node.params["hidden_size"]
            if node.params["bidirectional"] and is_step(index, -1, slice(None, h)):
                return Value("rnn_part", v.node, "forward")
            if node.params["bidirectional"] and is_step(index, 0, slice(h, None)):
                return Value("rnn_part", v.node, "backward")
        if v.kind == "mha" and index in (0, 1):
            if index == 0:
                return Value("tensor", v.node, "out")
            self.s.problem("the attention weights of MultiheadAttention (netbuilder's layer "
                           "returns only its output)", n)
            return BAD
        if v.kind == "tuple" and isinstance(index, int) and -len(v.ports) <= index < len(v.ports):
            return Value("tensor", v.node, v.ports[index])
        if v.kind == "tensor" and "getitem" in fx_map.LAYER_KINDS:  # x[:, 0]: an Index node
            return self.function(n, "getitem", n.args, n.kwargs)
        if v.kind == "tensor":
            return self.unsupported(n, f"indexing [{index_text(index)}] has no node type here")
        self.s.problem(f"indexing [{index_text(index)}] (slicing tensors has no layer)", n)
        return BAD

    def final_state(self, n: fx.Node, v: Value, index) -> Value:
        """``h_n[-1]``: the last layer's final state, which is the output's last step."""
        node = self.g.node(v.node)
        layers = node.params["num_layers"]
        if not node.params["bidirectional"] and index in (-1, layers - 1):
            self.rnn_usage.setdefault(v.node, {}).setdefault("last", n)
            return Value("tensor", v.node, "out")
        if node.params["bidirectional"] and index in (-2, 2 * layers - 2):
            return Value("rnn_part", v.node, "forward")
        if node.params["bidirectional"] and index in (-1, 2 * layers - 1):
            return Value("rnn_part", v.node, "backward")
        return self.rnn_state(n, "h_n")

    def bidirectional_last(self, n: fx.Node, tensors: list, dim) -> Value | None:
        """``torch.cat([h_n[-2], h_n[-1]], 1)``: both directions' final states (output last)."""
        parts = [self.values.get(t) for t in tensors]
        if len(parts) != 2 or dim not in (1, -1) or any(p is None or p.kind != "rnn_part"
                                                        for p in parts):
            return None
        if parts[0].node != parts[1].node or [p.port for p in parts] != ["forward", "backward"]:
            return None
        self.rnn_usage.setdefault(parts[0].node, {}).setdefault("last", n)
        return Value("tensor", parts[0].node, "out")

    def rnn_state(self, n: fx.Node, what: str) -> Value:
        self.s.problem(f"the {what} state of a recurrent layer (netbuilder's layers return the "
                       f"output sequence or its last step)", n)
        return BAD

    def finish_recurrent(self) -> None:
        for nid, usage in self.rnn_usage.items():
            if len(usage) == 2:
                self.s.problem(f"{self.g.node(nid).label}'s whole sequence and its last step "
                               f"are both used: a recurrent layer returns one of them",
                               usage["last"])
            elif "last" in usage:
                self.g.set_param(nid, "output", "last")
