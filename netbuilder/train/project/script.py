"""The exported ``train.py``: a standalone script that reproduces a graph's training setup.

It is assembled from the parts the setup needs (its dataset's loader, the task's loss and step,
the optimizer, the schedule, normalisation...) and nothing else, so that a person can read it in
one sitting. It imports torch, numpy and the standard library only (scikit-learn for digits) and
runs under ``python train.py`` and ``torchrun --nproc_per_node=N train.py``.

NOTE: the text is written already formatted as ``ruff format`` writes it (double quotes, lines
within 88 columns, two blank lines between functions); the exporter still runs ruff on it when
ruff is installed, and the tests check the raw text too.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from string import Template

from ...compile.naming import literal
from .data import DataPlan, data_functions
from .loop import loop_parts, main_source
from .tasks import TaskPlan, task_parts


@dataclass
class ScriptParts:
    """What one script needs, gathered from the data, the task and the config."""

    stdlib: set = field(default_factory=set)
    third: set = field(default_factory=lambda: {"import numpy as np", "import torch"})
    constants: list = field(default_factory=list)
    functions: list = field(default_factory=list)

    def block(self, text: str, **values) -> None:
        self.functions.append(Template(textwrap.dedent(text).strip("\n")).substitute(values))


_ARGS = '''
def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    $lr
    parser.add_argument("--limit", type=int, help="use only the first N samples")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    $weights
    parser.add_argument("--out", default="trained", help="where the weights are saved")
    return parser.parse_args()
'''

_SPLIT_STRATIFIED = '''
def split(x, y):
    """Deterministic train/validation split, stratified by class, as netbuilder splits."""
    rng = np.random.default_rng(SEED)
    val = [np.zeros(0, dtype=np.int64)]
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        take = round(len(members) * VAL_SPLIT)
        if take == 0 and len(members) >= 2:
            take = 1
        take = min(take, len(members) - 1) if len(members) > 1 else 0
        val.append(rng.permutation(members)[:take])
    is_val = np.zeros(len(x), dtype=bool)
    is_val[np.concatenate(val)] = True
    return ~is_val, is_val
'''

_SPLIT_RANDOM = '''
def split(x, y):
    """Deterministic train/validation split (a random share of the samples), as netbuilder's."""
    rng = np.random.default_rng(SEED)
    take = min(max(round(len(x) * VAL_SPLIT), 1), len(x) - 1)
    is_val = np.zeros(len(x), dtype=bool)
    is_val[rng.permutation(len(x))[:take]] = True
    return ~is_val, is_val
'''

_NORMALIZE = '''
def fit_normalizer(x):
    """$doc statistics of the training inputs (per channel or feature)."""
    axes = {4: (0, 2, 3), 3: (0, 1)}.get(x.ndim, (0,))
$body    scale = np.where(scale > 1e-8, scale, 1.0)
    return shift.astype(np.float32), scale.astype(np.float32)
'''

# A setting that leaves nothing to train is the user's to change, not a bug: one line, exit 2
# (as argparse does for bad arguments), and the app says the same sentence.
_MAIN = '''


if __name__ == "__main__":
    try:
        main()
    except recipe.NothingToTrain as exc:
        print(f"train.py: {exc}", file=sys.stderr)
        sys.exit(2)
