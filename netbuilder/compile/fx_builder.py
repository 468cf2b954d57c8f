"""One traced module → one netbuilder graph (the importer's core; blocks recurse through it).

Every fx node gets a ``Value`` (``fx_values``) saying what it is in graph terms: a tensor on a
node's port, a recurrent layer's tuple or part of it, a block's tuple, a shape helper
(``x.size(0)``), or "bad" (an unsupported operation, already reported, so nothing downstream
reports it again). This module walks the traced graph and emits a node per call; indexing and
noise are ``fx_indexing``'s.
"""
from __future__ import annotations

import builtins
import math
import operator

import torch
from torch import fx, nn

from ..errors import NetbuilderError
from ..graph import Graph
from . import fx_batch, fx_calls, fx_map, fx_tensors
from . import fx_placeholders as placeholders
from .fx_indexing import Indexing
from .fx_names import assigned_name, block_type, describe, is_block, live_nodes, module_name
from .fx_values import BAD, HELPER, Value, Wiring

__all__ = ["BAD", "HELPER", "Builder", "Value"]


class Builder(Wiring, Indexing):
    """Builds ``graph`` from ``module`` traced as ``traced``; ``rec`` holds the values of one
    real run of it."""

    def __init__(self, session, module: nn.Module, traced: fx.Graph, rec, graph: Graph,
                 prefix: str, id_path: list[str], noise_names: list[str]):
        self.s, self.module, self.fx, self.rec, self.g = session, module, traced, rec, graph
        self.prefix, self.id_path = prefix, id_path
        self.noise_names = list(noise_names)
        self.values: dict[fx.Node, Value] = {}
        self.merges: dict[fx.Node, tuple[str, str]] = {}  # fx add/mul -> (type, graph node)
        self.rnn_usage: dict[str, dict[str, fx.Node]] = {}
        self.blocks: dict[str, str] = {}  # module target -> block node (a second call: "real")
        self.owners: dict[str, str] = {}  # layer module target -> its first node (shared after)
        self.called: set[str] = set()  # block module targets called so far
        self.seq_first = False  # an Input's batch is second (sequence-first tokens)
        self._next = 1

    # --- the walk --------------------------------------------------------------------------

    def run(self) -> Graph:
        live = live_nodes(self.fx)
        calls: dict[str, int] = {}
        for n in self.fx.nodes:
            if n in live and n.op == "call_module":
                calls[n.target] = calls.get(n.target, 0) + 1
        for n in self.fx.nodes:
            if n not in live:
                continue
            if n.op == "call_module" and calls[n.target] > 1 and not self.shared_ok(n):
                # Module nodes sharing one module: each call, the same weights
                self.values[n] = placeholders.module_node(
                    self, n, self.module.get_submodule(n.target), f"{self.prefix}{n.target}",
                    f"called {calls[n.target]} times, sharing its weights")
                continue
            self.values[n] = getattr(self, f"op_{n.op}")(n)
        self.finish_recurrent()
        return self.g

    def shared_ok(self, n: fx.Node) -> bool:
        """A layer module called several times becomes nodes that share its module (siamese
        branches); so does a block (a siamese tower), or, when its spec declares a second
        input (the Discriminator's "real" port), it scores two inputs with the same weights."""
        mod = self.module.get_submodule(n.target)
        return fx_map.module_rule(mod) is not None or is_block(mod)

    def op_placeholder(self, n: fx.Node) -> Value:
        value = self.rec.values.get(n)
        if isinstance(value, tuple) and value and all(isinstance(v, torch.Tensor)
                                                      for v in value):
            return self.tuple_input(n, value)
        if not isinstance(value, torch.Tensor):
            return HELPER
        return self.input_node(n, value)

    def tuple_input(self, n: fx.Node, value: tuple) -> Value:
        """A tuple argument (an LSTM's state ``(h, c)``): an Input per part, grouped."""
        axis = fx_batch.sequence_axis(self.module, n)
        ids = []
        for i, part in enumerate(value):
            v = self.input_node(n, part, f"{n.name}_{i}", {"group": n.name}, axis)
            if v.node is None:
                return BAD
            ids.append(v.node)
        return Value("inputs", info={"ports": ids})

    def input_node(self, n: fx.Node, value: torch.Tensor, name: str | None = None,
                   extra: dict | None = None, axis: int | None = None) -> Value:
        dtype = "float32" if value.is_floating_point() else "int64"
        name = name or ("x" if n.name in ("input", "input_1") else n.name)
        if axis is None:
            axis = fx_batch.sequence_axis(self.module, n) if value.dim() > 1 else 0
        shape = tuple(value.shape[:axis]) + tuple(value.shape[axis + 1:])
        nid = self.add("Input", name, {"shape": shape, "dtype": dtype, **(extra or {}),
                                       **({"batch_dim": axis} if axis else {})}, n)
        self.seq_first = self.seq_first or bool(axis)
        return Value("tensor", nid, "out") if nid else BAD

    def op_get_attr(self, n: fx.Node) -> Value:
        if n.users and all(fx_tensors.child_of_call(self.module, u) for u in n.users):
            return Value("attr", info={"target": n.target})  # a child's layer, called below
        return fx_tensors.parameter_node(self, n)

    def op_output(self, n: fx.Node) -> Value:
        results = n.args[0]
        if isinstance(results, dict):
            self.s.problem("returning a dict: return a tensor or a tuple of tensors", n)
            return HELPER
        items = list(results) if isinstance(results, (tuple, list)) else [results]
        parts = self.values.get(items[0]) if len(items) == 1 else None
        if parts is not None and parts.kind == "tuple":  # ``return x``: a block's tuple
            items = [(items[0], i) for i in range(len(parts.ports))]
        for i, item in enumerate(items):
            inner = self.values.get(item) if isinstance(item, fx.Node) else None
            if inner is not None and inner.kind == "tuple" and len(items) > 1:
                for k, port in enumerate(inner.ports):  # (h_n, c_n): one Output each, grouped
                    nid = self.add("Output", f"output{i}_{k}", {"group": f"output{i}"}, n)
                    if nid is not None:
                        self.g.connect(inner.node, nid, port)
                continue
            nid = self.add("Output", "output" if len(items) == 1 else f"output{i}", {}, n)
            if nid is None:
                continue
            if isinstance(item, tuple):
                src = self.tuple_part(*item, n)
                if src is not None:
                    self.g.connect(src[0], nid, src[1])
            else:
                self.connect_all(nid, n, [item])
        return HELPER

    def op_call_module(self, n: fx.Node) -> Value:
        mod = self.module.get_submodule(n.target)
        path = f"{self.prefix}{n.target}"
        found = fx_map.module_rule(mod)
        if found is None:
            if is_block(mod):
                return self.block(n, mod, path)
            return placeholders.module_node(self, n, mod, path, "no node type stands for it")
        spec, rule = found
        type_ = spec.type
        recurrent = spec.torch_call.startswith("recurrent")
        try:
            if recurrent and not mod.batch_first and not self.seq_first:
                raise fx_map.Unsupported("batch_first=False here: its input's batch is first "
                                         "(an Input's batch_dim puts it second)")
            params = rule(mod)
            # NOTE: a state (layers, N, hidden) has its batch second: a graph holds it only
            # where an Input says so (sequence-first); else the layer stays a Module node.
            stateful = len(n.args) > 1 or n.kwargs or fx_tensors.uses_state(n, mod)
            if recurrent and stateful and self.seq_first:
                return self.recurrent_state(n, mod, spec, params, path)
            if recurrent and fx_tensors.uses_state(n, mod):
                return placeholders.module_node(self, n, mod, path, "its final states are "
                                                "used (the layer returns its output only)")
            inputs, ports = self.module_inputs(n, mod, spec)
        except fx_map.Unsupported as exc:
            return placeholders.module_node(self, n, mod, path, f"{type_} cannot take {exc}")
        # A further call of one module is named after its result (``right = self.enc(x2)``).
        name = (assigned_name(n) if n.target in self.owners else None) or \
            module_name(n, type_, bool(self.prefix))
        value = self.layer(n, type_, params, inputs, name, ports)
        made = value.kind in ("tensor", "tuple")  # a cell's (h, c) is a tuple
        if made and n.target in self.owners:  # a further call: shared
            self.g.share(value.node, self.owners[n.target])
        elif made:
            self.owners[n.target] = value.node
            self.s.state_names[path] = [*self.id_path, value.node]
            self.s.checks.append((self.g, value.node, mod, n))
        return self.module_value(spec, value) if value.kind == "tensor" else value

    def recurrent_state(self, n: fx.Node, mod: nn.Module, spec, params: dict,
                        path: str) -> Value:
        """``output, hidden = self.rnn(x, hidden)``: the layer with its state ports (``h``,
        ``c`` in; ``h_n``, ``c_n`` out)."""
        args = [*n.args, *n.kwargs.values()]
        state = args[1] if len(args) > 1 else None
        grouped = self.values.get(state) if isinstance(state, fx.Node) else None
        if grouped is not None and grouped.kind == "inputs":  # forward(x, hidden=(h, c))
            state = [Value("tensor", nid, "out") for nid in grouped.info["ports"]]
        inputs = [args[0], *(state if isinstance(state, (tuple, list)) else
                             [state] if state is not None else [])]
        value = self.layer(n, spec.type, {**params, "state": True}, inputs,
                           module_name(n, spec.type, bool(self.prefix)),
                           [p.name for p in spec.inputs][:len(inputs)])
        if value.kind not in ("tensor", "tuple"):
            return value
        if n.target in self.owners:
            self.g.share(value.node, self.owners[n.target])
        else:
            self.owners[n.target] = value.node
            self.s.state_names[path] = [*self.id_path, value.node]
            self.s.checks.append((self.g, value.node, mod, n))
        return Value("rnn_state", value.node)

    def module_value(self, spec, value: Value) -> Value:
        """What a torch layer's call returns: a recurrent layer's or attention's tuple."""
        if spec.torch_call.startswith("recurrent"):
            return Value("rnn", value.node)
        if spec.torch_call == "self_attention":
            return Value("mha", value.node)
        return value

    def module_inputs(self, n: fx.Node, mod: nn.Module, spec):
        """The tensor arguments of a layer call, refusing extra arguments that change it."""
        args, kwargs = list(n.args), dict(n.kwargs)
        if spec.torch_call == "sizes":  # called with sizes: the tensor they were read from
            return [fx_calls.sizes_source(self, n)], None
        if len(spec.inputs) > 1:  # one tensor per port, in the spec's order (mu, logvar)
            flat = [a for arg in args for a in (arg if isinstance(arg, (tuple, list))
                                                else (arg,))]  # a cell's (h, c)
            pairs = [(a, p) for a, p in zip(flat, spec.inputs)
                     if not (p.optional and self.values.get(a, BAD).kind == "zeros")]
            return [a for a, _ in pairs], [p.name for _, p in pairs]
        if spec.torch_call == "self_attention":
            q, k, v = (args + [kwargs.pop(a, None) for a in ("query", "key", "value")])[:3]
            extra = {**dict(zip(("key_padding_mask", "need_weights", "attn_mask"), args[3:])),
                     **kwargs}
            if not (q is k is v):
                raise fx_map.Unsupported("different query, key and value (only "
                                         "self-attention)")
            extra.pop("need_weights", None)
            extra.pop("average_attn_weights", None)
            args, kwargs = [q], extra
        extra = [a for a in args[1:] if a is not None] + \
            [k for k, v in kwargs.items() if v not in (None, False)]
        if extra or not args:
            raise fx_map.Unsupported("extra call arguments (masks, initial states)")
        return args[:1], None

    def block(self, n: fx.Node, mod: nn.Module, path: str) -> Value:
        call = fx_calls.bind(mod, n.args, n.kwargs, self.rec.module_args.get(n.target, ()),
                             self.rec.module_kwargs.get(n.target, {}))
        if isinstance(call, str):
            self.s.problem(f"{type(mod).__name__} '{path}' {call}", n)
            return BAD
        srcs = [self.tensor(a, n) if isinstance(a, fx.Node) else self.tuple_part(*a, n)
                for a in call.tensors]
        if any(s is None for s in srcs):
            return BAD
        owner = self.blocks.get(n.target)
        if owner is not None and self.g.node(owner).spec.inputs:  # the Discriminator's "real"
            if len(srcs) != 1 or any(e.dst_port == "real" for e in self.g.in_edges(owner)):
                self.s.problem(f"{type(mod).__name__} '{path}' called more than twice, or "
                               f"twice with several inputs", n)
                return BAD
            self.g.connect(srcs[0][0], owner, srcs[0][1], "real")
            return Value("tensor", owner, "real_score")
        if owner is None and n.target in self.called:  # its first call became no block
            return placeholders.module_node(self, n, mod, path, "called again, sharing the "
                                            "weights of a first call that is not a block")
        self.called.add(n.target)
        if owner is not None:  # a further call: its own block node, sharing the instance
            keep = dict(self.s.state_names)  # the original's keys stay the first call's
            value = self.import_block_node(n, mod, path, call, srcs)
            self.s.state_names.clear()
            self.s.state_names.update(keep)
            if value.node is not None:
                self.g.share(value.node, owner)
            return value
        return self.import_block_node(n, mod, path, call, srcs)

    def import_block_node(self, n: fx.Node, mod: nn.Module, path: str, call, srcs) -> Value:
        name = self.name_for(module_name(n, "Block", bool(self.prefix)))
        bid = self.new_id()
        # One layer plus what it adds (a BatchNorm2d subclass with an activation) is built
        # here, not as a block: its tensors keep the module's name (``bn1.weight``).
        parent = (self, srcs) if isinstance(self.rec.values.get(n), torch.Tensor) else None
        try:
            inner = self.s.import_block(mod, (call.concrete, call.values), name, f"{path}.",
                                        [*self.id_path, bid], n, parent)
        except placeholders.Untraceable as exc:  # a Module node, else torch.export
            kept, why = placeholders.keep_untraceable(self, n, mod, path, str(exc))
            if kept is not None:
                return kept
            inner = self.s.import_exported(mod, call.values, name, f"{path}.",
                                           [*self.id_path, bid], n,
                                           f"{exc}; as a Module node: {why}")
        if inner is None:
            return BAD
        if isinstance(inner, Value):
            return inner
        try:
            self.g.add(block_type(mod, path), name, id=bid, inner=inner)
        except NetbuilderError as exc:
            self.s.problem(f"block '{path}': {exc}", n)
            return BAD
        self.blocks.setdefault(n.target, bid)
        for (src, port), dst_port in zip(srcs, inner.inputs()):
            self.g.connect(src, bid, port, dst_port)
        outs = [o for o in inner.outputs() if inner.node(o).is_output]
        if isinstance(self.rec.values.get(n), torch.Tensor):
            return Value("tensor", bid, outs[0])
        return Value("tuple", bid, ports=outs)

    def op_call_function(self, n: fx.Node) -> Value:
        held = fx_batch.held(self, n)
        if held is not None:
            return held(self, n)
        if n.target is operator.getitem:
            return self.getitem(n)
        if n.target is torch.ops.aten.sym_size.int:  # x.size(0) in a graph from torch.export
            return Value("helper", info={"batch_of": n.args[0]} if n.args[1] == 0 else {})
        if n.target in (torch.zeros, torch.ops.aten.zeros.default):
            zeros = self.zeros(n)
            if zeros is not None:
                return zeros
        if any(self.values.get(a) is BAD for a in n.all_input_nodes):
            return BAD  # reported where it went wrong
        if n.target is builtins.getattr:
            if n.args[1] == "shape":  # ``x.shape[0]`` is the batch size of x
                return Value("helper", info={"of": n.args[0]})
            if n.args[1] in ("dtype", "device", "ndim"):
                return HELPER
            return self.unsupported(n)
        if n.target in (operator.mul, operator.sub) and self.values.get(n.args[0], BAD).kind \
                == "noise":
            return self.uniform(n)
        child = fx_tensors.child_of_call(self.module, n)
        if child is not None:
            return fx_tensors.child_layer(self, n, child)
        kind = fx_map.function_kind(n.target) or placeholders.aten_kind(n.target)
        if getattr(n.target, "__module__", None) == "_operator" and n.all_input_nodes \
                and all(self.values.get(a, BAD).kind == "helper" for a in n.all_input_nodes):
            return HELPER  # arithmetic on sizes (``channels // groups``) for a later view
        if kind is None:
            return self.unsupported(n)
        return self.function(n, kind, n.args, n.kwargs)

    def op_call_method(self, n: fx.Node) -> Value:
        if any(self.values.get(a) is BAD for a in n.all_input_nodes):
            return BAD  # reported where it went wrong
        held = fx_batch.held(self, n)
        if held is not None:
            return held(self, n)
        if n.target in fx_map.SHAPE_HELPERS:
            if n.target == "size" and n.args[1:] in ((0,), ()) and not n.kwargs:
                return Value("helper", info={"of": n.args[0]} if len(n.args) == 1 else
                             {"batch_of": n.args[0]})
            return HELPER
        kind = fx_map.METHODS.get(n.target)
        if kind is None:
            return self.unsupported(n)
        return self.function(n, kind, n.args, n.kwargs)

    def zeros(self, n: fx.Node) -> Value | None:
        """``torch.zeros(x.size(0), hidden)``: a recurrent cell's initial state, which a cell
        node's unwired state port stands for; None for other zeros."""
        sizes = list(n.args[0] if len(n.args) == 1 and isinstance(n.args[0], (tuple, list))
                     else n.args)
        first = self.values.get(sizes[0]) if sizes and isinstance(sizes[0], fx.Node) else None
        if first is None or "batch_of" not in first.info or not all(
                isinstance(s, int) for s in sizes[1:]):
            return None
        return Value("zeros", info={"fx": n})

    def unsupported(self, n: fx.Node, why: str = "no node type stands for it") -> Value:
        """An operation with no node type: a Function node calling it by name."""
        return placeholders.function_node(self, n, why)

    def function(self, n: fx.Node, kind: str, args, kwargs) -> Value:
        b, named = fx_map.bind_call(kind, args, kwargs)
        traced = self.rec.values.get(n)
        if isinstance(traced, (tuple, list)):  # how many parts a split gave: its output ports
            b = {**b, "_parts": len(traced)}
        if kind in ("flatten", "reshape"):
            return self.reshape(n)
        if kind == "permute":
            moved = fx_batch.permute(self, n, b.get("dims"))
            if moved is not None:
                return moved
        if kind == "expand" and not kwargs:
            expanded = self.expand(n, n.args)
            if expanded is not None:
                return expanded
        if kind == "passthrough":
            return self.values.get(b["input"], BAD)
        if kind in fx_map.NOISE_FUNCTIONS:
            return self.noise(n, kind)
        if kind == "cat" and isinstance(b["tensors"], (list, tuple)) and \
                len(b["tensors"]) == 1:  # torch.cat([x]) is x (a DenseNet's first layer)
            return self.values.get(b["tensors"][0], BAD)
        if kind == "cat":
            last = self.bidirectional_last(n, list(b["tensors"]), b["dim"])
            if last is not None:
                return last
        if not named:  # arguments with no known name would be dropped unseen
            return self.unsupported(n, f"positional arguments no node type names "
                                       f"({len(args) - 1})")
        found = self.call_spec(kind, b)
        if isinstance(found, str):
            return self.unsupported(n, found)
        spec, params, inputs = found
        if spec.merge == "elementwise":
            if len(set(inputs)) < len(inputs):  # x * x: one wire per tensor on a merge
                return self.unsupported(n, f"{spec.type} takes each tensor once")
            return self.merge(n, spec.type, inputs)
        return self.layer(n, spec.type, params, inputs)

    def call_spec(self, kind: str, b: dict):
        """``(spec, params, inputs)`` of the first spec naming ``kind`` that takes the call
        (``0.5 * x`` and ``x * scale`` with a broadcast scale are Mul, not the Multiply
        merge); else why none does."""
        first = None
        for spec in fx_map.KIND_SPECS.get(kind) or [fx_map.LAYER_KINDS[kind]]:
            try:
                params, inputs = spec.from_call(b)
            except fx_map.Unsupported as exc:
                first = first or f"{spec.type} cannot take {exc}"
                continue
            except (TypeError, ValueError):  # a constant where this spec reads a tensor
                continue
            if spec.merge == "elementwise" and len({tuple(getattr(self.rec.values.get(a), "shape",
                                                                  ())[1:]) for a in inputs}) > 1:
                continue  # a merge takes equal shapes (a Parameter's batch is 1); a broadcast
                # is the operation's
            return spec, params, inputs
        return first or "no node type takes these arguments"

    def expand(self, n: fx.Node, args: tuple) -> Value | None:
        """``self.cls_token.expand(x.shape[0], -1, -1)``: Expand to the batch of ``x``."""
        sizes = list(args[1] if len(args) == 2 and isinstance(args[1], (tuple, list))
                     else args[1:])
        like = fx_tensors.batch_source(sizes[0]) if sizes else None
        if like is None or not all(isinstance(s, int) for s in sizes[1:]):
            return None
        sizes_text = ", ".join(["batch", *(str(s) for s in sizes[1:])])
        return self.layer(n, "Expand", {"sizes": sizes_text}, [args[0], like],
                          ports=["in", "like"])

    def merge(self, n: fx.Node, type_: str, inputs: list) -> Value:
        """``a + b + c`` is one Add with three inputs, as netbuilder writes it."""
        first = inputs[0]
        if self.merges.get(first, ("", ""))[0] == type_ and len(first.users) == 1:
            nid = self.merges[first][1]
            if not self.connect_all(nid, n, inputs[1:]):
                return BAD
            wanted = assigned_name(n)
            if wanted and self.g.node(nid).name != wanted:
                self.g.rename(nid, self.name_for(wanted))
            self.merges[n] = (type_, nid)
            return self.values[first]
        value = self.layer(n, type_, {}, inputs)
        if value.kind == "tensor":
            self.merges[n] = (type_, value.node)
        return value

    def reshape(self, n: fx.Node) -> Value:
        src = n.args[0] if n.args else n.kwargs.get("input")
        before, after = self.rec.values.get(src), self.rec.values.get(n)
        if not isinstance(before, torch.Tensor) or not isinstance(after, torch.Tensor):
            return self.unsupported(n)
        a, b = tuple(before.shape), tuple(after.shape)
        if a[0] != b[0] and self.seq_first:  # view(-1, vocabulary): the sequence into the batch
            return self.unsupported(n, "it merges the sequence into the batch (a Reshape keeps "
                                       "the batch first)")
        if a[0] != b[0]:
            self.s.problem(f"{describe(n, self.module)} changes the batch dimension ({a} → {b}): "
                           f"keep it first, e.g. x.view(x.size(0), -1)", n)
            return BAD
        if a == b:
            return self.values.get(src, BAD)
        name = assigned_name(n)
        for k in range(1, len(a) - 1):
            if b == a[:k] + (math.prod(a[k:]),):
                return self.layer(n, "Flatten", {"start_dim": k} if k != 1 else {}, [src],
                                  name or "flatten")
        return self.layer(n, "Reshape", {"shape": b[1:]}, [src], name or "reshape")
