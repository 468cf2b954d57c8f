"""The graph file: lossless round trips, one clear error per defect, migrations,
and no pickle anywhere (atomic saves: test_atomic.py)."""
from __future__ import annotations

import ast
import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netbuilder as nb
from netbuilder.graph import extract, fileformat, from_json, graph_to_dict, load, paste, to_json
from netbuilder.layers import Param

PACKAGE = Path(nb.__file__).resolve().parent

# --- random valid graphs ----------------------------------------------------------------------

_NAME = st.text(min_size=1, max_size=10).filter(lambda s: s.strip() != "")
_FINITE = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | _FINITE | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8)


def _int_in(p: Param) -> st.SearchStrategy[int]:
    lo = int(p.min) if p.min is not None else -1000
    hi = int(p.max) if p.max is not None else 1000
    return st.integers(lo, min(hi, lo + 5000))


def param_values(p: Param) -> st.SearchStrategy:
    """Any value valid for ``p`` (what a person could type in the inspector)."""
    if p.kind == "int":
        s = _int_in(p)
    elif p.kind == "float":
        lo = p.min if p.min is not None else -1e6
        hi = p.max if p.max is not None else 1e6
        s = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    elif p.kind == "bool":
        s = st.booleans()
    elif p.kind == "choice":
        s = st.sampled_from(p.choices)
    elif p.kind == "ints":
        n = p.length or 2
        s = _int_in(p) | st.tuples(*[_int_in(p)] * n)
    elif p.kind == "shape":
        dims = st.lists(st.integers(1, 64), min_size=1, max_size=4)
        if p.min == -1:
            dims = dims.flatmap(lambda d: st.integers(-1, len(d) - 1).map(
                lambda i: tuple(-1 if j == i else v for j, v in enumerate(d))))
        s = dims.map(tuple)
    else:
        s = st.text(max_size=8)
    return (st.none() | s) if p.optional else s


PLAIN = [s for s in nb.all_specs() if not s.is_block]
BLOCKS = [s.type for s in nb.all_specs() if s.is_block]


@st.composite
def graphs(draw, depth: int = 0) -> nb.Graph:
    """A random valid graph: random layers with random valid parameters and names, wired as a
    DAG (each wire from an earlier node into a free port), blocks with random inner graphs."""
    g = nb.Graph(draw(st.text(max_size=12)))
    n = draw(st.integers(1, 7 if depth == 0 else 3))
    names = draw(st.lists(_NAME, min_size=n, max_size=n, unique=True))
    for name in names:
        if depth == 0 and draw(st.integers(0, 5)) == 0:
            nid = g.add(draw(st.sampled_from(BLOCKS)), name)
            inner = draw(graphs(depth=1))
            body = g.node(nid).inner  # Input x → Output y, plus a random wired graph
            paste(body, extract(inner, [n.id for n in inner.nodes() if n.type != "Output"]))
        else:
            spec = draw(st.sampled_from(PLAIN))
            params = {p.name: draw(param_values(p)) for p in spec.params
                      if draw(st.booleans())}
            nid = g.add(spec.type, name, (draw(_FINITE), draw(_FINITE)), **params)
        ids = [x.id for x in g.nodes()]
        for port in g.input_ports(nid):
            sources = [i for i in ids[:-1] if g.output_ports(i)]
            wires = draw(st.integers(0, 3 if port.variadic else 1))
            for _ in range(wires if sources else 0):
                src = draw(st.sampled_from(sources))
                out = draw(st.sampled_from([p.name for p in g.output_ports(src)]))
                g.connect(src, nid, out, port.name)
                if port.variadic and draw(st.booleans()):
                    g.connect(src, nid, out, port.name)  # x + x: a parallel wire
    if depth == 0:
        g.training = draw(st.dictionaries(st.text(max_size=6), _JSON, max_size=3))
        g.meta = draw(st.dictionaries(st.text(max_size=6), _JSON, max_size=3))
    return g


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(g=graphs())
def test_round_trip_is_lossless(g, tmp_path_factory):
    path = tmp_path_factory.mktemp("rt") / "graph.json"
    g.save(path)
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == graph_to_dict(g)  # the compact layout is plain JSON
    again = load(path)
    assert graph_to_dict(again) == graph_to_dict(g)
    assert to_json(again) == text
    assert [e.order for e in again.edges()] == sorted(e.order for e in again.edges())
    assert [(e.src, e.dst) for e in again.edges()] == [(e.src, e.dst) for e in g.edges()]


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["ReLU", "Tanh", "Dropout", "LeakyReLU", "Identity",
                                 "Sigmoid", "LayerNorm", "Add"]), min_size=1, max_size=6),
       st.integers(1, 16), st.integers(1, 16))
