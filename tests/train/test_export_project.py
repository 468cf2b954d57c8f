"""Project export: model.py gives build()'s outputs for every example, the files are lint-clean
and import no netbuilder, train.py loads exactly the data netbuilder trains on, and trains the
LeNet-5 example under plain Python and under a 2-process gloo torchrun."""
from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import netbuilder as nb
from netbuilder.train.batches import fit_to_input
from netbuilder.train.config import TrainingConfig
from netbuilder.train.data import load_dataset, split_dataset
from netbuilder.train.export_project import ExportError, export_project, format_python
from netbuilder.train.project.tasks import EXPORTABLE

EXAMPLES = sorted((Path(nb.__file__).parent / "resources" / "examples").glob("*.json"))
ALLOWED = {"torch", "numpy", "sklearn", "safetensors", "model", "recipe"} | set(
    sys.stdlib_module_names)


def _example(name: str) -> nb.Graph:
    return nb.load(next(p for p in EXAMPLES if p.stem == name))


def _load(path: Path, name: str):
    """Import a file of an exported project (its folder first on sys.path, as when run)."""
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules.pop("model", None)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(path.parent))
        sys.modules.pop("model", None)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Every example exported once: {name: (graph, folder, report)}."""
    root = tmp_path_factory.mktemp("projects")
    out = {}
    for path in EXAMPLES:
        graph = nb.load(path)
        out[path.stem] = (graph, root / path.stem, export_project(graph, root / path.stem))
    return out


@pytest.mark.parametrize("name", [p.stem for p in EXAMPLES])
def test_exported_model_gives_the_outputs_of_build(exported, name):
    graph, folder, report = exported[name]
    if TrainingConfig.from_graph(graph).task in EXPORTABLE:
        assert {"model.py", "train.py", "README.md"} <= set(report.files), report.warnings
    else:  # a task without a standalone script: the model alone, and a warning saying so
        assert set(report.files) == {"model.py", "README.md"}
        assert any("has no standalone training script" in w for w in report.warnings)
    built = graph.build().eval()
    module = _load(folder / "model.py", f"exported_{name}")
    model = getattr(module, report.class_name)()
    model.load_state_dict(built.state_dict(), strict=True)
    model.eval()
    gen = torch.Generator().manual_seed(0)
    args = []
    for nid in graph.inputs():
        p = graph.node(nid).params
        args.append(torch.randint(0, 2, (3, *p["shape"]), generator=gen) if p["dtype"] == "int64"
                    else torch.randn(3, *p["shape"], generator=gen))
    with torch.no_grad():
        torch.manual_seed(1)
        want = built(*args)
        torch.manual_seed(1)
        got = model(*args)
    for w, g in zip(*(o if isinstance(o, tuple) else (o,) for o in (want, got))):
        torch.testing.assert_close(g, w, rtol=0, atol=0)


def test_exported_files_are_lint_clean_and_import_no_netbuilder(exported):
    folders = [folder for _, folder, _ in exported.values()]
    files = [f for folder in folders for f in (folder / "model.py", folder / "train.py")
             if f.exists()]
    assert sum(f.name == "train.py" for f in files) >= 5
    for f in files:
        assert _imports(f) <= ALLOWED, f
        assert "netbuilder" not in _imports(f)
    ruff = [sys.executable, "-m", "ruff"]
    for folder in folders:
        check = subprocess.run([*ruff, "check", "--no-cache", "."], cwd=folder,
                               capture_output=True, text=True, timeout=120)
        assert check.returncode == 0, check.stdout + check.stderr
        fmt = subprocess.run([*ruff, "format", "--check", "--no-cache", "."], cwd=folder,
                             capture_output=True, text=True, timeout=120)
        assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_training_script_is_written_formatted_even_without_ruff(exported, tmp_path):
    """The raw template text is what ruff format would write (for machines without ruff)."""
    from netbuilder.compile import generate
    from netbuilder.train.export_project import training_script

    for graph, folder, _ in exported.values():
        if not (folder / "train.py").exists():
            continue
        raw, _ = training_script(graph, TrainingConfig.from_graph(graph),
                                 generate(graph, None, main=False)[1])
        assert format_python(raw, "train.py") == raw, graph.name
        assert len(raw.splitlines()) <= 300, graph.name


def test_a_setup_that_cannot_train_still_exports_and_says_why(tmp_path):
    graph = _example("lenet5")
    graph.training = {**graph.training, "dataset": "spirals"}
    report = export_project(graph, tmp_path / "p")
    assert report.files == ["model.py", "README.md"]
    assert "train.py was not written" in report.warnings[0]
    assert "spirals" in report.warnings[0]
    assert "Note: train.py was not written" in (tmp_path / "p" / "README.md").read_text()
    # a setup the trainer refuses is not written as a script that would crash either
    vae = _example("vae_conv")
    vae.training = {**vae.training, "optimizer": "lbfgs"}
    report = export_project(vae, tmp_path / "v")
    assert "train.py" not in report.files
    assert "cannot use the L-BFGS optimizer" in report.warnings[0]


def test_weights_of_a_run_are_exported_in_both_formats(tmp_path):
    graph = _example("lenet5")
    trained = graph.build()
    torch.manual_seed(5)
    for p in trained.parameters():
        p.data.normal_()
    run = tmp_path / "runs" / "lenet5-1"
    run.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in trained.state_dict().items()},
              str(run / "weights.safetensors"))
    report = export_project(graph, tmp_path / "p", run)
    assert {"weights.safetensors", "weights.pt"} <= set(report.files)
    model = getattr(_load(tmp_path / "p" / "model.py", "m_weights"), report.class_name)()
    for state in (load_file(str(tmp_path / "p" / "weights.safetensors")),
                  torch.load(tmp_path / "p" / "weights.pt", weights_only=True)):
        model.load_state_dict(state, strict=True)
        assert torch.equal(model.fc1.weight, trained.fc1.weight)
    other = _example("mlp_spirals").build().state_dict()
    save_file({k: v.contiguous() for k, v in other.items()}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(ExportError, match="do not fit the graph"):
        export_project(graph, tmp_path / "q", tmp_path / "bad.safetensors")
    assert not (tmp_path / "q").exists()


# --- the data train.py loads is netbuilder's ---------------------------------------------------

def _netbuilder_split(graph: nb.Graph):
    cfg = TrainingConfig.from_graph(graph)
    ds = load_dataset(cfg.dataset, **cfg.dataset_options)
    ds, _ = fit_to_input(ds, graph, lambda _m: None)
    return split_dataset(ds, cfg.val_split, cfg.seed)


@pytest.mark.parametrize("example,changes", [
    ("lenet5", {}),
    ("mlp_spirals", {"dataset": "spirals", "dataset_options": {"n_samples": 300, "noise": 0.1}}),
    ("mlp_spirals", {"dataset": "moons", "dataset_options": {"seed": 3}}),
    ("mlp_spirals", {"dataset": "circles", "dataset_options": {"factor": 0.3}}),
    ("gru_forecaster", {"dataset": "sine", "task": "regress",
                        "dataset_options": {"length": 20, "n_samples": 200}}),
    ("lstm_classifier", {"dataset": "digits_rows"}),
    ("rbm_digits", {}),
], ids=["digits-resized", "spirals", "moons", "circles", "sine", "digits_rows", "binarized"])
def test_train_py_loads_the_data_netbuilder_trains_on(example, changes, tmp_path):
    graph = _example(example)
    graph.training = {**TrainingConfig.from_graph(graph).to_dict(), **changes}
    report = export_project(graph, tmp_path)
    assert "train.py" in report.files, report.warnings
    script = _load(tmp_path / "train.py", f"train_{example}")
    x, y = script.load_data()
    train, val = script.split(x, y)
    nb_train, nb_val = _netbuilder_split(graph)
    np.testing.assert_allclose(x[train], nb_train.x, atol=1e-6)
    np.testing.assert_allclose(x[val], nb_val.x, atol=1e-6)
    if nb_train.y is not None and y is not None:
        np.testing.assert_array_equal(y[train], nb_train.y.reshape(y[train].shape))


def test_a_file_dataset_travels_as_arrays(tmp_path):
    rows = ["a,b,label"] + [f"{i / 10},{(i * 7 % 5) / 3},{'yes' if i % 3 else 'no'}"
                            for i in range(40)]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    graph = nb.Graph("tabular")
    x = graph.add("Input", "features", shape=(2,))
    fc = graph.add("Linear", "fc", out_features=2)
    graph.connect(x, fc)
    graph.training = {"dataset": str(tmp_path / "data.csv"), "val_split": 0.25}
    report = export_project(graph, tmp_path / "p")
    assert "data.npz" in report.files
    script = _load(tmp_path / "p" / "train.py", "train_csv")
    xs, ys = script.load_data()
    nb_train, _ = _netbuilder_split(graph)
    train, _ = script.split(xs, ys)
    np.testing.assert_array_equal(xs[train], nb_train.x)
    np.testing.assert_array_equal(ys[train], nb_train.y)


def test_train_py_adds_the_penalties_training_adds_inside_blocks_too(tmp_path):
    from netbuilder.graph.templates import make_autoencoder
    from netbuilder.train.trainer import Trainer

    ae = make_autoencoder("dense", (1, 8, 8), 4, (16,))
    enc = next(n for n in ae.nodes() if n.type == "Encoder")
    enc.inner.set_params(enc.inner.find("fc1"), {"l2": 0.5, "l1": 0.01})
    ae.training = TrainingConfig(task="autoencode").to_dict()
    report = export_project(ae, tmp_path)
    assert "train.py" in report.files, report.warnings
    script = _load(tmp_path / "train.py", "train_penalised_ae")
    assert [p[0] for p in script.PENALTIES] == ["encoder.fc1"]
    model = getattr(_load(tmp_path / "model.py", "m_penalised_ae"), report.class_name)()
    built = ae.build()
    built.load_state_dict(model.state_dict())
    w = built.encoder.fc1.weight
    expected = 0.01 * w.abs().sum() + 0.5 * w.pow(2).sum()
    ours = sum(l1 * sum(t.abs().sum() for t in ws) + l2 * sum(t.pow(2).sum() for t in ws)
               for l1, l2, ws in Trainer(ae, ae.training)._regularizers(built))
    torch.testing.assert_close(script.penalty(model), expected)
    torch.testing.assert_close(ours, expected)


# --- train.py really trains --------------------------------------------------------------------

def _run(cmd, cwd, timeout=240):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


def _run_here(folder: Path, argv: list, capsys) -> str:
    """Run ``folder/train.py ARGV`` in this process (torch is imported already: the imports
    of a fresh interpreter cost more than these short runs); its standard output. That the
    scripts need nothing but torch, numpy and scikit-learn is tested above."""
    from run_scripts import run

    capsys.readouterr()
    done = run(folder, argv)
    out = capsys.readouterr()
    assert done == {"rc": 0, "error": ""}, (done["error"] or out.err)[-3000:]
    return out.out


def test_standalone_runs_cannot_import_netbuilder(tmp_path):
    """``run_standalone``, which runs exported files for several tests, stands in for a
    fresh interpreter: the folder's own modules import, netbuilder does not; then it is back."""
    from standalone import run_standalone

    (tmp_path / "m.py").write_text("VALUE = 3\n")
    assert run_standalone(tmp_path, "from m import VALUE\nprint(VALUE)") == "3\n"
    for line in ("import netbuilder", "from netbuilder.graph import Graph"):
        with pytest.raises(ImportError):
            run_standalone(tmp_path, line)
    with pytest.raises(AssertionError, match="exited with 2"):
        run_standalone(tmp_path, "import sys\nsys.argv = ['x']\nsys.exit(2)")
    assert sys.modules["netbuilder"] is nb and "m" not in sys.modules and sys.argv[0] != "x"


