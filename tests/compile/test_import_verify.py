"""The import's verification: outputs compared at a smaller image size where the model takes
it, at the full size where it does not; a graph that computes something else is refused."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from netbuilder.compile.import_verify import SMALL, built_with, small_inputs, verify
from netbuilder.compile.importer import import_module, map_state_dict
from netbuilder.errors import ModelImportError


class Pooled(nn.Module):
    """Takes any image size (adaptive pooling before the classifier)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


class FixedSize(nn.Module):
    """Needs its 70×70 input: the flatten feeds a Linear of 2·70·70 features."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.fc = nn.Linear(2 * 70 * 70, 3)

    def forward(self, x):
        return self.fc(self.conv(x).view(x.size(0), 2 * 70 * 70))


def _input_sizes(module: nn.Module) -> list[tuple]:
    """The input shapes ``module`` (the model's first layer) runs on from now on."""
    seen = []
    module.register_forward_pre_hook(lambda m, args: seen.append(tuple(args[0].shape)))
    return seen


def test_small_inputs_cut_image_sides_only():
    x, tokens = torch.randn(2, 3, 224, 100), torch.randint(0, 9, (2, 300))
    small = small_inputs((x, tokens, None))
    assert small[0].shape == (2, 3, SMALL, SMALL)
    torch.testing.assert_close(small[0], x[:, :, :SMALL, :SMALL])
    assert small[1] is tokens and small[2] is None
    assert small_inputs((torch.randn(2, 3, 32, 32), torch.randn(2, 500))) is None


def test_a_model_that_takes_any_size_is_checked_at_the_small_size():
    torch.manual_seed(0)
    model = Pooled()
    seen = _input_sizes(model.conv)
    graph = import_module(model, input_shapes=[(3, 160, 120)])
    # the recording run at the full size, the check at the small one
    assert seen == [(2, 3, 160, 120), (2, 3, SMALL, SMALL)]
    assert graph.analyze().total_params == sum(p.numel() for p in model.parameters())


def test_a_model_that_needs_its_size_is_checked_at_the_full_size():
    torch.manual_seed(0)
    model = FixedSize()
    seen = _input_sizes(model.conv)
    graph = import_module(model, input_shapes=[(1, 70, 70)])
    # the small run fails inside the original; the graph then runs at 70×70 only
    assert seen == [(2, 1, 70, 70), (2, 1, SMALL, SMALL)]
    x = torch.randn(2, 1, 70, 70)
    built = graph.build().eval()
    built.load_state_dict(map_state_dict(model.state_dict(), graph))
    with torch.no_grad():
        torch.testing.assert_close(built(x), model.eval()(x))


@pytest.mark.parametrize("size", [(3, 160, 120), (3, 40, 40)])
def test_a_graph_that_computes_something_else_is_refused(size):
    torch.manual_seed(0)
    model = Pooled().eval()
    graph = import_module(model, input_shapes=[size], verify=False)
    args = (torch.randn(2, *size),)
    with torch.no_grad():
        output = model(*args)
    built = built_with(graph, map_state_dict(model.state_dict(), graph))
    verify(model, graph, built, args, "Pooled", output)  # as imported: the same outputs
    wrong = built_with(graph, {k: v + 0.5 if k.endswith("fc.bias") else v
                               for k, v in map_state_dict(model.state_dict(), graph).items()})
    with pytest.raises(ModelImportError, match=r"The imported graph of Pooled computes "
                                               r"different outputs .*relative difference"):
        verify(model, graph, wrong, args, "Pooled", output)
