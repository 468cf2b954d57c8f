"""Loading is linear in the graph's size, and the indexes that make it so stay exact."""
from __future__ import annotations

import time

import pytest

import netbuilder as nb
from netbuilder.graph import from_json, to_json

from .wide_graphs import wide_graph_text


@pytest.mark.parametrize("distinct", [False, True], ids=["x+x+...", "5000-sources"])
def test_5000_wires_into_one_node_load_in_linear_time(distinct):
    text = wide_graph_text(5000, distinct)
    start = time.perf_counter()
    g = from_json(text)
    elapsed = time.perf_counter() - start
    add = g.find("total")
    wires = g.in_edges(add)
    assert len(wires) == 5000
    if distinct:
        assert [e.src for e in wires] == [f"n{i + 3}" for i in range(5000)]
    else:
        assert sorted(e.parallel for e in wires) == list(range(5000))
    # (generous bounds for a shared machine: quadratic loading took 20 s and more)
    bound = 8.0 if distinct else 3.0  # (5,000 more nodes, and as many wires again)
    assert elapsed < bound, f"5,000 wires took {elapsed:.1f} s to load"
    assert from_json(to_json(g)).in_edges(add) == wires


def test_a_freed_parallel_number_and_name_are_reused():
    g = nb.Graph()
    x = g.add("Input", "x", shape=(3,))
    s = g.add("Add", "sum")
    wires = [g.connect(x, s) for _ in range(4)]
    assert [e.parallel for e in wires] == [0, 1, 2, 3]
    g.disconnect(wires[1])
    assert g.connect(x, s).parallel == 1  # the smallest free number, as before
    assert g.connect(x, s).parallel == 4
    r = [g.add("ReLU") for _ in range(3)]
    assert [g.node(i).name for i in r] == ["relu1", "relu2", "relu3"]
    g.remove(r[0])
    assert g.node(g.add("ReLU")).name == "relu1"
    g.rename(r[1], "act")
    assert g.find("act") == r[1]
    assert g.node(g.add("ReLU")).name == "relu2"
    with pytest.raises(nb.GraphError, match="No node named 'relu3x'"):
        g.find("relu3x")
    with pytest.raises(nb.NameTakenError, match="'act' is taken by ReLU 'act'"):
        g.add("Tanh", "act")


def test_a_taken_single_input_is_refused_and_freed_by_a_disconnect():
    g = nb.Graph()
    x = g.add("Input", "x", shape=(3,))
    fc = g.add("Linear", "fc")
    e = g.connect(x, fc)
    assert g.free_input_ports(fc) == []
    with pytest.raises(nb.GraphError, match="already has its input"):
        g.connect(x, fc)
    g.disconnect(e)
    assert g.free_input_ports(fc) == ["in"]
    g.connect(x, fc)
    g.remove(x)
    assert g.free_input_ports(fc) == ["in"]
