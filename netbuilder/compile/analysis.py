"""Shape analysis: every layer runs on ``meta`` tensors (no memory, no compute).

Each node's result is cached on its graph under a key made of the node's version and the
shapes it receives, so re-analysis after an edit recomputes only the nodes whose inputs changed:
the edited node and what lies downstream of it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..graph import Diagnostic, Graph, Node, fmt_shape
from ..layers import EmitContext
from ..layers import modules as helper_modules
from .checks import merge_error, missing_input_error, rank_error, translate_torch_error

EVAL_NAMESPACE = {
    "torch": torch, "nn": nn, "F": torch.nn.functional, "math": math,
    **{k: getattr(helper_modules, k) for k in dir(helper_modules) if k[:1].isupper()},
}
_DTYPES = {"float32": torch.float32, "int64": torch.int64}


@dataclass
class NodeInfo:
    """What analysis learned of one node. Shapes exclude the batch dimension."""

    in_shapes: list = field(default_factory=list)
    in_dtypes: list = field(default_factory=list)
    out_shapes: list = field(default_factory=list)  # one per output port
    out_dtypes: list = field(default_factory=list)
    params: int = 0
    trainable: int = 0
    macs: int = 0  # multiply-accumulates per sample
    error: str | None = None
    inner: Analysis | None = None  # a block's inner analysis

    @property
    def shape(self) -> tuple | None:
        return self.out_shapes[0] if self.out_shapes else None


@dataclass
class Analysis:
    graph: Graph
    nodes: dict[str, NodeInfo]
    order: list[str]
    diagnostics: list[Diagnostic]
    recomputed: int = 0  # how many nodes were actually re-run (the rest came from the cache)

    def shape(self, node_id: str, port: int = 0) -> tuple | None:
        info = self.nodes.get(node_id)
        return info.out_shapes[port] if info and port < len(info.out_shapes) else None

    def edge_shape(self, edge) -> tuple | None:
        ports = [p.name for p in self.graph.output_ports(edge.src)]
        i = ports.index(edge.src_port) if edge.src_port in ports else 0
        return self.shape(edge.src, i)

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

    def activation_bytes(self, batch_size: int = 1, bytes_per_value: int = 4) -> int:
        """Memory that the forward pass's outputs take for a batch (what training keeps)."""
        total = 0
        for info in self.nodes.values():
            for s in info.out_shapes:
                if s is not None:
                    total += math.prod(s) * batch_size * bytes_per_value
        return total

    def param_bytes(self, bytes_per_value: int = 4) -> int:
        return self.total_params * bytes_per_value


def analyze(graph: Graph, overrides: dict | None = None, batch_size: int = 1) -> Analysis:
    """Analyse ``graph``; ``overrides`` maps Input ids to ``(shape, dtype)`` (inside blocks)."""
    overrides = overrides or {}
    infos: dict[str, NodeInfo] = {}
    diags: list[Diagnostic] = []
    recomputed = 0
    order = graph.topo_order()
    for nid in order:
        node = graph.node(nid)
        ins = _gather_inputs(graph, node, infos)
        key = (node.version, tuple(ins), overrides.get(nid), node.name)
        cached = graph._analysis_cache.get(nid)
        if cached is not None and cached[0] == key:
            info = cached[1]
        else:
            info = _analyze_node(graph, node, ins, overrides.get(nid))
            graph._analysis_cache[nid] = (key, info)
            recomputed += 1
        infos[nid] = info
        if info.error:
            diags.append(Diagnostic("error", nid, info.error))
    return Analysis(graph, infos, order, diags, recomputed)


def _gather_inputs(graph: Graph, node: Node, infos: dict) -> list[tuple]:
    """``(port, shape, dtype)`` for each incoming wire in port and connection order."""
    out = []
    for e in graph.in_edges(node.id):
        src = infos.get(e.src)
        shape, dtype = None, None
        if src is not None:
            ports = [p.name for p in graph.output_ports(e.src)]
            i = ports.index(e.src_port) if e.src_port in ports else 0
            if i < len(src.out_shapes):
                shape, dtype = src.out_shapes[i], src.out_dtypes[i]
        out.append((e.dst_port, shape, dtype))
    return out


