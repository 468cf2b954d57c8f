"""Every optimizer and every schedule trains; schedules have the documented shapes."""
import math

import numpy as np
import pytest
import torch

import netbuilder as nb
from netbuilder.train import ConfigError, TrainingConfig, train
from netbuilder.train.data import DatasetArrays
from netbuilder.train.optim import Schedule, make_optimizer

pytestmark = pytest.mark.usefixtures("one_thread")


def regression_data(n=256) -> DatasetArrays:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x @ np.array([[1.5], [-2.0], [0.5], [1.0]], np.float32) + 0.3).astype(np.float32)
    return DatasetArrays("linear", x, y, "vector", None, "regress")


def small_mlp() -> nb.Graph:
    g = nb.Graph("mlp")
    x = g.add("Input", shape=(4,))
    h = g.add("Linear", out_features=16)
    a = g.add("Tanh")
    o = g.add("Linear", out_features=1)
    g.connect(x, h)
    g.connect(h, a)
    g.connect(a, o)
    return g


def losses(cfg: TrainingConfig) -> list[float]:
    result = train(small_mlp(), cfg, dataset=regression_data())
    return [r["train_loss"] for r in result.history]


QUIET = {"metrics_hz": 0, "images_hz": 0, "activations": False, "histograms": False,
         "samples": False}

LRS = {"sgd": 0.05, "rmsprop": 0.01, "adagrad": 0.1, "adadelta": 5.0, "adam": 0.03,
       "adamw": 0.03, "lbfgs": 0.5}


@pytest.mark.parametrize("name", sorted(LRS))
def test_every_optimizer_lowers_the_loss(name):
    cfg = TrainingConfig(task="regress", optimizer=name, lr=LRS[name], epochs=4, batch_size=32,
                         events=QUIET, nesterov=name == "sgd")
    curve = losses(cfg)
    assert len(curve) == 4
    assert curve[-1] < 0.5 * curve[0], curve
    assert all(math.isfinite(v) for v in curve)


@pytest.mark.parametrize("schedule", ["none", "step", "exponential", "cosine", "one_cycle",
                                      "plateau"])
def test_every_schedule_lowers_the_loss(schedule):
    cfg = TrainingConfig(task="regress", optimizer="adam", lr=0.03, epochs=4, batch_size=32,
                         schedule=schedule, warmup_steps=5, events=QUIET,
                         schedule_options={"step_size": 2} if schedule == "step" else {})
    curve = losses(cfg)
    assert curve[-1] < 0.5 * curve[0], curve


def _schedule(kind, epochs=10, spe=10, **options):
    cfg = TrainingConfig(lr=0.1, schedule=kind, schedule_options=options, epochs=epochs,
                         optimizer="sgd", momentum=0.0)
    opt = make_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg)
    return Schedule([opt], cfg, spe, epochs), opt


def test_schedule_shapes():
    s, opt = _schedule("step", step_size=3, gamma=0.5)
    assert [round(s.factor(e * 10), 6) for e in (0, 2, 3, 6, 9)] == [1, 1, 0.5, 0.25, 0.125]
    s, _ = _schedule("exponential", gamma=0.9)
    assert s.factor(25) == pytest.approx(0.81)
    s, _ = _schedule("cosine", min_lr=0.01)
    assert s.factor(0) == pytest.approx(1.0)
    assert s.factor(50) == pytest.approx(0.55)
    assert s.factor(100) == pytest.approx(0.1)
    s, opt = _schedule("one_cycle", max_lr=0.5)
    peak = max(range(100), key=s.factor)
    assert peak == 30 and s.factor(peak) == pytest.approx(5.0)
    assert s.factor(0) == pytest.approx(5.0 / 25) and s.factor(100) < 1e-3
    assert s.apply(30) == pytest.approx(0.5) and opt.param_groups[0]["lr"] == pytest.approx(0.5)


