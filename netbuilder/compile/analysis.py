"""Shape analysis: every layer runs on ``meta`` tensors (no memory, no compute).

Each node's result is cached on its graph under a key made of the node's version and the
shapes it receives, so re-analysis after an edit recomputes only the nodes whose inputs changed:
the edited node and what lies downstream of it.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..graph import Diagnostic, Graph, Node, fmt_shape, trust
from ..layers import EmitContext
from ..layers import modules as helper_modules
from . import batch_axis
from .checks import (
    dtype_error,
    layer_error,
    merge_error,
    missing_input_error,
    rank_error,
    translate_torch_error,
)
from .shape_rules import closed_form, wiring

EVAL_NAMESPACE = {
    "torch": torch, "nn": nn, "F": torch.nn.functional, "math": math,
    **{k: getattr(helper_modules, k) for k in dir(helper_modules) if k[:1].isupper()},
}
_DTYPES = {"float32": torch.float32, "int64": torch.int64}
# NOTE: layers run on a batch of 2, not 1. A learned Parameter is (1, ...) and broadcasts over
# the batch; with a batch of 1 the two cannot be told apart, and an operation that mixes them
# wrongly (a class token concatenated without Expand) would pass here and fail in training.
BATCH = 2


@dataclass
class NodeInfo:
    """What analysis learned of one node. Shapes exclude the batch dimension."""

    in_shapes: list = field(default_factory=list)
    in_dtypes: list = field(default_factory=list)
    out_shapes: list = field(default_factory=list)  # one per output port
    out_dtypes: list = field(default_factory=list)
    out_batches: list = field(default_factory=list)  # BATCH, or 1 for a learned tensor's
    out_axes: list = field(default_factory=list)  # where the batch lies (none listed: first)
    params: int = 0
    trainable: int = 0
    macs: int = 0  # multiply-accumulates per sample
    error: str | None = None
    inner: Analysis | None = None  # a block's inner analysis
    # a block repeated ×N: the analysis of repetitions 2..N where their input differs from
    # the first's (the first may change the shape); None when all are alike
    inner_rest: Analysis | None = None

    @property
    def shape(self) -> tuple | None:
        return self.out_shapes[0] if self.out_shapes else None


@dataclass
class Analysis:
    """The result of ``analyze``: a ``NodeInfo`` per node, topological order, diagnostics."""

    graph: Graph
    nodes: dict[str, NodeInfo]
    order: list[str]
    diagnostics: list[Diagnostic]
    recomputed: int = 0  # how many nodes were actually re-run (the rest came from the cache)
    batch_size: int = 1  # the batch that activation_bytes() counts when given none

    def shape(self, node_id: str, port: int = 0) -> tuple | None:
        info = self.nodes.get(node_id)
        return info.out_shapes[port] if info and port < len(info.out_shapes) else None

    def edge_shape(self, edge) -> tuple | None:
        ports = [p.name for p in self.graph.output_ports(edge.src)]
        i = ports.index(edge.src_port) if edge.src_port in ports else 0
        return self.shape(edge.src, i)

    def edge_batch(self, edge) -> str:
        """What a wire's first dimension is: "N" (the batch), or "1" from a learned tensor."""
        info = self.nodes.get(edge.src)
        ports = [p.name for p in self.graph.output_ports(edge.src)]
        i = ports.index(edge.src_port) if edge.src_port in ports else 0
        return "1" if info and i < len(info.out_batches) and info.out_batches[i] == 1 else "N"

    def edge_axis(self, edge) -> int:
        """Where a wire's batch lies (0 unless an Input's ``batch_dim`` put it elsewhere)."""
        ports = [p.name for p in self.graph.output_ports(edge.src)]
        return _axis_of(self.nodes.get(edge.src), ports.index(edge.src_port)
                        if edge.src_port in ports else 0)

    @property
    def total_params(self) -> int:
        return sum(i.params for i in self.nodes.values())

    @property
    def total_trainable(self) -> int:
        return sum(i.trainable for i in self.nodes.values())

    @property
    def total_macs(self) -> int:
        return sum(i.macs for i in self.nodes.values())

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def activation_bytes(self, batch_size: int | None = None, bytes_per_value: int = 4) -> int:
        """Memory that the forward pass's outputs take for a batch (what training keeps).

        Output nodes only name a value computed elsewhere, and a block's outputs are its inner
        nodes' results: neither is counted twice. A block's inner activations are counted.
        """
        batch = self.batch_size if batch_size is None else batch_size
        return self._values_per_sample(outer=True) * batch * bytes_per_value

    def _values_per_sample(self, outer: bool) -> int:
        total = 0
        for nid, info in self.nodes.items():
            node = self.graph.node(nid) if nid in self.graph else None
            if node is not None and (node.is_output or (node.is_input and not outer)):
                continue  # aliases: of the value an Output receives, or of the block's input
            if info.inner is not None:
                rest = info.inner_rest or info.inner
                total += info.inner._values_per_sample(outer=False) + \
                    (_repeat(node) - 1) * rest._values_per_sample(outer=False)
                continue
            total += sum(math.prod(s) for s in info.out_shapes if s is not None)
        return total

    def param_bytes(self, bytes_per_value: int = 4) -> int:
        return self.total_params * bytes_per_value


