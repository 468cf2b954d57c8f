"""The importer never gives up: what has no node type becomes a Function or Module node, code
torch.fx cannot trace falls back (concrete arguments, a Module node, torch.export), and the
report groups the placeholders with the user's file and line, installed packages included."""
from __future__ import annotations

import inspect
import json
import sys
import textwrap

import pytest
import torch
from torch import nn

from netbuilder.compile.import_report import meta_lines
from netbuilder.compile.importer import import_module, map_state_dict
from netbuilder.errors import ModelImportError
from netbuilder.model_import import import_in_child


def _line_of(cls, text):
    lines, start = inspect.getsourcelines(cls)
    return start + next(i for i, line in enumerate(lines) if text in line)


def _same_outputs(model, graph, *shape, batch=3):
    """The built graph with the original's state dict (by its own keys) gives its outputs."""
    built = graph.build()
    built.load_state_dict(map_state_dict(model.state_dict(), graph))
    built.eval()
    model.eval()
    x = torch.randn(batch, *shape)
    with torch.no_grad():
        want, got = model(x), built(x)
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-5), float((got - want).abs().max())
    return built


def _report(graph) -> str:
    return "\n".join(meta_lines(graph.meta["imported"]))


# --- models written the way libraries write them ------------------------------------------

class Shuffle(nn.Module):
    """A library layer whose forward torch.fx cannot trace (a check on the input's rank)."""

    def __init__(self, groups: int = 4):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        if x.dim() != 4:
            raise ValueError("expected an image batch")
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class Stage(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.shuffle = Shuffle(2)

    def forward(self, x):
        y = self.shuffle(self.conv(x))
        return torch.special.expit(y.cumsum(1) * 0.1)


class LibraryNet(nn.Module):
    def __init__(self, width=8, classes=5):
        super().__init__()
        self.features = nn.Sequential(Stage(3, width), Stage(width, width), Stage(width, width))
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        x = self.features(x)
        return self.head(torch.fft.rfft2(x).abs().mean((2, 3)))


def test_a_library_style_model_imports_with_placeholders_and_the_same_outputs():
    model = LibraryNet()
    graph = import_module(model, input_shapes=[(3, 8, 8)])
    _same_outputs(model, graph, 3, 8, 8)
    kinds = {n.type for n in _all_nodes(graph)}
    assert {"Module", "Function", "Conv2d", "Linear"} <= kinds
    # the Module node keeps the original class and its recovered constructor arguments
    shuffle = next(n for n in _all_nodes(graph) if n.type == "Module")
    assert shuffle.params["target"].endswith(":Shuffle")
    assert json.loads(shuffle.params["arguments"]) == {"groups": 2}
    assert shuffle.params["out_shape"] == (8, 8, 8)
    source = graph.to_python()
    assert "torch.fft.rfft2(" in source and ".cumsum(1)" in source


def test_repeated_placeholders_are_grouped_with_one_file_and_line():
    graph = import_module(LibraryNet(), input_shapes=[(3, 8, 8)])
    text = _report(graph)
    cumsum_at = f"test_import_robust.py:{_line_of(Stage, 'y.cumsum(1)')}"
    shuffle_at = f"test_import_robust.py:{_line_of(Stage, 'self.shuffle(self.conv(x))')}"
    assert "  - Shuffle ×3 in features.* → Module node (torch.fx cannot trace it) at " in text
    assert shuffle_at in text
    assert "  - Tensor.cumsum() ×3 in features.* → Function node (no node type stands for " \
           "it)" in text and cumsum_at in text and "`return torch.special.expit(" in text
    assert "  - torch.fft.rfft2 in the top level → Function node" in text
    assert text.count("Tensor.cumsum()") == 1  # one line for the three
    fallbacks = graph.meta["imported"]["fallbacks"]
    assert [f["path"] for f in fallbacks] == ["features.0.shuffle", "features.1.shuffle",
                                              "features.2.shuffle"]
    assert all(f["done"].startswith("kept as a Module node") for f in fallbacks)
    assert "`if x.dim() != 4:`" in fallbacks[0]["why"]


def _all_nodes(graph):
    for n in graph.nodes():
        yield n
        if n.inner is not None:
            yield from _all_nodes(n.inner)


class Squares(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        y = self.fc(x)
        return y * y + x


def test_a_tensor_merged_with_itself_is_a_function_node():
    model = Squares()
    graph = import_module(model, input_shapes=[(4,)])
    _same_outputs(model, graph, 4)
    fn = next(n for n in graph.nodes() if n.type == "Function")
    assert (fn.params["function"], fn.params["arguments"]) == ("Tensor.__mul__", "in0, in0")
    assert "fc * fc" in graph.to_python().replace("(fc)", "fc")
    assert "Multiply takes each tensor once" in _report(graph)


class DropPath(nn.Module):
    """Stochastic depth as libraries write it: one instance called on both branches."""

    def __init__(self, drop_prob=0.1):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        if self.drop_prob == 0.0 or not self.training:
            return x
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1 - self.drop_prob)
        return x * mask / (1 - self.drop_prob)


class SqueezeExcite(nn.Module):
    def __init__(self, c=8):
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(c, c // 4, 1), nn.Conv2d(c // 4, c, 1)
        self.drop_path = DropPath(0.2)

    def forward(self, x):
        s = torch.nn.functional.hardsigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3),
                                                                                keepdim=True)))))
        x = x + self.drop_path(x * s)
        return x + self.drop_path(torch.tanh(x))


