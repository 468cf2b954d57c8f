"""Importing a PyTorch ``nn.Module`` as a netbuilder graph, through ``torch.fx``.

The module is traced with every submodule as a leaf. torch.nn layers become their nodes
(``fx_map``), torch functions and tensor methods become the matching nodes, and custom
submodules (and ``nn.Sequential``) are traced in turn and become blocks (``fx_builder``). A
real forward pass on example inputs records every value, which settles what a ``view`` means and
lets the result be checked: parameter counts per layer, then the outputs of the built graph
against the original's. What has no node type becomes a placeholder (``fx_placeholders``: a
Function or Module node) and code torch.fx cannot trace falls back (concrete arguments, a Module
node, ``torch.export``); the report (``graph.meta["imported"]``, ``import_report``) says which,
with the user's file and line. Only what no placeholder can hold is refused, all at once.

    g = import_module(Net(), input_shapes=[(1, 28, 28)])
    m = g.build()
    m.load_state_dict(map_state_dict(net.state_dict(), g))
"""
from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from ..errors import ModelImportError
from ..graph import Graph, auto_layout
from ..graph.block_merge import merge_identical_blocks
from . import fx_batch, fx_builder, fx_inline, fx_names, fx_pytree, import_report
from .batch_axis import place
from .codegen import all_node_attributes
from .fx_placeholders import Untraceable
from .fx_record import Recorder, Tracer, same_constants, trace_module
from .import_source import short_path as _short_path
from .import_verify import built_with
from .import_verify import verify as verify_outputs

META_KEY = "imported"  # graph.meta[META_KEY]: where the graph came from, for map_state_dict


@dataclass
class Problem:
    """One operation that cannot be imported, and where it is."""

    what: str
    where: str = ""  # "file.py:12"
    code: str = ""

    def __str__(self) -> str:
        at = f" at {self.where}" if self.where else ""
        code = f": `{self.code}`" if self.code else ""
        return f"{self.what}{at}{code}"


@dataclass
class _Session:
    """What one import collects across the module and its blocks."""

    # (module, (concrete, values), name, prefix, id path, fx node, parent) -> Graph | Value
    import_block: Callable = None
    import_exported: Callable = None  # the same, through torch.export, and why
    problems: list[Problem] = field(default_factory=list)
    placeholders: list[import_report.Placeholder] = field(default_factory=list)
    fallbacks: list[import_report.Fallback] = field(default_factory=list)
    state_names: dict[str, list[str]] = field(default_factory=dict)  # module path -> id path
    checks: list[tuple] = field(default_factory=list)  # (graph, node id, module, fx node)
    output: Any = None  # what the model returned in the recording run: the verification's want
    # id(block module) -> (traced, concrete, recorder): blocks recorded within their parent's
    # run, each taken once by its import (a module called again records again)
    recorded: dict[int, tuple] = field(default_factory=dict)

    def problem(self, what: str, node: fx.Node | None = None) -> None:
        where, code = _location(node) if node is not None else ("", "")
        p = Problem(what, where, code)
        if not any(str(q) == str(p) for q in self.problems):
            self.problems.append(p)

    def placeholder(self, kind: str, what: str, path: str, why: str, node: fx.Node) -> None:
        where, code = _location(node)
        self.placeholders.append(import_report.Placeholder(kind, what, path, why, where, code))

    def fallback(self, path: str, done: str, why: str, node: fx.Node | None = None) -> None:
        where, code = _location(node) if node is not None else ("", "")
        self.fallbacks.append(import_report.Fallback(path, done, why, where, code))


