"""The catalog covers torch.nn's layers, and docs/layers.md says so with counted numbers."""
from __future__ import annotations

from pathlib import Path

from torch import nn

from netbuilder.layers import all_specs
from netbuilder.layers import modules as helper_modules
from netbuilder.layers.coverage import LEFT_OUT, coverage_markdown, left_out_reason, nn_coverage

PAGE = Path(__file__).resolve().parents[2] / "docs" / "layers.md"


def test_every_torch_nn_layer_is_covered_or_left_out_with_a_reason():
    covered, left, missing = nn_coverage()
    assert missing == [], f"torch.nn classes neither in the catalog nor explained: {missing}"
    assert len(covered) >= 110
    for name in ("Conv3d", "MaxUnpool2d", "LSTMCell", "Transformer", "RMSNorm", "Fold",
                 "CircularPad3d", "Softmax2d", "EmbeddingBag"):
        assert name in covered
    assert "MSELoss" in left and "LazyLinear" in left and "Sequential" in left
    assert left_out_reason("LazyConv2d").endswith("(use Conv2d)")
    assert left_out_reason("Conv2d") is None


def test_declared_torch_classes_exist_and_are_unique():
    declared = [s.torch_class for s in all_specs() if s.torch_class]
    assert len(declared) == len(set(declared))
    for path in declared:
        # netbuilder's own helper modules (AddCoords) are declared by their import path
        home = helper_modules if path.startswith("netbuilder.layers.modules.") else nn
        assert home is helper_modules or path.startswith("torch.nn."), path
        assert issubclass(getattr(home, path.rsplit(".", 1)[1]), nn.Module), path
        spec = next(s for s in all_specs() if s.torch_class == path)
        assert spec.from_module is not None, spec.type


def test_left_out_names_are_real_torch_classes():
    assert all(hasattr(nn, name) for name in LEFT_OUT)


def test_the_docs_page_holds_the_counted_numbers():
    # Regenerate with: python -m netbuilder.layers.coverage
    assert PAGE.read_text(encoding="utf-8") == coverage_markdown()
