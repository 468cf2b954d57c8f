"""Live activity badges on the canvas: mean activation and share of dead units per node.

The numbers come from the probe's activation tiles (uint8 with the node's fixed levels), so
they cost nothing extra in the worker. A unit counts as dead when its whole output on the
probe sample is exactly zero after a rectifier (levels start at 0): a ReLU channel that is
silent everywhere. Nodes whose output can be negative get the mean only.
"""
from __future__ import annotations

import time

import numpy as np

from ...layers import get_spec

BADGE_PERIOD_S = 1.0
# Node categories whose outputs are worth a badge (each is a module the probe can hook).
BADGE_CATEGORIES = ("Convolution", "Dense", "Activation", "Pooling", "Normalization",
                    "Recurrent", "Attention", "Blocks", "Resampling")


def activity_stats(tiles: np.ndarray, levels: tuple[float, float], node_type: str | None = None
                   ) -> dict:
    """``{"mean": float, "dead": fraction | None}`` from one node's tiles and levels."""
    t = np.asarray(tiles)
    lo, hi = float(levels[0]), float(levels[1])
    values = lo + t.astype(np.float32) * ((hi - lo) / 255.0)
    mean = float(values.mean()) if values.size else 0.0
    dead = None
    rectified = node_type is None or get_spec(node_type).output_range == "nonnegative"
    if lo >= 0.0 and rectified:
        if t.ndim == 3 and t.shape[0] == 1 and t.shape[1] == 1:  # vector: one unit per value
            units = t.reshape(-1)
            dead = float(np.mean(units == 0)) if units.size else 0.0
        elif t.ndim == 3:  # maps: a channel is dead when all its pixels are zero
            per_channel = t.reshape(t.shape[0], -1).max(axis=1)
            dead = float(np.mean(per_channel == 0)) if len(per_channel) else 0.0
    return {"mean": mean, "dead": dead}


def badge_nodes(graph) -> list[tuple[str, str]]:
    """(node id, node name) of the top-level nodes that get a badge (probed during a run)."""
    out = []
    for n in graph.nodes():
        spec = n.spec
        if spec.category in BADGE_CATEGORIES and spec.probe != "never":
            out.append((n.id, n.name))
    return out


class ActivityBadges:
    """Turns Activations events into ``CanvasView.set_activity`` calls."""

    def __init__(self, canvas=None) -> None:
        self.canvas = canvas
        self.ids_by_name: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self.values: dict[str, dict] = {}  # node id -> last badge values
        self.enabled = True
        self._last = -float("inf")

    def set_canvas(self, canvas) -> None:
        self.clear()
        self.canvas = canvas

    def begin(self, graph) -> None:
        """A run starts on ``graph`` (the snapshot): remember which name is which node."""
        self.clear()
        self._last = -float("inf")
        self.ids_by_name = {n.name: n.id for n in graph.nodes()}
        self.types = {n.name: n.type for n in graph.nodes()}

    def show_event(self, event) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < BADGE_PERIOD_S:
            return  # a node repaint (and the minimap's) per second is enough to read
        self._last = now
        for name, tiles in event.tiles.items():
            node_id = self.ids_by_name.get(name)
            if node_id is None:
                continue
            levels = event.levels.get(name, (0.0, 1.0))
            stats = activity_stats(tiles, levels, self.types.get(name))
            old = self.values.get(node_id)
            self.values[node_id] = stats
            # Repaint only when the badge's text would change (3 digits, whole percents).
            if self.canvas is not None and (old is None or _shown(old) != _shown(stats)):
                self.canvas.set_activity(node_id, stats)

    def clear(self) -> None:
        if self.canvas is not None:
            for node_id in list(self.values):
                self.canvas.set_activity(node_id, None)
        self.values.clear()


def _shown(stats: dict) -> tuple:
    dead = stats.get("dead")
    return (f"{stats['mean']:.2g}", None if dead is None else round(dead * 100))
