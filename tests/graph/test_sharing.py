"""Shared modules (weight sharing): links are checked, saved, loaded strictly, carried through
copy, paste, group and ungroup; parameter edits reach every node of a group; generated code
calls one attribute; parameters count once."""
from __future__ import annotations

import json

import pytest
import torch

import netbuilder as nb
from netbuilder.errors import FileFormatError, GraphError
from netbuilder.graph import extract, from_json, paste, to_json


def _two_branches() -> tuple[nb.Graph, dict]:
    g = nb.Graph("pair")
    ids = {}
    for side in ("a", "b"):
        x = g.add("Input", f"x_{side}", shape=(6,))
        fc = g.add("Linear", f"fc_{side}", out_features=4)
        act = g.add("ReLU", f"relu_{side}")
        out = g.add("Output", f"y_{side}")
        g.connect(x, fc)
        g.connect(fc, act)
        g.connect(act, out)
        ids.update({f"fc_{side}": fc, f"relu_{side}": act, f"x_{side}": x})
    return g, ids


def test_a_shared_module_is_one_attribute_called_twice_with_parameters_counted_once():
    g, ids = _two_branches()
    g.share(ids["fc_b"], ids["fc_a"])
    g.share(ids["relu_b"], ids["relu_a"])  # a stateless module used twice: never a problem
    src = g.to_python()
    assert src.count("nn.Linear(6, 4)") == 1
    assert "fc_a = self.fc_a(x_a)" in src and "fc_b = self.fc_a(x_b)" in src
    analysis = g.analyze()
    assert analysis.ok
    assert analysis.total_params == 6 * 4 + 4
    assert analysis.nodes[ids["fc_b"]].params == 0
    model = g.build()
    assert sorted(model.state_dict()) == ["fc_a.bias", "fc_a.weight"]
    x = torch.randn(3, 6)
    ya, yb = model(x, x)
    assert torch.equal(ya, yb)


def test_parameter_edits_reach_every_node_that_shares_the_module():
    g, ids = _two_branches()
    g.set_params(ids["fc_b"], {"out_features": 9})  # before sharing: only its own
    g.share(ids["fc_b"], ids["fc_a"])
    assert g.node(ids["fc_b"]).params["out_features"] == 4  # takes the owner's settings
    seen = []
    g.param_changed.connect(lambda nid, k, v: seen.append((nid, k, v)))
    g.set_params(ids["fc_b"], {"out_features": 7})
    assert g.node(ids["fc_a"]).params["out_features"] == 7
    assert sorted(seen) == sorted([(ids["fc_a"], "out_features", 7),
                                   (ids["fc_b"], "out_features", 7)])


