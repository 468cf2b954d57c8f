"""A module that is one layer plus what it adds, built into its caller's graph.

``class BatchNormAct2d(nn.BatchNorm2d)`` calling ``super().forward(x)`` then an activation, a
channels-first ``LayerNorm2d`` permuting around ``F.layer_norm(x, ..., self.weight,
self.bias)``, a module whose forward is ``F.linear(x, self.weight, self.bias)``: its own
tensors are used by one layer call (the *owner*). That call becomes the layer, named as the
module, so its state-dict keys are the module's (``bn1.weight``); what the module adds becomes
nodes beside it (``bn1_act``).
"""
from __future__ import annotations

import torch
from torch import fx, nn

from . import fx_map
from .fx_builder import BAD, HELPER, Builder, Value
from .fx_names import live_nodes
from .fx_tensors import layer_state, own_state, weight_call


def owner(traced: fx.Graph, module: nn.Module) -> fx.Node | None:
    """The one call that uses the module's own tensors, when there is exactly one and nothing
    else uses them: a torch layer's forward (``super().forward(x)``) or a functional form on
    the module's parameters (``F.layer_norm(x, ..., self.weight, self.bias)``)."""
    if not own_state(module):
        return None
    live = live_nodes(traced)
    calls = [n for n in traced.nodes if n in live and n.op == "call_function" and (
        isinstance(n.target, fx_map.BaseForward) or (
            n.target in fx_map.WEIGHT_FUNCTIONS and
            any(a.op == "get_attr" for a in n.all_input_nodes)))]
    if len(calls) != 1:
        return None
    for n in traced.nodes:
        if n in live and n.op == "get_attr" and any(u in live and u is not calls[0]
                                                    for u in n.users):
            return None
    return calls[0]


def _permutation(n: fx.Node) -> tuple | None:
    """The dims of ``x.permute(...)`` / ``torch.permute(x, ...)``, else None."""
    if (n.op, n.target) not in (("call_method", "permute"), ("call_function", torch.permute)):
        return None
    b, _ = fx_map.bind_call("permute", n.args, n.kwargs)
    dims = b.get("dims")
    return tuple(dims) if isinstance(dims, (tuple, list)) and \
        all(isinstance(d, int) for d in dims) else None


def permuted_owner(traced: fx.Graph, owner_node: fx.Node):
    """``(spec, before, after)`` when the module's whole forward is its owner call between a
    permutation and its inverse and a spec is that call so permuted (LayerNorm2d), else None."""
    if owner_node.op != "call_function" or owner_node.target not in fx_map.WEIGHT_FUNCTIONS:
        return None
    before = owner_node.args[0] if owner_node.args else None
    after = next(iter(owner_node.users), None)
    outputs = [n for n in traced.nodes if n.op == "output"]
    if not isinstance(before, fx.Node) or len(owner_node.users) != 1 or \
            len(before.users) != 1 or outputs[0].args[0] is not after or \
            len(after.users) != 1 or not before.args or before.args[0].op != "placeholder":
        return None
    dims, back = _permutation(before), _permutation(after)
    if dims is None or back is None or [dims[i] for i in back] != list(range(len(dims))):
        return None
    spec = fx_map.permuted_spec(fx_map.WEIGHT_FUNCTIONS[owner_node.target], dims)
    return (spec, before, after) if spec is not None else None


class InlineBuilder(Builder):
    """Builds a module's traced forward into ``parent``'s graph: its inputs are the parent's
    values (``srcs``), its owner call is the layer named ``name``, its other nodes are named
    ``name_...``; ``run_inline`` gives the value it returns."""

    def __init__(self, session, module: nn.Module, traced: fx.Graph, rec, parent, prefix: str,
                 owner_node: fx.Node, name: str):
        builder, srcs = parent
        super().__init__(session, module, traced, rec, builder.g, prefix, builder.id_path, [])
        self.parent, self.inputs, self.owner, self.base = builder, list(srcs), owner_node, name
        self.result: list[Value] = []
        self.permuted = None  # (spec, permute before, permute after): see permuted_owner

    def new_id(self) -> str:
        return self.parent.new_id()

    def name_for(self, wanted: str) -> str:
        return super().name_for(wanted if wanted == self.base else f"{self.base}_{wanted}")

    def run_inline(self) -> Value:
        self.permuted = permuted_owner(self.fx, self.owner)
        self.run()
        if len(self.result) != 1:
            self.s.problem(f"{type(self.module).__name__} '{self.prefix.rstrip('.')}' returns "
                           f"{len(self.result)} values where its caller uses one tensor",
                           self.owner)
            return BAD
        return self.result[0]

    def op_placeholder(self, n: fx.Node) -> Value:
        if not isinstance(self.rec.values.get(n), torch.Tensor) or not self.inputs:
            return HELPER
        node, port = self.inputs.pop(0)
        return Value("tensor", node, port)

    def op_output(self, n: fx.Node) -> Value:
        results = n.args[0]
        items = list(results) if isinstance(results, (tuple, list)) else [results]
        for item in items:
            src = self.tensor(item, n) if self.values.get(item) is not BAD else None
            self.result.append(Value("tensor", *src) if src else BAD)
        return HELPER

    def op_get_attr(self, n: fx.Node) -> Value:
        if self.owner in n.users:  # read by the owner call (``owner`` saw to no other use)
            return Value("attr", info={"target": n.target})
        return super().op_get_attr(n)

    def op_call_method(self, n: fx.Node) -> Value:
        if self.permuted and n in self.permuted[1:]:  # inside the permuted spec's node
            return self.values.get(n.args[0], BAD)
        return super().op_call_method(n)

    def op_call_function(self, n: fx.Node) -> Value:
        if self.permuted and n in self.permuted[1:]:
            return self.values.get(n.args[0], BAD)
        if n is not self.owner:
            return super().op_call_function(n)
        if any(self.values.get(a) is BAD for a in n.all_input_nodes):
            return BAD
        found = self.base_call(n) if isinstance(n.target, fx_map.BaseForward) \
            else weight_call(self, n, permuted=self.permuted)
        if found is None:
            return BAD
        spec, params, inputs, *ports = found
        ports = ports[0] if ports else None
        value = self.layer(n, spec.type, params, inputs, self.base, ports)
        if value.kind != "tensor":
            return value
        own = own_state(self.module)
        theirs = layer_state(self.g, value.node, self.rec.values.get(inputs[0]))
        path = self.prefix.rstrip(".")
        if own != theirs:
            self.s.problem(f"{type(self.module).__name__} '{path}' holds the tensors "
                           f"{', '.join(sorted(own))} but a {spec.type} layer holds "
                           f"{', '.join(sorted(theirs))}: name them as torch.nn does", n)
            return BAD
        self.s.state_names[path] = [*self.id_path, value.node]
        own_params = [p for p in self.module._parameters.values() if p is not None]
        if sum(1 for _ in self.module.parameters()) == len(own_params):  # no child's
            self.s.checks.append((self.g, value.node, self.module, n))
        return self.module_value(spec, value)

    def base_call(self, n: fx.Node):
        """``super().forward(x)``: the torch class's layer, read off the module."""
        spec, rule = fx_map.base_rule(n.target.cls)
        try:
            params = rule(self.module)
        except fx_map.Unsupported as exc:
            self.s.problem(f"{type(self.module).__name__} '{self.prefix.rstrip('.')}' with "
                           f"{exc}", n)
            return None
        inputs, ports = self.module_inputs(n, self.module, spec)
        return None if inputs is None else (spec, params, inputs, ports)