@pytest.fixture(scope="module")
def lenet_project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lenet")
    report = export_project(_example("lenet5"), folder)
    assert "train.py" in report.files
    return folder, report.class_name


def _trained(folder: Path, cls: str, out: str):
    model = getattr(_load(folder / "model.py", f"m_{out}"), cls)()
    model.load_state_dict(load_file(str(folder / out / "weights.safetensors")), strict=True)
    return model


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_train_py_trains_lenet_for_an_epoch(lenet_project, capsys):
    folder, cls = lenet_project
    stdout = _run_here(folder, ["--epochs", "1", "--out", "single"], capsys)
    epoch = re.search(r"epoch 1/1  loss ([\d.]+)  val_loss ([\d.]+)  val_accuracy ([\d.]+)",
                      stdout)
    assert epoch, stdout
    assert float(epoch.group(3)) > 0.3  # chance is 0.1 on ten digits
    assert "saved single/weights.safetensors" in stdout
    before = getattr(_load(folder / "model.py", "m_fresh"), cls)()
    after = _trained(folder, cls, "single")
    assert not torch.equal(before.conv1.weight, after.conv1.weight)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_train_py_trains_under_torchrun_with_two_processes(lenet_project):
    folder, cls = lenet_project
    done = _run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 "--nproc_per_node=2", "train.py", "--epochs", "1", "--device", "cpu",
                 "--out", "ddp"], folder)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(re.findall(r"^epoch 1/1 ", done.stdout, re.M)) == 1  # rank 0 reports
    assert done.stdout.count("saved ddp/weights.safetensors") == 1
    assert _trained(folder, cls, "ddp").fc3.weight.abs().sum() > 0


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name,metric", [("vae_conv", "val_elbo"), ("dcgan_digits", "val_d_x"),
                                         ("dbn_digits", "val_accuracy")])
def test_generative_training_scripts_run(name, metric, tmp_path, capsys):
    report = export_project(_example(name), tmp_path)
    assert "train.py" in report.files, report.warnings
    stdout = _run_here(tmp_path, ["--epochs", "1", "--limit", "96"], capsys)
    assert re.search(rf"epoch 1/1 .*{metric} -?[\d.]+", stdout), stdout
    assert (tmp_path / "trained" / "weights.safetensors").exists()


def test_the_scripts_weights_loader_never_passes_on_torchs_advice(tmp_path):
    """``train.py --weights evil.pt``: one sentence, not torch's hint to load unsafely."""
    import argparse

    from netbuilder.train.recipe import load_weights  # what train.py imports, verbatim

    scope = {"load_weights": load_weights}
    torch.save({"w": argparse.Namespace(a=1)}, tmp_path / "evil.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "evil.pt").read_bytes()[:64])
    for name in ("evil.pt", "cut.pt"):
        path = str(tmp_path / name)
        with pytest.raises(SystemExit) as err:
            scope["load_weights"](path)
        assert str(err.value) == (f"{path}: cannot read the weights: it is damaged, or it holds "
                                  f"Python objects besides tensors (not loaded: they could run "
                                  f"code)")