def test_a_block_called_twice_becomes_one_shared_block_and_a_broadcast_product_a_mul():
    model = SqueezeExcite()
    graph = import_module(model, input_shapes=[(8, 5, 5)])
    _same_outputs(model, graph, 8, 5, 5)
    blocks = [n for n in graph.nodes() if n.inner is not None]
    assert [n.name for n in blocks] == ["drop_path", "drop_path_1"]
    assert blocks[1].shares == blocks[0].id and blocks[0].shares is None
    assert not any(n.type == "Module" for n in graph.nodes())
    text = _report(graph)
    assert "DropPath" not in text
    # the broadcast product x * s (s of shape (N, C, 1, 1)) is a Mul operation, no placeholder
    assert "Mul" in {n.type for n in graph.nodes()} and "operator" not in text


# --- torch modules with settings no node type has -----------------------------------------

class NoBias(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 6, batch_first=True, bias=False)  # no node type has bias=False
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        out, h = self.gru(x)
        return self.fc(out[:, -1])


def test_a_torch_module_with_an_unsupported_setting_is_a_module_node_with_its_weights():
    model = NoBias()
    graph = import_module(model, input_shapes=[(5, 4)])
    gru = next(n for n in graph.nodes() if n.type == "Module")
    assert gru.params["target"] == "torch.nn:GRU"
    assert json.loads(gru.params["arguments"]) == {
        "input_size": 4, "hidden_size": 6, "bias": False, "batch_first": True}
    assert gru.params["item"] == 0 and gru.params["out_shape"] == (5, 6)
    built = _same_outputs(model, graph, 5, 4, batch=3)
    assert set(built.state_dict()) == set(model.state_dict())  # the original keys
    text = _report(graph)
    assert "  - GRU in gru → Module node (GRU cannot take bias=False)" in text
    assert "Index" in {n.type for n in graph.nodes()}  # out[:, -1]: an Index operation


# --- untraceable code: concrete arguments, a Module node, torch.export ---------------------

class DeviceCheck(nn.Module):
    def __init__(self, dim=6):
        super().__init__()
        self.dim = dim
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        if x.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        return torch.relu(self.fc(x))


class NeedsModule(nn.Module):
    """Its constructor takes a class: it cannot be rebuilt from JSON, so torch.export it is."""

    def __init__(self, act=nn.GELU):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.act = act()

    def forward(self, x):
        assert x.shape[1] == 6, "six features"
        return self.act(self.fc(x))


class HiddenState(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x, state=None):
        if state is None:
            state = (x.new_zeros(x.size(0), 6), x.new_ones(x.size(0), 6))
        h, c = state
        return torch.tanh(self.fc(x) + h) * c


class Untraceables(nn.Module):
    def __init__(self):
        super().__init__()
        self.device_check = DeviceCheck(6)
        self.needs_module = NeedsModule(nn.SiLU)
        self.cell = HiddenState()

    def forward(self, x):
        return self.cell(self.needs_module(self.device_check(x)))


