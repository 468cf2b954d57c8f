"""The Function node calls a torch function, Tensor method or operator by name with constant
arguments, and nothing else: a graph file naming other code is refused, naming the node."""
from __future__ import annotations

import pytest
import torch

import netbuilder as nb
from netbuilder.errors import CompileError


def _graph(function, arguments, item=None, inputs=1):
    g = nb.Graph("fn")
    xs = [g.add("Input", f"x{i}", shape=(4,)) for i in range(inputs)]
    f = g.add("Function", "f", function=function, arguments=arguments, item=item)
    for x in xs:
        g.connect(x, f)
    g.connect(f, g.add("Output", "out"))
    return g, f


@pytest.mark.parametrize("function,arguments,expected", [
    ("torch.fft.rfft", "in0, n=4", "f = torch.fft.rfft(x0, n=4)"),
    ("F.gelu", "in0, approximate='tanh'",
     "f = torch.nn.functional.gelu(x0, approximate='tanh')"),
    ("Tensor.real", "in0", "f = x0.real"),
    ("Tensor.__getitem__", "in0, (slice(None), slice(1, None))", "f = x0[:, 1:]"),
    ("Tensor.__rsub__", "in0, 1.0", "f = (1.0) - x0"),
    ("torch.zeros", "in0.size(0), 3, dtype=torch.float32",
     "f = torch.zeros(x0.size(0), 3, dtype=torch.float32)"),
])
def test_the_call_is_written_from_its_checked_arguments(function, arguments, expected):
    g, _ = _graph(function, arguments)
    assert expected in g.to_python()


def test_a_tuple_result_gives_its_item_and_two_inputs_are_in_order():
    g, f = _graph("Tensor.sort", "in0, 1", item=1)
    assert "f = x0.sort(1)[1]" in g.to_python()
    g, f = _graph("torch.atan2", "in1, in0", inputs=2)
    m = g.build()
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    assert torch.equal(m(a, b), torch.atan2(b, a))


@pytest.mark.parametrize("function,arguments,expected", [
    ("torch.load", "in0", "torch.load is not one of torch's tensor functions"),
    ("torch.os.system", "in0", "torch.os.system is not in torch's tensor namespaces"),
    ("os.system", "in0", "os.system is not in torch's tensor namespaces"),
    ("Tensor.backward", "in0", "Tensor.backward is not a public Tensor method or property"),
    ("Tensor._version", "in0", "Tensor._version is not a public Tensor method"),
    ("Tensor.add", "__import__('os')", "`__import__('os')` is not allowed in the arguments"),
    ("Tensor.add", "in0.__class__", "`in0.__class__` is not allowed in the arguments"),
    ("torch.abs", "in0); import os; (in0", "are not a Python argument list"),
    ("torch.abs", "in1", "'in1' is not a wired input (in0 to in0)"),
    ("torch.abs", "3", "input in0 is wired but the arguments do not use it"),
])
def test_names_and_arguments_outside_torch_are_refused_naming_the_node(function, arguments,
                                                                       expected):
    g, f = _graph(function, arguments)
    error = g.analyze().nodes[f].error
    assert error.startswith("Function 'f' ") and expected in error
    with pytest.raises(CompileError, match="Function 'f'"):
        g.to_python()
