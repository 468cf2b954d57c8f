"""Graph → PyTorch source that reads like hand-written code.

One attribute per node named after it, ``forward`` in topological order with variables named
after nodes, blocks as their own classes, only torch imported. ``build`` executes exactly this
text, so the exported file and the trained module can never disagree.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from importlib import resources

from ..errors import CompileError
from ..graph import Graph
from ..layers import EmitContext
from ..layers import modules as helper_modules
from .analysis import Analysis, analyze
from .checks import structural
from .code_nodes import untrusted_code
from .naming import Namespace, class_name, quoted

# Module-level names of a generated file: a block or graph called "Reshape" must not replace
# the helper class of that name.
CLASS_RESERVED = frozenset({"torch", "nn", "F", "math"}) | frozenset(
    k for k in dir(helper_modules) if k[:1].isupper())


@dataclass
class _Unit:
    """Everything one generated file needs: classes in dependency order, helpers, imports."""

    classes: list[str] = field(default_factory=list)
    helpers: set[str] = field(default_factory=set)
    functional: bool = False
    imports: list[str] = field(default_factory=list)  # Module nodes' import statements
    class_names: Namespace = field(default_factory=lambda: Namespace(CLASS_RESERVED))
    attributes: dict = field(default_factory=dict)  # id(graph) -> {node id: attribute}


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
    kept = set(keep)  # findings across nodes (a shared module fed two sizes)
    msgs += [d.message for d in analysis.diagnostics
             if d.is_error and d.node in kept and d.message not in msgs]
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
    drawn: list[str] = []  # sources other than Input (Noise): optional arguments
    companion: list[str] = []  # the first Input: batch size and device of drawn sources
    init: list[str] = []
    inits_after: list[str] = []
    body: list[str] = []
    if any(graph.node(n).spec.source and not graph.node(n).is_input for n in keep):
        companion = [names.create(n, graph.node(n).name) for n in graph.inputs()][:1]
    unit.attributes.setdefault(id(graph), {})
    for nid in keep:
        node = graph.node(nid)
        info = analysis.nodes[nid]
        attr = names.create(nid, node.name)
        owner = node.shares if node.shares in keep else None
        if owner is None:  # a node that shares a module owns no attribute of its own
            unit.attributes[id(graph)][nid] = attr
        in_vars = [var[(e.src, e.src_port)] for e in graph.in_edges(nid)]
        if node.is_input:
            args.append(attr)
            var[(nid, "out")] = attr
            continue
        if node.is_output:
            var[(nid, "out")] = in_vars[0]
            continue
        if node.inner is not None:
            _emit_block(graph, nid, attr, info, names, var, unit, init, body)
            continue
        if node.spec.source:
            # NOTE: a drawn source is an optional argument filled in from the companion Input;
            # with no Input in the graph it is a required argument (the model's input).
            drawn.append(attr)
            var[(nid, node.spec.outputs[0].name)] = attr
            if not companion:
                continue
            in_vars = companion
        ports = [p.name for p in node.spec.outputs]
        out_vars = [attr] if len(ports) < 2 else \
            [names.create((nid, p), f"{attr}_{p}") for p in ports]
        # A shared module: the owner's attribute, called on this node's inputs.
        module = attr if owner is None else names.create(owner, graph.node(owner).name)
        ctx = EmitContext(name=module, params=node.params, in_vars=in_vars,
                          in_shapes=info.in_shapes, in_dtypes=info.in_dtypes, out_vars=out_vars)
        untrusted_code(node)
        em = node.spec.emit(ctx)
        unit.imports += [i for i in em.imports if i not in unit.imports]
        if em.init and owner is None:
            init.append(f"self.{attr} = {em.init}")
            inits_after += _init_lines(node, attr)
        body += em.forward
        unit.helpers |= set(em.helpers)
        unit.functional |= em.uses_functional
        if len(ports) < 2:
            var[(nid, ports[0] if ports else "out")] = attr
        else:  # the ports with a result (a Chunk into 3 fills 3 of its ports)
            var.update({(nid, p): v for p, v, s in zip(ports, out_vars, info.out_shapes)
                        if s is not None})
    outputs = []
    for o in graph.outputs():  # a sink block returns each of its outputs
        ports = ["out"] if graph.node(o).is_output else \
            [p.name for p in graph.output_ports(o) if (o, p.name) in var]
        outputs += [var[(o, p)] for p in ports]
    lines = [f"class {cls}(nn.Module):", f'    """{doc}"""', "",
             "    def __init__(self):", "        super().__init__()"]
    lines += [f"        {line}" for line in init + inits_after]
    params = args + [f"{d}=None" for d in drawn] if companion else args + drawn
    lines += ["", f"    def forward(self, {', '.join(params)}):"]
    lines += [f"        {line}" for line in body]
    lines.append(f"        return {', '.join(outputs)}")
    return "\n".join(lines) + "\n", args if companion else args + drawn, outputs


def _emit_block(graph: Graph, nid: str, attr: str, info, names: Namespace, var: dict,
                unit: _Unit, init: list[str], body: list[str]) -> None:
    """A block node: its own class, called on its inner ports, and called again (same
    weights) on each shared port its spec declares (a Discriminator's "real")."""
    node = graph.node(nid)
    sub = unit.class_names.create(("block", id(node.inner)), class_name(node.name))
    _emit_class(node.inner, info.inner, sub, unit,
                f"The {node.spec.block_role or 'block'} {quoted(node.name, 50)}.")
    shared_in = [p.name for p in node.spec.inputs]
    edges = graph.in_edges(nid)
    in_vars = [var[(e.src, e.src_port)] for e in edges if e.dst_port not in shared_in]
    all_ports = [p.name for p in graph.output_ports(nid)]
    ports = all_ports[:len(all_ports) - len(node.spec.outputs)]
    outs = [attr] if len(ports) == 1 else [
        names.create((nid, p), f"{attr}_{node.inner.node(p).name}") for p in ports]
    init.append(f"self.{attr} = {sub}()")
    body.append(f"{', '.join(outs)} = self.{attr}({', '.join(in_vars)})")
    for p, v in zip(ports, outs):
        var[(nid, p)] = v
    used = {e.src_port for e in graph.out_edges(nid)}
    for port_in, port_out in zip(node.spec.inputs, node.spec.outputs):
        if port_out.name not in used:
            continue
        src = next((e for e in edges if e.dst_port == port_in.name), None)
        if src is None:
            raise CompileError(f"{node.label} has nothing on its '{port_in.name}' port, so its "
                               f"'{port_out.name}' output has no value: wire the data Input "
                               f"into '{port_in.name}'")
        v = names.create((nid, port_out.name), f"{attr}_{port_out.name}")
        body.append(f"{v} = self.{attr}({var[(src.src, src.src_port)]})")
        var[(nid, port_out.name)] = v


def _emit_class(graph, analysis, cls, unit, doc):
    src, args, outs = _class_source(graph, analysis, cls, unit, doc)
    unit.classes.append(src)
    return src, args, outs


_INIT_CALLS = {
    "xavier_uniform": "nn.init.xavier_uniform_({w})",
    "xavier_normal": "nn.init.xavier_normal_({w})",
    "kaiming_uniform": "nn.init.kaiming_uniform_({w}, nonlinearity=\"relu\")",
    "kaiming_normal": "nn.init.kaiming_normal_({w}, nonlinearity=\"relu\")",
    "orthogonal": "nn.init.orthogonal_({w})", "zeros": "nn.init.zeros_({w})",
    "constant": "nn.init.constant_({w}, {v})", "normal": "nn.init.normal_({w}, 0.0, {v})",
}


def _init_lines(node, attr: str) -> list[str]:
    """Weight initializer lines (Keras's kernel_initializer), after all layers exist."""
    kind = node.params.get("init", "default")
    if not node.spec.weight_layer or kind == "default":
        return []
    call = _INIT_CALLS[kind]
    value = float(node.params["init_value"])
    if kind == "normal" and not value:
        value = 0.02  # a zero standard deviation is never meant: DCGAN's 0.02
    if node.spec.category == "Recurrent":
        return [f"for name, weight in self.{attr}.named_parameters():",
                "    if name.startswith(\"weight\"):",
                "        " + call.format(w="weight", v=repr(value))]
    return [call.format(w=f"self.{attr}.weight", v=repr(value))]


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


def _main_block(graph: Graph, cls: str, args: list[str], n_outputs: int,
                analysis: Analysis, attributes: dict) -> list[str]:
    lines = ["", "", 'if __name__ == "__main__":', f"    model = {cls}()"]
    by_attr = {a: nid for nid, a in attributes.items()}
    for arg in args:
        nid = by_attr[arg]
        p = dict(graph.node(nid).params)
        if not graph.node(nid).is_input:  # a drawn source (Noise) without a companion
            p = {"shape": analysis.shape(nid), "dtype": "float32"}
        shape = ", ".join(str(int(d)) for d in (2, *p["shape"]))
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
                                f"Generated by netbuilder from the graph {quoted(graph.name, 36)}.")
    helper_src = _helper_sources(unit.helpers)
    header = [f'"""{cls}: a PyTorch model drawn in netbuilder."""']
    stdlib = [i for i in unit.imports if i == "import importlib.util"]
    if any("math." in h for h in helper_src):
        stdlib.insert(0, "import math")
    if stdlib:
        header += [*stdlib, ""]
    header.append("import torch")
    if unit.functional or any("F." in h for h in helper_src):
        header.append("import torch.nn.functional as F")
    header.append("from torch import nn")
    rest = [i for i in unit.imports if i not in stdlib]
    if rest:
        header += ["", *rest]
    parts = ["\n".join(header)] + [p.rstrip("\n") for p in helper_src + unit.classes]
    src = "\n\n\n".join(parts)
    if main:
        src += "\n" + "\n".join(_main_block(graph, cls, args, len(outs), analysis,
                                             unit.attributes[id(graph)]))
    return src + "\n", cls


