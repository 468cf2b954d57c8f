"""`netbuilder summary`: the torchinfo-like table, totals, blocks indented, --json."""
from __future__ import annotations

import json
import re

import pytest

import netbuilder as nb
from netbuilder.commands.common import format_table, human_bytes, human_count, one_line


def _row(out: str, name: str) -> list[str]:
    """The cells of the table row whose first cell is ``name`` (indentation kept apart)."""
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == name:
            return cells
    raise AssertionError(f"no row {name!r} in:\n{out}")


def test_lenet_table_and_totals(cli, lenet_file):
    code, out, err = cli("summary", lenet_file)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"Model: lenet5 ({lenet_file})"
    assert re.split(r"\s{2,}", lines[1]) == ["Layer", "Type", "Output shape", "Param #", "MACs"]
    assert _row(out, "conv1") == ["conv1", "Conv2d", "(N, 6, 28, 28)", "156", "117.6K"]
    assert _row(out, "pool2") == ["pool2", "AvgPool2d", "(N, 16, 5, 5)", "0", "-"]
    assert _row(out, "fc1") == ["fc1", "Linear", "(N, 120)", "48,120", "48.0K"]
    assert _row(out, "logits") == ["logits", "Output", "(N, 10)", "0", "-"]
    assert "Total params: 61,706 (61.7K)" in lines
    assert "Trainable params: 61,706" in lines and "Non-trainable params: 0" in lines
    assert "MACs: 416.5K per sample" in lines
    assert "Parameter memory: 246.8 KB" in lines
    # Columns line up: every row is as wide as the rule or narrower.
    rule = next(line for line in lines if set(line) == {"-"})
    assert all(len(line) <= len(rule) for line in lines[1:lines.index(rule, 3)])


def test_batch_size_scales_macs_and_activation_memory(cli, lenet_file):
    analysis = nb.load(lenet_file).analyze()
    code, out, _ = cli("summary", lenet_file, "--batch-size", "64")
    assert code == 0
    assert "MACs: 416.5K per sample, 26.7M per batch of 64" in out
    expected = human_bytes(analysis.activation_bytes(64))
    assert f"Activation memory (batch 64): {expected}" in out
    assert analysis.activation_bytes(64) == 64 * analysis.activation_bytes(1)


def test_blocks_show_their_inner_layers_indented(cli, examples_dir):
    code, out, _ = cli("summary", examples_dir / "autoencoder.json")
    assert code == 0
    lines = out.splitlines()
    enc = next(i for i, line in enumerate(lines) if line.startswith("encoder "))
    assert lines[enc + 1].startswith("  enc1 ") and lines[enc + 3].startswith("  code ")
    assert _row(out, "encoder")[:4] == ["encoder", "Encoder", "(N, 8)", "2,344"]
    assert _row(out, "code")[:4] == ["code", "Linear", "(N, 8)", "264"]
    assert not any(line.strip().startswith(("x ", "y ")) for line in lines)  # block ports


def test_json_report(cli, lenet_file):
    code, out, _ = cli("summary", lenet_file, "--json", "--batch-size", "8")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["batch_size"] == 8
    conv1 = next(r for r in report["layers"] if r["name"] == "conv1")
    assert conv1["output_shapes"] == [[6, 28, 28]] and conv1["params"] == 156
    assert conv1["macs"] == 117600 and conv1["depth"] == 0 and conv1["error"] is None
    totals = report["totals"]
    assert totals["params"] == 61706 and totals["macs_per_sample"] == 416520
    assert totals["macs_per_batch"] == 8 * 416520 and totals["param_bytes"] == 4 * 61706


def test_json_nests_blocks_by_depth(cli, examples_dir):
    _, out, _ = cli("summary", "--json", examples_dir / "autoencoder.json")
    layers = json.loads(out)["layers"]
    inner = [r for r in layers if r["depth"] == 1]
    encoder = next(r for r in layers if r["name"] == "encoder")
    assert [r["name"] for r in inner if r["block"] == encoder["id"]] == ["enc1", "enc_relu", "code"]


def test_graph_with_an_error_marks_the_row_and_exits_1(cli, save, broken_graph):
    code, out, _ = cli("summary", save(broken_graph))
    assert code == 1
    assert _row(out, "fc1")[:3] == ["fc1", "Linear", "(error)"]
    assert _row(out, "conv")[:3] == ["conv", "Conv2d", "(N, 4, 10, 10)"]
    assert any(line.startswith("error: Linear 'fc1' expects") for line in out.splitlines())


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_bad_batch_size_is_a_usage_error(cli, lenet_file, value):
    code, out, err = cli("summary", lenet_file, "--batch-size", value)
    assert code == 2 and out == ""
    assert "argument --batch-size" in err


@pytest.mark.parametrize("n,text", [(0, "0"), (999, "999"), (61706, "61.7K"), (416520, "416.5K"),
                                    (999_960, "1.0M"), (1_234_567, "1.2M"), (3e9, "3.0G")])
def test_human_count(n, text):
    assert human_count(n) == text


@pytest.mark.parametrize("n,text", [(12, "12 B"), (246_824, "246.8 KB"), (1_234_567, "1.2 MB"),
                                    (5e9, "5.0 GB")])
def test_human_bytes(n, text):
    assert human_bytes(n) == text


def test_table_alignment():
    lines = format_table(["Name", "N"], [["a", "1"], ["long name", "1,000"]], [False, True])
    assert lines == ["Name           N", "----------------", "a              1",
                     "long name  1,000", "----------------"]


def test_one_line_joins_listed_problems():
    text = "'g' cannot be compiled:\n  - Linear 'a' has no input\n  - Add 'b' merges one"
    assert one_line(text) == "'g' cannot be compiled: Linear 'a' has no input; Add 'b' merges one"


def test_a_shared_module_is_counted_once_and_named(cli, examples_dir):
    code, out, _ = cli("summary", examples_dir / "siamese.json")
    assert code == 0
    assert _row(out, "left_embed1")[:4] == ["left_embed1", "Linear", "(N, 32)", "2,080"]
    assert _row(out, "right_embed1")[:4] == ["right_embed1", "Linear", "(N, 32)",
                                             "shares left_embed1"]
    assert "Total params: 2,608" in out
    _, out, _ = cli("summary", "--json", examples_dir / "siamese.json")
    rows = {r["name"]: r for r in json.loads(out)["layers"]}
    assert rows["right_embed2"]["shares"] == "left_embed2" and rows["right_embed2"]["params"] == 0
    assert rows["left_embed2"]["shares"] is None
