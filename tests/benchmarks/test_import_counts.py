"""How many real model definitions import: torchvision's and timm's models and the PyTorch
examples, each tried as a user would and counted as imported exactly (same outputs, every layer
a netbuilder node), with placeholders (Module nodes), or refused (with the first reason).

The sources are not part of the project; point at unpacked copies (each skipped when absent):

    NETBUILDER_TORCHVISION_SRC  folder holding the ``torchvision`` package (e.g. an unpacked
                                wheel; its compiled ops need not match torch: the models are
                                pure Python)
    NETBUILDER_TIMM_SRC         folder holding the ``timm`` package (its repository; it
                                imports torchvision: give that folder too)
    NETBUILDER_EXAMPLES_SRC     a checkout of github.com/pytorch/examples; its files import
                                torchvision (the folder above is put on the path) and some
                                gymnasium (give a stand-in folder in NETBUILDER_SHIMS)

Run: ``python -m pytest -q -s tests/benchmarks/test_import_counts.py``. Library models are built
and imported in a child process per library (``import_module`` with verification, 120 s each);
the examples go through ``import_in_child``, the path ``netbuilder import`` takes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import netbuilder

ROOT = Path(netbuilder.__file__).parent.parent
PER_MODEL_S = 120
SMALL = (3, 64, 64)  # convolutional networks with adaptive pooling: any size works, 64 is quick

TORCHVISION = {
    **{n: SMALL for n in (
        "alexnet", "vgg11", "vgg11_bn", "resnet18", "resnet50", "resnext50_32x4d",
        "wide_resnet50_2", "squeezenet1_0", "squeezenet1_1", "densenet121", "googlenet",
        "mobilenet_v2", "mobilenet_v3_small", "mnasnet0_5", "shufflenet_v2_x0_5",
        "efficientnet_b0", "efficientnet_v2_s", "regnet_x_400mf", "regnet_y_400mf",
        "convnext_tiny")},
    "inception_v3": (3, 160, 160), "vit_b_16": (3, 224, 224), "swin_t": (3, 224, 224),
    "maxvit_t": (3, 224, 224),
}
TIMM = {
    **{n: SMALL for n in (
        "resnet18", "resnet50d", "efficientnet_b0", "mobilenetv3_small_100", "mobilenetv2_100",
        "convnext_atto", "regnety_002", "densenet121", "ghostnet_100", "rexnet_100", "dla34",
        "dpn68", "lcnet_050", "repvgg_a0", "resnest14d", "cspresnet50", "tinynet_e",
        "fbnetc_100", "semnasnet_050", "hrnet_w18_small", "regnetz_b16", "fastvit_t8")},
    **{n: (3, 224, 224) for n in ("vit_tiny_patch16_224", "deit_tiny_patch16_224",
                                  "mixer_s16_224", "poolformer_s12", "levit_128s",
                                  "coat_lite_tiny", "cait_xxs24_224", "focalnet_tiny_srf")},
    "mobilevit_xxs": (3, 256, 256), "edgenext_xx_small": (3, 256, 256),
}
# (file:Class, constructor arguments, input shapes) as a user would give them.
EXAMPLES = [
    ("mnist/main.py:Net", {}, ["1,28,28"]),
    ("mnist_rnn/main.py:Net", {}, ["1,28,28"]),
    ("mnist_forward_forward/main.py:Net", {"dims": [784, 100, 100]}, ["784"]),
    ("vae/main.py:VAE", {}, ["1,28,28"]),
    ("dcgan/main.py:Generator", {"ngpu": 1}, ["100,1,1"]),
    ("dcgan/main.py:Discriminator", {"ngpu": 1}, ["3,64,64"]),
    ("super_resolution/model.py:Net", {"upscale_factor": 3}, ["1,32,32"]),
    ("fast_neural_style/neural_style/transformer_net.py:TransformerNet", {}, ["3,64,64"]),
    ("siamese_network/main.py:SiameseNetwork", {}, ["1,28,28", "1,28,28"]),
    ("time_sequence_prediction/train.py:Sequence", {}, ["20"]),
    ("word_language_model/model.py:RNNModel",
     {"rnn_type": "LSTM", "ntoken": 50, "ninp": 16, "nhid": 16, "nlayers": 2}, ["5"]),
    ("word_language_model/model.py:TransformerModel",
     {"ntoken": 50, "ninp": 16, "nhead": 2, "nhid": 32, "nlayers": 2}, ["5"]),
    ("gcn/main.py:GCN", {"input_dim": 8, "hidden_dim": 16, "output_dim": 3}, ["8", "10"]),
    ("reinforcement_learning/reinforce.py:Policy", {}, ["4"]),
    ("reinforcement_learning/actor_critic.py:Policy", {}, ["4"]),
]

_CHILD = r"""
import json, signal, sys, warnings
warnings.filterwarnings("ignore")
sys.path[:0] = json.loads(sys.argv[2])  # the library, and torchvision (timm imports it)
import torch
from netbuilder.compile.importer import import_module
from netbuilder.errors import ModelImportError
library, models = sys.argv[1], json.loads(sys.argv[3])