def analyze(graph: Graph, overrides: dict | None = None, batch_size: int = 1) -> Analysis:
    """Analyse ``graph``; ``overrides`` maps Input ids to ``(shape, dtype)`` (inside blocks)."""
    overrides = overrides or {}
    infos: dict[str, NodeInfo] = {}
    diags: list[Diagnostic] = []
    recomputed = 0
    order, wires = wiring(graph)
    for nid in order:
        node = graph.node(nid)
        ins = _gather_inputs(wires[nid], infos)
        empty = _empty_port(graph, nid, wires[nid], infos)
        if empty:
            infos[nid] = NodeInfo(in_shapes=[s for _, s, _ in ins], error=empty)
            diags.append(Diagnostic("error", nid, empty))
            continue
        batches = tuple(_batch_of(infos.get(src), i) for _, src, i in wires[nid])
        axes = tuple(_axis_of(infos.get(src), i) for _, src, i in wires[nid])
        frozen = graph.is_frozen(nid)
        key = (node.version, tuple(ins), batches, axes, overrides.get(nid), node.name,
               node.spec.code_target and trust.is_allowed(node.spec.code_target(node.params)),
               frozen)
        cached = graph._analysis_cache.get(nid)
        if cached is not None and cached[0] == key:
            info = cached[1]
        else:
            info = _analyze_node(graph, node, ins, overrides.get(nid), batches, axes)
            if frozen:
                info.trainable = 0  # (a block's inner nodes are frozen with it: already 0)
            graph._analysis_cache[nid] = (key, info)
            recomputed += 1
        infos[nid] = info
        if info.error:
            diags.append(Diagnostic("error", nid, info.error))
    diags += _sharing_errors(graph, infos)
    return Analysis(graph, infos, order, diags, recomputed, batch_size)


def _sharing_errors(graph: Graph, infos: dict) -> list[Diagnostic]:
    """A node sharing a module must build the same module as its owner (the same input size):
    one module has one shape. A module without parameters (ReLU) is never a problem."""
    out = []
    for node in graph.nodes():
        owner = graph.node(node.shares) if node.shares in graph else None
        mine, theirs = infos.get(node.id), infos.get(node.shares)
        if owner is None or mine is None or theirs is None or mine.error or theirs.error:
            continue
        if (mine.in_shapes != theirs.in_shapes if node.inner is not None else
                _init_source(node, mine) != _init_source(owner, theirs)):
            shapes = ", ".join(fmt_shape(s) for s in mine.in_shapes)
            out.append(Diagnostic("error", node.id, (
                f"{node.label} shares the module of {owner.label} but receives {shapes} where "
                f"{owner.label} receives {', '.join(fmt_shape(s) for s in theirs.in_shapes)}: "
                f"a shared module needs inputs of the same size")))
    return out


