"""Tasks: the built-in three, their checks and losses, and a new task plugged in from outside."""
import numpy as np
import pytest
import torch
from train_helpers import chain

import netbuilder as nb
from netbuilder.train import (
    Phase,
    Task,
    TrainingConfig,
    TrainingError,
    TrainingFailed,
    get_task,
    register_task,
    task_names,
    train,
)
from netbuilder.train import events as ev
from netbuilder.train.data import DatasetArrays
from netbuilder.train.losses import make_loss
from netbuilder.train.optim import make_optimizer

QUIET = {"metrics_hz": 0, "images_hz": 0}


pytestmark = pytest.mark.usefixtures("one_thread")


def test_registry_lists_the_built_in_tasks():
    assert {"classify", "regress", "autoencode"} <= set(task_names())
    assert get_task("classify").name == "classify"
    with pytest.raises(TrainingError, match="no task 'gann'.*classify") as info:
        get_task("gann")
    assert info.value.field == "task"


def test_loss_auto_follows_the_last_layer():
    linear = chain("a", (4,), ("Linear", {"out_features": 3}))
    logsm = chain("b", (4,), ("Linear", {"out_features": 3}), ("LogSoftmax", {"dim": -1}))
    cls = get_task("classify")
    assert cls(TrainingConfig(), linear).resolve_loss() == "cross_entropy"
    assert cls(TrainingConfig(), logsm).resolve_loss() == "nll"
    assert cls(TrainingConfig(loss="nll"), linear).resolve_loss() == "nll"
    assert get_task("regress")(TrainingConfig(), linear).resolve_loss() == "mse"
    assert get_task("autoencode")(TrainingConfig(), linear).resolve_loss() == "mse"


def test_losses_compute_the_textbook_values():
    out = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    y = torch.tensor([0, 1])
    ce = -torch.log_softmax(out, 1)[[0, 1], [0, 1]].mean()
    assert make_loss("cross_entropy")(out, y) == pytest.approx(ce.item())
    assert make_loss("nll")(torch.log_softmax(out, 1), y) == pytest.approx(ce.item())
    assert make_loss("nll", probabilities=True)(torch.softmax(out, 1), y) == \
        pytest.approx(ce.item(), rel=1e-5)
    t = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    assert make_loss("mse")(out, t) == pytest.approx(((out - t) ** 2).mean().item())
    assert make_loss("l1")(out, t) == pytest.approx((out - t).abs().mean().item())
    assert make_loss("smooth_l1")(out, t) == pytest.approx(
        torch.nn.functional.smooth_l1_loss(out, t).item())
    p = torch.tensor([[0.9, 0.2]])
    target = torch.tensor([[1.0, 0.0]])
    assert make_loss("bce")(p, target) == pytest.approx(
        -(np.log(0.9) + np.log(0.8)) / 2, rel=1e-5)
    assert make_loss("bce_logits")(torch.logit(p), target) == pytest.approx(
        -(np.log(0.9) + np.log(0.8)) / 2, rel=1e-5)


def test_classify_reports_too_few_scores_with_the_layer_name():
    g = chain("mlp", (2,), ("Linear", {"out_features": 8}), ("ReLU", {}),
              ("Linear", {"out_features": 2}))
    g.rename(g.nodes()[-1].id, "scores")
    with pytest.raises(TrainingFailed) as info:
        train(g, TrainingConfig(dataset="spirals", dataset_options={"classes": 3}, epochs=1))
    assert str(info.value) == ("Linear 'scores' gives 2 scores per sample but the dataset "
                               "'spirals' has 3 classes: set the last layer's out_features to 3")


def test_classify_needs_flat_scores_and_class_labels():
    g = chain("conv", (1, 8, 8), ("Conv2d", {"out_channels": 10, "kernel_size": 3}))
    with pytest.raises(TrainingFailed, match=r"classification needs \(N, 10\) scores: end the "
                                             r"network with a Flatten and a Linear"):
        train(g, TrainingConfig(epochs=1))
    g = chain("mlp", (20, 1), ("Flatten", {}), ("Linear", {"out_features": 3}))
    with pytest.raises(TrainingFailed, match="continuous targets .* use the regress task"):
        train(g, TrainingConfig(dataset="sine", epochs=1))