def build(name):
    if library == "torchvision":
        import torchvision.models as tv
        return tv.get_model(name, weights=None)
    import timm
    return timm.create_model(name, pretrained=False)

def alarm(*_):
    raise TimeoutError(f"took longer than {PER_MODEL_S} s")

signal.signal(signal.SIGALRM, alarm)
for name, shape in models.items():
    signal.alarm(PER_MODEL_S)
    try:
        torch.manual_seed(0)
        graph = import_module(build(name).eval(), input_shapes=[shape])
        modules = sum(1 for _ in _walk(graph) if _ == "Module")
        row = {"name": name, "outcome": "placeholders" if modules else "exact",
               "why": f"{modules} Module nodes" if modules else ""}
    except ModelImportError as exc:
        problems = getattr(exc, "problems", None) or []
        why = str(problems[0]) if problems else str(exc).splitlines()[0]
        row = {"name": name, "outcome": "refused", "why": why}
    except BaseException as exc:
        row = {"name": name, "outcome": "refused",
               "why": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    signal.alarm(0)
    print("ROW " + json.dumps(row), flush=True)
""".replace("PER_MODEL_S", str(PER_MODEL_S))

_WALK = """
def _walk(graph):
    for node in graph.nodes():
        yield node.type
        if node.inner is not None:
            yield from _walk(node.inner)
"""

_node_types = {}
exec(_WALK, _node_types)  # one definition of the walk, here and in the child
_node_types = _node_types["_walk"]


def _source(var: str, marker: str) -> Path:
    folder = os.environ.get(var)
    if not folder or not (Path(folder) / marker).exists():
        pytest.skip(f"set {var} to a folder holding {marker}")
    return Path(folder)


def _report(title: str, rows: list[dict]) -> dict:
    counts = {k: sum(1 for r in rows if r["outcome"] == k)
              for k in ("exact", "placeholders", "refused")}
    print(f"\n{title}: {len(rows)} tried, {counts['exact']} imported exactly, "
          f"{counts['placeholders']} with placeholders, {counts['refused']} refused")
    for r in rows:
        print(f"  {r['outcome']:<12} {r['name']:<60} {r['why'][:160]}")
    return counts


def _library(library: str, folder: Path, models: dict) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    paths = [str(folder), *filter(None, [os.environ.get("NETBUILDER_TORCHVISION_SRC")])]
    rows = []
    with subprocess.Popen([sys.executable, "-c", _WALK + _CHILD, library, json.dumps(paths),
                           json.dumps({k: list(v) for k, v in models.items()})],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env) as child:
        for line in child.stdout:  # each row as it comes: a long run shows its progress
            if line.startswith("ROW "):
                rows.append(json.loads(line[4:]))
                r = rows[-1]
                print(f"\n  {library} {r['name']}: {r['outcome']} {r['why'][:160]}", end="",
                      flush=True)
        tail = (child.stderr.read().strip().splitlines() or [""])[-1]
    seen = {r["name"] for r in rows}
    rows += [{"name": n, "outcome": "refused", "why": f"the child ended: {tail}"}
             for n in models if n not in seen]
    return rows


@pytest.mark.timeout(PER_MODEL_S * len(TORCHVISION) + 300)
def test_torchvision_models():
    folder = _source("NETBUILDER_TORCHVISION_SRC", "torchvision/models/resnet.py")
    counts = _report("torchvision", _library("torchvision", folder, TORCHVISION))
    assert sum(counts.values()) == len(TORCHVISION)


@pytest.mark.timeout(PER_MODEL_S * len(TIMM) + 300)
def test_timm_models():
    folder = _source("NETBUILDER_TIMM_SRC", "timm/models/resnet.py")
    counts = _report("timm", _library("timm", folder, TIMM))
    assert sum(counts.values()) == len(TIMM)


@pytest.mark.timeout(PER_MODEL_S * len(EXAMPLES) + 300)
def test_pytorch_examples(monkeypatch):
    from netbuilder.errors import ModelImportError
    from netbuilder.model_import import import_in_child, parse_shape

    folder = _source("NETBUILDER_EXAMPLES_SRC", "mnist/main.py")
    extra = [os.environ.get(v) for v in ("NETBUILDER_TORCHVISION_SRC", "NETBUILDER_SHIMS")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (*extra, os.environ.get("PYTHONPATH")) if p))  # the child's path
    rows = []
    for source, args, shapes in EXAMPLES:
        path, _, cls = source.rpartition(":")
        try:
            result = import_in_child(folder / path, cls, args, [parse_shape(s) for s in shapes],
                                     timeout=PER_MODEL_S)
            modules = sum(1 for t in _node_types(result.graph) if t == "Module")
            rows.append({"name": source, "outcome": "placeholders" if modules else "exact",
                         "why": f"{modules} Module nodes" if modules else ""})
        except ModelImportError as exc:
            problems = getattr(exc, "problems", None) or []
            rows.append({"name": source, "outcome": "refused",
                         "why": problems[0] if problems else str(exc).splitlines()[0]})
    counts = _report("pytorch/examples", rows)
    assert sum(counts.values()) == len(EXAMPLES)
