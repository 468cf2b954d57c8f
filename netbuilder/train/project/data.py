"""How an exported ``train.py`` gets its data: the same arrays netbuilder trains on.

``plan_data`` loads the dataset the netbuilder way once (loader, options, automatic resize or
flatten to fit the Input), and records what the script must do to get the same arrays: built-in
sets are regenerated with numpy (digits through scikit-learn), MNIST-like sets and CIFAR-10 are
read from their official files, and anything read from a file (CSV, NPZ, images...) is saved
next to the script as ``data.npz``, since reading those formats is netbuilder's own code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...compile.naming import literal, quoted
from ..data import DataError, DatasetArrays, dataset_key, load_dataset
from ..data.builtin import BUILTIN
from ..data.downloads import CIFAR_ARCHIVE, CIFAR_BATCHES, CIFAR_FOLDER, REMOTES

SNAPSHOT = "data.npz"
_GENERATED = ("digits", "digits_rows", "spirals", "moons", "circles", "sine")


@dataclass
class DataPlan:
    """What the script's ``load_data`` does, and what the arrays are."""

    source: str  # a built-in or remote name, or "file" (the data.npz snapshot)
    options: dict = field(default_factory=dict)
    limit: int | None = None
    resize: tuple | None = None  # (h, w): images resized to fit the Input
    flatten: bool = False  # samples flattened to fit the Input
    stratify: bool = False  # class labels: a stratified split
    tokens: bool = False  # integer inputs (never normalised)
    labels: str | None = None  # "classes", "values" or None
    in_unit: bool = False  # every input value in [0, 1]
    description: str = ""  # safe in a docstring: file-derived parts went through quoted()
    snapshot: DatasetArrays | None = None  # the arrays to save as data.npz (source "file")


def plan_data(config, fit, log=lambda _m: None) -> tuple[DataPlan, DatasetArrays]:
    """The plan and the dataset as netbuilder prepares it (``fit``: the trainer's
    ``fit_to_input`` bound to the graph)."""
    key = dataset_key(config.dataset)
    options = dict(config.dataset_options)
    limit = options.pop("limit", None)
    if key in REMOTES:
        ds = _remote_or_stand_in(key, config.dataset_options)
        source = key
    else:
        ds = load_dataset(config.dataset, **config.dataset_options)
        source = key if key in _GENERATED else "file"
    before = ds.input_shape
    fitted, _ = fit(ds, log)
    after = fitted.input_shape
    plan = DataPlan(source, options, limit)
    if after != before:
        if len(after) == 1 and len(before) > 1:
            plan.flatten = True
        else:
            plan.resize = tuple(after[1:])
    plan.stratify = fitted.y is not None and fitted.task_hint == "classify" and fitted.y.ndim == 1
    plan.tokens = fitted.x.dtype.kind in "iu"
    plan.labels = None if fitted.y is None else ("classes" if plan.stratify or
                                                 fitted.y.dtype.kind in "iu" else "values")
    plan.in_unit = bool(fitted.x.size) and float(fitted.x.min()) >= 0 and \
        float(fitted.x.max()) <= 1
    plan.description = _describe(source, config.dataset, options)
    if source == "file":
        plan.snapshot = fitted
    return plan, fitted


def _remote_or_stand_in(key: str, options: dict) -> DatasetArrays:
    """The remote set when its files are here, else a stand-in of the same shape and range
    (enough to plan: the script reads the real files)."""
    try:
        return load_dataset(key, **{**options, "limit": 64})
    except Exception:  # noqa: BLE001 (files missing or unreadable: plan from known shapes)
        shape = (3, 32, 32) if key == "cifar10" else (1, 28, 28)
        x = np.linspace(0, 1, 8 * int(np.prod(shape)), dtype=np.float32).reshape(8, *shape)
        if options.get("flatten"):
            x = x.reshape(8, -1)
        classes = list(REMOTES[key].classes)
        return DatasetArrays(key, x, np.arange(8) % len(classes),
                             "vector" if options.get("flatten") else "image", classes,
                             "classify")


def _describe(source: str, dataset: str, options: dict) -> str:
    if source in BUILTIN:
        text = BUILTIN[source][1].split(";")[0]
    elif source in REMOTES:
        text = REMOTES[source].title
    else:
        text = f"{quoted(dataset, 60)} (saved as {SNAPSHOT})"
    # keys were checked against the loader's options; values are shown as literals
    shown = ", ".join(f"{k if str(k).isidentifier() else quoted(k)}={quoted(v)}"
                      for k, v in options.items())
    return f"{text} ({shown})" if shown else text


# --- the script's load_data ----------------------------------------------------------------

