"""The import corpus: models written the way public libraries write them (``import_corpus/``)
import with the same parameter count; the original's state dict loads into the built graph by
its own keys (``strict=True``) and gives the same outputs; the exported code, run as a file of
its own, gives them too; ONNX export stays within 1e-5 (``slow``, minutes: it runs with
``NETBUILDER_ONNX_CORPUS=1``).

A case that fails for want of a feature being built elsewhere is ``xfail(strict=True)`` with
that feature's name, so it turns red the day the feature lands and the mark must go.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import sys
from pathlib import Path

import pytest
import torch

from netbuilder.compile.importer import import_module, map_state_dict

_HERE = Path(__file__).parent / "import_corpus"


def _load_corpus():
    spec = importlib.util.spec_from_file_location(
        "netbuilder_import_corpus", _HERE / "__init__.py", submodule_search_locations=[str(_HERE)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


CASES = _load_corpus().CASES
ATOL = 1e-5

# Why a case cannot import yet: the feature it waits for.
IMPORT_XFAIL = {
    "nanogpt": "F.layer_norm(x, w.shape, self.weight, self.bias) with bias=None (LayerNorm "
               "without bias) is not mapped back to a LayerNorm, and `B, T, C = x.size()` "
               "traces to sym_size ints that no node takes",
    "nanogpt_flash": "F.layer_norm(x, self.weight.shape, self.weight, None): the weight's "
                     "`.shape` is a use of the tensor that no node takes, so the call is not "
                     "mapped back to a LayerNorm without bias",
    "bert": "a slice of an int64 buffer (position_ids[:, :T]) is analysed as float32, so the "
            "position Embedding refuses it; an nn.LayerNorm attribute named 'LayerNorm' (as "
            "Hugging Face names it) is given 0 parameters",
    "diffusion_unet": "a 1-d input of timesteps (shape (N,)) is refused as Input shape (); two "
                      "tensor constants both want the name '_tensor_constant0'",
    "milesial_unet": "F.pad by amounts computed from the size() of two inputs becomes a "
                     "Function node, whose arguments may not index in1.size()",
    "milesial_unet_bilinear": "F.pad by amounts computed from the size() of two inputs "
                              "becomes a Function node, whose arguments may not index "
                              "in1.size()",
    "keras_port": "a ParameterList's members (scales.0) used directly in forward are "
                  "refused: only a block's own tensors keep their state-dict key",
}
# ONNX: cases whose export differs for a reason of its own.
ONNX_XFAIL = {"vae": "RandnLike draws its noise inside the ONNX file: the export does not "
                      "make it an input (as it does for a Noise source), so it cannot match"}


def _marked(names, reasons: dict) -> list:
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=reasons[n]))
            if n in reasons else n for n in names]


# The original's own keys: cases whose generated code names a module otherwise.
KEYS_XFAIL = {"convmixer": "a Sequential made by a function (no class of its own) is the "
                           "model itself: its children are named by layer (conv0, bn2), "
                           "not 0, 2",
              "mlp_mixer": "a Sequential made by a function (no class of its own) is the "
                           "model itself: its children are named by layer (fc1, block2), "
                           "not 1, 2"}


def _keys_reasons() -> dict:
    return {**IMPORT_XFAIL, **KEYS_XFAIL}


def _imported(name: str):
    """``(model, example inputs, graph)``; the model in eval mode with random statistics.
    A refused import is remembered too: each of its four tests fails at once, not after
    importing again."""
    outcome = _import_once(name)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


@functools.cache
def _import_once(name: str):
    try:
        return _import_case(name)
    except Exception as exc:  # noqa: BLE001 (raised again by each test that asks)
        return exc


def _import_case(name: str):
    torch.manual_seed(0)
    model = CASES[name].make()
    for m in model.modules():  # batch-norm statistics that are not 0/1 make the check real
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    model.eval()
    args = CASES[name].inputs()
    return model, args, import_module(model, example_inputs=args, verify=False)


def _outputs(module, args) -> list[torch.Tensor]:
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(0)  # the same noise for both (a VAE's reparameterisation)
        out = module(*args)
    return _leaves(out)


def _leaves(value) -> list:
    """The tensors of a result or arguments, nested tuples (an LSTM's (h, c)) flattened."""
    if isinstance(value, torch.Tensor):
        return [value]
    return [t for v in value for t in _leaves(v)]


def _assert_same(got: list, want: list) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        torch.testing.assert_close(g, w, atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", _marked(CASES, IMPORT_XFAIL))
def test_same_parameter_count(name):
    model, _, graph = _imported(name)
    want = sum(p.numel() for p in model.parameters())
    assert graph.analyze().total_params == want
    assert sum(p.numel() for p in graph.build().parameters()) == want


@pytest.mark.parametrize("name", _marked(CASES, _keys_reasons()))
def test_original_state_dict_loads_by_its_own_keys(name):
    model, args, graph = _imported(name)
    built = graph.build()
    built.load_state_dict(model.state_dict(), strict=True)
    _assert_same(_outputs(built.eval(), args), _outputs(model, args))


@pytest.mark.parametrize("name", _marked(CASES, IMPORT_XFAIL))
def test_same_outputs_with_the_original_weights(name):
    model, args, graph = _imported(name)
    built = graph.build()
    mapped = map_state_dict(model.state_dict(), graph)
    assert len(mapped) == len(model.state_dict())  # every weight found its place
    built.load_state_dict(mapped, strict=True)
    _assert_same(_outputs(built.eval(), args), _outputs(model, args))


@pytest.mark.parametrize("name", _marked(CASES, IMPORT_XFAIL))
def test_exported_code_gives_the_same_outputs(name, tmp_path):
    model, args, graph = _imported(name)
    source = graph.to_python()
    path = tmp_path / f"{name}_model.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"exported_{name}", path)
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    assert "netbuilder" not in {m.split(".")[0] for m in vars(exported)
                                if isinstance(vars(exported)[m], type(sys))}
    cls = getattr(exported, exported.__doc__.split(":")[0])
    standalone = cls()
    standalone.load_state_dict(map_state_dict(model.state_dict(), graph), strict=True)
    _assert_same(_outputs(standalone.eval(), args), _outputs(model, args))


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("NETBUILDER_ONNX_CORPUS"),
                    reason="ONNX export of the corpus takes minutes: NETBUILDER_ONNX_CORPUS=1")
@pytest.mark.parametrize("name", _marked(CASES, {**IMPORT_XFAIL, **ONNX_XFAIL}))
def test_onnx_export_within_tolerance(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from netbuilder.compile.onnx_export import export_onnx

    model, args, graph = _imported(name)
    path = tmp_path / f"{name}.onnx"
    export_onnx(graph, path, weights=map_state_dict(model.state_dict(), graph))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: a.numpy() for i, a in zip(session.get_inputs(), _leaves(args))}
    got = [torch.from_numpy(o) for o in session.run(None, feeds)]
    want = _outputs(model, args)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        # 1e-5 relative to the output's size: a deep network's float32 logits of size ~100
        # differ by more than 1e-5 absolute between any two correct kernels.
        torch.testing.assert_close(g, w, atol=ATOL * (1 + float(w.abs().max())), rtol=0)


def _types(graph) -> list[str]:
    out = []
    for node in graph.nodes():
        out.append(node.type)
        if node.inner is not None:
            out.extend(_types(node.inner))
    return out


@pytest.mark.parametrize("name, want", [
    ("swin", {"ShiftedWindowAttention": 4, "SpaceToChannels": 1}),
    ("maxvit", {"RelativePositionAttention": 2, "Transpose": 2}),
    ("edgenext", {"FourierPositionEncoding": 1, "Normalize": 2}),
])
def test_window_attention_imports_as_layers(name, want):
    """Relative-position bias tables, shifted windows, patch merging and a position encoding
    called with sizes are layers of the catalog, not placeholders; the tables and index
    buffers keep the original's keys."""
    model, _, graph = _imported(name)
    types = _types(graph)
    assert {t: types.count(t) for t in want} == want
    assert not {"Module", "Function"} & set(types)
    keys = graph.build().state_dict().keys()
    assert {k for k in model.state_dict() if "relative_position" in k} <= set(keys)