def test_shape_preserving_chains_keep_their_analysis(types, c, w):
    g = nb.Graph("chain")
    prev = g.add("Input", "x", shape=(c, w))
    for t in types:
        nid = g.add(t)
        g.connect(prev, nid)
        if t == "Add":
            g.connect(prev, nid)  # x + x
        prev = nid
    again = from_json(to_json(g))
    assert graph_to_dict(again) == graph_to_dict(g)
    a, b = g.analyze(), again.analyze()
    assert a.ok and b.ok
    assert [a.shape(n) for n in a.order] == [b.shape(n) for n in b.order] == \
        [(c, w)] * (len(types) + 1)


def test_json_is_compact_and_diffable():
    g = nb.Graph("lenet")
    x = g.add("Input", "x", (0, 0), shape=(1, 28, 28))
    c = g.add("Conv2d", "conv", (200, 0), kernel_size=(5, 5))
    g.connect(x, c)
    text = to_json(g)
    assert '"shape": [1, 28, 28]' in text
    assert '"kernel_size": [5, 5]' in text
    assert '"pos": [200.0, 0.0]' in text
    assert '{"src": "n1", "src_port": "out", "dst": "n2", "dst_port": "in"}' in text
    assert '"stride": 1,\n' in text  # each parameter on its own line
    assert max(len(line) for line in text.splitlines()) <= 100
    assert text.endswith("}\n")
    g.set_param(c, "out_channels", 32)
    changed = [a for a, b in zip(text.splitlines(), to_json(g).splitlines()) if a != b]
    assert changed == ['        "out_channels": 16,']
    uni = nb.Graph("données")
    uni.add("Input", "ünï", shape=(2,))
    assert "données" in to_json(uni) and "ünï" in to_json(uni)


# --- one error per defect, naming the file and the field ------------------------------------


def _valid() -> dict:
    g = nb.Graph("f")
    x = g.add("Input", "x", shape=(3, 8, 8))
    c = g.add("Conv2d", "conv", out_channels=4)
    s = g.add("Add", "sum")
    g.connect(x, c)
    g.connect(c, s)
    g.connect(c, s)
    return graph_to_dict(g)


def _edit(fn):
    def make():
        d = copy.deepcopy(_valid())
        fn(d)
        return json.dumps(d)
    return make


def _cycle(d):
    d["nodes"].append({"id": "n4", "type": "Add", "name": "other"})
    d["edges"] += [{"src": "n3", "dst": "n4"}, {"src": "n4", "dst": "n3"}]