def data_functions(parts, plan: DataPlan) -> None:
    """Add ``load_data(limit)`` (and what it needs) to the script ``parts``."""
    body, doc = _SOURCES[plan.source](parts, plan)
    tail = []
    if plan.resize:
        tail.append(f"    x = resize(x, {plan.resize!r})")
    if plan.flatten:
        tail.append("    x = x.reshape(len(x), -1)")
    if plan.resize or plan.options.get("size") is not None and plan.source == "digits":
        parts.third.add("import torch.nn.functional as F")
        parts.block(_RESIZE)
    limit = "LIMIT if limit is None else min(limit, LIMIT)"
    if plan.limit:
        parts.constants.append(f"LIMIT = {int(plan.limit)!r}")
    lines = "\n".join([*body, *tail])
    ret = "x[:limit], y[:limit]" if plan.labels else "x[:limit], None"
    parts.functions.append(
        f"def load_data(limit=None):\n    \"\"\"{doc}\"\"\"\n"
        + (f"    limit = {limit}\n" if plan.limit else "")
        + f"{lines}\n    return {ret}")


_RESIZE = '''
def resize(x, size):
    """Bilinear resize of an image stack (N, C, H, W) kept in [0, 1], as netbuilder does."""
    small = size[0] < x.shape[2]
    x = torch.from_numpy(np.ascontiguousarray(x))
    x = F.interpolate(x, size, mode="bilinear", align_corners=False, antialias=small)
    return x.clamp(0.0, 1.0).numpy()
'''


def _digits(parts, plan: DataPlan):
    o = plan.options
    lines = ["    from sklearn.datasets import load_digits", "",
             "    digits = load_digits()", "    y = digits.target.astype(np.int64)"]
    if plan.source == "digits_rows":
        lines.append("    x = digits.images.astype(np.float32) / 16.0")
        return lines, "scikit-learn's digits read row by row: 8 steps of 8 pixels in [0, 1]."
    lines.append("    x = (digits.images.astype(np.float32) / 16.0)[:, None]")
    what = ["scikit-learn's 8×8 digits in [0, 1]"]
    if o.get("size") is not None:
        size = o["size"] if isinstance(o["size"], (list, tuple)) else (o["size"], o["size"])
        lines.append(f"    x = resize(x, {tuple(int(s) for s in size)!r})")
        what.append(f"resized to {int(size[0])}×{int(size[1])}")
    if o.get("binarize"):
        lines.append("    x = (x >= 0.5).astype(np.float32)")
        what.append("binarized")
    if o.get("flatten"):
        lines.append("    x = x.reshape(len(x), -1)")
        what.append("flattened")
    return lines, ", ".join(what) + "."


def _spirals(parts, plan: DataPlan):
    o = {"n_samples": 1000, "noise": 0.05, "classes": 2, "seed": 0, "turns": 1.5,
         **plan.options}
    return [
        f"    n, classes = {literal(o['n_samples'])}, {literal(o['classes'])}",
        f"    rng = np.random.default_rng({literal(o['seed'])})",
        "    y = np.arange(n, dtype=np.int64) % classes",
        "    t = rng.uniform(0.0, 1.0, n)",
        "    r = 0.05 + 0.95 * t",
        f"    angle = 2 * np.pi * ({literal(o['turns'])} * t + y / classes)",
        "    x = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)",
        f"    x = (x + rng.normal(0.0, {literal(o['noise'])}, x.shape)).astype(np.float32)",
    ], "Interleaved 2-D spiral arms, one per class, generated as netbuilder does."


def _moons(parts, plan: DataPlan):
    o = {"n_samples": 1000, "noise": 0.1, "seed": 0, **plan.options}
    return [
        f"    n_out = {literal(o['n_samples'])} // 2",
        f"    n_in = {literal(o['n_samples'])} - n_out",
        "    a, b = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)",
        "    xs = np.append(np.cos(a), 1 - np.cos(b))",
        "    ys = np.append(np.sin(a), 1 - np.sin(b) - 0.5)",
        *_shuffled(o),
    ], "Two interleaved half moons (scikit-learn's make_moons, in numpy)."


def _circles(parts, plan: DataPlan):
    o = {"n_samples": 1000, "noise": 0.05, "seed": 0, "factor": 0.5, **plan.options}
    return [
        f"    n_out = {literal(o['n_samples'])} // 2",
        f"    n_in = {literal(o['n_samples'])} - n_out",
        "    a = np.linspace(0, 2 * np.pi, n_out, endpoint=False)",
        "    b = np.linspace(0, 2 * np.pi, n_in, endpoint=False)",
        f"    xs = np.append(np.cos(a), np.cos(b) * {literal(o['factor'])})",
        f"    ys = np.append(np.sin(a), np.sin(b) * {literal(o['factor'])})",
        *_shuffled(o),
    ], "A circle inside a ring (scikit-learn's make_circles, in numpy)."


def _shuffled(o: dict) -> list[str]:
    return [
        "    x = np.stack([xs, ys], axis=1)",
        "    y = np.append(np.zeros(n_out, np.int64), np.ones(n_in, np.int64))",
        f"    rng = np.random.RandomState({literal(o['seed'])})",
        "    order = np.arange(len(x))",
        "    rng.shuffle(order)",
        "    x, y = x[order], y[order]",
        f"    x = (x + rng.normal(scale={literal(o['noise'])}, size=x.shape)).astype(np.float32)",
    ]


