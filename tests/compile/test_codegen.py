"""Code generation: the exported file is the module the app builds.

Each graph's ``to_python()`` is written to a file, run as ``python file.py`` in a fresh
interpreter (its ``__main__`` prints the output shape), linted, and imported; the built module's
``state_dict`` loads strictly into the exported class and both give identical outputs.
"""
from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import itertools
import runpy
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
import torch

import netbuilder as nb
from netbuilder.graph import group

ROOT = Path(__file__).resolve().parents[2]


def _chain(g: nb.Graph, *ids: str) -> str:
    for a, b in itertools.pairwise(ids):
        g.connect(a, b)
    return ids[-1]


def mlp() -> nb.Graph:
    g = nb.Graph("mlp")
    x = g.add("Input", "x", shape=(2,))
    _chain(g, x, g.add("Linear", "fc1", out_features=16), g.add("ReLU", "act1"),
           g.add("Linear", "fc2", out_features=16), g.add("Tanh", "act2"),
           g.add("Dropout", "drop", p=0.2), g.add("Linear", "out", out_features=3))
    return g


def lenet() -> nb.Graph:
    g = nb.Graph("LeNet-5")
    x = g.add("Input", "image", shape=(1, 28, 28))
    _chain(g, x, g.add("Conv2d", "conv1", out_channels=6, kernel_size=5, padding=2),
           g.add("Tanh", "act1"), g.add("AvgPool2d", "pool1", kernel_size=2),
           g.add("Conv2d", "conv2", out_channels=16, kernel_size=5), g.add("Tanh", "act2"),
           g.add("AvgPool2d", "pool2", kernel_size=2), g.add("Flatten", "flat"),
           g.add("Linear", "fc1", out_features=120), g.add("Tanh", "act3"),
           g.add("Linear", "fc2", out_features=84), g.add("Tanh", "act4"),
           g.add("Linear", "fc3", out_features=10), g.add("LogSoftmax", "logp"))
    return g


def resnet() -> nb.Graph:
    g = nb.Graph("resnet")
    x = g.add("Input", "x", shape=(3, 16, 16))
    stem = _chain(g, x, g.add("Conv2d", "stem", out_channels=8, kernel_size=3, padding=1),
                  g.add("BatchNorm2d", "bn0"), g.add("ReLU", "relu0"))
    body = _chain(g, stem, g.add("Conv2d", "conv1", out_channels=8, kernel_size=3, padding=1),
                  g.add("BatchNorm2d", "bn1"), g.add("ReLU", "relu1"),
                  g.add("Conv2d", "conv2", out_channels=8, kernel_size=3, padding=1),
                  g.add("BatchNorm2d", "bn2"))
    add = g.add("Add", "residual")
    g.connect(body, add)
    g.connect(stem, add)
    _chain(g, add, g.add("ReLU", "relu2"), g.add("AdaptiveAvgPool2d", "gap"),
           g.add("Flatten", "flat"), g.add("Linear", "head", out_features=10))
    return g


def inception() -> nb.Graph:
    g = nb.Graph("inception")
    x = g.add("Input", "x", shape=(4, 12, 12))
    b1 = g.add("Conv2d", "b1x1", out_channels=4, kernel_size=1)
    b3 = _chain(g, g.add("Conv2d", "b3_reduce", out_channels=2, kernel_size=1),
                g.add("Conv2d", "b3x3", out_channels=6, kernel_size=3, padding=1))
    b5 = _chain(g, g.add("Conv2d", "b5_reduce", out_channels=2, kernel_size=1),
                g.add("Conv2d", "b5x5", out_channels=3, kernel_size=5, padding=2))
    bp = _chain(g, g.add("MaxPool2d", "pool", kernel_size=3, stride=1, padding=1),
                g.add("Conv2d", "pool_proj", out_channels=2, kernel_size=1))
    cat = g.add("Concat", "cat")
    for head in (b1, g.find("b3_reduce"), g.find("b5_reduce"), g.find("pool")):
        g.connect(x, head)
    for branch in (b5, b1, bp, b3):  # a deliberate order: the channels follow it
        g.connect(branch, cat)
    _chain(g, cat, g.add("AddCoords", "coords"),
           g.add("Conv2d", "mix", out_channels=4, kernel_size=1))
    return g


