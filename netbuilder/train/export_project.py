"""Export a graph as a runnable PyTorch project: ``model.py``, ``train.py``, weights, README.

    report = export_project(graph, "lenet_project", weights_path="runs/lenet-.../")
    # lenet_project/model.py       the generated module classes (what build() executes)
    # lenet_project/train.py       the graph's training setup as a standalone script
    # lenet_project/weights.safetensors, weights.pt   the trained weights (when given)
    # lenet_project/README.md      how to use and train it

The exported files import torch, numpy and the standard library only (scikit-learn for the
digits set; safetensors when it is installed) and never netbuilder. They are formatted with
ruff when it is installed (the training script is written formatted in any case).
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..compile import frozen_layers, generate, node_attributes, penalised_layers
from ..compile.naming import quoted
from ..errors import NetbuilderError
from ..graph import Graph
from ..graph.fileformat import atomic_replace, atomic_write
from . import recipe
from .batches import fit_to_input
from .config import TrainingConfig
from .data import DataError
from .project.data import SNAPSHOT, plan_data
from .project.script import build_script
from .project.tasks import TaskPlan, exportable_tasks
from .validation import checked_task, describe_problem

RECIPE = "recipe.py"
WEIGHTS = "weights.safetensors"
WEIGHTS_PT = "weights.pt"


class ExportError(NetbuilderError):
    """The project cannot be written as asked (the message says why and what to do)."""


@dataclass
class ProjectReport:
    folder: Path
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. why train.py was left out
    class_name: str = ""


def export_project(graph: Graph, out_dir, weights_path=None, *,
                   class_name: str | None = None, graph_weights: bool = True) -> ProjectReport:
    """Write the project folder ``out_dir`` (created when missing; files are replaced).
    The weights are ``weights_path``'s, else the graph's own (unless ``graph_weights`` is
    False); ``train.py`` starts from the graph's own and keeps its frozen layers frozen."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file: give a folder for the project")
    source, cls = generate(graph, class_name, main=True)
    report = ProjectReport(out, class_name=cls)
    state = _weights(graph, weights_path) if weights_path is not None else \
        _graph_state(graph) if graph_weights else None
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "model.py", format_python(source, "model.py"), report)
    config, training = None, None
    try:
        config = TrainingConfig.from_graph(graph)
        training = training_script(graph, config, cls)
    except (NetbuilderError, DataError) as exc:
        report.warnings.append(f"train.py was not written: {describe_problem(exc)}")
    if training is not None:
        script, snapshot = training
        _write(out / "train.py", format_python(script, "train.py"), report)
        # The training definition itself, verbatim: what netbuilder ran is what train.py runs.
        _write(out / RECIPE, Path(recipe.__file__).read_text(encoding="utf-8"), report)
        if snapshot is not None:
            arrays = {"x": snapshot.x} if snapshot.y is None else {"x": snapshot.x,
                                                                     "y": snapshot.y}

            def write(tmp: Path) -> None:
                with open(tmp, "wb") as f:  # (a file: given a name, numpy appends ".npz")
                    np.savez_compressed(f, **arrays)

            atomic_replace(out / SNAPSHOT, write)
            report.files.append(SNAPSHOT)
    if state is not None:
        _save_weights(state, out, report)
    _write(out / "README.md", readme(graph, config, cls, report, training is not None), report)
    return report


# --- train.py --------------------------------------------------------------------------------

def training_script(graph: Graph, config: TrainingConfig, cls: str):
    """``(train.py text, dataset to save as data.npz or None)``; raises a netbuilder error
    naming the setting when the setup cannot be written as a script."""
    exportable = exportable_tasks()
    if config.task not in exportable:
        raise ExportError(f"the {config.task} task has no standalone training script; the "
                          f"exportable tasks are {', '.join(exportable)}", field="task")
    task = checked_task(graph, config)  # what check and training check, too
    analysis = graph.analyze()
    outputs = [analysis.shape(o) for o in graph.outputs()]
    plan, data = plan_data(config, lambda ds, log: fit_to_input(ds, graph, log))
    task.check(data, outputs)
    attrs = node_attributes(graph, analysis)
    plan_t = TaskPlan(config.task, task.resolve_loss(), task.script, dict(task.options),
                      probabilities=task.outputs_probabilities)
    plan_t.penalties = penalised_layers(graph, analysis)
    plan_t.frozen = frozen_layers(graph, analysis)
    plan_t.start_weights = WEIGHTS if graph.weights is not None else None
    if config.adversarial.on:
        plan_t.adversarial = config.adversarial.recipe_options()
    spec = task.metrics_spec()
    plan_t.monitor = task.monitor
    plan_t.higher = spec.get(task.monitor.split("_", 1)[-1], False)
    task.script_plan(plan_t, attrs)
    plan_t.unused_parameters = _has_layerwise(graph)
    script = build_script(cls, plan, plan_t, config, _docstring(cls, config, plan, plan_t))
    return script, plan.snapshot


