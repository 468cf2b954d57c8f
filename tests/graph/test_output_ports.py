"""Output ports follow a node's parameters (Chunk, Split, max pools)."""
from __future__ import annotations

import pytest
import torch

import netbuilder as nb
from netbuilder.errors import ParamError


def _names(g: nb.Graph, nid: str) -> list[str]:
    return [p.name for p in g.output_ports(nid)]


def test_chunk_shows_one_port_per_chunk_and_grows_and_shrinks():
    g = nb.Graph()
    c = g.add("Chunk", "c", chunks=3)
    assert _names(g, c) == ["part0", "part1", "part2"]
    g.set_param(c, "chunks", 5)
    assert _names(g, c) == [f"part{i}" for i in range(5)]
    g.set_param(c, "chunks", 2)
    assert _names(g, c) == ["part0", "part1"]


def test_split_ports_come_from_listed_sizes_or_parts():
    g = nb.Graph()
    s = g.add("Split", "s", split_size=(2, 3, 1, 4))
    assert _names(g, s) == ["part0", "part1", "part2", "part3"]
    g.set_params(s, {"split_size": 2, "parts": 3})
    assert _names(g, s) == ["part0", "part1", "part2"]
    assert _names(g, g.add("Split", "t")) == ["part0", "part1"]  # default: parts = 2


@pytest.mark.parametrize("type_", ["MaxPool2d", "MaxPool1d", "AdaptiveMaxPool2d"])
def test_max_pool_indices_port_only_with_return_indices(type_):
    g = nb.Graph()
    p = g.add(type_, "p")
    assert _names(g, p) == ["out"]
    g.set_param(p, "return_indices", True)
    assert _names(g, p) == ["out", "indices"]
    with pytest.raises(nb.errors.PortError, match="no output port 'indices'"):
        g.connect(g.add(type_, "q"), g.add("ReLU"), src_port="indices")


def test_removing_a_wired_port_is_refused_and_changes_nothing():
    g = nb.Graph()
    x = g.add("Input", shape=(8, 4))
    p = g.add("MaxPool1d", "pool", return_indices=True)
    g.connect(x, p)
    u = g.add("MaxUnpool1d", "unpool")
    g.connect(p, u, src_port="out")
    g.connect(p, u, src_port="indices", dst_port="indices")
    version = g.node(p).version
    with pytest.raises(ParamError) as err:
        g.set_param(p, "return_indices", False)
    assert str(err.value) == ("MaxPool1d 'pool': return_indices = False removes output "
                              "'indices', which is wired to MaxUnpool1d 'unpool'; disconnect "
                              "that wire first")
    assert (err.value.node, err.value.field) == (p, "return_indices")
    assert g.node(p).params["return_indices"] is True and g.node(p).version == version
    g.disconnect(next(e for e in g.out_edges(p) if e.src_port == "indices"))
    g.set_param(p, "return_indices", False)  # the unwired port goes without complaint
    assert _names(g, p) == ["out"]


def test_codegen_and_build_use_only_the_ports_a_node_has():
    g = nb.Graph()
    x = g.add("Input", shape=(6, 4))
    c = g.add("Chunk", "qkv", chunks=3, dim=1)
    g.connect(x, c)
    for i in range(3):
        g.connect(c, g.add("Output", f"y{i}"), src_port=f"part{i}")
    p = g.add("MaxPool1d", "pool")
    g.connect(c, p, src_port="part0")
    g.connect(p, g.add("Output", "z"))
    source = g.to_python()
    assert "qkv_part0, qkv_part1, qkv_part2 = input1.chunk(3, dim=1)" in source
    assert "pool = self.pool(qkv_part0)" in source
    out = g.build()(torch.arange(48.0).view(2, 6, 4))
    assert [tuple(o.shape) for o in out] == [(2, 2, 4)] * 3 + [(2, 2, 2)]
