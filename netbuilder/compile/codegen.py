"""Graph → PyTorch source that reads like hand-written code.

One attribute per node named after it, ``forward`` in topological order with variables named
after nodes, blocks as their own classes, only torch imported. ``build`` executes exactly this
text, so the exported file and the trained module can never disagree.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from importlib import resources

from ..errors import CompileError
from ..graph import Graph
from ..layers import EmitContext
from .analysis import Analysis, analyze
from .checks import structural
from .naming import Namespace, class_name


@dataclass
class _Unit:
    """Everything one generated file needs: classes in dependency order, helpers, imports."""

    classes: list[str] = field(default_factory=list)
    helpers: set[str] = field(default_factory=set)
    functional: bool = False
    class_names: Namespace = field(default_factory=lambda: Namespace(frozenset()))


def used_nodes(graph: Graph) -> list[str]:
    """Nodes that contribute to an output, in topological order (Inputs always included)."""
    outs = graph.outputs()
    keep: set[str] = set(outs) | set(graph.inputs())
    for o in outs:
        keep |= graph.ancestors(o)
    return [n for n in graph.topo_order() if n in keep]


def _errors_for(graph: Graph, analysis: Analysis, keep: list[str]) -> list[str]:
    msgs = [d.message for d in structural(graph) if d.is_error]
    msgs += [analysis.nodes[n].error for n in keep if analysis.nodes[n].error]
    return msgs


def _class_source(graph: Graph, analysis: Analysis, cls: str, unit: _Unit,
                  doc: str) -> tuple[str, list[str], list[str]]:
    """Source of one ``nn.Module`` class; returns it with its argument and output var names."""
    keep = used_nodes(graph)
    errors = _errors_for(graph, analysis, keep)
    if errors:
        raise CompileError(f"'{graph.name}' cannot be compiled:\n  - " + "\n  - ".join(errors))
    names = Namespace()
    var: dict[tuple[str, str], str] = {}  # (node id, output port) -> variable
    args: list[str] = []
    init: list[str] = []
    inits_after: list[str] = []
    body: list[str] = []
    for nid in keep:
        node = graph.node(nid)
        info = analysis.nodes[nid]
        attr = names.create(nid, node.name)
        in_vars = [var[(e.src, e.src_port)] for e in graph.in_edges(nid)]
        if node.type == "Input":
            args.append(attr)
            var[(nid, "out")] = attr
            continue
        if node.type == "Output":
            var[(nid, "out")] = in_vars[0]
            continue
        if node.inner is not None:
            sub = unit.class_names.create(("block", id(node.inner)), class_name(node.name))
            _, _, sub_outs = _emit_class(node.inner, info.inner, sub, unit,
                                         f"The {node.spec.block_role or 'block'} '{node.name}'.")
            ports = [p.name for p in graph.output_ports(nid)]
            outs = [attr] if len(ports) == 1 else [
                names.create((nid, p), f"{attr}_{graph.node(nid).inner.node(p).name}")
                for p in ports]
            init.append(f"self.{attr} = {sub}()")
            body.append(f"{', '.join(outs)} = self.{attr}({', '.join(in_vars)})")
            for p, v in zip(ports, outs):
                var[(nid, p)] = v
            continue
        ctx = EmitContext(name=attr, params=node.params, in_vars=in_vars,
                          in_shapes=info.in_shapes, in_dtypes=info.in_dtypes, out_vars=[attr])
        em = node.spec.emit(ctx)
        if em.init:
            init.append(f"self.{attr} = {em.init}")
            inits_after += _init_lines(node, attr)
        body += em.forward
        unit.helpers |= set(em.helpers)
        unit.functional |= em.uses_functional
        var[(nid, node.spec.outputs[0].name if node.spec.outputs else "out")] = attr
    outputs = [var[(o, "out")] if graph.node(o).type == "Output" else
               var[(o, graph.output_ports(o)[0].name)] for o in graph.outputs()]
    lines = [f"class {cls}(nn.Module):", f'    """{_safe_text(doc)}"""', "",
             "    def __init__(self):", "        super().__init__()"]
    lines += [f"        {line}" for line in init + inits_after]
    lines += ["", f"    def forward(self, {', '.join(args)}):"]
    lines += [f"        {line}" for line in body]
    lines.append(f"        return {', '.join(outputs)}")
    return "\n".join(lines) + "\n", args, outputs


def _safe_text(text: str) -> str:
    """Text safe inside a docstring: user names may hold quotes, backslashes or newlines."""
    return re.sub(r"[\"\\\r\n]", "'", text)


def _emit_class(graph, analysis, cls, unit, doc):
    src, args, outs = _class_source(graph, analysis, cls, unit, doc)
    unit.classes.append(src)
    return src, args, outs


_INIT_CALLS = {
    "xavier_uniform": "nn.init.xavier_uniform_({w})", "xavier_normal": "nn.init.xavier_normal_({w})",
    "kaiming_uniform": "nn.init.kaiming_uniform_({w}, nonlinearity=\"relu\")",
    "kaiming_normal": "nn.init.kaiming_normal_({w}, nonlinearity=\"relu\")",
    "orthogonal": "nn.init.orthogonal_({w})", "zeros": "nn.init.zeros_({w})",
    "constant": "nn.init.constant_({w}, {v})",
}


def _init_lines(node, attr: str) -> list[str]:
    """Weight initializer lines (Keras's kernel_initializer), after all layers exist."""
    kind = node.params.get("init", "default")
    if not node.spec.weight_layer or kind == "default":
        return []
    call = _INIT_CALLS[kind]
    if node.spec.category == "Recurrent":
        return [f"for name, weight in self.{attr}.named_parameters():",
                "    if name.startswith(\"weight\"):",
                "        " + call.format(w="weight", v=node.params["init_value"])]
    return [call.format(w=f"self.{attr}.weight", v=node.params["init_value"])]


def _helper_sources(names: set[str]) -> list[str]:
    """The helper classes' source, copied from ``layers/modules.py`` (read as text)."""
    if not names:
        return []
    text = resources.files("netbuilder.layers").joinpath("modules.py").read_text("utf-8")
    tree = ast.parse(text)
    out = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in names:
            out.append(ast.get_source_segment(text, node) + "\n")
    return out


def _main_block(graph: Graph, cls: str, args: list[str], n_outputs: int) -> list[str]:
    lines = ["", "", 'if __name__ == "__main__":', f"    model = {cls}()"]
    for nid, arg in zip(graph.inputs(), args):
        p = graph.node(nid).params
        shape = ", ".join(str(d) for d in (2, *p["shape"]))
        if p["dtype"] == "int64":
            lines.append(f"    {arg} = torch.randint(0, 2, ({shape}))")
        else:
            lines.append(f"    {arg} = torch.randn({shape})")
    lines.append(f"    out = model({', '.join(args)})")
    if n_outputs == 1:
        lines.append("    print(tuple(out.shape))")
    else:
        lines.append("    print([tuple(o.shape) for o in out])")
    return lines


def generate(graph: Graph, class_name_: str | None = None, main: bool = True,
             analysis: Analysis | None = None) -> tuple[str, str]:
    """``(source, class name)`` for the whole graph."""
    analysis = analysis or analyze(graph)
    unit = _Unit()
    cls = unit.class_names.create("main", class_name_ or class_name(graph.name))
    _, args, outs = _emit_class(graph, analysis, cls, unit,
                                f"Generated by netbuilder from the graph '{graph.name}'.")
    helper_src = _helper_sources(unit.helpers)
    header = [f'"""{cls}: a PyTorch model drawn in netbuilder."""']
    if any("math." in h for h in helper_src):
        header += ["import math", ""]
    header.append("import torch")
    if unit.functional or any("F." in h for h in helper_src):
        header.append("import torch.nn.functional as F")
    header.append("from torch import nn")
    parts = ["\n".join(header)] + [p.rstrip("\n") for p in helper_src + unit.classes]
    src = "\n\n\n".join(parts)
    if main:
        src += "\n" + "\n".join(_main_block(graph, cls, args, len(outs)))
    return src + "\n", cls