def lstm_classifier() -> nb.Graph:
    g = nb.Graph("lstm classifier")
    x = g.add("Input", "tokens", shape=(12,), dtype="int64")
    _chain(g, x, g.add("Embedding", "embed", num_embeddings=50, embedding_dim=8),
           g.add("LSTM", "lstm", hidden_size=10, num_layers=2, bidirectional=True),
           g.add("Linear", "head", out_features=4), g.add("Softmax", "probs"))
    return g


def transformer() -> nb.Graph:
    g = nb.Graph("transformer")
    x = g.add("Input", "seq", shape=(7, 5))
    _chain(g, x, g.add("Linear", "proj", out_features=8),
           g.add("PositionalEncoding", "pos", max_len=32),
           g.add("TransformerEncoderLayer", "enc1", nhead=2, dim_feedforward=16),
           g.add("MultiheadAttention", "attn", num_heads=4),
           g.add("LayerNorm", "norm"), g.add("GRU", "gru", hidden_size=6),
           g.add("Linear", "head", out_features=2))
    return g


def with_blocks() -> nb.Graph:
    g = nb.Graph("autoencoder")
    x = g.add("Input", "x", shape=(1, 8, 8))
    flat = g.add("Flatten", "flat")
    enc = [g.add("Linear", "enc_fc", out_features=16), g.add("ReLU", "enc_act"),
           g.add("Linear", "code", out_features=4)]
    dec = [g.add("Linear", "dec_fc", out_features=16), g.add("ELU", "dec_act"),
           g.add("Linear", "dec_out", out_features=64), g.add("Sigmoid", "dec_sig")]
    _chain(g, x, flat, *enc, *dec, g.add("Unflatten", "image", shape=(1, 8, 8)))
    group(g, enc, "Encoder", "encoder")
    group(g, dec, "Decoder", "decoder")
    return g


def multi_io() -> nb.Graph:
    g = nb.Graph("two heads")
    a = g.add("Input", "image", shape=(2, 6, 6))
    b = g.add("Input", "meta", shape=(3,))
    img = _chain(g, a, g.add("Conv2d", "conv", out_channels=3, kernel_size=3),
                 g.add("Flatten", "flat"))
    cat = g.add("Concat", "joined")
    g.connect(img, cat)
    g.connect(b, cat)
    gate = g.add("Multiply", "gate")
    lin = g.add("Linear", "meta_fc", out_features=3)
    _chain(g, b, lin)
    g.connect(lin, gate)
    g.connect(b, gate)
    cls = _chain(g, cat, g.add("Linear", "cls", out_features=5),
                 g.add("Output", "logits"))
    reg = _chain(g, gate, g.add("Output", "value"))
    assert cls and reg
    return g


def initializers() -> nb.Graph:
    g = nb.Graph("inits")
    x = g.add("Input", "x", shape=(4, 6, 6))
    prev = g.add("Conv2d", "conv", out_channels=4, kernel_size=3, padding=1,
                 init="kaiming_normal")
    g.connect(x, prev)
    prev = _chain(g, prev, g.add("Flatten", "flat"))
    for kind in ("xavier_uniform", "xavier_normal", "kaiming_uniform", "orthogonal", "zeros",
                 "constant", "default"):
        prev = _chain(g, prev, g.add("Linear", f"fc_{kind}", out_features=12, init=kind,
                                     init_value=0.05, l2=1e-4))
    r = g.add("Reshape", "seq", shape=(3, 4))
    rnn = g.add("RNN", "rnn", hidden_size=5, init="orthogonal", output="sequence")
    _chain(g, prev, r, rnn, g.add("LeakyReLU", "leaky", negative_slope=0.3),
           g.add("PReLU", "prelu", num_parameters="per_channel", init_slope=0.2))
    return g


def vae_rbm() -> nb.Graph:
    g = nb.Graph("vae")
    x = g.add("Input", "x", shape=(10,))
    h = _chain(g, x, g.add("RBM", "rbm", n_hidden=8))
    mu, logvar = g.add("Linear", "mu", out_features=3), g.add("Linear", "logvar", out_features=3)
    g.connect(h, mu)
    g.connect(h, logvar)
    z = g.add("Reparameterize", "z")
    g.connect(mu, z, dst_port="mu")
    g.connect(logvar, z, dst_port="logvar")
    _chain(g, z, g.add("Linear", "dec", out_features=10), g.add("Sigmoid", "recon"))
    return g


