"""The layer catalog: every spec well formed, searchable, and validating with clear messages."""
from __future__ import annotations

import pytest

import netbuilder as nb
from netbuilder.layers import categories, get_spec, search
from netbuilder.layers.spec import PARAM_KINDS, WEIGHT_INITS, LayerSpec, Param

SPECS = nb.all_specs()
REQUIRED = {
    "Input", "Output", "Linear", "Flatten", "Unflatten", "Reshape", "Identity", "Embedding",
    "Conv1d", "Conv2d", "ConvTranspose2d", "MaxPool1d", "MaxPool2d", "AvgPool2d",
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Upsample", "ZeroPad2d", "AddCoords",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "Dropout", "Dropout2d",
    "ReLU", "LeakyReLU", "PReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softmax",
    "LogSoftmax", "RNN", "LSTM", "GRU", "MultiheadAttention", "TransformerEncoderLayer",
    "PositionalEncoding", "Add", "Concat", "Multiply", "RBM", "Reparameterize",
    "Block", "Encoder", "Decoder", "Generator", "Discriminator",
}


def test_every_required_layer_is_registered():
    assert REQUIRED <= {s.type for s in SPECS}


def test_type_names_are_unique_and_registering_twice_fails():
    types = [s.type for s in SPECS]
    assert len(types) == len(set(types))
    with pytest.raises(ValueError, match="registered twice"):
        nb.layers.register(LayerSpec("Linear", "Dense", "again"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.type)
def test_spec_is_well_formed(spec):
    assert spec.type.isidentifier()
    assert spec.category and spec.doc.strip().endswith((".", ")"))
    assert spec.short.isidentifier()
    assert spec.emit is not None or spec.is_block
    names = [p.name for p in spec.params]
    assert len(names) == len(set(names)), "duplicate parameter"
    for p in spec.params:
        assert p.kind in PARAM_KINDS
        assert p.doc.strip(), f"{spec.type}.{p.name} has no doc"
        assert p.name.isidentifier()
        # The default is valid and survives validation unchanged.
        assert p.validate(p.default, spec.type) == p.default
        if p.kind == "choice":
            assert p.default in p.choices and len(p.choices) >= 2
        if p.min is not None and p.max is not None:
            assert p.min <= p.max
    if spec.weight_layer:
        assert {"init", "init_value", "l1", "l2"} <= set(names)
        assert spec.param("init").choices == WEIGHT_INITS
    if spec.is_block:
        assert spec.category == "Blocks"
    ports = [p.name for p in spec.inputs + spec.outputs]
    assert all(p.isidentifier() for p in ports)
    # A new node of this type takes its defaults.
    g = nb.Graph()
    nid = g.add(spec.type)
    assert g.node(nid).params == spec.defaults()
    assert g.node(nid).name.startswith(spec.short)


def test_categories_group_every_spec():
    cats = categories()
    assert sum(len(v) for v in cats.values()) == len(SPECS)
    for name in ("Input/Output", "Dense", "Convolution", "Pooling", "Normalization",
                 "Activation", "Recurrent", "Attention", "Merge", "Generative", "Blocks"):
        assert name in cats, name
    assert {s.type for s in cats["Recurrent"]} >= {"RNN", "LSTM", "GRU"}


@pytest.mark.parametrize("text,expected", [
    ("dense", "Linear"), ("fully connected", "Linear"), ("Fully Connected", "Linear"),
    ("deconvolution", "ConvTranspose2d"), ("max pool", "MaxPool2d"), ("conv2d", "Conv2d"),
    ("lstm", "LSTM"), ("swish", "SiLU"), ("residual", "Add"), ("inception", "Concat"),
    ("global average pooling", "AdaptiveAvgPool2d"), ("coordconv", "AddCoords"),
    ("vae", "Reparameterize"), ("restricted boltzmann", "RBM"), ("elman", "RNN"),
])
def test_search_finds_what_people_call_a_layer(text, expected):
    hits = [s.type for s in search(text)]
    assert hits and hits[0] == expected, hits


def test_search_ranks_exact_before_partial_and_finds_nothing_for_nonsense():
    hits = [s.type for s in search("conv")]
    assert hits[0] == "Conv2d"  # "conv" is Conv2d's alias: exact beats the prefix matches
    assert {"Conv1d", "ConvTranspose2d"} <= set(hits)
    assert search("zebra quantum") == []
    assert {s.type for s in search("Recurrent")} >= {"RNN", "LSTM", "GRU"}  # by category


def test_unknown_type_suggests_close_names():
    with pytest.raises(nb.UnknownTypeError) as err:
        get_spec("Conv2D")
    assert "Unknown layer type 'Conv2D'" in str(err.value)
    assert "'Conv2d'" in str(err.value)
    with pytest.raises(nb.UnknownTypeError) as err:
        nb.Graph().add("Lstm")
    assert "Did you mean 'LSTM'" in str(err.value)  # case does not hide the match
    with pytest.raises(nb.UnknownTypeError) as err:
        get_spec("Dense")
    assert "Did you mean 'Linear'" in str(err.value)  # aliases count
    assert err.value.field == "type"
    with pytest.raises(nb.UnknownTypeError) as err:
        get_spec("Zebra")  # nothing close: the message lists what would be valid
    assert "Known types: " in str(err.value)
    assert "'Conv2d'" not in str(err.value) and "Conv2d, " in str(err.value)
    assert "LSTM" in str(err.value) and "Linear" in str(err.value)


@pytest.mark.parametrize("type_,field,value,fragments", [
    ("Conv2d", "stride", 0, ["Conv2d 'c'", "stride", "= 0", "[1, 1024]"]),
    ("Conv2d", "kernel_size", (3, 3, 3), ["Conv2d 'c'", "kernel_size", "2 entries"]),
    ("Conv2d", "out_channels", 2.5, ["Conv2d 'c'", "out_channels", "an integer in [1, 65536]"]),
    ("Linear", "out_features", 0, ["Linear 'c'", "out_features", "[1, 1000000]"]),
    ("Linear", "bias", "yes", ["Linear 'c'", "bias", "true or false"]),
    ("Dropout", "p", 1.5, ["Dropout 'c'", "p = 1.5", "a number in [0, 1]"]),
    ("Dropout", "p", float("nan"), ["Dropout 'c'", "p = nan", "a number in [0, 1]"]),
    ("LeakyReLU", "negative_slope", -0.1, ["LeakyReLU 'c'", "negative_slope", "[0, 1]"]),
    ("Upsample", "mode", "cubic", ["Upsample 'c'", "mode", "'nearest', 'bilinear'"]),
    ("Input", "shape", (0, 28), ["Input 'c'", "shape", "positive integers"]),
    ("Input", "shape", (), ["Input 'c'", "shape"]),
    ("LSTM", "output", "all", ["LSTM 'c'", "output", "'last', 'sequence'"]),
    ("Linear", "init", "he", ["Linear 'c'", "init", "'kaiming_normal'"]),
    ("Linear", "l2", -1.0, ["Linear 'c'", "l2", "[0, inf]"]),
    ("Reshape", "shape", (-1, -1), ["Reshape 'c'", "shape", "at most one -1"]),
    ("Reshape", "shape", (0, 4), ["Reshape 'c'", "shape", "positive integers"]),
    ("Unflatten", "shape", (-1, 4), ["Unflatten 'c'", "shape", "positive integers"]),
])
def test_param_errors_name_layer_field_and_range(type_, field, value, fragments):
    g = nb.Graph()
    nid = g.add(type_, "c")
    before = dict(g.node(nid).params)
    with pytest.raises(nb.ParamError) as err:
        g.set_param(nid, field, value)
    for f in fragments:
        assert f in str(err.value), (f, str(err.value))
    assert err.value.field == field
    assert g.node(nid).params == before
    # The same rule applies when the node is created.
    with pytest.raises(nb.ParamError):
        nb.Graph().add(type_, "c", **{field: value})


def test_unknown_parameter_lists_the_valid_ones():
    g = nb.Graph()
    nid = g.add("Dropout", "d")
    with pytest.raises(nb.ParamError) as err:
        g.set_param(nid, "rate", 0.2)
    assert "Dropout 'd' has no parameter 'rate'; its parameters: p" in str(err.value)


def test_values_are_normalized():
    g = nb.Graph()
    c = g.add("Conv2d", kernel_size=[5, 3], stride=2.0, padding=(1, 1))
    p = g.node(c).params
    assert p["kernel_size"] == (5, 3) and p["stride"] == 2 and type(p["stride"]) is int
    assert p["padding"] == (1, 1)
    d = g.add("Dropout", p=1)
    assert g.node(d).params["p"] == 1.0 and type(g.node(d).params["p"]) is float
    r = g.add("Reshape", shape=[4, -1])
    assert g.node(r).params["shape"] == (4, -1)
    i = g.add("Input", shape=16)
    assert g.node(i).params["shape"] == (16,)
    e = g.add("Embedding", padding_idx=None)
    assert g.node(e).params["padding_idx"] is None  # optional: None means "none"
    with pytest.raises(nb.ParamError):
        g.add("Linear", out_features=None)  # not optional


def test_param_describes_its_range():
    assert Param("k", "int", 1, "k", min=1, max=9).describe_range() == "an integer in [1, 9]"
    assert Param("p", "float", 0.5, "p", min=0.0).describe_range() == "a number in [0, inf]"
    assert "one of 'a', 'b'" in Param("m", "choice", "a", "m", choices=("a", "b")).describe_range()
    with pytest.raises(ValueError):
        Param("z", "complex", 0)
