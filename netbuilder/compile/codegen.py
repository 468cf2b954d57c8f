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
from ..graph.blockdefs import root_of, sequential_chain
from ..layers import EmitContext
from ..layers import modules as helper_modules
from ..layers.spec import keeping_defaults
from . import arg_groups
from .analysis import Analysis, analyze
from .block_classes import drop_defaults, generalize, skeleton
from .checks import structural
from .code_nodes import untrusted_code
from .module_paths import assignment, module_key, module_ref
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
    calls: dict = field(default_factory=dict)  # (id(node), id(analysis)) -> constructor call
    uses: dict = field(default_factory=dict)  # definition name -> [(node, inner analysis)]
    analyses: dict = field(default_factory=dict)  # id(block node) -> its inner analyses
    class_args: dict = field(default_factory=dict)  # generated class -> its argument names
    definitions: dict = field(default_factory=dict)  # the top graph's block definitions


def _new_unit(graph: Graph, analysis: Analysis) -> _Unit:
    """A unit that knows every use of every block definition below ``graph`` (a class
    shared by several uses is written once, with arguments for what differs)."""
    unit = _Unit(definitions=root_of(graph).definitions)

    def collect(g: Graph, a: Analysis) -> None:
        for nid in used_nodes(g):
            node, info = g.node(nid), a.nodes.get(nid)
            if node.inner is None or info is None or info.inner is None or info.error:
                continue
            instances = [info.inner] + ([info.inner_rest] if info.inner_rest else [])
            unit.analyses[id(node)] = instances
            if node.definition is not None:
                unit.uses.setdefault(node.definition, []).extend((node, i) for i in instances)
            for i in instances:
                collect(node.inner, i)
    collect(graph, analysis)
    return unit


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


@dataclass
class _Parts:
    """One class's code before it is assembled: ``__init__`` lines (one may span several),
    ``forward``'s parameters, body and returned variables, and what ``__main__`` passes."""

    init: list[str]
    params: list[str]
    body: list[str]
    outputs: list[str]
    args: list[str]
    groups: dict[str, list[str]]  # a tuple parameter's member Input ids


def _class_parts(graph: Graph, analysis: Analysis, unit: _Unit) -> _Parts:
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
    refs: dict[str, str] = {}  # node id -> how forward reaches its module (after ``self.``)
    made: set[str] = set()  # module paths registered in __init__ (containers included)
    for nid in keep:  # a container's name is no attribute of another node's
        key = module_key(graph.node(nid))
        if key is not None and key.split(".")[0].isidentifier():
            names.reserve(key.split(".")[0])
    for nid in keep:
        node = graph.node(nid)
        info = analysis.nodes[nid]
        attr = names.create(nid, node.name)
        owner = node.shares if node.shares in keep else None
        refs[nid] = module_ref(node, attr)
        if owner is None:  # a node that shares a module owns no attribute of its own
            unit.attributes[id(graph)][nid] = module_key(node) or attr
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
            if refs[nid] != attr:  # a block named by its position: registered under it
                init[-1] = assignment(node, attr, init[-1].split(" = ", 1)[1], made)
                body[-1] = body[-1].replace(f"self.{attr}(", f"self.{refs[nid]}(")
            continue
        if node.spec.source:
            # NOTE: a drawn source is an optional argument filled in from the companion Input;
            # with no Input in the graph it is a required argument (the model's input).
            drawn.append(attr)
            var[(nid, node.spec.outputs[0].name)] = attr
            if not companion:
                continue
            in_vars = companion
        ports = [p.name for p in node.spec.outputs_for(node.params)]
        out_vars = [attr] if len(ports) < 2 else \
            [names.create((nid, p), f"{attr}_{p}") for p in ports]
        # A shared module: the owner's attribute, called on this node's inputs.
        module = refs[nid] if owner is None else refs.get(owner) or \
            names.create(owner, graph.node(owner).name)
        ctx = EmitContext(name=module, params=node.params, in_vars=in_vars,
                          in_shapes=info.in_shapes, in_dtypes=info.in_dtypes, out_vars=out_vars,
                          in_axes=[analysis.edge_axis(e) for e in graph.in_edges(nid)])
        em = _emit(node, ctx, unit)
        if em.init and owner is None:
            init.append(assignment(node, attr, em.init, made))
            inits_after += _init_lines(node, refs[nid])
        body += em.forward
        if len(ports) < 2:
            var[(nid, ports[0] if ports else "out")] = attr
        else:  # the ports with a result (a Chunk into 3 fills 3 of its ports)
            var.update({(nid, p): v for p, v, s in zip(ports, out_vars, info.out_shapes)
                        if s is not None})
    outputs = []
    for o in graph.outputs():  # a sink block returns each of its outputs
        ports = ["out"] if graph.node(o).is_output else \
            [p.name for p in graph.output_ports(o) if (o, p.name) in var]
        outputs += [(o, var[(o, p)]) for p in ports]
    inputs = [n for n in keep if graph.node(n).is_input]
    args, unpack, groups = arg_groups.grouped_parameters(graph, inputs, args, names)
    params = args + [f"{d}=None" for d in drawn] if companion else args + drawn
    return _Parts(init + inits_after, params, unpack + body,
                  arg_groups.grouped_outputs(graph, outputs), args if companion else args + drawn,
                  groups)