def hostile_names() -> nb.Graph:
    g = nb.Graph('graph "quoted" \'\'\' """ \\ name\nwith newline')
    x = g.add("Input", 'x); import os; os.system("echo pwned"', shape=(4,))
    names = ["class", "print", "torch", "self", "nn", "F", "math", "a b", "a-b", 'q"""',
             "l'''", "line\nbreak", "ünï", "数据", "__init__", "super", "training", "eval",
             "to", "parameters", "forward", "model", "AddCoords", "#comment", "exec('1')",
             "__import__('os').system('x')"]
    prev = x
    for n in names:
        prev = _chain(g, prev, g.add("Linear", n, out_features=4))
    # A block whose name is a helper class name, holding a helper layer.
    r = g.add("Reshape", "reshape", shape=(2, 2))
    _chain(g, prev, r)
    group(g, [r], "Block", "Reshape")
    return g


GRAPHS = {f.__name__: f for f in (mlp, lenet, resnet, inception, lstm_classifier, transformer,
                                  with_blocks, multi_io, initializers, vae_rbm, hostile_names)}


def _inputs(g: nb.Graph, batch: int = 3) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    out = []
    for nid in g.inputs():
        p = g.node(nid).params
        if p["dtype"] == "int64":
            out.append(torch.randint(0, 10, (batch, *p["shape"]), generator=gen))
        else:
            out.append(torch.randn((batch, *p["shape"]), generator=gen))
    return out


def _outputs(y) -> list[torch.Tensor]:
    return list(y) if isinstance(y, (tuple, list)) else [y]


# Run as `python file.py` in a fresh interpreter (each costs a torch import, so two: one plain
# file and the one whose names clash with its imports); the others run as __main__ in this
# process, which executes the same file text the same way.
FRESH = {"lenet", "hostile_names"}


