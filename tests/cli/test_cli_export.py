"""`netbuilder export`: standalone source, written atomically; the extension hook."""
from __future__ import annotations

import argparse
import sys
import types

import torch

import netbuilder as nb
from netbuilder.commands import export
from netbuilder.compile import exec_source


def test_writes_the_generated_source(cli, lenet_file, tmp_path):
    out = tmp_path / "model.py"
    code, stdout, err = cli("export", lenet_file, "-o", out, "--class-name", "LeNet")
    assert code == 0, err
    assert stdout == f"wrote {out} (61,706 parameters)\n"
    source = out.read_text()
    assert source == nb.load(lenet_file).to_python(class_name="LeNet")
    assert "class LeNet(nn.Module):" in source and "import netbuilder" not in source
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.py"]  # no temporary left
    model = exec_source(source, "exported")["LeNet"]()
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_overwrites_atomically_and_without_main(cli, lenet_file, tmp_path):
    out = tmp_path / "model.py"
    out.write_text("old")
    code, _, _ = cli("export", lenet_file, "-o", out, "--no-main")
    assert code == 0
    text = out.read_text()
    assert "__main__" not in text and "class Lenet5(nn.Module):" in text


def test_standard_output_without_o(cli, lenet_file):
    code, out, _ = cli("export", lenet_file)
    assert code == 0
    assert out == nb.load(lenet_file).to_python()
    code, out2, _ = cli("export", lenet_file, "-o", "-")
    assert out2 == out


def test_graph_with_errors_is_one_line(cli, save, broken_graph, tmp_path):
    path = save(broken_graph)
    code, out, err = cli("export", path, "-o", tmp_path / "m.py")
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"netbuilder: error: {path}: 'broken' cannot be compiled: "
                          "Linear 'fc1' expects (N, features)")
    assert not (tmp_path / "m.py").exists()


def test_missing_folder_and_bad_class_name(cli, lenet_file, tmp_path):
    code, _, err = cli("export", lenet_file, "-o", tmp_path / "nope" / "m.py")
    assert code == 1
    assert err == (f"netbuilder: error: {tmp_path / 'nope' / 'm.py'}: the folder "
                   f"{tmp_path / 'nope'} does not exist\n")
    code, _, err = cli("export", lenet_file, "--class-name", "my model")
    assert code == 1 and "--class-name 'my model' is not a Python identifier" in err


def test_extension_hook_adds_options_and_acts(cli, lenet_file, tmp_path, monkeypatch):
    calls = []
    ext = types.ModuleType("fake_export_ext")

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--fake", metavar="DIR")

    def run(args, graph):
        if args.fake is None:
            return None
        calls.append((args.fake, graph.name))
        return 0

    ext.add_arguments, ext.run = add_arguments, run
    monkeypatch.setitem(sys.modules, "fake_export_ext", ext)
    monkeypatch.setattr(export, "EXTENSIONS", ("fake_export_ext",))

    code, out, _ = cli("export", lenet_file, "--fake", "proj")
    assert code == 0 and calls == [("proj", "lenet5")]
    assert out == ""  # the extension acted and no -o was given: no Python on stdout
    code, _, _ = cli("export", lenet_file, "--fake", "proj2", "-o", tmp_path / "m.py")
    assert code == 0 and (tmp_path / "m.py").exists() and calls[-1] == ("proj2", "lenet5")
    code, out, _ = cli("export", lenet_file)  # extension not asked: plain export
    assert code == 0 and out.startswith('"""Lenet5') and len(calls) == 2