def _init_source(node: Node, info: NodeInfo) -> str | None:
    outs = max(1, len(node.spec.outputs_for(node.params)))  # an LSTMCell's (h, c)
    ctx = EmitContext(name="m", params=node.params, in_vars=["x"] * len(info.in_shapes),
                      in_shapes=info.in_shapes, in_dtypes=info.in_dtypes,
                      out_vars=[f"o{i}" for i in range(outs)])
    return node.spec.emit(ctx).init
def _value_dtypes(node: Node, ins: list[tuple]) -> list:
    """Dtypes of the inputs that carry values: ports that take indices are left out."""
    integer = {p.name for p in node.spec.inputs if p.integer}
    return [d for port, _, d in ins if port not in integer]


def _empty_port(graph: Graph, nid: str, wires: list[tuple], infos: dict) -> str | None:
    """A wire from an output port that its node's settings leave empty (part 3 of a Chunk into
    2, the indices of a max pool without return_indices)."""
    for _, src_id, i in wires:
        src = infos.get(src_id)
        if src is None or src.error or src.inner is not None or i >= len(src.out_shapes) or \
                src.out_shapes[i] is not None or all(s is None for s in src.out_shapes):
            continue
        port = graph.output_ports(src_id)[i]
        advice = f" ({port.doc})" if port.doc else ""
        return (f"{graph.node(nid).label} is wired to output '{port.name}' of "
                f"{graph.node(src_id).label}, which gives no '{port.name}' output with its "
                f"current settings{advice}")
    return None


def _batch_of(src: NodeInfo | None, i: int) -> int:
    """The batch a wire carries in the meta run: BATCH, or 1 from a learned tensor."""
    if src is None or i >= len(src.out_batches) or src.out_batches[i] is None:
        return BATCH
    return src.out_batches[i]


def _axis_of(src: NodeInfo | None, i: int) -> int:
    """Where the batch lies on a wire (``batch_axis``): 0 unless an Input said otherwise."""
    if src is None or i >= len(src.out_axes) or src.out_axes[i] is None:
        return 0
    return src.out_axes[i]


def _gather_inputs(wires: list[tuple], infos: dict) -> list[tuple]:
    """``(port, shape, dtype)`` for each incoming wire in port and connection order."""
    out = []
    for port, src_id, i in wires:
        src = infos.get(src_id)
        shape, dtype = None, None
        if src is not None and i < len(src.out_shapes):
            shape, dtype = src.out_shapes[i], src.out_dtypes[i]
        out.append((port, shape, dtype))
    return out