def _run_as_main(path: Path) -> subprocess.CompletedProcess:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(str(path), run_name="__main__")
        except Exception:  # noqa: BLE001  (reported like a failing process, with its traceback)
            traceback.print_exc()
            code = 1
    return subprocess.CompletedProcess([str(path)], code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Every graph's file, its run as ``python file.py`` and the lint verdict."""
    folder = tmp_path_factory.mktemp("exported")
    files = {}
    for name, make in GRAPHS.items():
        path = folder / f"{name}.py"
        path.write_text(make().to_python(), encoding="utf-8")
        files[name] = path
    runs, pending = {}, [(n, p) for n, p in files.items() if n in FRESH]
    running: dict[str, subprocess.Popen] = {}
    while pending or running:  # a fresh interpreter each, as a user runs it; two at a time
        while pending and len(running) < 2:
            name, path = pending.pop(0)
            running[name] = subprocess.Popen([sys.executable, str(path)], cwd=folder, text=True,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        name, proc = next(iter(running.items()))
        out, err = proc.communicate(timeout=120)
        runs[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        del running[name]
    for name, path in files.items():  # the rest as __main__ here: torch loads once per process
        if name not in FRESH:
            runs[name] = _run_as_main(path)
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated",
                           "--select", "E,F,W", "--line-length", "100",
                           *map(str, files.values())], capture_output=True, text=True,
                          check=False)
    return files, runs, lint


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(f"exported_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", GRAPHS)
def test_exported_file_runs_and_matches_the_built_module(name, exported):
    files, runs, _ = exported
    g = GRAPHS[name]()
    analysis = g.analyze()
    assert analysis.ok, analysis.diagnostics
    run = runs[name]
    assert run.returncode == 0, run.stderr
    outs = [analysis.shape(o) if g.node(o).type != "Output" else analysis.nodes[o].shape
            for o in g.outputs()]
    expected = [(2, *s) for s in outs]
    printed = run.stdout.strip().splitlines()[-1]
    assert printed == (str(expected[0]) if len(expected) == 1 else str(expected))

    torch.manual_seed(0)
    built = g.build()
    module = _import(files[name])
    cls = next(v for k, v in vars(module).items() if isinstance(v, type) and
               issubclass(v, torch.nn.Module) and k == module.__doc__.split(":")[0])
    exported_model = cls()
    exported_model.load_state_dict(built.state_dict(), strict=True)
    built.eval()
    exported_model.eval()
    xs = _inputs(g)
    with torch.no_grad():
        a, b = _outputs(built(*xs)), _outputs(exported_model(*xs))
    assert len(a) == len(b) == len(outs)
    for ya, yb, shape in zip(a, b, outs):
        assert tuple(ya.shape[1:]) == shape
        assert torch.equal(ya, yb)


def test_build_executes_the_same_source_as_export():
    g = lenet()
    built = g.build()
    assert built.netbuilder_source == g.to_python(main=False)
    assert g.to_python(main=False) in g.to_python()  # export only adds the __main__ block


def test_exported_files_pass_the_linter(exported):
    _, _, lint = exported
    assert lint.returncode == 0, lint.stdout + lint.stderr


def _calls(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return names


@pytest.mark.parametrize("name", GRAPHS)
def test_source_imports_only_torch_and_math(name, exported):
    files, _, _ = exported
    src = files[name].read_text(encoding="utf-8")
    tree = ast.parse(src)
    compile(src, str(files[name]), "exec")
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add(node.module)
    assert modules <= {"torch", "torch.nn.functional", "math"}
    assert "torch" in modules
    forbidden = {"system", "eval", "exec", "__import__", "popen", "compile", "getattr",
                 "setattr", "open", "globals", "locals", "input"}
    assert not _calls(tree) & forbidden
    # Only classes and the __main__ guard at the top level: nothing runs on import.
    for node in tree.body:
        assert isinstance(node, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.If, ast.Expr))


def test_hostile_names_become_inert_identifiers(exported):
    files, runs, _ = exported
    assert runs["hostile_names"].returncode == 0, runs["hostile_names"].stderr
    assert "pwned" not in runs["hostile_names"].stdout
    src = files["hostile_names"].read_text(encoding="utf-8")
    tree = ast.parse(src)
    main = next(n for n in tree.body if isinstance(n, ast.ClassDef) and
                n.name not in ("Reshape", "Reshape_"))
    assert main.name.startswith("GraphQuotedNameWithNewline")
    g = hostile_names()
    model = g.build()
    keys = {k.split(".")[0] for k in model.state_dict()}
    for bad in ("class", "print", "torch", "self", "nn", "F", "training", "eval", "to",
                "parameters", "forward"):
        assert bad not in keys
    assert {"class_", "print_", "torch_", "self_", "nn_", "F_", "training_", "eval_", "to_",
            "parameters_", "uni", "a_b", "a_b_1"} <= keys
    assert model.training is True  # the flag is still a flag
    model.eval()
    assert model.training is False
    # The helper class survives a block and a graph named after it.
    assert "class Reshape(nn.Module)" in src
    assert src.count("class Reshape(nn.Module)") == 1
    y = model(torch.randn(2, 4))
    assert tuple(y.shape) == (2, 2, 2)
    assert isinstance(model.state_dict(), dict)


def test_every_attribute_and_variable_is_a_safe_identifier():
    import builtins
    import keyword

    src = hostile_names().to_python()
    tree = ast.parse(src)
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        attrs = [t.attr for n in ast.walk(cls) if isinstance(n, ast.Assign)
                 for t in n.targets if isinstance(t, ast.Attribute)]
        assert len(attrs) == len(set(attrs)), cls.name
        fwd = next(f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "forward")
        local = {t.id for n in ast.walk(fwd) if isinstance(n, ast.Assign)
                 for t in n.targets if isinstance(t, ast.Name)}
        local |= {a.arg for a in fwd.args.args}
        for name in local | set(attrs):
            assert name.isascii() and name.isidentifier() and not keyword.iskeyword(name)
            assert name not in ("torch", "nn", "F", "math") and not hasattr(builtins, name)
            assert name not in dir(torch.nn.Module) or name == "self"


def test_state_dict_keys_follow_node_names():
    keys = list(lenet().build().state_dict())
    assert keys == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight",
                    "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]
    keys = list(with_blocks().build().state_dict())
    assert "encoder.enc_fc.weight" in keys and "decoder.dec_out.bias" in keys


def test_source_reads_like_hand_written_code():
    src = lenet().to_python(class_name="LeNet")
    assert "class LeNet(nn.Module):" in src
    assert "self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)" in src
    assert "conv1 = self.conv1(image)" in src
    assert "self.fc1 = nn.Linear(400, 120)" in src
    assert "def forward(self, image):" in src
    assert 'if __name__ == "__main__":' in src and "model = LeNet()" in src
    assert "import torch.nn.functional" not in src  # only what it uses
    blocks = with_blocks().to_python()
    assert "class Encoder(nn.Module):" in blocks and "self.encoder = Encoder()" in blocks


def test_initializers_are_applied_in_the_built_module():
    torch.manual_seed(0)
    model = initializers().build()
    assert torch.count_nonzero(model.fc_zeros.weight) == 0
    assert torch.all(model.fc_constant.weight == 0.05)
    w = model.fc_orthogonal.weight
    torch.testing.assert_close(w @ w.t(), torch.eye(12), atol=1e-5, rtol=0)
    for name, p in model.rnn.named_parameters():
        if name.startswith("weight_hh"):
            torch.testing.assert_close(p.t() @ p, torch.eye(5), atol=1e-5, rtol=0)
    assert model.prelu.weight.shape == (3,) and torch.all(model.prelu.weight == 0.2)
    assert model.leaky.negative_slope == 0.3
    src = initializers().to_python()
    for call in ("nn.init.xavier_uniform_", "nn.init.xavier_normal_", "nn.init.kaiming_uniform_",
                 "nn.init.kaiming_normal_", "nn.init.orthogonal_", "nn.init.zeros_",
                 "nn.init.constant_(self.fc_constant.weight, 0.05)"):
        assert call in src, call
    assert g_regularizers() == [("fc_" + k, 0.0, 1e-4) for k in (
        "xavier_uniform", "xavier_normal", "kaiming_uniform", "orthogonal", "zeros",
        "constant", "default")]


def g_regularizers():
    return initializers().regularizers()


def test_compile_error_lists_every_problem():
    g = nb.Graph("broken")
    x = g.add("Input", shape=(1, 8, 8))
    fc = g.add("Linear", "fc")
    g.connect(x, fc)
    g.add("ReLU", "loose")
    with pytest.raises(nb.CompileError) as err:
        g.build()
    text = str(err.value)
    assert text.startswith("'broken' cannot be compiled:")
    assert "Linear 'fc' expects (N, features) but receives (N, 1, 8, 8)" in text
    assert "ReLU 'loose' has no input" in text


def test_unused_branches_are_left_out():
    g = nb.Graph("pruned")
    x = g.add("Input", "x", shape=(4,))
    out = _chain(g, x, g.add("Linear", "used", out_features=2), g.add("Output", "y"))
    dead = g.add("Linear", "dead", out_features=3)
    g.connect(x, dead)
    assert out
    src = g.to_python()
    assert "self.used" in src and "dead" not in src


def test_graph_and_block_names_never_replace_helper_classes():
    g = nb.Graph("reshape")
    x = g.add("Input", "x", shape=(12,))
    r = g.add("Reshape", "r", shape=(3, 4))
    f = g.add("Flatten", "f")
    rbm = g.add("RBM", "rbm", n_hidden=5)
    _chain(g, x, r, f, rbm)
    group(g, [f, rbm], "Block", "RBM")
    src = g.to_python()
    tree = ast.parse(src)
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    assert len(classes) == len(set(classes))
    assert {"Reshape", "RBM"} <= set(classes)
    model = g.build()
    assert type(model).__name__ not in ("Reshape", "RBM")
    assert tuple(model(torch.rand(2, 12)).shape) == (2, 5)


@pytest.mark.parametrize("text,expected", [
    ("inner_blk", "InnerBlk"), ("lenet-5", "Lenet5"), ("my model", "MyModel"),
    ("données", "Donnees"), ("3d net", "Net3dNet"), ("None", "NoneModel"), ("", "Model"),
])
def test_class_names_are_camel_case_identifiers(text, expected):
    from netbuilder.compile.naming import class_name

    assert class_name(text) == expected


@pytest.mark.parametrize("text", ["nul\x00byte", "line\u2028separator", "lone\ud800surrogate",
                                  "tab\tand\x1bescape"])
def test_unprintable_graph_and_block_names_still_give_a_valid_file(text, tmp_path):
    g = nb.Graph(text)
    x = g.add("Input", text, shape=(4,))
    fc = g.add("Linear", text + "fc", out_features=3)
    g.connect(x, fc)
    group(g, [fc], "Block", text + "block")
    src = g.to_python()
    path = tmp_path / "model.py"
    path.write_text(src, encoding="utf-8")  # a lone surrogate would fail to encode here
    compile(path.read_bytes(), str(path), "exec")  # a NUL byte would fail to compile here
    assert all(c.isprintable() or c == "\n" for c in src)
    assert tuple(g.build()(torch.randn(2, 4)).shape) == (2, 3)
