"""Write the example graphs (netbuilder/resources/examples/*.json) from Python code.

    python scripts/make_examples.py            # (re)write every example file
    python scripts/make_examples.py --check    # exit 1 if a file differs from what this writes

Each example is one function that draws its graph with the public API, and one entry in
``EXAMPLES``: a dict holding that function, a one-line description (what the example teaches)
and a dataset hint. To add a section to every file (``training``, say), add that key to the
entries: ``training`` becomes the graph's training setup, ``meta`` entries join its metadata.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import netbuilder as nb
from netbuilder.graph import to_json

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "netbuilder" / "resources" / "examples"
GRID = 20.0  # positions snap to the canvas grid


def chain(g: nb.Graph, src: str, *layers: tuple) -> str:
    """Add ``(type, name, params)`` layers one after another from ``src``; the last id."""
    for type_, name, params in layers:
        nid = g.add(type_, name, **params)
        g.connect(src, nid)
        src = nid
    return src


def L(type_: str, name: str, **params) -> tuple:
    return (type_, name, params)


# --- the examples -----------------------------------------------------------------------------


def mlp_spirals() -> nb.Graph:
    g = nb.Graph("mlp_spirals")
    x = g.add("Input", "point", shape=(2,))
    last = chain(g, x,
                 L("Linear", "hidden1", out_features=64), L("ReLU", "relu1"),
                 L("Linear", "hidden2", out_features=64), L("ReLU", "relu2"),
                 L("Linear", "scores", out_features=2), L("Output", "logits"))
    del last
    return g


def lenet5() -> nb.Graph:
    g = nb.Graph("lenet5")
    x = g.add("Input", "image", shape=(1, 28, 28))
    chain(g, x,
          L("Conv2d", "conv1", out_channels=6, kernel_size=5, padding=2), L("Tanh", "tanh1"),
          L("AvgPool2d", "pool1", kernel_size=2),
          L("Conv2d", "conv2", out_channels=16, kernel_size=5), L("Tanh", "tanh2"),
          L("AvgPool2d", "pool2", kernel_size=2),
          L("Flatten", "flatten"),
          L("Linear", "fc1", out_features=120), L("Tanh", "tanh3"),
          L("Linear", "fc2", out_features=84), L("Tanh", "tanh4"),
          L("Linear", "fc3", out_features=10), L("Output", "logits"))
    return g


def _basic_block(g: nb.Graph, src: str, name: str, channels: int, stride: int = 1,
                 project: bool = False) -> str:
    """conv-bn-relu-conv-bn plus the input (or its 1×1 projection), then ReLU."""
    body = chain(g, src,
                 L("Conv2d", f"{name}_conv1", out_channels=channels, kernel_size=3,
                   stride=stride, padding=1, bias=False),
                 L("BatchNorm2d", f"{name}_bn1"), L("ReLU", f"{name}_relu1"),
                 L("Conv2d", f"{name}_conv2", out_channels=channels, kernel_size=3, padding=1,
                   bias=False),
                 L("BatchNorm2d", f"{name}_bn2"))
    shortcut = src
    if project:
        shortcut = chain(g, src,
                         L("Conv2d", f"{name}_proj", out_channels=channels, kernel_size=1,
                           stride=stride, bias=False),
                         L("BatchNorm2d", f"{name}_proj_bn"))
    add = g.add("Add", f"{name}_add")
    g.connect(body, add)
    g.connect(shortcut, add)
    return chain(g, add, L("ReLU", f"{name}_out"))


def resnet_small() -> nb.Graph:
    g = nb.Graph("resnet_small")
    x = g.add("Input", "image", shape=(1, 8, 8))
    stem = chain(g, x,
                 L("Conv2d", "stem_conv", out_channels=16, kernel_size=3, padding=1, bias=False),
                 L("BatchNorm2d", "stem_bn"), L("ReLU", "stem_relu"))
    b1 = _basic_block(g, stem, "block1", 16)
    b2 = _basic_block(g, b1, "block2", 32, stride=2, project=True)
    b3 = _basic_block(g, b2, "block3", 32)
    chain(g, b3, L("AdaptiveAvgPool2d", "global_pool", output_size=1), L("Flatten", "flatten"),
          L("Linear", "fc", out_features=10), L("Output", "logits"))
    return g


def inception_block() -> nb.Graph:
    g = nb.Graph("inception_block")
    x = g.add("Input", "image", shape=(1, 8, 8))
    stem = chain(g, x, L("Conv2d", "stem", out_channels=16, kernel_size=3, padding=1),
                 L("ReLU", "stem_relu"))
    branches = [
        chain(g, stem, L("Conv2d", "b1x1", out_channels=8, kernel_size=1)),
        chain(g, stem, L("Conv2d", "b3x3_reduce", out_channels=8, kernel_size=1),
              L("ReLU", "b3x3_relu"),
              L("Conv2d", "b3x3", out_channels=12, kernel_size=3, padding=1)),
        chain(g, stem, L("Conv2d", "b5x5_reduce", out_channels=4, kernel_size=1),
              L("ReLU", "b5x5_relu"),
              L("Conv2d", "b5x5", out_channels=8, kernel_size=5, padding=2)),
        chain(g, stem, L("MaxPool2d", "bpool", kernel_size=3, stride=1, padding=1),
              L("Conv2d", "bpool_proj", out_channels=8, kernel_size=1)),
    ]
    cat = g.add("Concat", "concat", dim=1)
    for b in branches:
        g.connect(b, cat)
    chain(g, cat, L("ReLU", "mixed_relu"), L("MaxPool2d", "pool", kernel_size=2),
          L("Flatten", "flatten"), L("Linear", "fc", out_features=10), L("Output", "logits"))
    return g


def lstm_classifier() -> nb.Graph:
    g = nb.Graph("lstm_classifier")
    x = g.add("Input", "rows", shape=(8, 8))
    chain(g, x, L("LSTM", "lstm", hidden_size=64, output="last"),
          L("Linear", "fc", out_features=10), L("Output", "logits"))
    return g


def gru_forecaster() -> nb.Graph:
    g = nb.Graph("gru_forecaster")
    x = g.add("Input", "window", shape=(20, 1))
    chain(g, x, L("GRU", "gru", hidden_size=32, output="last"),
          L("Linear", "fc", out_features=1), L("Output", "next_value"))
    return g


def birnn_classifier() -> nb.Graph:
    g = nb.Graph("birnn_classifier")
    x = g.add("Input", "rows", shape=(8, 8))
    chain(g, x, L("RNN", "birnn", hidden_size=32, bidirectional=True, output="sequence"),
          L("Flatten", "flatten"), L("Linear", "fc", out_features=10), L("Output", "logits"))
    return g


def transformer_tiny() -> nb.Graph:
    g = nb.Graph("transformer_tiny")
    x = g.add("Input", "rows", shape=(8, 8))
    chain(g, x,
          L("Linear", "embed", out_features=32),
          L("PositionalEncoding", "position", max_len=64),
          L("TransformerEncoderLayer", "encoder1", nhead=4, dim_feedforward=64, dropout=0.1),
          L("TransformerEncoderLayer", "encoder2", nhead=4, dim_feedforward=64, dropout=0.1),
          # Mean over the 8 tokens: view (tokens, d_model) as a 1-channel image and average
          # its rows away.
          L("Reshape", "tokens_as_image", shape=(1, 8, 32)),
          L("AdaptiveAvgPool2d", "mean_token", output_size=(1, 32)),
          L("Flatten", "flatten"),
          L("Linear", "fc", out_features=10), L("Output", "logits"))
    return g


def autoencoder() -> nb.Graph:
    g = nb.Graph("autoencoder")
    x = g.add("Input", "image", shape=(64,))
    code = chain(g, x, L("Linear", "enc1", out_features=32), L("ReLU", "enc_relu"),
                 L("Linear", "code", out_features=8))
    encoder_ids = [g.find(n) for n in ("enc1", "enc_relu", "code")]
    chain(g, code, L("Linear", "dec1", out_features=32), L("ReLU", "dec_relu"),
          L("Linear", "dec2", out_features=64), L("Sigmoid", "pixels"))
    decoder_ids = [g.find(n) for n in ("dec1", "dec_relu", "dec2", "pixels")]
    nb.group(g, encoder_ids, "Encoder", name="encoder")
    decoder = nb.group(g, decoder_ids, "Decoder", name="decoder")
    out = g.add("Output", "reconstruction")
    g.connect(decoder, out)
    return g


def siamese() -> nb.Graph:
    g = nb.Graph("siamese")
    ends = []
    for side in ("left", "right"):
        x = g.add("Input", side, shape=(1, 8, 8))
        ends.append(chain(g, x, L("Flatten", f"{side}_flat"),
                          L("Linear", f"{side}_embed1", out_features=32),
                          L("ReLU", f"{side}_relu"),
                          L("Linear", f"{side}_embed2", out_features=16)))
    # The right branch runs the left branch's modules: one encoder, applied twice.
    for layer in ("embed1", "embed2"):
        g.share(g.find(f"right_{layer}"), g.find(f"left_{layer}"))
    dist = g.add("PairwiseDistance", "distance")
    g.connect(ends[0], dist, dst_port="x1")
    g.connect(ends[1], dist, dst_port="x2")
    g.connect(dist, g.add("Output", "pair_distance"))
    return g


BACKBONE_WEIGHTS = "finetune_digits.safetensors"  # made by scripts/make_pretrained.py


def finetune_digits(weights: bool = True) -> nb.Graph:
    """A small convolutional body (pretrained on the digits, frozen) and a new head."""
    g = nb.Graph("finetune_digits")
    x = g.add("Input", "image", shape=(1, 8, 8))
    last = chain(g, x,
                 L("Conv2d", "conv1", out_channels=16, kernel_size=3, padding=1),
                 L("BatchNorm2d", "bn1"), L("ReLU", "relu1"),
                 L("MaxPool2d", "pool1", kernel_size=2),
                 L("Conv2d", "conv2", out_channels=32, kernel_size=3, padding=1),
                 L("BatchNorm2d", "bn2"), L("ReLU", "relu2"),
                 L("AdaptiveAvgPool2d", "gap", output_size=1), L("Flatten", "flatten"))
    body = [i for i in g.topo_order() if i != x]
    assert g.node(body[-1]).id == last
    backbone = nb.group(g, body, "Block", "backbone")
    chain(g, backbone, L("Linear", "head", out_features=10), L("Output", "logits"))
    g.set_trainable(backbone, False)
    if weights:
        from netbuilder.graph.weights import GraphWeights

        g.weights = GraphWeights(BACKBONE_WEIGHTS, EXAMPLES_DIR)
    return g


def _digits_rows(task: str = "classify") -> dict:
    return {"dataset": "digits_rows", "options": {}, "task": task}


EXAMPLES: dict[str, dict] = {
    "mlp_spirals": {
        "build": mlp_spirals,
        "description": "A multilayer perceptron learns to separate two interleaved spirals: "
                       "hidden ReLU layers bend a straight line into a curved boundary.",
        "dataset_hint": {"dataset": "spirals", "options": {"classes": 2}, "task": "classify"},
    },
    "lenet5": {
        "build": lenet5,
        "description": "LeNet-5 (LeCun 1998): convolutions find strokes, pooling shrinks the "
                       "maps, dense layers vote for the digit.",
        "dataset_hint": {"dataset": "digits", "options": {"size": 28}, "task": "classify"},
    },
    "resnet_small": {
        "build": resnet_small,
        "description": "A small ResNet: Add skip connections let each block learn a "
                       "correction; a 1×1 convolution projects the shortcut when the shape "
                       "changes.",
        "dataset_hint": {"dataset": "digits", "options": {}, "task": "classify"},
    },
    "inception_block": {
        "build": inception_block,
        "description": "An Inception block: 1×1, 3×3, 5×5 and pooling branches look at "
                       "several scales at once and Concat joins their channels.",
        "dataset_hint": {"dataset": "digits", "options": {}, "task": "classify"},
    },
    "lstm_classifier": {
        "build": lstm_classifier,
        "description": "An LSTM reads a digit row by row and classifies it from its last "
                       "hidden state.",
        "dataset_hint": _digits_rows(),
    },
    "gru_forecaster": {
        "build": gru_forecaster,
        "description": "A GRU reads the last 20 values of a sine wave and predicts the next "
                       "one (regression).",
        "dataset_hint": {"dataset": "sine", "options": {"length": 20}, "task": "regress"},
    },
    "birnn_classifier": {
        "build": birnn_classifier,
        "description": "A bidirectional RNN reads the rows both ways; its whole output "
                       "sequence feeds the classifier, since the last step alone would give "
                       "the backward direction only one row.",
        "dataset_hint": _digits_rows(),
    },
    "transformer_tiny": {
        "build": transformer_tiny,
        "description": "A tiny transformer: digit rows become tokens, positional encoding "
                       "tells them apart, self-attention mixes them, their mean is classified.",
        "dataset_hint": _digits_rows(),
    },
    "autoencoder": {
        "build": autoencoder,
        "description": "An autoencoder: the Encoder squeezes 64 pixels into an 8-number code "
                       "and the Decoder rebuilds the image from it.",
        "dataset_hint": {"dataset": "digits", "options": {"flatten": True},
                         "task": "autoencode"},
    },
    "siamese": {
        "build": siamese,
        "description": "A siamese network: one encoder (the right branch shares the left "
                       "one's layers) embeds two digits, and their distance says whether they "
                       "are the same digit; a contrastive loss pulls pairs of one digit "
                       "together and pushes the others apart.",
        "dataset_hint": {"dataset": "digits", "options": {}, "task": "siamese"},
    },
    "finetune_digits": {
        "build": finetune_digits,
        "description": "Transfer learning: a convolutional body pretrained on the digits is "
                       "frozen and a new head learns your classes; point the dataset at an "
                       "image folder and set the head's out_features to its classes.",
        "dataset_hint": {"dataset": "digits", "options": {}, "task": "classify"},
    },
}

# Training setups (netbuilder.train.TrainingConfig fields; the rest keep their defaults), so
# that every example trains on its dataset out of the box.
_DIGITS_ROWS_TRAINING = {"dataset": "digits_rows", "epochs": 20, "lr": 0.003}
TRAINING: dict[str, dict] = {
    "mlp_spirals": {"dataset": "spirals", "dataset_options": {"classes": 2}, "epochs": 60,
                    "lr": 0.003, "batch_size": 32},
    "lenet5": {"dataset": "digits", "dataset_options": {"size": 28}, "epochs": 15, "lr": 0.002,
               "normalization": "standard"},
    "resnet_small": {"dataset": "digits", "epochs": 10},
    "inception_block": {"dataset": "digits", "epochs": 10},
    "lstm_classifier": _DIGITS_ROWS_TRAINING,
    "gru_forecaster": {"dataset": "sine", "dataset_options": {"length": 20}, "task": "regress",
                       "epochs": 20, "lr": 0.003},
    "birnn_classifier": _DIGITS_ROWS_TRAINING,
    "transformer_tiny": _DIGITS_ROWS_TRAINING,
    "autoencoder": {"dataset": "digits", "dataset_options": {"flatten": True},
                    "task": "autoencode", "epochs": 30, "lr": 0.003},
    "siamese": {"dataset": "digits", "task": "siamese", "epochs": 10, "lr": 0.003,
                "batch_size": 64},
    "finetune_digits": {"dataset": "digits", "epochs": 5, "lr": 0.01},
}
for _stem, _training in TRAINING.items():
    EXAMPLES[_stem].setdefault("training", dict(_training))


def arrange(g: nb.Graph) -> None:
    """Layered layout, snapped to the grid, for the graph and every block inside it."""
    nb.auto_layout(g)
    for n in g.nodes():
        g.move(n.id, (round(n.pos[0] / GRID) * GRID, round(n.pos[1] / GRID) * GRID))
        if n.inner is not None:
            arrange(n.inner)


def make(stem: str) -> nb.Graph:
    """The example ``stem`` as a graph, laid out, with its metadata and sections."""
    entry = EXAMPLES[stem]
    g = entry["build"]()
    arrange(g)
    g.meta = {"description": entry["description"], "dataset_hint": entry["dataset_hint"],
              **entry.get("meta", {})}
    if "training" in entry:
        g.training = dict(entry["training"])
    return g


def render_all() -> dict[str, str]:
    """``{file name: file text}`` for every example."""
    return {f"{stem}.json": to_json(make(stem)) for stem in EXAMPLES}


def write_or_check(doc: str, render: Callable[[], dict[str, str]], script: str,
                   argv: list[str] | None = None) -> int:
    """The command line of an example script: write the files ``render`` gives, or ``--check``
    them (exit 1 if one differs). Shared with scripts/make_gen_examples.py."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a file differs from what this script writes")
    parser.add_argument("--out", type=Path, default=EXAMPLES_DIR, help="folder to write into")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = args.out / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(name)
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            nb.graph.fileformat.atomic_write(path, text)
            print(f"wrote {path.name}")
    if stale:
        print(f"out of date: {', '.join(stale)} (run python {script})")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    return write_or_check(__doc__, render_all, "scripts/make_examples.py", argv)


if __name__ == "__main__":
    sys.exit(main())
