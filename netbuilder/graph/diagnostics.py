"""Diagnostics: what `Graph.check()` reports. Never raised; listed."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnostic:
    """One finding about the graph. ``node`` is the node id, or None for the whole graph."""

    severity: str  # "error" | "warning" | "info"
    node: str | None
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


def label(type_name: str, name: str) -> str:
    """How messages name a node: ``Linear 'fc1'``."""
    return f"{type_name} '{name}'"


def fmt_shape(shape: tuple | None, batch: str = "N") -> str:
    """``(N, 16, 5, 5)`` for a sample shape ``(16, 5, 5)``; ``batch`` "1" for a learned
    tensor, which broadcasts over the batch."""
    if shape is None:
        return "(unknown)"
    return "(" + ", ".join([batch, *(str(d) for d in shape)]) + ")"
