"""Helpers the generative tasks share: finding role blocks and their modules, reading a block's
output range, drawing fixed noise, and seeding a side computation without touching the run's RNG."""
from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from ...compile import node_attributes
from ...graph import Graph, Node
from ...layers import LayerSpec
from .base import TrainingError


def role_blocks(graph: Graph, role: str) -> list[Node]:
    """Top-level block nodes with ``role`` ("generator", "discriminator", "decoder", ...)."""
    return [n for n in graph.nodes() if n.inner is not None and n.spec.block_role == role]


def nodes_where(graph: Graph, test: Callable[[LayerSpec], bool]) -> list[Node]:
    """Top-level nodes whose spec passes ``test``, in topological order."""
    return [graph.node(i) for i in graph.topo_order() if test(graph.node(i).spec)]


def check_n_samples(options: dict) -> None:
    """``n_samples`` (pictures in a sample grid) is a whole number from 1 to 1024."""
    n = options["n_samples"]
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1024:
        raise TrainingError(f"n_samples must be a whole number from 1 to 1024, not {n!r}",
                            field="task_options.n_samples")


class Submodules:
    """``node id → module`` of a built graph (the attribute names codegen gave the nodes)."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self._attrs: dict[str, str] | None = None

    def __call__(self, module: torch.nn.Module, node_id: str) -> torch.nn.Module:
        if self._attrs is None:
            self._attrs = node_attributes(self.graph)
        return getattr(module, self._attrs[node_id])


def output_range(graph: Graph) -> str:
    """What ``graph``'s first output holds (a spec's ``output_range``: "unit_interval" after a
    Sigmoid, "signed_unit" after a Tanh; "" when unbounded), through reshapes and blocks."""
    outs = graph.outputs()
    return output_range_of(graph, outs[0]) if outs else ""


def output_range_of(graph: Graph, node_id: str, port: str | None = None) -> str:
    """Like ``output_range``, from ``node_id`` (``port``: which output of a block)."""
    node = graph.node(node_id)
    if node.inner is not None:
        outs = [port] if port in node.inner else node.inner.outputs()
        return output_range_of(node.inner, outs[0]) if outs else ""
    if node.spec.passes_values:
        edges = graph.in_edges(node_id)
        return output_range_of(graph, edges[0].src, edges[0].src_port) if edges else ""
    return node.spec.output_range


@contextlib.contextmanager
def seeded(seed: int, device: torch.device):
    """Run a side computation (sample grids) from a fixed seed, leaving the run's RNG as it was,
    so that showing pictures never changes what training draws next."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


__all__ = [
    "Submodules",
    "nodes_where",
    "output_range",
    "output_range_of",
    "role_blocks",
    "seeded",
]