def _emit(node, ctx: EmitContext, unit: _Unit):
    untrusted_code(node)
    em = node.spec.emit(ctx)
    unit.imports += [i for i in em.imports if i not in unit.imports]
    unit.helpers |= set(em.helpers)
    unit.functional |= em.uses_functional
    return em


def _assemble(cls: str, doc: str, parts: _Parts, init_text: str | None = None,
              signature: list[str] = ()) -> str:
    init_text = "\n".join(parts.init) if init_text is None else init_text
    lines = [f"class {cls}(nn.Module):", f'    """{doc}"""', "",
             f"    def __init__({', '.join(['self', *signature])}):",
             "        super().__init__()"]
    lines += [f"        {line}" for line in init_text.split("\n") if init_text]
    lines += ["", f"    def forward(self, {', '.join(parts.params)}):"]
    lines += [f"        {line}" for line in parts.body]
    lines.append(f"        return {', '.join(parts.outputs)}")
    return "\n".join(lines) + "\n"


def _emit_block(graph: Graph, nid: str, attr: str, info, names: Namespace, var: dict,
                unit: _Unit, init: list[str], body: list[str]) -> None:
    """A block node: its class (or an nn.Sequential) called on its inner ports, and called
    again (same weights) on each shared port its spec declares (a Discriminator's "real");
    a block sharing another calls the other's instance."""
    node = graph.node(nid)
    shared_in = [p.name for p in node.spec.inputs]
    edges = graph.in_edges(nid)
    in_vars = [var[(e.src, e.src_port)] for e in edges if e.dst_port not in shared_in]
    all_ports = [p.name for p in graph.output_ports(nid)]
    ports = all_ports[:len(all_ports) - len(node.spec.outputs)]
    outs = [attr] if len(ports) == 1 else [
        names.create((nid, p), f"{attr}_{node.inner.node(p).name}") for p in ports]
    if node.shares in graph:  # a shared block: the owner's instance, called again
        attr = names.create(node.shares, graph.node(node.shares).name)
    else:
        init.append(f"self.{attr} = {_block_expr(unit, node, info)}")
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


def _block_expr(unit: _Unit, node, info) -> str:
    """What a block node's attribute is made of: its class called with the use's arguments,
    or an nn.Sequential; a block repeated ×N is an nn.Sequential of N of them."""
    first = _instance_expr(unit, node, info.inner)
    n = int(node.params.get("repeat", 1))
    if n == 1:
        return first
    rest = first if info.inner_rest is None else _instance_expr(unit, node, info.inner_rest)
    if n > 4:
        return f"nn.Sequential({first}, *({rest} for _ in range({n - 1})))"
    return _sequential([first] + [rest] * (n - 1))


def _sequential(elements: list[str]) -> str:
    body = "".join("    " + e.replace("\n", "\n    ") + ",\n" for e in elements)
    return f"nn.Sequential(\n{body})"


def _instance_expr(unit: _Unit, node, analysis: Analysis) -> str:
    key = (id(node), id(analysis))
    if key not in unit.calls:
        if node.definition is None and int(node.params.get("repeat", 1)) == 1:
            expr = _sequential_expr(unit, node.inner, analysis)
            if expr is not None:
                return expr
        _emit_group(unit, _group_of(unit, node, analysis))
    return unit.calls[key]


def _group_of(unit: _Unit, node, analysis: Analysis) -> list[tuple]:
    """Every instance that may share this one's class: all uses of its definition in the
    graph (each repetition of a repeated block counted), or this block's own repetitions."""
    if node.definition is not None:
        if node.definition not in unit.uses:
            unit.uses[node.definition] = []
        found = unit.uses[node.definition]
        if not any(n is node and a is analysis for n, a in found):
            found.append((node, analysis))
        return found
    inner = unit.analyses.get(id(node))
    return [(node, a) for a in (inner or [analysis])]