DEFECTS = [
    ("not-json", lambda: '{"format_version": 1,\n  "name": "x",\n  nodes: []}', None,
     ["not valid JSON", "line 3, column 3"]),
    ("not-an-object", lambda: "[1, 2]", None, ["must hold a JSON object"]),
    ("no-version", _edit(lambda d: d.pop("format_version")), "format_version",
     ["missing or non-integer format_version"]),
    ("text-version", _edit(lambda d: d.update(format_version="1")), "format_version",
     ["missing or non-integer"]),
    ("future-version", _edit(lambda d: d.update(format_version=99)), "format_version",
     ["format_version 99 is not supported", "newer netbuilder"]),
    ("old-unknown-version", _edit(lambda d: d.update(format_version=0)), "format_version",
     ["format_version 0 is not supported"]),
    ("unknown-type", _edit(lambda d: d["nodes"][1].update(type="Conv2D")), "nodes[1].type",
     ["Unknown layer type 'Conv2D'", "Did you mean 'Conv2d'"]),
    ("dangling-src", _edit(lambda d: d["edges"][0].update(src="n9")), "edges[0].src",
     ["'n9' that does not exist"]),
    ("dangling-dst", _edit(lambda d: d["edges"][1].update(dst=None)), "edges[1].dst",
     ["None that does not exist"]),
    ("duplicate-name", _edit(lambda d: d["nodes"][2].update(name="conv")), "nodes[2].name",
     ["The name 'conv' is taken"]),
    ("duplicate-id", _edit(lambda d: d["nodes"][2].update(id="n1")), "nodes[2].id",
     ["duplicate node id 'n1'"]),
    ("bad-parameter", _edit(lambda d: d["nodes"][1]["params"].update(stride=0)),
     "nodes[1].params.stride", ["Conv2d 'conv': stride = 0", "[1, 1024]"]),
    ("unknown-parameter", _edit(lambda d: d["nodes"][1]["params"].update(strides=2)),
     "nodes[1].params.strides", ["has no parameter 'strides'"]),
    ("bad-pos", _edit(lambda d: d["nodes"][0].update(pos=[1, "a"])), "nodes[0].pos",
     ["pos must be [x, y]"]),
    ("nan-pos", lambda: json.dumps(_valid()).replace('"pos": [0.0, 0.0]', '"pos": [NaN, 0]', 1),
     "nodes[0].pos[0]", ["NaN is not a JSON number"]),
    ("taken-port", _edit(lambda d: d["edges"].append({"src": "n1", "dst": "n2"})),
     "edges[3].dst_port", ["Conv2d 'conv' already has its input"]),
    ("unknown-port", _edit(lambda d: d["edges"][0].update(dst_port="side")),
     "edges[0].dst_port", ["has no input port 'side'"]),
    ("unknown-output-port", _edit(lambda d: d["edges"][0].update(src_port="y")),
     "edges[0].src_port", ["has no output port 'y'"]),
    ("cycle", _edit(_cycle), "edges[4]", ["would create a cycle", "other"]),
    ("unknown-field", _edit(lambda d: d["nodes"][1].update(colour="red")), "nodes[1].colour",
     ["unknown field 'colour'"]),
    ("nodes-not-list", _edit(lambda d: d.update(nodes={})), "nodes", ["nodes must be a list"]),
    ("node-not-object", _edit(lambda d: d["nodes"].append(3)), "nodes[3]",
     ["each node must be an object"]),
    ("params-not-object", _edit(lambda d: d["nodes"][1].update(params=[])), "nodes[1].params",
     ["params must be an object"]),
    ("graph-on-a-layer", _edit(lambda d: d["nodes"][1].update(graph={"nodes": []})),
     "nodes[1].graph", ["holds no graph"]),
    ("training-not-object", _edit(lambda d: d.update(training=[1])), "training",
     ["training must be an object"]),
    ("inner-defect", lambda: json.dumps({
        "format_version": 1, "name": "b", "edges": [],
        "nodes": [{"id": "n1", "type": "Block", "name": "blk", "graph": {
            "nodes": [{"id": "n1", "type": "Linear", "name": "fc",
                       "params": {"out_features": -1}}], "edges": []}}]}),
     "nodes[0].graph.nodes[0].params.out_features", ["Linear 'fc': out_features = -1"]),
]


@pytest.mark.parametrize("name,make,field,fragments", DEFECTS, ids=[d[0] for d in DEFECTS])
def test_every_defect_raises_one_error_naming_path_and_field(tmp_path, name, make, field,
                                                             fragments):
    path = tmp_path / "broken.json"
    path.write_text(make(), encoding="utf-8")
    with pytest.raises(nb.FileFormatError) as err:
        load(path)
    e = err.value
    text = str(e)
    assert text.startswith(f"{path}: ")
    assert e.path == str(path) and e.field == field
    if field:
        assert text.endswith(f"(at {field})")
    for f in fragments:
        assert f in text, (f, text)
    assert "Traceback" not in text and "\n" not in text


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(nb.FileFormatError, match="file not found"):
        load(tmp_path / "nope.json")
    with pytest.raises(nb.FileFormatError, match="cannot read the file"):
        load(tmp_path)  # a folder
    bad = tmp_path / "latin.json"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(nb.FileFormatError, match="cannot read the file"):
        load(bad)