def _analyze_node(graph: Graph, node: Node, ins: list[tuple], override) -> NodeInfo:
    spec = node.spec
    info = NodeInfo(in_shapes=[s for _, s, _ in ins], in_dtypes=[d for _, _, d in ins])
    if node.type == "Input":
        shape, dtype = override or (tuple(node.params["shape"]), node.params["dtype"])
        info.out_shapes, info.out_dtypes = [tuple(shape)], [dtype]
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
        return _analyze_block(graph, node, ins, info)
    problem = rank_error(node, info.in_shapes) or merge_error(node, info.in_shapes)
    if problem:
        info.error = problem
        return info
    try:
        outs, module, flops = _run_meta(node, info.in_shapes, info.in_dtypes)
    except Exception as exc:  # torch's own message, translated into advice about the node
        info.error = translate_torch_error(node, info.in_shapes, exc)
        return info
    info.out_shapes = [tuple(o.shape[1:]) for o in outs] or [None]
    info.out_dtypes = [str(o.dtype).replace("torch.", "") for o in outs] or [None]
    if module is not None:
        info.params = sum(p.numel() for p in module.parameters())
        info.trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    info.macs = int(flops // 2)
    if node.type == "Output":
        info.out_shapes, info.out_dtypes = [info.in_shapes[0]], [info.in_dtypes[0]]
    return info


def _analyze_block(graph: Graph, node: Node, ins: list[tuple], info: NodeInfo) -> NodeInfo:
    overrides = {port: (shape, dtype) for port, shape, dtype in ins}
    inner = analyze(node.inner, overrides)
    info.inner = inner
    info.params = inner.total_params
    info.trainable = inner.total_trainable
    info.macs = inner.total_macs
    outs = [p.name for p in graph.output_ports(node.id)]
    info.out_shapes = [inner.shape(o) for o in outs]
    info.out_dtypes = [inner.nodes[o].out_dtypes[0] if o in inner.nodes and
                       inner.nodes[o].out_dtypes else None for o in outs]
    errors = [d for d in inner.diagnostics if d.is_error]
    if errors:
        first = errors[0]
        info.error = f"{node.label} has {len(errors)} problem(s) inside: {first.message}"
    return info


_FORWARD_CACHE: dict[tuple, object] = {}


def _forward_fn(lines: list[str], n_in: int):
    """Compile forward lines into ``f(self, i0, i1, ...) -> o`` (cached by their text)."""
    key = (tuple(lines), n_in)
    fn = _FORWARD_CACHE.get(key)
    if fn is None:
        args = ", ".join(["self", *(f"i{k}" for k in range(n_in))])
        body = "\n".join(f"    {line}" for line in lines) or "    pass"
        src = f"def _f({args}):\n{body}\n    return o\n"
        scope: dict = {}
        exec(compile(src, "<netbuilder-analysis>", "exec"), dict(EVAL_NAMESPACE), scope)
        fn = scope["_f"]
        _FORWARD_CACHE[key] = fn
    return fn


class _Holder:
    """Stands in for ``self`` of the generated module: holds the one layer as ``self.m``."""

    def __init__(self, module):
        self.m = module


def _run_meta(node: Node, shapes: list, dtypes: list):
    ctx = EmitContext(name="m", params=node.params, in_vars=[f"i{k}" for k in range(len(shapes))],
                      in_shapes=shapes, in_dtypes=dtypes, out_vars=["o"])
    em = node.spec.emit(ctx)
    module = None
    if em.init:
        with torch.device("meta"):
            module = eval(em.init, EVAL_NAMESPACE)  # noqa: S307 (our own emitted expression)
        module.eval()
    inputs = [torch.empty((1, *s), dtype=_DTYPES.get(d, torch.float32), device="meta")
              for s, d in zip(shapes, dtypes)]
    fn = _forward_fn(em.forward, len(inputs))
    with FlopCounterMode(display=False) as counter:
        out = fn(_Holder(module), *inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return outs, module, counter.get_total_flops()


__all__ = ["analyze", "Analysis", "NodeInfo", "fmt_shape", "EVAL_NAMESPACE"]
