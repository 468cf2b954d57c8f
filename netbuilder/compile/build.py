"""Executing generated source into a live module (the one path from graph to nn.Module)."""
from __future__ import annotations

import itertools
import linecache

from ..graph import Graph
from .codegen import generate

_counter = itertools.count(1)


def exec_source(source: str, label: str = "model") -> dict:
    """Execute generated source with its lines registered, so tracebacks show the code."""
    label = "".join(c if c.isprintable() else "?" for c in label)  # a NUL byte, a surrogate
    filename = f"<netbuilder:{label}:{next(_counter)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict = {"__name__": "netbuilder_generated"}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 (our own generated code)
    return namespace


def build(graph: Graph, class_name: str | None = None):
    """``torch.nn.Module`` of the graph; ``module.netbuilder_source`` holds its source."""
    source, cls = generate(graph, class_name, main=False)
    namespace = exec_source(source, graph.name)
    module = namespace[cls]()
    module.netbuilder_source = source
    return module
