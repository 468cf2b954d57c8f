"""Graph-file load benchmark (run on purpose: ``pytest tests/benchmarks/test_load_bench.py -s``).

Loading is linear in the file's size: 1k, 5k and 20k wires into one Add node, all from one
source (x + x + ...) or each from its own ReLU. Goal: the time per wire stays flat: 20k wires
take at most 8x the time of 5k (linear is 4x, quadratic 16x; the margin is for a shared
machine's noise). Before the fix 5k wires alone took ~20 s (quadratic).
"""
from __future__ import annotations

import time

import pytest

from netbuilder.graph import from_json

from ..graph.wide_graphs import wide_graph_text

SIZES = (1000, 5000, 20000)


def _best_of(text: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        from_json(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("distinct", [False, True], ids=["one-source", "own-sources"])
def test_load_time_is_linear_in_wires(distinct):
    times = {n: _best_of(wide_graph_text(n, distinct)) for n in SIZES}
    for n, t in times.items():
        print(f"\n{n:>6} wires ({'own sources' if distinct else 'one source'}): {t * 1000:8.1f} ms"
              f" ({t / n * 1e6:.1f} µs per wire)", end="")
    assert times[20000] <= 8 * times[5000] + 0.05
    assert times[5000] < 4.0