def import_module(module: nn.Module, example_inputs: Any = None, *,
                  input_shapes: Sequence[Sequence[int]] | None = None, name: str | None = None,
                  verify: bool = True, input_dtypes: Sequence[str | None] | None = None
                  ) -> Graph:
    """A graph equivalent to ``module``.

    Give ``example_inputs`` (a tensor or a tuple, batch first) or ``input_shapes`` (one shape
    per ``forward`` argument, without the batch dimension; a lone Linear input is guessed),
    with ``input_dtypes`` ("float32" or "int64" per input; None: int64 token ids for an input
    that feeds an Embedding, else float32).
    ``verify`` builds the graph, loads the module's weights and compares outputs. Raises
    ``ModelImportError`` listing, with file and line, what not even a placeholder can hold.
    """
    if not isinstance(module, nn.Module):
        raise ModelImportError(f"Only torch.nn.Module instances can be imported, not "
                               f"{type(module).__name__}")
    label = type(module).__name__
    session = _Session()
    session.import_block = lambda *a: _import_block(session, *a)
    session.import_exported = lambda *a: _import_exported(session, *a)
    states = {m: m.training for m in module.modules()}
    module.eval()  # the recording run must not update batch-norm statistics
    try:
        try:
            traced, concrete = trace_module(module, label)
            exported = None
        except Untraceable as exc:  # the whole forward: torch.export is all that is left
            traced, concrete, exported = _signature_graph(module), {}, str(exc)
        args = _example_inputs(module, traced, concrete, example_inputs, input_shapes, label,
                               input_dtypes)
        gname = name or _graph_name(module)
        if exported is None:
            graph = _import_graph(session, module, traced, args, gname, "", [], concrete)
        else:
            graph = _import_exported(session, module, args, gname, "", [], None, exported,
                                     label)
        _raise_problems(session, label)
        _check_parameters(session, graph)
        _raise_problems(session, label)
        merge_identical_blocks(graph, _block_classes(graph, module))
        graph.meta[META_KEY] = {"source": f"{type(module).__module__}.{type(module).__qualname__}",
                                "state_dict": session.state_names,
                                **import_report.as_meta(session.placeholders,
                                                        session.fallbacks)}
        if verify:
            built = built_with(graph, map_state_dict(module.state_dict(), graph))
            verify_outputs(module, graph, built, args, label, session.output)
    finally:
        for m, training in states.items():
            m.train(training)
    return graph


def _block_classes(graph: Graph, module: nn.Module, path: tuple = ()) -> dict[tuple, str]:
    """``{block node id path: the class it was imported from}`` (block nodes are named after
    their attribute), which names the block definitions."""
    out = {}
    for node in graph.nodes():
        sub = _submodule(module, node.name) if node.inner is not None else None
        if sub is not None:
            out[(*path, node.id)] = type(sub).__name__
            out.update(_block_classes(node.inner, sub, (*path, node.id)))
    return out


def _submodule(module: nn.Module, path: str) -> nn.Module | None:
    """The child at ``path`` (``layer1``, ``branches.0``), or None."""
    try:
        return module.get_submodule(path)
    except AttributeError:
        return None


def _raise_problems(session: _Session, label: str) -> None:
    if not session.problems:
        return
    n = len(session.problems)
    them = "them" if n > 1 else "it"
    lines = "\n".join(f"  - {p}" for p in session.problems)
    done = import_report.lines(session.placeholders, session.fallbacks)
    if done:
        lines += "\n(besides, as placeholders:)\n" + "\n".join(done)
    err = ModelImportError(
        f"Cannot import {label}: {n} operation{'s' if n > 1 else ''} cannot become netbuilder "
        f"layers:\n{lines}\nRewrite {them} with supported layers (see the palette), or import "
        f"the parts around {them} separately.")
    err.problems = list(session.problems)
    raise err


def _graph_name(module: nn.Module) -> str:
    doc = inspect.getdoc(type(module)) or ""
    m = re.match(r"Generated by netbuilder from the graph '(.*)'\.", doc)
    return m.group(1) if m else type(module).__name__


def _import_block(session: _Session, module, call, name, prefix, id_path, fxn, parent=None):
    """A block's graph; or, for a module that is one layer plus what it adds (its own
    tensors used by one layer call: ``fx_inline.owner``), the value it returns, built
    into ``parent``'s graph. Untraceable when torch.fx cannot trace it (the caller falls
    back)."""
    concrete, args = call
    traced, recorder = None, None
    recorded = session.recorded.pop(id(module), None)
    if recorded is not None and same_constants(recorded[1], concrete):
        traced, concrete, recorder = recorded  # traced and run within its parent's run
    if traced is None:
        traced, concrete = trace_module(module, type(module).__name__, concrete)
    owner = fx_inline.owner(traced, module) if parent is not None else None
    return _import_graph(session, module, traced, args, name, prefix, id_path, concrete,
                         parent, owner, recorder)


