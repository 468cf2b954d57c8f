"""`netbuilder import FILE.py:CLASS -o OUT` and `netbuilder export FILE --project/--onnx/
--torchscript`: files written, exit statuses, and errors that say what to fix."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import onnxruntime as ort
import pytest
import torch
from safetensors.torch import save_file

import netbuilder as nb

# torch.jit and the legacy ONNX exporter announce their deprecation on every call.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MODELS = textwrap.dedent('''
    import torch
    import torch.nn.functional as F
    from torch import nn


    class Net(nn.Module):
        def __init__(self, hidden=32, classes=10):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.fc1 = nn.Linear(4 * 14 * 14, hidden)
            self.fc2 = nn.Linear(hidden, classes)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv(x)), 2)
            x = torch.flatten(x, 1)
            return self.fc2(F.relu(self.fc1(x)))


    class Mlp(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 3)

        def forward(self, x):
            return torch.tanh(self.fc(x))


    class Spectral(nn.Module):
        def forward(self, x):
            return torch.fft.fft(x).real
''')


@pytest.fixture
def models(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(MODELS)
    return path


@pytest.mark.usefixtures("import_here")
def test_import_writes_a_graph_file(cli, models, tmp_path):
    out = tmp_path / "net.json"
    code, stdout, err = cli("import", f"{models}:Net", "--args", '{"hidden": 16}',
                            "--input-shape", "1,28,28", "-o", out)
    assert code == 0, err
    params = 4 * 9 + 4 + 784 * 16 + 16 + 16 * 10 + 10
    assert stdout == f"imported Net: 7 nodes, {params:,} parameters → {out}\n"
    graph = nb.load(out)
    assert graph.name == "Net"
    assert graph.analyze().total_params == params
    assert {n.name for n in graph.nodes()} >= {"conv", "fc1", "fc2"}
    assert graph.node(graph.find("fc1")).params["out_features"] == 16


@pytest.mark.usefixtures("import_here")
def test_import_guesses_a_linear_input_and_takes_a_name(cli, models, tmp_path):
    code, _, err = cli("import", f"{models}:Mlp", "--name", "tiny", "-o", tmp_path / "m.json")
    assert code == 0, err
    graph = nb.load(tmp_path / "m.json")
    assert graph.name == "tiny"
    assert graph.node(graph.inputs()[0]).params["shape"] == (5,)


@pytest.mark.usefixtures("import_here")
def test_import_reports_placeholders_with_file_and_line(cli, models, tmp_path):
    code, out, err = cli("import", f"{models}:Spectral", "--input-shape", "8",
                         "-o", tmp_path / "s.json")
    assert code == 0, err
    line = MODELS.splitlines().index("        return torch.fft.fft(x).real") + 1
    assert "import report (placeholders and fallbacks):" in out
    assert f"  - torch.fft.fft in the top level → Function node (no node type stands for it) " \
           f"at {models}:{line}: `return torch.fft.fft(x).real`" in out
    graph = nb.load(tmp_path / "s.json")
    assert [n.params["function"] for n in graph.nodes() if n.type == "Function"] == [
        "torch.fft.fft", "Tensor.real"]


@pytest.mark.usefixtures("import_here")
@pytest.mark.parametrize("argv,message", [
    (["{models}:Nope"], "has no class 'Nope' (its module classes: Net, Mlp, Spectral)"),
    (["{models}"], "give the file and the class as FILE.py:CLASS"),
    (["missing.py:Net"], "missing.py: file not found"),
    (["{models}:Net", "--args", "{bad"], "--args is not valid JSON"),
    (["{models}:Net", "--args", '{"width": 3}'], "Net(width=3) fails: TypeError"),
    (["{models}:Net", "--input-shape", "1,-2"], "is not an input shape"),
    (["{models}:Net"], "Give the input shape of Net"),
])
def test_import_errors_are_one_clear_message(cli, models, tmp_path, argv, message):
    argv = [a.replace("{models}", str(models)) for a in argv]
    code, out, err = cli("import", *argv, "-o", tmp_path / "x.json")
    assert code == 1
    assert err.startswith("netbuilder: error: ") and message in err
    assert "Traceback" not in err


@pytest.mark.parametrize("tail,extra,message", [
    ("import sys\nsys.exit(0)\n", [], ":{line} (`sys.exit(0)`) calls sys.exit(0) when it runs"),
    ("while True:\n    pass\n", ["--timeout", "2"], " did not finish importing within 2 s"),
])
def test_import_of_a_file_that_exits_or_hangs_fails_and_writes_nothing(cli, tmp_path, tail,
                                                                        extra, message):
    path = tmp_path / "script.py"
    path.write_text(MODELS + tail)
    out = tmp_path / "x.json"
    code, stdout, err = cli("import", f"{path}:Mlp", *extra, "-o", out)
    assert code == 1 and stdout == ""
    line = MODELS.count("\n") + 2
    assert err.startswith(f"netbuilder: error: {path}") and message.format(line=line) in err
    assert "Traceback" not in err and not out.exists()


def test_import_timeout_must_be_positive(cli, models, tmp_path):
    code, _, err = cli("import", f"{models}:Mlp", "--timeout", "0", "-o", tmp_path / "x.json")
    assert code == 1 and "--timeout 0: give a positive number of seconds" in err


def test_import_leaves_torch_to_the_child_process(models, tmp_path):
    out = tmp_path / "m.json"
    # The command line's side starts the child before it loads the graph model (networkx).
    code = ("import sys; from netbuilder.cli import main; "
            "light = 'networkx' not in sys.modules; "
            f"status = main(['import', {f'{models}:Mlp'!r}, '-o', {str(out)!r}]); "
            "print(status, 'torch' in sys.modules, light)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.stdout.splitlines()[-1] == "0 False True", done.stderr
    assert nb.load(out).analyze().total_params == 5 * 3 + 3


def test_export_project_onnx_and_torchscript(cli, lenet_file, tmp_path):
    project, onnx_path, ts_path = tmp_path / "proj", tmp_path / "m.onnx", tmp_path / "m.pt"
    code, out, err = cli("export", lenet_file, "--project", project, "--onnx", onnx_path,
                         "--torchscript", ts_path, "--no-weights")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"wrote {project}: model.py, train.py, recipe.py, README.md"
    assert lines[1].startswith(f"wrote {onnx_path} (ONNX, inputs image with a dynamic batch "
                               f"axis; onnxruntime matches PyTorch within")
    assert lines[2] == f"wrote {ts_path} (TorchScript by torch.jit.script)"
    assert sorted(p.name for p in project.iterdir()) == ["README.md", "model.py", "recipe.py",
                                                         "train.py"]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert session.run(None, {"image": torch.zeros(5, 1, 28, 28).numpy()})[0].shape == (5, 10)
    assert torch.jit.load(str(ts_path))(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_export_takes_the_newest_run_that_fits(cli, lenet_file, tmp_path):
    graph_file = tmp_path / "lenet5.json"
    graph_file.write_text(lenet_file.read_text())
    graph = nb.load(graph_file)
    trained = graph.build()
    for p in trained.parameters():
        p.data.fill_(0.5)
    run = tmp_path / "runs" / "lenet5-20250101-000000"
    run.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in trained.state_dict().items()},
              str(run / "weights.safetensors"))
    code, out, err = cli("export", graph_file, "--project", tmp_path / "p")
    assert code == 0, err
    assert out.strip().endswith(f"(weights from {run})")
    state = torch.load(tmp_path / "p" / "weights.pt", weights_only=True)
    assert torch.all(state["fc1.weight"] == 0.5)


def test_export_refuses_weights_that_do_not_fit(cli, lenet_file, tmp_path):
    save_file({"w": torch.zeros(1)}, str(tmp_path / "w.safetensors"))
    code, out, err = cli("export", lenet_file, "--project", tmp_path / "p",
                         "--weights", tmp_path / "w.safetensors")
    assert code == 1 and out == ""
    assert "do not fit the graph" in err and "Traceback" not in err
    code, _, err = cli("export", lenet_file, "--onnx", tmp_path / "no" / "m.onnx")
    assert code == 1 and "the folder" in err and "does not exist" in err


def test_export_warns_when_the_training_setup_cannot_be_scripted(cli, lenet_file, tmp_path):
    data = json.loads(lenet_file.read_text())
    data["training"] = {**data.get("training", {}), "dataset": "spirals"}
    path = tmp_path / "g.json"
    path.write_text(json.dumps(data))
    code, out, err = cli("export", path, "--project", tmp_path / "p")
    assert code == 0
    assert out.startswith(f"wrote {tmp_path / 'p'}: model.py, README.md")
    assert "netbuilder: warning: train.py was not written" in err


def test_import_and_export_are_listed_in_help(cli):
    code, out, _ = cli("--help")
    assert code == 0
    assert "import     import a PyTorch nn.Module class" in out
    code, out, _ = cli("export", "--help")
    assert code == 0 and "--project DIR" in out and "--onnx OUT.onnx" in out


@pytest.mark.parametrize("option", ["--onnx", "--torchscript"])
def test_export_to_a_folder_says_to_give_a_file_name(cli, lenet_file, tmp_path, option):
    target = tmp_path / "out"
    target.mkdir()
    project = tmp_path / "proj"
    code, out, err = cli("export", lenet_file, "--project", project, option, target,
                         "--no-weights")
    assert code == 1 and not project.exists()  # checked before anything is written
    suffix = ".onnx" if option == "--onnx" else ".pt"
    assert err.strip() == (f"netbuilder: error: {target}: is a folder; give a file name such "
                           f"as {target / ('model' + suffix)}")
    assert "Traceback" not in err and list(target.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary file left


def test_export_weights_holding_python_objects_are_refused_in_our_words(cli, lenet_file,
                                                                        tmp_path):
    import argparse

    torch.save({"conv1.weight": argparse.Namespace(a=1)}, tmp_path / "evil.pt")
    code, out, err = cli("export", lenet_file, "--project", tmp_path / "p",
                         "--weights", tmp_path / "evil.pt")
    assert code == 1 and out == ""
    assert err == (f"netbuilder: error: {tmp_path / 'evil.pt'}: cannot read the weights: it holds "
                   f"Python objects besides tensors, which netbuilder does not load (loading "
                   f"them could run code): save a state dict of tensors instead\n")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "evil.pt").read_bytes()[:100])
    code, _, err = cli("export", lenet_file, "--project", tmp_path / "p",
                       "--weights", tmp_path / "cut.pt")
    assert err == (f"netbuilder: error: {tmp_path / 'cut.pt'}: cannot read the weights: it is "
                   f"damaged or truncated (not a complete PyTorch file)\n")
