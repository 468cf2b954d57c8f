"""The Pareto front of a set of points, each objective minimised or maximised."""
from __future__ import annotations

from collections.abc import Sequence


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """``a`` is at least as good as ``b`` in every objective and better in one."""
    better = False
    for x, y, d in zip(a, b, directions, strict=True):
        if d == "max":
            x, y = -x, -y
        if x > y:
            return False
        if x < y:
            better = True
    return better


def pareto_front(points: Sequence[Sequence[float]], directions: Sequence[str]) -> list[int]:
    """Indices (in input order) of the points no other point dominates; ``directions`` holds
    ``"min"`` or ``"max"`` per objective. Equal points are all on the front."""
    for d in directions:
        if d not in ("min", "max"):
            raise ValueError(f"a direction is 'min' or 'max', not {d!r}")
    for p in points:
        if len(p) != len(directions):
            raise ValueError(f"point {tuple(p)} has {len(p)} values for {len(directions)} "
                             f"objectives")
    return [i for i, p in enumerate(points)
            if not any(dominates(q, p, directions) for j, q in enumerate(points) if j != i)]