# --- migrations ------------------------------------------------------------------------------


def test_migrations_run_one_step_at_a_time(monkeypatch, tmp_path):
    calls = []

    def v1_to_v2(d):  # version 1 called the list "layers" and had no positions
        calls.append(("1→2", d["format_version"]))
        d = dict(d)
        d["format_version"] = 2
        d["nodes"] = d.pop("layers")
        for n in d["nodes"]:
            n.setdefault("pos", [0, 0])
        return d

    def v2_to_v3(d):  # version 2 spelled the Linear size "units"
        calls.append(("2→3", d["format_version"]))
        d = dict(d)
        d["format_version"] = 3
        for n in d["nodes"]:
            if "units" in n.get("params", {}):
                n["params"]["out_features"] = n["params"].pop("units")
        return d

    monkeypatch.setattr(fileformat, "FORMAT_VERSION", 3)
    monkeypatch.setattr(fileformat, "MIGRATIONS", {1: v1_to_v2, 2: v2_to_v3})
    old = {"format_version": 1, "name": "old",
           "layers": [{"id": "n1", "type": "Input", "name": "x", "params": {"shape": [4]}},
                      {"id": "n2", "type": "Linear", "name": "fc", "params": {"units": 7}}],
           "edges": [{"src": "n1", "dst": "n2"}]}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    g = load(path)
    assert calls == [("1→2", 1), ("2→3", 2)]
    assert g.node("n2").params["out_features"] == 7
    assert g.analyze().shape("n2") == (7,)
    assert graph_to_dict(g)["format_version"] == 3  # saved in the current version

    calls.clear()
    v2 = v1_to_v2(copy.deepcopy(old))
    calls.clear()
    g2 = fileformat.graph_from_dict(v2)
    assert calls == [("2→3", 2)]
    assert graph_to_dict(g2) == graph_to_dict(g)

    current = json.dumps(graph_to_dict(g))
    calls.clear()
    from_json(current)
    assert calls == []


def test_a_missing_or_failing_migration_is_a_file_error(monkeypatch):
    monkeypatch.setattr(fileformat, "FORMAT_VERSION", 3)
    monkeypatch.setattr(fileformat, "MIGRATIONS", {2: lambda d: d["nope"]})
    with pytest.raises(nb.FileFormatError, match="no migration from format_version 1 to 2"):
        fileformat.graph_from_dict({"format_version": 1, "nodes": []}, "a.json")
    with pytest.raises(nb.FileFormatError) as err:
        fileformat.graph_from_dict({"format_version": 2, "nodes": []}, "a.json")
    assert "cannot migrate format_version 2 to 3 (KeyError" in str(err.value)
    assert err.value.field == "format_version"


# --- no pickle -------------------------------------------------------------------------------

_PICKLERS = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def _keyword(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def test_no_pickle_anywhere_in_the_package():
    problems = []
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(PACKAGE.parent)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                bad = {a.name.split(".")[0] for a in node.names} & _PICKLERS
                if bad:
                    problems.append(f"{where}:{node.lineno} imports {bad}")
            elif isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.split(".")[0] in _PICKLERS:
                problems.append(f"{where}:{node.lineno} imports from {node.module}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
                if node.func.attr == "load" and owner_name == "torch" and \
                        _keyword(node, "weights_only") is not True:
                    problems.append(f"{where}:{node.lineno} torch.load without weights_only=True")
                if node.func.attr == "load" and owner_name in ("np", "numpy") and \
                        _keyword(node, "allow_pickle") is not False:
                    problems.append(f"{where}:{node.lineno} np.load without allow_pickle=False")
                if node.func.attr in ("loads", "load", "Unpickler") and owner_name in _PICKLERS:
                    problems.append(f"{where}:{node.lineno} unpickles")
    assert not problems, "\n".join(problems)