@pytest.mark.parametrize("target, message", [
    ("nope", "there is no such node"),
    ("self", "cannot share the module of itself"),
    ("relu_a", "a node shares only a layer of its own type (Linear)"),
    ("x_a", "a node shares only a layer of its own type"),
])
def test_a_bad_link_is_refused_with_the_reason(target, message):
    g, ids = _two_branches()
    wanted = ids["fc_b"] if target == "self" else ids.get(target, target)
    with pytest.raises(GraphError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        g.share(ids["fc_b"], wanted)
    assert info.value.node == ids["fc_b"] and info.value.field == "shares"
    assert g.node(ids["fc_b"]).shares is None


def test_links_are_one_level_deep():
    g, ids = _two_branches()
    third = g.add("Linear", "fc_c", out_features=4)
    g.share(ids["fc_b"], ids["fc_a"])
    with pytest.raises(GraphError, match="which itself shares Linear 'fc_a': share Linear "
                                         "'fc_a' directly"):
        g.share(third, ids["fc_b"])
    with pytest.raises(GraphError, match="Linear 'fc_b' shares Linear 'fc_a''s module"):
        g.share(ids["fc_a"], third)


def test_inputs_of_another_size_are_an_error_on_the_sharing_node():
    g, ids = _two_branches()
    g.set_params(ids["x_b"], {"shape": (5,)})
    g.share(ids["fc_b"], ids["fc_a"])
    errors = [d for d in g.analyze().diagnostics if d.is_error]
    assert [(d.node, d.message) for d in errors] == [(ids["fc_b"], (
        "Linear 'fc_b' shares the module of Linear 'fc_a' but receives (N, 5) where Linear "
        "'fc_a' receives (N, 6): a shared module needs inputs of the same size"))]
    with pytest.raises(nb.CompileError, match="a shared module needs inputs of the same size"):
        g.build()


def test_links_are_saved_and_loaded():
    g, ids = _two_branches()
    g.share(ids["fc_b"], ids["fc_a"])
    text = to_json(g)
    node = next(n for n in json.loads(text)["nodes"] if n["id"] == ids["fc_b"])
    assert node["shares"] == ids["fc_a"]
    back = from_json(text)
    assert back.node(ids["fc_b"]).shares == ids["fc_a"]
    assert to_json(back) == text
    assert g.copy().node(ids["fc_b"]).shares == ids["fc_a"]


@pytest.mark.parametrize("shares, message", [
    ("n99", "there is no such node"),
    (7, "shares must be the id of another node"),
    ("SELF", "cannot share the module of itself"),
    ("RELU", "a node shares only a layer of its own type"),
])
def test_a_bad_link_in_a_file_names_the_field(shares, message):
    g, ids = _two_branches()
    data = json.loads(to_json(g))
    index = next(i for i, n in enumerate(data["nodes"]) if n["id"] == ids["fc_b"])
    data["nodes"][index]["shares"] = {"SELF": ids["fc_b"], "RELU": ids["relu_a"]}.get(
        shares, shares)
    with pytest.raises(FileFormatError, match=message) as info:
        from_json(json.dumps(data))
    assert info.value.field == f"nodes[{index}].shares"


def test_a_chain_in_a_file_is_refused():
    g, ids = _two_branches()
    third = g.add("Linear", "fc_c", out_features=4)
    data = json.loads(to_json(g))
    by_id = {n["id"]: n for n in data["nodes"]}
    by_id[ids["fc_b"]]["shares"] = ids["fc_a"]
    by_id[third]["shares"] = ids["fc_b"]
    with pytest.raises(FileFormatError, match="directly"):
        from_json(json.dumps(data))


def test_removing_the_owner_gives_the_others_their_own_module():
    g, ids = _two_branches()
    g.share(ids["fc_b"], ids["fc_a"])
    g.remove(ids["fc_a"])
    assert g.node(ids["fc_b"]).shares is None
    assert g.node(ids["fc_b"]).params["out_features"] == 4


def test_copy_paste_keeps_links_inside_the_copy_only():
    g, ids = _two_branches()
    g.share(ids["fc_b"], ids["fc_a"])
    lone = extract(g, [ids["fc_b"]])
    assert "shares" not in lone["nodes"][0]
    both = paste(g, extract(g, [ids["fc_a"], ids["fc_b"]]))
    new_a, new_b = both
    assert g.node(new_b).shares == new_a
    block = nb.group(g, [ids["fc_a"], ids["fc_b"]], "Block", name="pairblock")
    inner = g.node(block).inner
    assert inner.node(ids["fc_b"]).shares == ids["fc_a"]
    nb.ungroup(g, block)
    assert g.node(ids["fc_b"]).shares == ids["fc_a"]


def test_a_block_shares_a_block_one_instance_called_twice():
    g, ids = _two_branches()
    a = nb.group(g, [ids["fc_a"], ids["relu_a"]], "Block", name="tower")
    b = nb.group(g, [ids["fc_b"], ids["relu_b"]], "Block", name="tower_b")
    g.share(b, a)
    src = g.to_python()
    assert src.count("nn.Linear(6, 4)") == 1
    assert "self.tower(x_a)" in src and "self.tower(x_b)" in src and "self.tower_b" not in src
    analysis = g.analyze()
    assert analysis.ok and analysis.total_params == 6 * 4 + 4
    model = g.build().eval()
    assert sum(p.numel() for p in model.parameters()) == 6 * 4 + 4
    x = torch.randn(3, 6)
    y_a, y_b = model(x, x)
    torch.testing.assert_close(y_a, y_b)


def test_a_block_shares_only_a_block_with_as_many_ports():
    g, ids = _two_branches()
    a = nb.group(g, [ids["fc_a"], ids["relu_a"]], "Block", name="tower")
    with pytest.raises(GraphError, match="only layers share modules, and blocks blocks") as info:
        g.share(a, ids["fc_b"])
    assert info.value.node == a and info.value.field == "shares"
    x = g.add("Input", "x_c", shape=(6,))
    c = g.add("Linear", "fc_c", out_features=4)
    d = g.add("Linear", "fc_d", out_features=4)
    g.connect(x, c)
    g.connect(x, d)
    two = nb.group(g, [c, d], "Block", name="two_out")
    with pytest.raises(GraphError, match="a block shares only a block with as many inputs "
                                         "and outputs"):
        g.share(two, a)