def test_untraceable_blocks_fall_back_and_the_report_says_which_way():
    model = Untraceables()
    graph = import_module(model, input_shapes=[(6,)])
    _same_outputs(model, graph, 6)
    done = {f["path"]: f["done"] for f in graph.meta["imported"]["fallbacks"]}
    assert done["device_check"] == "kept as a Module node (torch.fx cannot trace it)"
    assert done["needs_module"] == "imported through torch.export (torch.fx cannot trace it)"
    assert done["cell"] == "traced with state=None (its default)"
    text = _report(graph)
    assert "needs_module: imported through torch.export" in text
    assert "as a Module node: its argument 'act' is not kept" not in text  # it has a default
    why = next(f["why"] for f in graph.meta["imported"]["fallbacks"]
               if f["path"] == "needs_module")
    assert f"test_import_robust.py:{_line_of(NeedsModule, 'assert x.shape')}" in why
    assert "computes something else" in why  # rebuilt with GELU, not SiLU


class LenOfTensor(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        n = len(x)
        return torch.erfinv(torch.tanh(self.fc(x)).view(n, -1) * 0.5)


def test_an_untraceable_model_is_imported_through_torch_export():
    model = LenOfTensor()
    graph = import_module(model, input_shapes=[(6,)])
    _same_outputs(model, graph, 6, batch=2)
    fallback = graph.meta["imported"]["fallbacks"][0]
    assert fallback["done"] == "imported through torch.export (torch.fx cannot trace it)"
    assert f"test_import_robust.py:{_line_of(LenOfTensor, 'n = len(x)')}" in fallback["why"]
    assert "'len' is not supported" in fallback["why"]
    assert [n.type for n in graph.nodes() if n.type == "Linear"] == ["Linear"]


class ValueDependent(nn.Module):
    def forward(self, x):
        return x if x.sum() > 0 else -x


def test_a_model_nothing_can_trace_is_refused_with_every_reason():
    with pytest.raises(ModelImportError) as info:
        import_module(ValueDependent(), input_shapes=[(4,)])
    text = str(info.value)
    assert "torch.fx cannot trace ValueDependent.forward at " in text
    assert f"test_import_robust.py:{_line_of(ValueDependent, 'x.sum() > 0')}" in text
    assert "torch.export cannot either" in text


# --- locations in an installed package ----------------------------------------------------

PACKAGE = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return torch.logcumsumexp(self.fc(x), 1)


class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        raise RuntimeError("no weights here")
'''


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """``mylib`` in a site-packages folder on sys.path, as an installed package is."""
    site = tmp_path / "lib" / "site-packages"
    (site / "mylib").mkdir(parents=True)
    (site / "mylib" / "__init__.py").write_text("")
    (site / "mylib" / "models.py").write_text(textwrap.dedent(PACKAGE))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))
    yield site / "mylib" / "models.py"
    for name in [m for m in sys.modules if m == "mylib" or m.startswith("mylib.")]:
        del sys.modules[name]


def _package_line(text):
    return 1 + next(i for i, line in enumerate(textwrap.dedent(PACKAGE).splitlines())
                    if text in line)


def test_placeholders_of_an_installed_model_point_at_its_file(installed):
    from mylib.models import Net

    graph = import_module(Net(), input_shapes=[(4,)])
    group = graph.meta["imported"]["placeholders"][0]
    line = _package_line("torch.logcumsumexp")
    assert group["where"].endswith(f"mylib/models.py:{line}")
    assert group["what"] == "torch.logcumsumexp"


def test_the_child_reports_an_installed_model_at_its_file_and_line(installed, tmp_path):
    user = tmp_path / "net.py"
    user.write_text("from mylib.models import Net, Broken\n")
    result = import_in_child(user, "Net", input_shapes=[(4,)], timeout=120)
    line = _package_line("torch.logcumsumexp")
    assert len(result.report) == 1
    assert f"mylib/models.py:{line}" in result.report[0]
    assert "torch.logcumsumexp in the top level → Function node" in result.report[0]
    with pytest.raises(ModelImportError) as info:
        import_in_child(user, "Broken", timeout=120)
    assert f"mylib/models.py:{_package_line('no weights here')}" in str(info.value)
    assert "importer" not in str(info.value)