def _signature_graph(module: nn.Module) -> fx.Graph:
    """A graph of ``forward``'s required arguments only (the inputs of an untraceable model)."""
    g = fx.Graph()
    try:
        params = inspect.signature(module.forward).parameters.values()
    except (TypeError, ValueError):
        params = []
    for p in params:
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            g.placeholder(p.name)
    return g


def _import_exported(session, module, args, name, prefix, id_path, fxn, why, label=None
                     ) -> Graph | None:
    """A module torch.fx cannot trace, through ``torch.export`` (ATen operators, its
    submodules kept); None, with the reasons, when that fails too."""
    what = label or f"{type(module).__name__} '{prefix.rstrip('.')}'"
    args = tuple(a for a in args if a is not None)
    try:
        # Recurrent layers and cells keep their call (``cell(x, (h, c))``), as layers do.
        keep = tuple(k for k, m in module.named_modules()
                     if k and isinstance(m, (nn.RNNBase, nn.RNNCellBase)))
        exported = torch.export.export(
            module, args, dynamic_shapes=tuple({0: torch.export.Dim.AUTO}
                                 if isinstance(a, torch.Tensor) else None for a in args),
            strict=False, preserve_module_call_signature=keep)
        unflat = torch.export.unflatten(exported)
        traced = unflat.graph
        fx_pytree.simplify(unflat, traced)
    except Exception as exc:  # noqa: BLE001 (the fallback's own failure joins the reasons)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        session.problem(f"{what}: {why}; torch.export cannot either ({text}). Python control "
                        f"flow on tensor values (if/while on a tensor) cannot become a graph: "
                        f"make it depend on constructor arguments", fxn)
        return None
    session.fallback(prefix.rstrip(".") or label or "", "imported through torch.export "
                     "(torch.fx cannot trace it)", why, fxn)
    return _import_graph(session, module, traced, args, name, prefix, id_path, {})



def _import_graph(session, module, traced, args, name, prefix, id_path, concrete,
                  parent=None, owner=None, recorder=None):
    if recorder is None:
        recorder = Recorder(module, traced, session)
        try:
            # Seeded as the verification's run of the built graph is: the same noise.
            with torch.no_grad(), torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                out = recorder.run(*args)
            if not id_path and parent is None:
                session.output = out
        except Exception as exc:  # noqa: BLE001 (the user's forward may raise anything)
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            session.problem(f"{type(module).__name__} fails on the example inputs "
                            f"({type(exc).__name__}: {text}); check the input shapes")
            return None
    if concrete:
        fixed = ", ".join(f"{k}={v!r}" for k, v in concrete.items())
        session.fallback(prefix.rstrip("."), f"traced with {fixed} (its default)",
                         "torch.fx needs concrete values for arguments that are not tensors")
    noise = [k for k, v in concrete.items() if v is None]  # names for the Noise nodes
    if owner is not None:
        return fx_inline.InlineBuilder(session, module, traced, recorder, parent, prefix,
                                        owner, name).run_inline()
    builder = fx_builder.Builder(session, module, traced, recorder, Graph(name), prefix,
                                 id_path, noise)
    graph = builder.run()
    auto_layout(graph)
    return graph


# --- example inputs ----------------------------------------------------------------------------