def _emit_group(unit: _Unit, group: list[tuple]) -> None:
    """Classes for a group of instances: one per distinct skeleton, with arguments."""
    with keeping_defaults() as kept:
        parts = [_class_parts(n.inner, a, unit) for n, a in group]
    texts = ["\n".join(p.init) for p in parts]
    by_skeleton: dict[tuple, list[int]] = {}
    for k, (p, t) in enumerate(zip(parts, texts)):
        key = (skeleton(t), tuple(p.body), tuple(p.params), tuple(p.outputs))
        by_skeleton.setdefault(key, []).append(k)
    node0 = group[0][0]
    base = node0.definition or class_name(node0.name)
    role = node0.spec.block_role or "block"
    for j, ks in enumerate(by_skeleton.values()):
        cls = unit.class_names.create(("block", id(node0), j), base if j == 0 else f"{base}{j + 1}")
        gen = generalize([texts[k] for k in ks], _argument_hint(unit, node0),
                         unit.class_args)
        unit.class_args[cls] = gen.names
        if node0.definition is not None:
            doc = f"The block definition {quoted(node0.definition, 50)}."
        else:
            doc = f"The {role} {quoted(node0.name, 50)}."
        unit.classes.append(_assemble(cls, doc, parts[ks[0]], drop_defaults(gen.text, kept),
                                      gen.signature))
        for k, call in zip(ks, gen.calls):
            n, a = group[k]
            unit.calls[(id(n), id(a))] = f"{cls}({call})"


def _argument_hint(unit: _Unit, node):
    """Names from the block definition: the argument bound to (node name, parameter)."""
    d = unit.definitions.get(node.definition)
    by_attr = {}
    if d is not None:
        attrs = unit.attributes.get(id(node.inner), {})
        for arg, a in d.arguments.items():
            for bind in a.binds:
                if len(bind) == 2 and bind[0] in node.inner._names:
                    attr = attrs.get(node.inner.find(bind[0]))
                    by_attr.setdefault((attr, bind[1]), arg)
    return lambda attr, param: by_attr.get((attr, param))


def _sequential_expr(unit: _Unit, inner: Graph, analysis: Analysis) -> str | None:
    """``nn.Sequential(...)`` for a block that is a chain of modules named 0, 1, ...; None
    when it is not one (it then gets a class)."""
    order = sequential_chain(inner)
    if order is None or _errors_for(inner, analysis, used_nodes(inner)):
        return None
    elements = []
    for nid in order:
        node, info = inner.node(nid), analysis.nodes[nid]
        if node.inner is not None:
            elements.append(_block_expr(unit, node, info))
            continue
        if _init_lines(node, "m"):
            return None
        extra = [f"y_{p.name}" for p in node.spec.outputs_for(node.params)[1:]]
        em = _emit(node, EmitContext(name="m", params=node.params, in_vars=["x"],
                                     in_shapes=info.in_shapes, in_dtypes=info.in_dtypes,
                                     out_vars=["y", *extra]), unit)
        if not em.init or em.forward != ["y = self.m(x)"]:
            return None
        elements.append(em.init)
    unit.attributes[id(inner)] = {nid: str(i) for i, nid in enumerate(order)}
    return _sequential(elements)


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


def _main_block(graph: Graph, cls: str, parts: _Parts, analysis: Analysis,
                attributes: dict) -> list[str]:
    lines = ["", "", 'if __name__ == "__main__":', f"    model = {cls}()"]
    by_attr = {a: nid for nid, a in attributes.items()}
    args = parts.args
    for arg in args:
        if arg in parts.groups:  # a tuple of Inputs (an LSTM's state)
            lines.append(f"    {arg} = " + arg_groups.example_group(
                parts.groups[arg], lambda nid: _example(graph, nid, analysis)))
            continue
        nid = by_attr[arg]
        lines.append(f"    {arg} = {_example(graph, nid, analysis)}")
    lines.append(f"    out = model({', '.join(args)})")
    if len(parts.outputs) == 1 and not parts.outputs[0].startswith("("):
        lines.append("    print(tuple(out.shape))")
    elif len(parts.outputs) == 1:  # one tuple of Outputs
        lines.append("    print([tuple(o.shape) for o in out])")
    else:
        lines.append("    print([tuple(o.shape) if isinstance(o, torch.Tensor) else "
                     "[tuple(p.shape) for p in o] for o in out])" if any(
                         arg_groups.group_of(graph, o) for o in graph.outputs()
                         if graph.node(o).is_output) else
                     "    print([tuple(o.shape) for o in out])")
    return lines


