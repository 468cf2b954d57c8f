"""One traced module → one netbuilder graph (the importer's core; blocks recurse through it).

Every fx node gets a ``Value`` saying what it is in graph terms: a tensor on a node's port, a
recurrent layer's tuple or part of it, a block's tuple, a shape helper (``x.size(0)``), or
"bad" (an unsupported operation, already reported, so nothing downstream reports it again).
"""
from __future__ import annotations

import builtins
import math
import operator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from ..errors import NetbuilderError
from ..graph import Graph
from ..layers import get_spec
from . import fx_batch, fx_calls, fx_map, fx_tensors
from . import fx_placeholders as placeholders
from .fx_names import (
    assigned_name,
    block_type,
    describe,
    index_text,
    is_block,
    is_step,
    live_nodes,
    module_name,
)
from .naming import sanitize


@dataclass
class Value:
    """What an fx node produced, in graph terms."""

    # tensor | rnn | rnn_seq | rnn_hidden | rnn_hn | rnn_part | mha | tuple | noise | helper | bad
    kind: str
    node: str | None = None
    port: str | None = None
    ports: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)


BAD = Value("bad")
HELPER = Value("helper")


class Builder:
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
        self._next = 1

    # --- small helpers ---------------------------------------------------------------------

    def new_id(self) -> str:
        nid = f"n{self._next}"
        self._next += 1
        return nid

    def name_for(self, wanted: str) -> str:
        base = wanted if wanted.isascii() and wanted.isdigit() else sanitize(wanted)
        taken = {n.name for n in self.g.nodes()}
        name, i = base, 1
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        return name

    def add(self, type_: str, name: str, params: dict, fxn: fx.Node, **kw) -> str | None:
        try:
            return self.g.add(type_, self.name_for(name), id=self.new_id(), **kw, **params)
        except NetbuilderError as exc:
            self.s.problem(f"{type_} '{name}': {exc}", fxn)
            return None

    def tensor(self, arg: Any, fxn: fx.Node) -> tuple[str, str] | None:
        """``(node, port)`` of a tensor argument; None (reported) when it is not one."""
        v = self.values.get(arg) if isinstance(arg, fx.Node) else None
        if v is None:
            what = describe(fxn, self.module)
            self.s.problem(f"{what} with the constant {arg!r} as an input", fxn)
            return None
        if v.kind == "rnn_seq":
            self.rnn_usage.setdefault(v.node, {}).setdefault("sequence", fxn)
            return (v.node, "out")
        if v.kind == "tensor":
            return (v.node, v.port)
        if v.kind == "rnn_part":
            self.s.problem("a part of a bidirectional recurrent output: only both directions' "
                           "final states, concatenated, have a layer (output 'last')", fxn)
        elif v.kind == "noise":
            self.s.problem("torch.rand other than as uniform noise in [-1, 1] "
                           "(torch.rand(...) * 2 - 1)", fxn)
        elif v.kind != "bad":
            self.s.problem(f"{describe(fxn, self.module)} on a value that is not a tensor", fxn)
        return None

    def tuple_part(self, arg: fx.Node, index: int, fxn: fx.Node) -> tuple[str, str] | None:
        """``(node, port)`` of part ``index`` of the tuple ``arg`` (a block's outputs)."""
        v = self.values.get(arg, BAD)
        if v.kind == "tuple" and -len(v.ports) <= index < len(v.ports):
            return (v.node, v.ports[index])
        if v.kind != "bad":
            self.s.problem(f"{describe(fxn, self.module)} on a tuple no node returns as its "
                           f"outputs", fxn)
        return None

    def connect_all(self, nid: str, fxn: fx.Node, inputs: list, ports: list | None = None
                    ) -> bool:
        srcs = [self.tensor(a, fxn) for a in inputs]
        if any(s is None for s in srcs):
            return False
        seen = set()
        for i, (src, port) in enumerate(srcs):
            dst_port = ports[i] if ports else None
            if (src, port, dst_port) in seen:
                self.s.problem(f"{describe(fxn, self.module)} uses the same tensor twice "
                               f"(x + x): compute it once with a layer instead", fxn)
                return False
            seen.add((src, port, dst_port))
            self.g.connect(src, nid, port, dst_port)
        return True

    def layer(self, fxn: fx.Node, type_: str, params: dict, inputs: list, name: str | None = None,
              ports: list | None = None) -> Value:
        if any(self.values.get(a) is BAD for a in inputs if isinstance(a, fx.Node)):
            return BAD
        rule = get_spec(type_).rank
        x = self.rec.values.get(inputs[0]) if inputs and isinstance(inputs[0], fx.Node) else None
        if rule is not None and rule.unless and isinstance(x, torch.Tensor) and \
                x.dim() - 1 not in rule.ranks:  # torch's layer takes this rank: say so
            params = {**params, rule.unless: True}
        nid = self.add(type_, name or assigned_name(fxn) or fxn.name, params, fxn)
        if nid is None or not self.connect_all(nid, fxn, inputs, ports):
            return BAD
        outputs = get_spec(type_).outputs
        value = self.rec.values.get(fxn)
        if len(outputs) > 1 and isinstance(value, (tuple, list)):  # chunk, split: one per part
            return Value("tuple", nid, ports=[o.name for o in outputs[:len(value)]])
        return Value("tensor", nid, outputs[0].name)

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
        branches); a block whose spec declares a second input (the Discriminator's "real"
        port) may score two inputs with the same weights."""
        mod = self.module.get_submodule(n.target)
        if fx_map.module_rule(mod) is not None:
            return True
        return is_block(mod) and bool(get_spec(block_type(mod, n.target)).inputs) and sum(
            1 for m in self.fx.nodes if m.op == "call_module" and m.target == n.target) == 2

    def op_placeholder(self, n: fx.Node) -> Value:
        value = self.rec.values.get(n)
        if not isinstance(value, torch.Tensor):
            return HELPER
        dtype = "float32" if value.is_floating_point() else "int64"
        name = "x" if n.name in ("input", "input_1") else n.name
        nid = self.add("Input", name, {"shape": tuple(value.shape[1:]), "dtype": dtype}, n)
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
        if spec.torch_call.startswith("recurrent") and fx_tensors.uses_state(n, mod):
            return placeholders.module_node(self, n, mod, path, "its final states are used "
                                            "(the layer returns its output only)")
        type_ = spec.type
        try:
            params = rule(mod)
            inputs, ports = self.module_inputs(n, mod, spec)
        except fx_map.Unsupported as exc:
            return placeholders.module_node(self, n, mod, path, f"{type_} cannot take {exc}")
        # A further call of one module is named after its result (``right = self.enc(x2)``).
        name = (assigned_name(n) if n.target in self.owners else None) or \
            module_name(n, type_, bool(self.prefix))
        value = self.layer(n, type_, params, inputs, name, ports)
        if value.kind == "tensor" and n.target in self.owners:  # a further call: shared
            self.g.share(value.node, self.owners[n.target])
        elif value.kind == "tensor":
            self.owners[n.target] = value.node
            self.s.state_names[path] = [*self.id_path, value.node]
            self.s.checks.append((self.g, value.node, mod, n))
        return self.module_value(spec, value) if value.kind == "tensor" else value

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
        if len(spec.inputs) > 1:  # one tensor per port, in the spec's order (mu, logvar)
            return args[:len(spec.inputs)], [p.name for p in spec.inputs]
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
        if n.target in self.blocks:  # the Discriminator's second call: its "real" port
            bid = self.blocks[n.target]
            if len(srcs) != 1:
                self.s.problem(f"Discriminator '{path}' called twice with several inputs", n)
                return BAD
            self.g.connect(srcs[0][0], bid, srcs[0][1], "real")
            return Value("tensor", bid, "real_score")
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
        self.blocks[n.target] = bid
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
        kind = fx_map.FUNCTIONS.get(n.target) or placeholders.aten_kind(n.target)
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
        if v.kind == "helper" and "of" in v.info and index == 0:
            return Value("helper", info={"batch_of": v.info["of"]})
        if v.kind in ("bad", "helper"):
            return HELPER if v.kind == "helper" else v
        if v.kind in ("fn_tuple", "mod_tuple"):  # a placeholder's tuple: take the element
            take = placeholders.function_item if v.kind == "fn_tuple" else \
                placeholders.module_item
            return take(self, v, n, index)
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
