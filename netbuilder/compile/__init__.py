"""Shape analysis, Python code generation and module build. No Qt."""
from __future__ import annotations

from collections.abc import Collection

from ..graph import Diagnostic, Graph
from .analysis import Analysis, NodeInfo
from .analysis import analyze as _analyze
from .build import build as _build
from .build import exec_source
from .checks import structural
from .codegen import frozen_layers, generate, node_attributes, penalised_layers, used_nodes
from .gen_checks import gen_checks

__all__ = ["analyze", "check", "build", "to_python", "Analysis", "NodeInfo", "exec_source",
           "used_nodes", "generate", "node_attributes", "penalised_layers", "frozen_layers",
           "gen_checks"]


def analyze(graph: Graph, batch_size: int = 1) -> Analysis:
    """Per-node shapes, parameters, MACs and diagnostics (incremental: cached per node)."""
    result = _analyze(graph)
    result.batch_size = batch_size  # NOTE: shapes never depend on it; only memory estimates do
    return result


def check(graph: Graph, needs: Collection[str] = ()) -> list[Diagnostic]:
    """All diagnostics: structural ones, generative wiring (GAN, VAE), then each node's in
    topological order. ``needs``: what the training task requires of the drawing
    (``gen_checks.NEEDS``); their gaps are errors."""
    analysis = _analyze(graph)
    return structural(graph) + gen_checks(graph, analysis, needs) + analysis.diagnostics


def build(graph: Graph, class_name: str | None = None):
    """The graph as an ``nn.Module``, built by executing its generated source (kept as
    ``module.netbuilder_source``)."""
    return _build(graph, class_name)


def to_python(graph: Graph, class_name: str | None = None, main: bool = True) -> str:
    """Standalone PyTorch source of the graph (with a ``__main__`` smoke test when ``main``)."""
    return generate(graph, class_name, main)[0]