def _example_inputs(module, traced, concrete, example_inputs, input_shapes, label,
                    dtypes=None) -> tuple:
    """One tensor per traced argument (None for those traced as None), with a batch of 2:
    a reshape that keeps the batch then differs from one that hard-codes a batch of 1."""
    # Placeholders follow forward's parameters; those traced as None come last (a default).
    placeholders = [n for n in traced.nodes if n.op == "placeholder"]
    placeholders = placeholders[:len(placeholders) - len(concrete)]
    tail = tuple(concrete.values())
    if example_inputs is not None:
        args = example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
        def tensors(a) -> bool:  # a tensor, or a tuple of them (an LSTM's state (h, c))
            return isinstance(a, torch.Tensor) and a.dim() >= 1 or \
                isinstance(a, tuple) and bool(a) and all(map(tensors, a))
        if not all(tensors(a) for a in args):
            raise ModelImportError("example_inputs must be tensors with a batch dimension "
                                   "(or tuples of them)")
        if len(args) != len(placeholders):
            raise ModelImportError(f"{label}.forward takes {len(placeholders)} input(s) but "
                                   f"{len(args)} example input(s) were given")
        return tuple(torch.cat([a, a]) if isinstance(a, torch.Tensor) and a.shape[0] == 1
                     else a for a in args) + tail
    if input_shapes is None:
        input_shapes = [_guess_shape(module, p, label) for p in placeholders]
    try:
        shapes = [tuple(int(d) for d in s) for s in input_shapes]
    except (TypeError, ValueError):
        raise ModelImportError(f"Input shapes must be tuples of sizes such as (1, 28, 28), not "
                               f"{input_shapes!r}") from None
    state = _initial_state(module, len(placeholders) - len(shapes))
    if len(shapes) + len(state) != len(placeholders):
        names = ", ".join(p.name for p in placeholders)
        raise ModelImportError(f"{label}.forward takes {len(placeholders)} input(s) ({names}) "
                               f"but {len(shapes)} input shape(s) were given")
    if any(d < 1 for s in shapes for d in s):
        raise ModelImportError(f"Input shapes must hold positive sizes, not {shapes}")
    dtypes = list(dtypes or ())
    if dtypes and (len(dtypes) != len(shapes) or
                   any(d not in (None, "float32", "int64") for d in dtypes)):
        raise ModelImportError(f"Input dtypes must be one per input shape, each 'float32', "
                               f"'int64' or None, not {dtypes!r}")
    out = []
    gen = torch.Generator().manual_seed(0)
    for i, (p, shape) in enumerate(zip(placeholders, shapes)):
        dtype = dtypes[i] if dtypes else None
        vocab = _token_vocabulary(module, p) if dtype != "float32" else None
        # the batch of 2 where the model reads it: second for sequence-first tokens
        size = place(shape, fx_batch.sequence_axis(module, p), 2)
        if vocab or dtype == "int64":  # token ids below the vocabulary (2 when none is seen)
            out.append(torch.randint(0, vocab or 2, size, generator=gen))
        else:
            out.append(torch.randn(*size, generator=gen))
    return tuple(out) + state + tail


def _initial_state(module: nn.Module, missing: int) -> tuple:
    """The recurrent state arguments no shape was given for, from the model's own
    ``init_hidden(batch)`` (as the PyTorch examples' language models have); () otherwise."""
    init = getattr(module, "init_hidden", None)
    if missing != 1 or not callable(init):
        return ()
    try:
        with torch.no_grad():
            state = init(2)
    except Exception:  # noqa: BLE001 (the user's method: then the shapes must be given)
        return ()
    return (state,) if isinstance(state, (torch.Tensor, tuple)) else ()


def _consumers(module: nn.Module, placeholder: fx.Node) -> list[nn.Module]:
    return [module.get_submodule(u.target) for u in placeholder.users if u.op == "call_module"]


def _token_vocabulary(module: nn.Module, placeholder: fx.Node) -> int | None:
    """Vocabulary size when the input feeds an Embedding (its values must be token ids)."""
    for u in placeholder.users:  # F.embedding(tokens, self.weight)
        weight = u.args[1] if u.target is F.embedding and len(u.args) > 1 else None
        if isinstance(weight, fx.Node) and weight.op == "get_attr":
            return module.get_parameter(weight.target).shape[0]
    for m in _consumers(module, placeholder):
        if isinstance(m, nn.Embedding):
            return m.num_embeddings
        if fx_names.is_block(m):
            try:
                inner = Tracer().trace(m)
            except Exception:  # noqa: BLE001 (reported when the block itself is imported)
                return None
            first = next((n for n in inner.nodes if n.op == "placeholder"), None)
            if first is not None:
                return _token_vocabulary(m, first)
    return None