def _has_layerwise(graph: Graph) -> bool:
    """Whether a layer trained apart from the forward pass (an RBM) leaves parameters that the
    loss does not reach (DDP must be told)."""
    return any(n.spec.pretrained_layerwise or (n.inner is not None and _has_layerwise(n.inner))
               for n in graph.nodes())


def _docstring(cls: str, config: TrainingConfig, plan, task: TaskPlan) -> str:
    held = f", {config.val_split:.0%} held out for validation" if config.val_split else ""
    lr = ("lr_g/lr_d from the task options" if task.spec.step == "adversarial"
          else f"lr {config.lr:g}")
    lines = [
        f"Train {cls} ({config.task} task): a standalone script exported by netbuilder.",
        "",
        f"Data: {plan.description}" + (" (flattened to fit the Input)" if plan.flatten else "")
        + (f" (resized to {plan.resize[0]}×{plan.resize[1]} to fit the Input)"
           if plan.resize else "") + ".",
        f"Loss {task.loss}, {config.optimizer} ({lr}), {config.epochs} epochs of batches of "
        f"{config.batch_size}{held}.",
        "",
        "    python train.py                          one process (a GPU when there is one)",
        "    torchrun --nproc_per_node=2 train.py     data-parallel (NCCL on GPUs, gloo on "
        "CPUs)",
        "",
        "Options: --seed, --epochs, --batch-size, --lr, --limit N (the first N samples),",
        "--device, --weights FILE (start from these weights), --out DIR (default: trained).",
        "The losses, optimizer, schedule and sample order come from recipe.py, the module",
        "netbuilder itself trains with; the best weights and history.json go to --out.",
    ]
    if config.precision == "fp16":
        lines.append("netbuilder's fp16 mixed precision is not reproduced: this trains in fp32.")
    return "\n".join(_wrap(line) for line in lines) + "\n"


def _wrap(line: str, width: int = 88) -> str:
    if len(line) <= width or line.startswith("    "):
        return line
    words, out, cur = line.split(" "), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return "\n".join([*out, cur])


# --- files -----------------------------------------------------------------------------------