def _analyze_node(graph: Graph, node: Node, ins: list[tuple], override,
                  batches: tuple = (), axes: tuple = ()) -> NodeInfo:
    info = NodeInfo(in_shapes=[s for _, s, _ in ins], in_dtypes=[d for _, _, d in ins])
    if node.is_input:
        shape, dtype = override or (tuple(node.params["shape"]), node.params["dtype"])
        info.out_shapes, info.out_dtypes = [tuple(shape)], [dtype]
        info.out_batches = [BATCH]
        info.out_axes = [0 if override else int(node.params.get("batch_dim", 0))]
        info.error = None if override else batch_axis.input_error(node)
        return info
    if any(axes) and (node.inner is not None or node.spec.code_target is not None):
        info.error = (f"{node.label} takes the batch first, but receives it at dimension "
                      f"{max(axes)} (an Input's batch_dim): blocks and Module nodes need the "
                      f"batch first")
        return info
    n_out = len(graph.output_ports(node.id)) or 1
    info.out_shapes, info.out_dtypes = [None] * n_out, [None] * n_out
    missing = missing_input_error(graph, node, [p for p, _, _ in ins])
    if missing:
        info.error = missing
        return info
    if any(s is None for s in info.in_shapes):
        return info  # an upstream problem; reported there, not repeated here
    if node.inner is not None:
        info = _analyze_block(graph, node, ins, info)
        if node.shares is not None:  # the owner's instance: its parameters count there, once
            info.params = info.trainable = 0
        return info
    if node.spec.code_target is not None:
        from .code_nodes import analyze_code_node

        info = analyze_code_node(node, info, EVAL_NAMESPACE)
        if node.shares is not None:  # the owner's module: its parameters count there, once
            info.params = info.trainable = 0
        return info
    problem = (rank_error(node, info.in_shapes) or merge_error(node, info.in_shapes) or
               dtype_error(node, _value_dtypes(node, ins)) or layer_error(node, info.in_shapes))
    if problem:
        info.error = problem
        return info
    batches = batches or (BATCH,) * len(info.in_shapes)
    try:
        outs, module, macs = _run_meta(node, info.in_shapes, info.in_dtypes, batches, axes)
    except Exception as exc:  # torch's own message, translated into advice about the node
        info.error = translate_torch_error(node, info.in_shapes, exc)
        return info
    if any(axes):  # the batch where an Input put it: found again in each result
        return _axes_result(node, info, outs, module, macs, n_out)
    # a drawn source (Noise) makes one sample here, a batch in the model
    info.out_batches = [BATCH if node.spec.source else o.shape[0] if o.dim() else None
                        for o in outs]
    if BATCH in batches and any(b != BATCH for b in info.out_batches):
        info.error = (f"{node.label} changes the batch dimension (its result has "
                      f"{', '.join(str(tuple(o.shape)) for o in outs)} for a batch of "
                      f"{BATCH}): the batch must stay dimension 0; check its dims, or Expand "
                      f"a learned tensor to the batch first")
        return info
    info.out_shapes = [tuple(o.shape[1:]) for o in outs] or [None]
    info.out_dtypes = [str(o.dtype).replace("torch.", "") for o in outs] or [None]
    # A Chunk into 3 has 3 results on its 8 ports: the others carry nothing.
    info.out_shapes += [None] * (n_out - len(info.out_shapes))
    info.out_dtypes += [None] * (n_out - len(info.out_dtypes))
    info.out_batches += [None] * (n_out - len(info.out_batches))
    if module is not None:
        weights = [module] if isinstance(module, nn.Parameter) else \
            [] if isinstance(module, torch.Tensor) else list(module.parameters())  # a Buffer
        info.params = sum(p.numel() for p in weights)
        info.trainable = sum(p.numel() for p in weights if p.requires_grad)
    info.macs = macs
    if node.shares is not None:  # the owner's module: its parameters count there, once
        info.params = info.trainable = 0
    if node.is_output:
        info.out_shapes, info.out_dtypes = [info.in_shapes[0]], [info.in_dtypes[0]]
        info.out_batches = [batches[0]]
    return info


def _axes_result(node: Node, info: NodeInfo, outs: list, module, macs: int,
                 n_out: int) -> NodeInfo:
    """``info`` of a layer whose input's batch is not first (``batch_axis``)."""
    found = batch_axis.found(outs)
    if any(a is None for a in found):
        info.error = batch_axis.lost_error(node, outs)
        return info
    info.out_axes = found + [None] * (n_out - len(found))
    info.out_shapes = [batch_axis.removed(tuple(o.shape), a) for o, a in zip(outs, found)]
    info.out_dtypes = [str(o.dtype).replace("torch.", "") for o in outs]
    info.out_batches = [BATCH] * len(outs)
    info.out_shapes += [None] * (n_out - len(outs))
    info.out_dtypes += [None] * (n_out - len(outs))
    info.out_batches += [None] * (n_out - len(outs))
    weights = [] if module is None else [module] if isinstance(module, nn.Parameter) else \
        [] if isinstance(module, torch.Tensor) else list(module.parameters())  # a Buffer
    info.params = 0 if node.shares is not None else sum(p.numel() for p in weights)
    info.trainable = 0 if node.shares is not None else \
        sum(p.numel() for p in weights if p.requires_grad)
    info.macs = macs
    return info