def node_attributes(graph: Graph, analysis: Analysis | None = None) -> dict[str, str]:
    """``{node id: attribute}`` of the generated class (``model.<attribute>`` is that node's
    module; a block's is its class instance). Only nodes that reach an output are listed."""
    return dict(all_node_attributes(graph, analysis)[id(graph)])


def all_node_attributes(graph: Graph, analysis: Analysis | None = None
                        ) -> dict[int, dict[str, str]]:
    """``node_attributes`` of the graph and of every block inside it, keyed by ``id`` of the
    (inner) graph, from one generation (walking blocks with ``node_attributes`` would generate
    each inner class once per level above it)."""
    unit = _Unit()
    _class_source(graph, analysis or analyze(graph), "Model", unit, "")
    return unit.attributes


def penalised_layers(graph: Graph, analysis: Analysis | None = None
                     ) -> list[tuple[str, float, float]]:
    """``(module path, l1, l2)`` of every weight layer with an L1/L2 penalty, inside blocks too
    (``"encoder.enc1"``: ``model.get_submodule(path)``). Training and the exported training
    script add the same penalties to the loss."""
    analysis = analysis or analyze(graph)
    out: list[tuple[str, float, float]] = []
    for nid, attr in node_attributes(graph, analysis).items():
        node = graph.node(nid)
        inner = analysis.nodes[nid].inner
        if node.inner is not None and inner is not None:
            out += [(f"{attr}.{path}", l1, l2)
                    for path, l1, l2 in penalised_layers(node.inner, inner)]
        elif node.spec.weight_layer and (node.params.get("l1") or node.params.get("l2")):
            out.append((attr, float(node.params.get("l1") or 0),
                        float(node.params.get("l2") or 0)))
    return out
