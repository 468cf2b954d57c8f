"""Helpers the generative tasks share: finding role blocks and their modules, reading a block's
last layer, drawing fixed noise, and seeding a side computation without touching the run's RNG."""
from __future__ import annotations

import contextlib

import torch

from ...compile import node_attributes
from ...graph import Graph, Node
from .base import TrainingError

# Layers that only reshape: skipped when asking which layer really ends a network.
_PASSIVE = ("Flatten", "Unflatten", "Reshape", "Identity", "Dropout", "Dropout2d", "Output")


def role_blocks(graph: Graph, role: str) -> list[Node]:
    """Top-level block nodes with ``role`` ("generator", "discriminator", "decoder", ...)."""
    return [n for n in graph.nodes() if n.inner is not None and n.spec.block_role == role]


def nodes_of_type(graph: Graph, type_: str) -> list[Node]:
    """Top-level nodes of ``type_`` in topological order."""
    return [graph.node(i) for i in graph.topo_order() if graph.node(i).type == type_]


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


def last_layer(graph: Graph) -> str | None:
    """Type of the layer that produces ``graph``'s first output ("Sigmoid", "Tanh", ...),
    looking through reshapes and into blocks."""
    outs = graph.outputs()
    return last_layer_of(graph, outs[0]) if outs else None


def last_layer_of(graph: Graph, node_id: str, port: str | None = None) -> str | None:
    """Like ``last_layer``, from ``node_id`` (``port``: which output of a block)."""
    node = graph.node(node_id)
    if node.inner is not None:
        outs = [port] if port in node.inner else node.inner.outputs()
        return last_layer_of(node.inner, outs[0]) if outs else None
    if node.type in _PASSIVE:
        edges = graph.in_edges(node_id)
        return last_layer_of(graph, edges[0].src, edges[0].src_port) if edges else None
    return node.type


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
    "last_layer",
    "last_layer_of",
    "nodes_of_type",
    "role_blocks",
    "seeded",
]