def test_regress_and_autoencode_check_output_sizes():
    g = chain("f", (20, 1), ("Flatten", {}), ("Linear", {"out_features": 3}))
    with pytest.raises(TrainingFailed, match=r"gives \(N, 3\) but the dataset 'sine' has targets "
                                             r"of shape \(N, 1\)"):
        train(g, TrainingConfig(dataset="sine", task="regress", epochs=1))
    ae = chain("ae", (64,), ("Linear", {"out_features": 8}), ("Linear", {"out_features": 32}))
    with pytest.raises(TrainingFailed, match=r"must reproduce its input \(N, 64\)"):
        train(ae, TrainingConfig(task="autoencode", epochs=1))
    with pytest.raises(TrainingFailed, match="denoise must be one of") as info:
        train(ae, TrainingConfig(task="autoencode", task_options={"denoise": "salt"}))
    assert info.value.field == "task_options.denoise"


def test_denoising_autoencoder_learns_and_shows_reconstructions():
    g = chain("ae", (64,), ("Linear", {"out_features": 32}), ("ReLU", {}),
              ("Linear", {"out_features": 64}), ("Sigmoid", {}))
    got = []
    cfg = TrainingConfig(task="autoencode", task_options={"denoise": "gaussian", "strength": 0.1},
                         epochs=6, lr=3e-3, dataset_options={"flatten": True})
    result = train(g, cfg, emit=got.append)
    curve = [r["val_loss"] for r in result.history]
    assert curve[-1] < 0.6 * curve[0]
    samples = [e for e in got if isinstance(e, ev.Samples)]
    assert samples and samples[-1].kind == "reconstructions"
    assert samples[-1].images.shape == (16, 1, 8, 8) and samples[-1].images.dtype == np.uint8
    assert samples[-1].reconstructions.shape == (16, 1, 8, 8)


# --- a task written outside the package, through the documented interface only -------------


@register_task
class TwoPhaseTask(Task):
    """Phase 1 trains only the first layer; phase 2 trains everything with two optimizers
    stepped alternately (the pattern of a GAN's D/G updates)."""

    name = "test_two_phase"
    default_loss = "mse"
    option_defaults = {"first": "h"}

    def phases(self):
        return [Phase("pretrain h", 2), Phase("finetune", 2)]

    def begin_phase(self, ctx, phase):
        self.seen_phases = getattr(self, "seen_phases", []) + [phase.name]

    def optimizers(self, ctx, phase):
        first = getattr(ctx.module, self.options["first"])
        if phase.name.startswith("pretrain"):
            return [make_optimizer(first.parameters(), self.config)]
        rest = [p for n, p in ctx.module.named_parameters() if not n.startswith("h.")]
        return [make_optimizer(first.parameters(), self.config),
                make_optimizer(rest, self.config)]

    def train_step(self, ctx, batch):
        losses = []
        for opt in ctx.optimizers:
            opt.zero_grad(set_to_none=True)
            with ctx.autocast():
                loss = ctx.loss_fn(ctx.model(batch["x"]), batch["y"])
            ctx.backward(loss)
            ctx.optimizer_step(opt)
            losses.append(loss.detach())
        return {"loss": losses[-1], "steps": torch.tensor(float(len(losses)))}

    def metrics_spec(self):
        return {"loss": False, "steps": False}


def test_a_new_task_plugs_in_without_touching_the_trainer():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x.sum(1, keepdims=True) * 0.5).astype(np.float32)
    data = DatasetArrays("sum", x, y, "vector", None, "regress")
    g = nb.Graph("two")
    i = g.add("Input", "x", shape=(3,))
    h = g.add("Linear", "h", out_features=8)
    o = g.add("Linear", "o", out_features=1)
    g.connect(i, h)
    g.connect(h, o)
    got = []
    cfg = TrainingConfig(task="test_two_phase", lr=0.01, batch_size=50, events=QUIET)
    result = train(g, cfg, emit=got.append, dataset=data)
    started = next(e for e in got if isinstance(e, ev.RunStarted))
    assert started.phases == [("pretrain h", 2), ("finetune", 2)] and started.epochs == 4
    phases = [(e.epoch, e.phase) for e in got if isinstance(e, ev.Metrics) and e.split == "val"]
    assert phases == [(1, "pretrain h"), (2, "pretrain h"), (3, "finetune"), (4, "finetune")]
    steps = [r["train_steps"] for r in result.history]
    assert steps == [1.0, 1.0, 2.0, 2.0]
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]


def test_task_options_are_validated_by_the_task():
    with pytest.raises(TrainingError, match="no option 'frist'") as info:
        TwoPhaseTask(TrainingConfig(task_options={"frist": "o"}), nb.Graph("g"))
    assert info.value.field == "task_options.frist"