def _guess_shape(module: nn.Module, placeholder: fx.Node, label: str) -> tuple[int, ...]:
    for m in _consumers(module, placeholder):
        if isinstance(m, nn.Linear):
            return (m.in_features,)
    raise ModelImportError(
        f"Give the input shape of {label} (without the batch dimension), e.g. --input-shape "
        f"1,28,28 for 28×28 grey images: it cannot be read from the model")


# --- locations ---------------------------------------------------------------------------------

def _location(n: fx.Node) -> tuple[str, str]:
    """``("file.py:12", "code")`` from the node's stack trace (or its inputs' when it has none)."""
    for cand in [n, *n.all_input_nodes]:
        found = re.findall(r'File "([^"]+)", line (\d+), in \S+\n\s*(.*)', cand.stack_trace or "")
        if found:
            path, line, code = found[-1]
            return f"{_short_path(path)}:{line}", code.strip()
    return "", ""


# --- checks and weights ------------------------------------------------------------------------

def _check_parameters(session: _Session, graph: Graph) -> None:
    """Each layer's inferred sizes must give the original module's parameter count."""
    infos = {}

    def walk(g, analysis):
        for nid, info in analysis.nodes.items():
            infos[(id(g), nid)] = info
            if info.inner is not None:
                walk(g.node(nid).inner, info.inner)
    analysis = graph.analyze()
    walk(graph, analysis)
    unanalysed = False
    for g, nid, mod, n in session.checks:
        info = infos.get((id(g), nid))
        want = sum(p.numel() for p in mod.parameters())
        if info is None:  # inside a block whose analysis stopped: its error says why, below
            unanalysed = True
        elif info.error:
            session.problem(f"{g.node(nid).label}: {info.error}", n)
        elif info.params != want:
            session.problem(f"{g.node(nid).label} has {info.params} parameters but "
                            f"{type(mod).__name__} '{n.target}' has {want}", n)
    if unanalysed:
        for info in infos.values():
            if info.error and info.inner is None:
                session.problem(f"the imported graph does not analyse: {info.error}")


def map_state_dict(original: dict, graph: Graph) -> dict:
    """The original module's state dict with keys renamed for the imported graph's module.

    Keys of modules that ``forward`` never used are left out. A graph that was not imported
    gets the state dict back unchanged.
    """
    table = graph.meta.get(META_KEY, {}).get("state_dict")
    if not table:
        return dict(original)
    prefixes: dict[str, str] = {}
    names = _attribute_names(graph, graph.analyze())
    for path, ids in table.items():
        if tuple(ids) in names:
            prefixes[path] = names[tuple(ids)]
    out = {}
    for key, value in original.items():
        if key in prefixes:  # a Parameter or Constant node's own tensor (``cls_token``)
            out[prefixes[key]] = value
            continue
        head = key
        while "." in head:
            head = head.rsplit(".", 1)[0]
            if head in prefixes:
                out[f"{prefixes[head]}{key[len(head):]}"] = value
                break
    return out


def _attribute_names(graph: Graph, analysis, ids: tuple = (), prefix: str = "",
                     attributes: dict | None = None) -> dict:
    """``{node id path: "block.conv1"}`` with the attribute names codegen gives the nodes."""
    attributes = all_node_attributes(graph, analysis) if attributes is None else attributes
    out = {}
    for nid, attr in attributes.get(id(graph), {}).items():
        out[(*ids, nid)] = f"{prefix}{attr}"
        inner = graph.node(nid).inner
        if inner is not None:
            out.update(_attribute_names(inner, analysis.nodes[nid].inner, (*ids, nid),
                                        f"{prefix}{attr}.", attributes))
    return out


__all__ = ["META_KEY", "Problem", "import_module", "map_state_dict"]