'''


def build_script(cls: str, data: DataPlan, task: TaskPlan, config, lines_doc: str) -> str:
    """The text of ``train.py``."""
    parts = ScriptParts()
    parts.stdlib |= {"import argparse", "import json", "import os", "import sys", "import time",
                     "from functools import partial"}
    parts.third |= {"import torch.distributed as dist",
                    "from torch.optim.lr_scheduler import LambdaLR",
                    "from torch.utils.data import DataLoader, TensorDataset"}
    adversarial = task.spec.step == "adversarial"
    if task.spec.step == "supervised":
        parts.third.add("from torch.nn.parallel import DistributedDataParallel")
    lr = max(task.options["lr_g"], task.options["lr_d"]) if adversarial else config.lr
    parts.constants += [f"SEED = {config.seed}", f"VAL_SPLIT = {config.val_split!r}",
                        f"EPOCHS = {config.epochs}", f"BATCH_SIZE = {config.batch_size}",
                        f"LR = {float(lr)!r}"]
    data_functions(parts, data)
    if config.val_split > 0:
        parts.block(_SPLIT_STRATIFIED if data.stratify else _SPLIT_RANDOM)
    if config.normalization != "none" and not data.tokens:
        _normalizer(parts, config.normalization)
    aug = {k: v for k, v in config.augmentation.items() if v}
    if aug:
        _augmenter(parts, aug)
    task_parts(parts, task, config)
    loop_parts(parts, task, data, config)
    lr = ('parser.add_argument("--lr", type=float, help="both networks (default LR_G, LR_D)")'
          if adversarial else 'parser.add_argument("--lr", type=float, default=LR)')
    weights = ('parser.add_argument("--weights", help="initial weights (.safetensors or .pt)")'
               if task.start_weights is None else
               f'parser.add_argument(\n        "--weights", default={literal(task.start_weights)}, '
               f'help="initial weights"\n    )')  # (as ruff format wraps it)
    parts.block(_ARGS, lr=lr, weights=weights)
    parts.functions.append(main_source(task, cls, data, config))
    imports = ["\n".join(_sorted_third(parts.stdlib)), "\n".join(_sorted_third(parts.third)),
               f"import recipe\nfrom model import {cls}"]
    text = "\n\n".join([f'"""{lines_doc}"""', *imports, "\n".join(parts.constants)])
    text += "\n\n\n" + "\n\n\n".join(parts.functions)
    text += _MAIN
    return text


def call(indent: int, head: str, args: list[str], tail: str = ")") -> str:
    """``head(args)tail`` laid out as ruff format lays it out within 88 columns."""
    pad = " " * indent
    flat = f"{pad}{head}{', '.join(args)}{tail}"
    if len(flat) <= 88:
        return flat
    inner = f"{pad}    {', '.join(args)}"
    if len(inner) <= 88:
        return f"{pad}{head}\n{inner}\n{pad}{tail}"
    rows = "".join(f"{pad}    {a},\n" for a in args)
    return f"{pad}{head}\n{rows}{pad}{tail}"


def _sorted_third(lines: set) -> list:
    """isort's order: ``import x`` lines sorted by module, then ``from`` lines."""
    plain = sorted((ln for ln in lines if ln.startswith("import ")),
                   key=lambda ln: ln.split()[1].lower())
    froms = sorted((ln for ln in lines if ln.startswith("from ")),
                   key=lambda ln: ln.split()[1].lower())
    return plain + froms


def _normalizer(parts: ScriptParts, mode: str) -> None:
    if mode == "standard":
        body = ("    shift = x.mean(axis=axes, keepdims=True, dtype=np.float64)[0]\n"
                "    scale = x.std(axis=axes, keepdims=True, dtype=np.float64)[0]\n")
        doc = "Mean and standard deviation:"
    else:
        body = ("    shift = x.min(axis=axes, keepdims=True)[0].astype(np.float64)\n"
                "    scale = x.max(axis=axes, keepdims=True)[0] - shift\n")
        doc = "Minimum and range:"
    parts.block(_NORMALIZE, doc=doc, body=body)


def _augmenter(parts: ScriptParts, aug: dict) -> None:
    """``AUGMENT``: the keywords of ``recipe.augment``, which the app's training calls too."""
    kinds = {"flip": bool, "shift": int, "rotate": float, "noise": float}
    values = {k: kinds[k](aug[k]) for k in kinds if aug.get(k)}
    parts.constants.append(f"AUGMENT = {literal(values)}")


__all__ = ["build_script", "ScriptParts", "literal", "call"]