def _analyze_block(graph: Graph, node: Node, ins: list[tuple], info: NodeInfo) -> NodeInfo:
    shared_in = [p.name for p in node.spec.inputs]
    overrides = {port: (shape, dtype) for port, shape, dtype in ins if port not in shared_in}
    inner = analyze(node.inner, overrides)
    info.inner = inner
    info.params = inner.total_params
    info.trainable = inner.total_trainable
    info.macs = inner.total_macs
    info.out_batches = [BATCH] * len(graph.output_ports(node.id))
    ports = graph.output_ports(node.id)
    outs = [p.name for p in ports[:len(ports) - len(node.spec.outputs)]]
    info.out_shapes = [inner.shape(o) for o in outs]
    info.out_dtypes = [inner.nodes[o].out_dtypes[0] if o in inner.nodes and
                       inner.nodes[o].out_dtypes else None for o in outs]
    errors = [d for d in inner.diagnostics if d.is_error]
    if not errors and outs and _repeat(node) > 1:
        _analyze_repeats(node, info, overrides, outs)
    if not outs:
        info.error = (f"{node.label} has no Output node inside: add one (open the block) so "
                      f"that it returns a value")
    elif errors:
        more = len(errors) - 1
        info.error = f"Inside {node.label}: {errors[0].message}" + (
            f" (and {more} more problem{'s' if more > 1 else ''} inside)" if more else "")
    _analyze_shared_ports(graph, node, ins, info)
    return info


def _repeat(node: Node | None) -> int:
    return int(node.params.get("repeat", 1)) if node is not None and node.inner is not None \
        else 1


def _analyze_repeats(node: Node, info: NodeInfo, overrides: dict, outs: list) -> None:
    """A block applied N times: repetitions 2..N take the first one's output and must keep
    its shape; parameters and MACs count every repetition."""
    n = _repeat(node)
    if len(overrides) != 1 or len(outs) != 1 or node.spec.inputs:
        info.error = (f"{node.label} repeats ×{n}, but a repeated block takes one input and "
                      f"returns one output (it has {len(overrides)} and {len(outs)}): set "
                      f"repeat to 1, or give the block one input and one output")
        return
    (port, (shape, dtype)), = overrides.items()
    rest = info.inner
    if tuple(info.out_shapes[0]) != tuple(shape) or info.out_dtypes[0] != dtype:
        rest = analyze(node.inner, {port: (info.out_shapes[0], info.out_dtypes[0])})
        bad = next((d for d in rest.diagnostics if d.is_error), None)
        second = rest.shape(outs[0])
        if bad is not None or second != info.out_shapes[0]:
            why = bad.message if bad is not None else (
                f"it changes {fmt_shape(info.out_shapes[0])} into {fmt_shape(second)}")
            info.error = (f"{node.label} repeats ×{n}, but its second repetition cannot take "
                          f"the first one's output ({why}): after the first, each repetition "
                          f"must keep the shape; set repeat to 1 or make the block keep it")
            return
        info.inner_rest = rest
    info.params += (n - 1) * rest.total_params
    info.trainable += (n - 1) * rest.total_trainable
    info.macs += (n - 1) * rest.total_macs


def _analyze_shared_ports(graph: Graph, node: Node, ins: list[tuple], info: NodeInfo) -> None:
    """Spec ports of a block call the same block again: same input shape, same output shape."""
    if not node.spec.inputs:
        return
    wired = {port: (shape, dtype) for port, shape, dtype in ins}
    first_in = next((p.name for p in graph.input_ports(node.id)), None)
    main = wired.get(first_in, (None, None))
    for port_in in node.spec.inputs:
        shape, _ = wired.get(port_in.name, (None, None))
        known = shape is not None and bool(info.out_shapes)
        info.out_shapes.append(info.out_shapes[0] if known else None)
        info.out_dtypes.append(info.out_dtypes[0] if known else None)
        if not info.error and shape is not None and main[0] is not None and \
                tuple(shape) != tuple(main[0]):
            info.error = (f"{node.label} receives {fmt_shape(main[0])} on its input but "
                          f"{fmt_shape(shape)} on '{port_in.name}': both are scored by the same "
                          f"weights, so their shapes must match (change the Input's shape or "
                          f"the last layer before {node.label})")


_FORWARD_CACHE: dict[tuple, object] = {}


