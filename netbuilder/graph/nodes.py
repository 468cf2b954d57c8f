"""What a graph is made of: nodes (layer instances) and wires (``Edge``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..layers import LayerSpec, get_spec
from .diagnostics import label

if TYPE_CHECKING:
    from .model import Graph


@dataclass
class Node:
    """A layer instance. ``pos`` is UI metadata that is saved; ``inner`` is a block's graph."""

    id: str
    type: str
    name: str
    params: dict
    pos: tuple[float, float] = (0.0, 0.0)
    inner: Graph | None = None
    version: int = 0  # bumped on every change that affects shapes (analysis cache key)
    shares: str | None = None  # id of the node whose module this one uses (weight sharing)
    definition: str | None = None  # the block definition this block node uses (blockdefs.py)
    trainable: bool = True  # False: frozen (its parameters, a block's all inside, stay fixed)

    @property
    def spec(self) -> LayerSpec:
        return get_spec(self.type)

    @property
    def label(self) -> str:
        return label(self.type, self.name)

    @property
    def is_input(self) -> bool:
        """Where the graph's data enters (an Input; inside a block, one of its ports)."""
        return self.spec.boundary == "input"

    @property
    def is_output(self) -> bool:
        """A value the graph returns (an Output; inside a block, one of its ports)."""
        return self.spec.boundary == "output"

    @property
    def is_drawn_source(self) -> bool:
        """A source other than an Input (Noise): drawn inside forward unless passed in."""
        return self.spec.source and not self.spec.boundary

    @property
    def is_boundary(self) -> bool:
        """An Input or an Output: structure, not a layer."""
        return bool(self.spec.boundary)


@dataclass(frozen=True)
class Edge:
    """A wire ``(src, src_port) → (dst, dst_port)``; ``order`` keeps variadic inputs in order.

    ``parallel`` numbers further wires between the same two ports (``x + x`` is two wires into
    one Add); the first has 0 and the four-part key, the others a fifth key part.
    """

    src: str
    src_port: str
    dst: str
    dst_port: str
    order: int = field(default=0, compare=False)
    parallel: int = 0

    @property
    def key(self) -> tuple:
        base = (self.src, self.src_port, self.dst, self.dst_port)
        return base + (self.parallel,) if self.parallel else base


__all__ = ["Edge", "Node"]
