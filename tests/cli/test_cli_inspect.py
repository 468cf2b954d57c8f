"""``netbuilder explain | embed | attack | dream | style`` on a LeNet-5 trained one epoch."""
import re

import numpy as np
import pytest
from PIL import Image

from netbuilder.train.explain import RunModel
from netbuilder.train.explain.images import PALETTE


@pytest.fixture(scope="module")
def digit_files(lenet_run, tmp_path_factory):
    """Two validation digits saved as PNG files (bright ink on black, as trained)."""
    x, _ = RunModel(lenet_run).validation(limit=2)
    folder = tmp_path_factory.mktemp("digits")
    paths = []
    for i in range(2):
        path = folder / f"digit{i}.png"
        Image.fromarray(np.round(x[i, 0].numpy() * 255).astype(np.uint8)).save(path)
        paths.append(path)
    return paths


def picture_size(path):
    with Image.open(path) as img:
        return img.size


def test_explain_gradcam_writes_an_overlay(cli, lenet_run, tmp_path):
    out = tmp_path / "map.png"
    code, stdout, err = cli("explain", lenet_run, "--method", "gradcam", "--node", "conv2",
                            "--sample", "3", "-o", out)
    assert (code, err) == (0, "")
    assert re.match(r"gradcam of validation sample 3: predicted \d, label \d; explaining "
                    r"class \d; map written to ", stdout)
    width, height = picture_size(out)
    assert height == 252 and width > height  # 28 px × 9, with the colour scale beside it
    code, best, _ = cli("explain", lenet_run, "--weights", "best", "--method", "gradcam",
                        "--node", "conv2", "--sample", "3", "-o", out)
    assert code == 0 and best == stdout  # one epoch: the best weights are the last ones


@pytest.mark.parametrize("method", ["saliency", "integrated_gradients", "occlusion"])
def test_explain_a_picture_file(cli, lenet_run, digit_files, tmp_path, method):
    out = tmp_path / f"{method}.png"
    code, stdout, err = cli("explain", lenet_run, "--method", method, "--input",
                            digit_files[0], "--target", "2", "-o", out)
    assert (code, err) == (0, "")
    assert f"{method} of {digit_files[0]}" in stdout and "explaining class 2" in stdout
    assert out.stat().st_size > 0


def test_explain_errors_are_one_line(cli, lenet_run, tmp_path):
    out = tmp_path / "x.png"
    code, _, err = cli("explain", lenet_run, "--method", "gradcam", "-o", out)
    assert code == 1 and "--method gradcam needs --node NAME" in err
    code, _, err = cli("explain", lenet_run, "--method", "gradcam", "--node", "conv9", "-o", out)
    assert code == 1 and "Node 'conv9' is not a node of the run's graph 'lenet5'" in err
    assert "conv1, conv2, fc1" in err
    code, _, err = cli("explain", lenet_run, "--method", "gradcam", "--node", "fc1", "-o", out)
    assert code == 1 and "Grad-CAM needs a node with (C, H, W) feature maps; 'fc1' has none. " \
        "Nodes that have them: conv1, tanh1, pool1, conv2, tanh2, pool2" in err
    code, _, err = cli("explain", lenet_run, "--sample", "5000", "-o", out)
    assert code == 1 and "--sample 5000 is out of range: the validation set has 359" in err
    code, _, err = cli("explain", tmp_path, "-o", out)
    assert code == 1 and "not a run folder (it has no graph.json)" in err
    code, _, err = cli("explain", lenet_run, "--input", tmp_path / "none.png", "-o", out)
    assert code == 1 and "none.png: cannot read it as a picture" in err
    assert not out.exists() and all(line.count("\n") <= 1 for line in [err])


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_embed_draws_a_scatter(cli, lenet_run, tmp_path, method):
    out = tmp_path / "embed.png"
    code, stdout, err = cli("embed", lenet_run, "--node", "fc1", "--method", method,
                            "--limit", "60", "-o", out)
    assert (code, err) == (0, "")
    assert stdout.startswith(f"{method} of 'fc1' (120 features) on 60 validation samples")
    assert picture_size(out) == (750, 640)
    pixels = {tuple(int(v) for v in p)
              for p in np.asarray(Image.open(out).convert("RGB")).reshape(-1, 3)}
    assert set(PALETTE) <= pixels  # a dot of each of the 10 digits' colours