def test_warmup_is_linear_and_composes():
    s, opt = _schedule("none")
    s.rate.warmup = 4
    assert [s.factor(i) for i in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_plateau_reduces_after_patience_and_saves_state():
    s, _ = _schedule("plateau", patience=1, factor=0.5)
    for metric in (1.0, 0.9, 0.95, 0.95):
        s.end_epoch(metric)
    assert s.factor(0) == 0.5
    state = s.state_dict()
    s2, _ = _schedule("plateau", patience=1, factor=0.5)
    s2.load_state_dict(state)
    assert s2.factor(0) == 0.5 and s2.rate.best == state["best"]


def test_optimizer_options_are_checked():
    cfg = TrainingConfig(optimizer="adam", optimizer_options={"betas": [0.8, 0.9]})
    opt = make_optimizer([torch.nn.Parameter(torch.zeros(1))], cfg)
    assert opt.param_groups[0]["betas"] == (0.8, 0.9)
    with pytest.raises(ConfigError) as info:
        make_optimizer([torch.nn.Parameter(torch.zeros(1))],
                       TrainingConfig(optimizer="sgd", optimizer_options={"betas": [0.9, 0.9]}))
    assert info.value.field == "optimizer_options.betas"
    with pytest.raises(ConfigError, match="weight decay"):
        make_optimizer([torch.nn.Parameter(torch.zeros(1))],
                       TrainingConfig(optimizer="lbfgs", weight_decay=0.1))


def test_frozen_parameters_never_reach_an_optimizer():
    """The filter lives in recipe.py, so the app and an exported train.py share it."""
    from netbuilder.train import recipe

    kept, frozen = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(3))
    frozen.requires_grad_(False)
    opt = make_optimizer([kept, frozen], TrainingConfig(optimizer="adamw", weight_decay=0.5))
    assert opt.param_groups[0]["params"] == [kept]
    opt = recipe.make_optimizer("sgd", [frozen, kept], 0.1)
    assert opt.param_groups[0]["params"] == [kept]
    with pytest.raises(recipe.NothingToTrain, match="^Nothing to train: every parameter is "
                                                    "frozen$"):
        recipe.make_optimizer("adam", [frozen], 0.1)
    with pytest.raises(ConfigError) as info:
        make_optimizer([frozen], TrainingConfig(optimizer="sgd"))
    assert str(info.value) == ("Nothing to train: every parameter is frozen (switch "
                               "'trainable' on for a node in the inspector)")
    assert info.value.field == "optimizer"


def test_optimizer_option_names_are_the_torch_classes_keywords():
    import inspect

    from netbuilder.train.config import OPTIMIZER_OPTIONS, OPTIMIZERS

    classes = {"sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop,
               "adagrad": torch.optim.Adagrad, "adadelta": torch.optim.Adadelta,
               "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "lbfgs": torch.optim.LBFGS}
    assert set(OPTIMIZER_OPTIONS) == set(OPTIMIZERS) == set(classes)
    for name, options in OPTIMIZER_OPTIONS.items():
        assert set(options) <= set(inspect.signature(classes[name]).parameters), name


@pytest.mark.parametrize("options,field,words", [
    ({"foo": 1}, "optimizer_options.foo", "adam has no option 'foo'; it accepts amsgrad, betas"),
    ({"x=1) or print(1) or (y": 1}, "optimizer_options.x=1) or print(1) or (y", "no option"),
    ({"betas": [0.9]}, "optimizer_options.betas", "two numbers in [0, 1)"),
    ({"eps": "1e-8"}, "optimizer_options.eps", "must be a number"),
    ({"amsgrad": 1}, "optimizer_options.amsgrad", "true or false"),
])
def test_bad_optimizer_options_are_refused_when_read(options, field, words):
    with pytest.raises(ConfigError) as info:
        TrainingConfig.from_dict({"optimizer": "adam", "optimizer_options": options})
    assert info.value.field == field
    assert words in info.value.message