def _sine(parts, plan: DataPlan):
    o = {"n_samples": 1000, "length": 20, "noise": 0.05, "seed": 0, **plan.options}
    return [
        f"    n, length = {literal(o['n_samples'])}, {literal(o['length'])}",
        f"    rng = np.random.default_rng({literal(o['seed'])})",
        "    step = 2 * np.pi / 16 * rng.uniform(0.7, 1.3, (n, 1))",
        "    phase = rng.uniform(0, 2 * np.pi, (n, 1))",
        "    amplitude = rng.uniform(0.5, 1.0, (n, 1))",
        "    wave = amplitude * np.sin(step * np.arange(length + 1)[None, :] + phase)",
        f"    x = wave[:, :length] + rng.normal(0.0, {literal(o['noise'])}, (n, length))",
        "    x = x[:, :, None].astype(np.float32)",
        "    y = wave[:, length:].astype(np.float32)",
    ], "Noisy sine windows; the target is the clean next value (as netbuilder makes them)."


_CACHE = ('    cache = os.path.expanduser(os.path.join("~", ".cache", "netbuilder", "datasets"))',
          '    folder = os.path.join(os.environ.get("NETBUILDER_DATA", cache), NAME)')

_FETCH = '''
def fetch(folder, name):
    """The official file `name`, downloaded once and checked against its MD5 digest."""
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        os.makedirs(folder, exist_ok=True)
        urllib.request.urlretrieve(MIRROR + name, path + ".part")
        with open(path + ".part", "rb") as f:
            if hashlib.md5(f.read()).hexdigest() != MD5[name]:
                raise RuntimeError(f"{name} is damaged: delete {path}.part and retry")
        os.replace(path + ".part", path)
    return path
'''

_READ_IDX = '''
def read_idx(path):
    """An IDX array (the MNIST file format), gzip-compressed."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(f">{dims}I", data[4 : 4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)
'''


def _remote(parts, plan: DataPlan):
    remote = REMOTES[plan.source]
    split = plan.options.get("split", "train")
    if split not in remote.splits:
        raise DataError(f"Option split for '{plan.source}' must be 'train' or 'test', not "
                        f"{split!r}.", field="split")
    files = remote.files(split)
    parts.stdlib |= {"import hashlib", "import urllib.request"}
    parts.constants += [f"NAME = {plan.source!r}".replace("'", '"'),
                        f"MIRROR = \"{remote.mirrors[0]}\""]
    md5 = {f: remote.checksums[f][1] for f in files}
    parts.constants.append("MD5 = {\n" + "".join(f'    "{k}": "{v}",\n' for k, v in md5.items())
                           + "}")
    parts.block(_FETCH)
    lines = list(_CACHE)
    if plan.source == "cifar10":
        parts.stdlib.add("import tarfile")
        names = "".join(f'        "{CIFAR_FOLDER}/{b}",\n' for b in CIFAR_BATCHES[split])
        lines += [f'    archive = fetch(folder, "{CIFAR_ARCHIVE}")',
                  f"    names = [\n{names}    ]",
                  "    with tarfile.open(archive, \"r:gz\") as tar:",
                  "        raw = b\"\".join(tar.extractfile(name).read() for name in names)",
                  "    records = np.frombuffer(raw, np.uint8).reshape(-1, 3073)",
                  "    y = records[:, 0].astype(np.int64)",
                  "    x = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0"]
    else:
        parts.stdlib |= {"import gzip", "import struct"}
        parts.block(_READ_IDX)
        lines += [f'    x = read_idx(fetch(folder, "{files[0]}")).astype(np.float32)',
                  "    x = x[:, None] / 255.0",
                  f'    y = read_idx(fetch(folder, "{files[1]}")).astype(np.int64)']
    if plan.options.get("flatten"):
        lines.append("    x = x.reshape(len(x), -1)")
    return lines, (f"{remote.title} ({split} split) from its official files, downloaded once "
                   f"(set NETBUILDER_DATA to choose the folder).")


def _file(parts, plan: DataPlan):
    return [
        "    here = os.path.dirname(os.path.abspath(__file__))",
        f'    with np.load(os.path.join(here, "{SNAPSHOT}")) as data:',
        '        x = data["x"]',
        '        y = data["y"] if "y" in data.files else None',
    ], f"The dataset {plan.description}, as netbuilder read it."


_SOURCES: dict[str, Any] = {
    "digits": _digits, "digits_rows": _digits, "spirals": _spirals, "moons": _moons,
    "circles": _circles, "sine": _sine, "mnist": _remote, "fashion_mnist": _remote,
    "cifar10": _remote, "file": _file,
}

__all__ = ["DataPlan", "plan_data", "data_functions", "SNAPSHOT"]