def test_attack_lowers_accuracy_and_prints_the_curve(cli, lenet_run, tmp_path):
    out = tmp_path / "attack.png"
    code, stdout, err = cli("attack", lenet_run, "--eps", "0.1", "--curve", "0,0.2",
                            "--limit", "120", "-o", out)
    assert (code, err) == (0, "")
    before, after = (float(v) for v in re.search(
        r"FGSM at ε = 0.1 on 120 validation samples: accuracy ([\d.]+)% → ([\d.]+)%",
        stdout).groups())
    assert before > 50 and after < before
    curve = dict(re.findall(r"^(0|0\.2)\s+([\d.]+)%$", stdout, re.M))
    assert float(curve["0"]) == before and float(curve["0.2"]) < after
    assert re.search(r"validation sample 0: predicted \d before, \d after", stdout)
    assert picture_size(out) == (3 * 88 + 4, 84 + 14 + 8)


def test_attack_pgd_and_its_errors(cli, lenet_run):
    code, stdout, err = cli("attack", lenet_run, "--method", "pgd", "--steps", "3",
                            "--eps", "0.2", "--limit", "40")
    assert (code, err) == (0, "") and stdout.startswith("PGD at ε = 0.2 on 40 validation")
    code, _, err = cli("attack", lenet_run, "--curve", "0,x")
    assert code == 2 and "expected numbers separated by commas" in err
    code, _, err = cli("attack", lenet_run, "--eps", "-1")
    assert code == 2 and "at least 0" in err


def test_dream_a_channel_and_a_grid(cli, lenet_run, digit_files, tmp_path):
    out = tmp_path / "dream.png"
    code, stdout, err = cli("dream", lenet_run, "--node", "conv2", "--channel", "3",
                            "--steps", "8", "-o", out)
    assert (code, err) == (0, "")
    assert stdout == f"1 channel of 'conv2' (16 in all) written to {out}\n"
    code, stdout, _ = cli("dream", lenet_run, "--node", "conv1", "--steps", "4", "-o", out)
    assert code == 0 and stdout.startswith("6 channels of 'conv1' (6 in all)")
    code, stdout, _ = cli("dream", lenet_run, "--node", "conv2", "--input", digit_files[0],
                          "--steps", "4", "-o", out)
    assert code == 0 and stdout.startswith("deep dream of 'conv2'")
    code, _, err = cli("dream", lenet_run, "--node", "conv2", "--channel", "16", "-o", out)
    assert code == 1 and "Channel 16 does not exist: this node has 16 channels (0 to 15)" in err


def test_style_transfer(cli, lenet_run, digit_files, tmp_path):
    out = tmp_path / "style.png"
    code, stdout, err = cli("style", lenet_run, "--content", digit_files[0], "--style",
                            digit_files[1], "--nodes", "conv1,conv2", "--steps", "20",
                            "--lr", "0.01", "-o", out)
    assert (code, err) == (0, "")
    first, last = (float(v) for v in re.search(r"loss ([\d.e+-]+) → ([\d.e+-]+) in 20 steps",
                                               stdout).groups())
    assert last < first
    assert picture_size(out) == (3 * 88 + 4, 84 + 14 + 8)  # three 84-px tiles, captioned
    code, _, err = cli("style", lenet_run, "--content", digit_files[0], "--style",
                       digit_files[1], "--nodes", "conv1,bogus", "-o", out)
    assert code == 1 and "Node 'bogus' is not a node" in err


def test_explain_a_vector_input_prints_one_value_per_feature(cli, tmp_path):
    import netbuilder as nb
    from netbuilder.train.config import TrainingConfig
    from netbuilder.train.trainer import train

    g = nb.Graph("mlp")
    prev = g.add("Input", "x", shape=(2,))
    for type_, params in [("Linear", {"out_features": 8}), ("ReLU", {}),
                          ("Linear", {"out_features": 2})]:
        node = g.add(type_, **params)
        g.connect(prev, node)
        prev = node
    train(g, TrainingConfig(dataset="moons", epochs=1, device="cpu"), emit=lambda _e: None,
          out_dir=tmp_path / "run")
    code, stdout, err = cli("explain", tmp_path / "run", "--method", "integrated_gradients")
    assert (code, err) == (0, "")
    lines = stdout.splitlines()
    assert lines[0].endswith("attribution per input feature:") and len(lines) == 3
    assert [line.split()[0] for line in lines[1:]] == ["0", "1"]
    code, _, err = cli("explain", tmp_path / "run", "--method", "gradcam", "--node", "x")
    assert code == 1 and "Node 'x' has no layer module" in err