def _example(graph: Graph, nid: str, analysis: Analysis) -> str:
    """A random example of an Input's (or a drawn source's) value, batch of 2."""
    p = dict(graph.node(nid).params)
    if not graph.node(nid).is_input:  # a drawn source (Noise) without a companion
        p = {"shape": analysis.shape(nid), "dtype": "float32"}
    axis = int(p.get("batch_dim", 0))  # where the Input's batch lies (tokens (T, N))
    shape = ", ".join(str(int(d)) for d in (*p["shape"][:axis], 2, *p["shape"][axis:]))
    return f"torch.randint(0, 2, ({shape}))" if p["dtype"] == "int64" else \
        f"torch.randn({shape})"


def generate(graph: Graph, class_name_: str | None = None, main: bool = True,
             analysis: Analysis | None = None) -> tuple[str, str]:
    """``(source, class name)`` for the whole graph."""
    analysis = analysis or analyze(graph)
    unit = _new_unit(graph, analysis)
    cls = unit.class_names.create("main", class_name_ or class_name(graph.name))
    parts = _class_parts(graph, analysis, unit)
    unit.classes.append(_assemble(
        cls, f"Generated by netbuilder from the graph {quoted(graph.name, 36)}.", parts))
    class_parts = parts
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
        src += "\n" + "\n".join(_main_block(graph, cls, class_parts, analysis,
                                             unit.attributes[id(graph)]))
    return src + "\n", cls


def node_attributes(graph: Graph, analysis: Analysis | None = None) -> dict[str, str]:
    """``{node id: attribute}`` of the generated class (``model.<attribute>`` is that node's
    module; a block's is its class instance). Only nodes that reach an output are listed."""
    analysis = analysis or analyze(graph)
    unit = _new_unit(graph, analysis)
    owner = graph.parent[0].node(graph.parent[1]) if graph.parent is not None and \
        graph.parent[1] in graph.parent[0] else None
    if owner is not None and owner.definition is None and \
            int(owner.params.get("repeat", 1)) == 1 and \
            _sequential_expr(unit, graph, analysis) is not None:  # nn.Sequential: 0, 1, ...
        return dict(unit.attributes[id(graph)])
    _class_parts(graph, analysis, unit)
    return dict(unit.attributes[id(graph)])


def forward_groups(graph: Graph, analysis: Analysis | None = None) -> dict[str, list[str]]:
    """``{tuple parameter of forward: its member Input ids}`` (``arg_groups``)."""
    analysis = analysis or analyze(graph)
    return dict(_class_parts(graph, analysis, _new_unit(graph, analysis)).groups)


def all_node_attributes(graph: Graph, analysis: Analysis | None = None
                        ) -> dict[int, dict[str, str]]:
    """``node_attributes`` of the graph and of every block inside it, keyed by ``id`` of the
    (inner) graph, from one generation (walking blocks with ``node_attributes`` would generate
    each inner class once per level above it)."""
    unit = _new_unit(graph, analysis or analyze(graph))
    _class_parts(graph, analysis or analyze(graph), unit)
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
            n = int(node.params.get("repeat", 1))  # ×N: an nn.Sequential of N instances
            heads = [attr] if n == 1 else [f"{attr}.{i}" for i in range(n)]
            out += [(f"{head}.{path}", l1, l2) for head in heads
                    for path, l1, l2 in penalised_layers(node.inner, inner)]
        elif node.spec.weight_layer and (node.params.get("l1") or node.params.get("l2")):
            out.append((attr, float(node.params.get("l1") or 0),
                        float(node.params.get("l2") or 0)))
    return out


def frozen_layers(graph: Graph, analysis: Analysis | None = None) -> list[str]:
    """Module paths (``"features"``, ``"head.norm"``) of the frozen nodes with parameters: a
    frozen block once, for everything inside it. Training and the exported training script
    freeze the parameters under these paths (see ``train.recipe.freeze``)."""
    analysis = analysis or analyze(graph)
    out: list[str] = []
    for nid, attr in node_attributes(graph, analysis).items():
        node, info = graph.node(nid), analysis.nodes[nid]
        if not info.params:
            continue
        if not node.trainable:
            out.append(attr)
        elif node.inner is not None and info.inner is not None:
            out += [f"{attr}.{path}" for path in frozen_layers(node.inner, info.inner)]
    return out
