"""`netbuilder check`: diagnostics as advice, exit 1 on an error, one line for a bad file."""
from __future__ import annotations

import json
import os

import netbuilder as nb


def test_clean_example_is_ok(cli, lenet_file):
    code, out, err = cli("check", lenet_file)
    assert code == 0, err
    assert out.strip() == f"{lenet_file}: OK (14 nodes, 61,706 parameters)"
    assert err == ""


def test_missing_flatten_is_an_error_with_advice(cli, save, broken_graph):
    path = save(broken_graph)
    code, out, err = cli("check", path)
    assert code == 1
    assert ("error: Linear 'fc1' expects (N, features) but receives (N, 4, 10, 10): "
            "add a Flatten before it") in out.splitlines()
    assert out.splitlines()[-1] == f"{path}: 1 error (3 nodes, 40 parameters)"
    assert err == ""


def test_warnings_alone_exit_zero(cli, save):
    g = nb.Graph("dangling")
    x = g.add("Input", "x", shape=(4,))
    fc = g.add("Linear", "fc", out_features=2)
    out_node = g.add("Output", "y")
    spare = g.add("ReLU", "spare")  # computed for nothing: a warning, not an error
    g.connect(x, fc)
    g.connect(fc, out_node)
    g.connect(x, spare)
    path = save(g)
    code, out, _ = cli("check", path)
    assert code == 0
    (warning,) = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert warning.startswith("warning: ReLU 'spare'") and "Output" in warning
    assert out.splitlines()[-1] == f"{path}: OK with 1 warning (4 nodes, 10 parameters)"


def test_json_output(cli, save, broken_graph):
    path = save(broken_graph)
    code, out, _ = cli("check", path, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False and report["errors"] == 1 and report["nodes"] == 3
    (diag,) = report["diagnostics"]
    assert diag["severity"] == "error"
    assert diag["node"] == broken_graph.find("fc1") and diag["node_name"] == "fc1"
    assert diag["message"].startswith("Linear 'fc1' expects (N, features)")


def test_json_for_a_clean_file(cli, lenet_file):
    code, out, _ = cli("check", "--json", lenet_file)
    report = json.loads(out)
    assert code == 0
    assert (report["ok"], report["errors"], report["warnings"]) == (True, 0, 0)
    assert report["parameters"] == 61706 and report["name"] == "lenet5"


def test_not_json_is_one_line_on_stderr(cli, write_json):
    path = write_json('{"format_version": 1, "nodes": [}')
    code, out, err = cli("check", path)
    assert code == 1 and out == ""
    assert err == (f"netbuilder: error: {path}: not valid JSON: Expecting value at line 1, "
                   "column 33\n")


def test_bad_parameter_names_the_field(cli, lenet_file, write_json):
    data = json.loads(lenet_file.read_text())
    data["nodes"][1]["params"]["stride"] = -1
    path = write_json(data)
    code, _, err = cli("check", path)
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"netbuilder: error: {path}: Conv2d 'conv1': stride = -1 is not valid")
    assert err.rstrip().endswith("(at nodes[1].params.stride)")


def test_unknown_version_and_missing_file(cli, tmp_path, write_json):
    code, _, err = cli("check", write_json({"format_version": 99, "nodes": []}))
    assert code == 1 and "format_version 99 is not supported" in err
    assert "(at format_version)" in err
    code, _, err = cli("check", tmp_path / "nope.json")
    assert code == 1 and err == f"netbuilder: error: {tmp_path / 'nope.json'}: file not found\n"
    code, _, err = cli("check", tmp_path)
    assert code == 1 and err == f"netbuilder: error: {tmp_path}: is a folder, not a graph file\n"


def test_several_files_go_on_after_a_bad_one(cli, lenet_file, write_json):
    bad = write_json("not json at all", "bad.json")
    code, out, err = cli("check", bad, lenet_file)
    assert code == 1
    assert f"{bad}: not valid JSON" in err
    assert f"{lenet_file}: OK" in out
    code, out, _ = cli("check", "--json", bad, lenet_file)
    reports = json.loads(out)
    assert [r["ok"] for r in reports] == [False, True]


def test_usage_error_exits_2(cli):
    code, _, err = cli("check")
    assert code == 2 and "the following arguments are required: FILE" in err


def big_mlp(save):
    g = nb.Graph("big")
    x = g.add("Input", "x", shape=(100_000,))
    fc = g.add("Linear", "fc", out_features=100_000)
    g.connect(x, fc)
    g.connect(fc, g.add("Output", "y"))
    return save(g), 100_000 * 100_000 + 100_000


def test_a_model_too_big_for_memory_gets_a_warning_with_the_estimate(cli, save, monkeypatch):
    import netbuilder.train.memory as memory

    path, params = big_mlp(save)
    monkeypatch.setattr(memory, "available_memory", lambda: 8 * 1024 ** 3)
    monkeypatch.setattr(memory, "cuda_free_memory", lambda: None)
    code, out, err = cli("check", path)
    assert code == 0, err
    assert out.splitlines() == [
        "warning: the model's 10,000,100,000 parameters need about 149.0 GiB for weights, "
        "gradients and adam state, but this machine has 8.0 GiB of memory available: training "
        "will run out of memory (use a smaller model)",
        f"{path}: OK with 1 warning (3 nodes, 10,000,100,000 parameters)"]
    report = json.loads(cli("check", path, "--json")[1])
    assert report["warnings"] == 1 and report["parameters"] == params
    assert report["diagnostics"][-1]["message"].startswith("the model's 10,000,100,000")
    monkeypatch.setattr(memory, "available_memory", lambda: 200 * 1024 ** 3)
    assert cli("check", path)[1] == f"{path}: OK (3 nodes, 10,000,100,000 parameters)\n"


def test_names_that_cannot_be_encoded_are_printed_escaped(examples_dir, tmp_path):
    """A lone surrogate in a node name (valid JSON: "\\ud800") is refused in one line that
    prints escaped, never a crash of the printing."""
    import subprocess
    import sys

    data = json.loads((examples_dir / "mlp_spirals.json").read_text())
    data["nodes"][1]["name"] = "bad\ud800name"
    data["edges"] = [e for e in data["edges"] if e["dst"] != data["nodes"][1]["id"]]
    path = tmp_path / "g.json"
    path.write_text(json.dumps(data))
    done = subprocess.run([sys.executable, "-m", "netbuilder", "check", str(path)],
                          capture_output=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    err = done.stderr.decode("utf-8")
    assert done.returncode == 1 and "Traceback" not in err, err
    assert err.strip() == (f'netbuilder: error: {path}: the text "bad\\ud800name" holds a lone '
                           f"surrogate (U+D800), which is not a character (at nodes[1].name)")


def test_a_gan_task_makes_a_missing_discriminator_an_error(cli, save):
    from netbuilder.graph.templates import make_gan

    g = make_gan("dense", (1, 8, 8), latent=4, hidden=(8, 8))
    g.remove(g.find("p_real"))
    g.remove(g.find("p_fake"))
    g.remove(next(n.id for n in g.nodes() if n.spec.block_role == "discriminator"))
    want = "The GAN needs a Discriminator block fed by the Generator's output"
    code, out, _ = cli("check", save(g))  # a half-drawn GAN, no task: a warning
    assert code == 0 and any(ln.startswith(f"warning: {want}") for ln in out.splitlines())
    g.training = {"task": "gan"}  # the GAN task needs it: an error, said once
    code, out, _ = cli("check", save(g))
    assert code == 1, out
    assert [ln for ln in out.splitlines() if want in ln] == [
        next(ln for ln in out.splitlines() if ln.startswith(f"error: {want}"))]