def _forward_fn(lines: list[str], n_in: int, outs: tuple[str, ...] = ("o",)):
    """Compile forward lines into ``f(self, i0, i1, ...) -> o`` (cached by their text); with
    several outputs it returns those of ``outs`` that the lines assigned, in order."""
    key = (tuple(lines), n_in, outs)
    fn = _FORWARD_CACHE.get(key)
    if fn is None:
        args = ", ".join(["self", *(f"i{k}" for k in range(n_in))])
        body = "\n".join(f"    {line}" for line in lines) or "    pass"
        ret = "return o" if outs == ("o",) else \
            f"_l = locals()\n    return tuple(_l[k] for k in {outs!r} if k in _l)"
        src = f"def _f({args}):\n{body}\n    {ret}\n"
        scope: dict = {}
        exec(compile(src, "<netbuilder-analysis>", "exec"), dict(EVAL_NAMESPACE), scope)
        fn = scope["_f"]
        _FORWARD_CACHE[key] = fn
    return fn


class _Holder:
    """Stands in for ``self`` of the generated module: holds the one layer as ``self.m``."""

    def __init__(self, module):
        self.m = module


def _run_meta(node: Node, shapes: list, dtypes: list, batches: tuple, axes: tuple = ()):
    """``(outputs, module, MACs per sample)`` of one layer run on meta tensors; with ``axes``
    where a batch is not first, the batch is ``SEQ_BATCH``, put back at its axis."""
    if any(axes):
        batches = tuple(batch_axis.SEQ_BATCH if b == BATCH else b for b in batches)
    axes = axes or (0,) * len(shapes)
    n_out = len(node.spec.outputs_for(node.params))
    out_vars = tuple(f"o{k}" for k in range(n_out)) if n_out > 1 else ("o",)
    ctx = EmitContext(name="m", params=node.params, in_vars=[f"i{k}" for k in range(len(shapes))],
                      in_shapes=shapes, in_dtypes=dtypes, out_vars=list(out_vars),
                      in_axes=list(axes))
    em = node.spec.emit(ctx)
    module = _meta_module(em.init) if em.init else None
    fast = closed_form(node.type, node.params, shapes, dtypes) \
        if all(b == BATCH for b in batches) and not any(axes) else None
    if fast is not None:  # exactly what the meta run below gives, without its cost
        out_shapes, out_dtypes, macs = fast
        outs = [torch.empty((BATCH, *s), dtype=_DTYPES[d], device="meta")
                for s, d in zip(out_shapes, out_dtypes)]
        return outs, module, macs
    inputs = [torch.empty(batch_axis.place(tuple(s), a, b), dtype=_DTYPES.get(d, torch.float32),
                          device="meta") for s, d, b, a in zip(shapes, dtypes, batches, axes)]
    fn = _forward_fn(em.forward, len(inputs), out_vars)
    if node.spec.no_macs:  # FlopCounterMode would count 0 and costs as much as the run
        out, flops = fn(_Holder(module), *inputs), 0
    else:
        with FlopCounterMode(display=False) as counter:
            out = fn(_Holder(module), *inputs)
        flops = counter.get_total_flops()
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    # the counted products grow with the batch (a learned tensor's alone: with none)
    per = batch_axis.SEQ_BATCH if any(axes) else max([o.shape[0] for o in outs if o.dim()] + [1])
    return outs, module, int(flops // 2 // per)


_MODULE_CACHE: dict[str, nn.Module] = {}


def _meta_module(init: str) -> nn.Module | torch.Tensor:
    """The layer built on the meta device, cached by its ``__init__`` expression.

    NOTE: one module serves every node with the same expression (a chain of 500 identical
    Linear layers builds one); sharing is safe because meta tensors hold no values and the
    module stays in eval mode, so a forward changes no state that analysis reads.
    """
    module = _MODULE_CACHE.get(init)
    if module is None:
        with torch.device("meta"), warnings.catch_warnings():
            # torch's construction warnings (dropout on a one-layer GRU) belong to build time
            warnings.simplefilter("ignore")
            module = eval(init, EVAL_NAMESPACE)  # our own emitted expression
        if isinstance(module, nn.Module):  # not a Parameter's or a Constant's tensor
            module.eval()
        if len(_MODULE_CACHE) >= 1024:
            _MODULE_CACHE.pop(next(iter(_MODULE_CACHE)))
        _MODULE_CACHE[init] = module
    return module


__all__ = ["analyze", "Analysis", "NodeInfo", "fmt_shape", "EVAL_NAMESPACE"]