def format_python(text: str, name: str) -> str:
    """``text`` formatted by ``ruff format`` (default settings) when ruff is installed."""
    ruff = _ruff()
    if ruff is None:
        return text
    try:
        done = subprocess.run([ruff, "format", "--isolated", "--stdin-filename", name, "-"],
                              input=text, capture_output=True, text=True, timeout=60,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return text
    return done.stdout if done.returncode == 0 and done.stdout else text


def _ruff() -> str | None:
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("ruff")


def _write(path: Path, text: str, report: ProjectReport) -> None:
    atomic_write(path, text)
    report.files.append(path.name)


def _weights(graph: Graph, path) -> dict:
    """The state dict in ``path`` (a weights file or a run folder), checked against the graph."""
    p = Path(path)
    if p.is_dir():
        p = p / WEIGHTS
    if not p.is_file():
        raise ExportError(f"{p}: no weights there (a run folder holds {WEIGHTS})",
                          field="weights")
    from ..compile.onnx_export import load_weights

    module = graph.build()
    try:
        load_weights(module, p)
    except NetbuilderError as exc:
        text = str(exc)  # named once: the loader's message may already start with the file
        raise ExportError(text if text.startswith(f"{p}:") else f"{p}: {text}",
                          field="weights") from None
    return {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def _graph_state(graph: Graph) -> dict | None:
    """The graph's own weights checked against it (None when it has none). Layers they leave
    out (a new head) are initialised under the training seed, as a run starts them, so
    ``train.py`` starts where the app's run starts."""
    from ..compile.weights import graph_state

    try:
        seed = TrainingConfig.from_graph(graph).seed
    except NetbuilderError:
        seed = TrainingConfig().seed
    try:
        with torch.random.fork_rng(devices=[]):  # (the caller's random stream stays as it was)
            torch.manual_seed(seed)
            return graph_state(graph)
    except NetbuilderError as exc:
        raise ExportError(str(exc), field="weights") from None


def _save_weights(state: dict, out: Path, report: ProjectReport) -> None:
    from safetensors.torch import save_file

    for name, save in ((WEIGHTS, lambda p: save_file(state, str(p))),
                       (WEIGHTS_PT, lambda p: torch.save(state, p))):
        atomic_replace(out / name, save)
        report.files.append(name)


def latest_run_weights(graph_path, graph: Graph) -> Path | None:
    """The newest run of the graph saved at ``graph_path`` whose weights fit the graph: the
    command line's ``runs/<name>-<time>/`` and the editor's ``<stem>.runs/run-<time>/``."""
    p = Path(graph_path)
    return newest_fitting_run([p.parent / "runs", p.parent / f"{p.stem}.runs"], graph)


def newest_fitting_run(folders, graph: Graph) -> Path | None:
    """The newest run folder inside ``folders`` whose weights load into ``graph``."""
    candidates = [w for folder in folders for w in Path(folder).glob(f"*/{WEIGHTS}")]
    for weights in sorted(candidates, key=lambda w: w.stat().st_mtime, reverse=True):
        try:
            _weights(graph, weights)
        except NetbuilderError:
            continue
        return weights.parent
    return None


def readme(graph: Graph, config: TrainingConfig | None, cls: str, report: ProjectReport,
           has_train: bool) -> str:
    """A short README: what is inside, how to use the model and how to train it (``config``
    is read only with ``has_train``: it is None when the training settings are invalid)."""
    analysis = graph.analyze()
    params = analysis.total_params
    attrs = node_attributes(graph, analysis)  # the model's argument names, not file text
    inputs = [(attrs[i], analysis.shape(i), graph.node(i).params["dtype"])
              for i in graph.inputs()]
    shapes = ", ".join(f"`{n}` (N, {', '.join(str(d) for d in s)}) {t}" for n, s, t in inputs)
    files = [f"- `model.py`: the model, `{cls}` ({params:,} parameters), plain PyTorch."]
    if has_train:
        files.append(f"- `train.py`: trains it as netbuilder does ({config.task} on "
                     f"{quoted(config.dataset)}, {config.optimizer}, {config.epochs} epochs).")
    if SNAPSHOT in report.files:
        files.append(f"- `{SNAPSHOT}`: the training data as netbuilder read it (x, y).")
    if WEIGHTS in report.files:
        files.append(f"- `{WEIGHTS}` and `{WEIGHTS_PT}`: the trained weights (the same "
                     f"tensors; the .pt file for machines without safetensors).")
    load = (f'model.load_state_dict(load_file("{WEIGHTS}"))\n'
            f'# or: torch.load("{WEIGHTS_PT}", weights_only=True)') if WEIGHTS in report.files \
        else "# model.load_state_dict(...)  # weights from a training run"
    if has_train:
        files.append(f"- `{RECIPE}`: the training definition netbuilder itself runs (losses, "
                     f"optimizers, schedules, sample order, frozen layers), imported by "
                     f"train.py.")
    lines = [f"# {cls}", "", f"Exported by netbuilder from the graph {quoted(graph.name)}.", "",
             *files, "", "## Use the model", "", "```python", "import torch",
             "from safetensors.torch import load_file", "", f"from model import {cls}", "",
             f"model = {cls}()", load, "model.eval()", "with torch.no_grad():",
             "    out = model(x)", "```", "", f"Inputs: {shapes}, batch first."]
    if has_train and config.normalization != "none":
        lines.append(f"Training normalises inputs ({config.normalization}, statistics of the "
                     f"training split: see `fit_normalizer` in train.py); do the same before "
                     f"calling the model.")
    if has_train:
        lines += ["", "## Train", "", "```sh", "python train.py", "python train.py --epochs 5 "
                  "--batch-size 128", "torchrun --nproc_per_node=2 train.py  # data-parallel",
                  "```", "", "Trained weights go to `trained/` (`--out`). `--weights FILE` "
                  "starts from given weights.", "", "Needs torch and numpy" +
                  (", and scikit-learn for the digits" if "digits" in config.dataset else "")
                  + "; safetensors is optional."]
    frozen = frozen_layers(graph, analysis)
    if has_train and frozen:
        lines += ["", "Frozen (not trained; run in inference mode): " +
                  ", ".join(f"`{f}`" for f in frozen) + " (`FROZEN` in train.py)."]
    if has_train and graph.weights is not None and WEIGHTS in report.files:
        lines += ["", f"`train.py` starts from `{WEIGHTS}` (the graph's weights)."]
    for w in report.warnings:
        text = quoted(w)  # the message may quote the file: escaped, shown without its quotes
        lines += ["", "Note: " + (text[2:-2] if text.startswith("\\") else text[1:-1])]
    return "\n".join(lines) + "\n"


__all__ = ["export_project", "ExportError", "ProjectReport", "latest_run_weights",
           "newest_fitting_run",
           "training_script", "format_python", "readme"]

