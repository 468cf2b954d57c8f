"""The GAN task on the dcgan_digits example: alternating updates that stay away from collapse,
samples a digits classifier spreads over many classes, fixed-noise sample grids, and the
exported Generator/Discriminator running standalone with the trained weights."""
from __future__ import annotations

import textwrap
from importlib import resources

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from standalone import run_standalone

import netbuilder as nb
from netbuilder.train.config import TrainingConfig
from netbuilder.train.data import load_dataset
from netbuilder.train.events import Metrics, Samples
from netbuilder.train.tasks import TrainingError, get_task
from netbuilder.train.trainer import TrainingFailed, train

EXAMPLES_DIR = resources.files("netbuilder") / "resources" / "examples"
EXAMPLE = EXAMPLES_DIR / "dcgan_digits.json"
EPOCHS = 4  # all ten digits among the samples already (seed 0), at half the cost of 8


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run(train_example):
    return train_example("dcgan_digits", EPOCHS)


def test_discriminator_and_generator_stay_away_from_collapse(run):
    _, _, result, events = run
    live = [e.values for e in events if isinstance(e, Metrics) and e.split == "train"
            and not e.epoch_end]
    assert len(live) >= 8
    quarter = [e for e in result.history if e["epoch"] > EPOCHS * 3 // 4]
    assert quarter
    for h in quarter:
        for key in ("train_d_x", "train_d_g_z", "val_d_x", "val_d_g_z"):
            assert 0.05 < h[key] < 0.95, (key, h)
    tail = live[len(live) * 3 // 4:]
    d_x = np.array([v["d_x"] for v in tail])
    d_g_z = np.array([v["d_g_z"] for v in tail])
    assert ((d_x > 0.02) & (d_x < 0.98)).all() and ((d_g_z > 0.02) & (d_g_z < 0.98)).all()
    assert d_x.mean() > d_g_z.mean()  # the discriminator still tells real from fake...
    assert d_g_z.mean() > 0.1  # ...but the generator keeps fooling it some of the time
    for h in result.history:
        assert h["train_loss"] == pytest.approx(h["train_loss_d"] + h["train_loss_g"], rel=1e-4)


def _pooled(images: torch.Tensor) -> np.ndarray:
    """7×7 average-pooled pixels: features a linear classifier fits in a second."""
    return torch.nn.functional.adaptive_avg_pool2d(images.float(), 7).flatten(1).numpy()


def test_samples_look_like_many_different_digits(run):
    from sklearn.linear_model import LogisticRegression

    g, cfg, result, _ = run
    digits = load_dataset("digits", size=28)
    real = torch.from_numpy(digits.x)
    classifier = LogisticRegression(max_iter=1000).fit(_pooled(real[:1400]), digits.y[:1400])
    assert classifier.score(_pooled(real[1400:]), digits.y[1400:]) > 0.85
    task = get_task("gan")(cfg, g)
    task.check(digits, [])
    fake = task.generate(result.model.eval(), 100, seed=3)
    assert fake.shape == (100, 1, 28, 28)
    assert -1 <= float(fake.min()) and float(fake.max()) <= 1  # Tanh: the data scaled to [-1, 1]
    predicted = classifier.predict(_pooled((fake + 1) / 2))
    assert len(set(predicted.tolist())) >= 6, np.bincount(predicted, minlength=10)
    # The criterion can fail: an untrained generator's samples all fall in one or two classes.
    fresh = task.generate(g.build().eval(), 100, seed=3)
    assert len(set(classifier.predict(_pooled((fresh + 1) / 2)).tolist())) <= 2


def test_sample_grids_come_from_fixed_noise(run):
    _, _, _, events = run
    grids = [e for e in events if isinstance(e, Samples)]
    assert len(grids) >= 2
    assert all(e.kind == "generated" and e.images.dtype == np.uint8 and
               e.images.shape == (64, 1, 28, 28) for e in grids)
    # The same noise each time: grids change only as the generator learns, so the last two
    # (taken close together) are much nearer each other than the first and the last.
    first, before, last = (grids[i].images.astype(float) for i in (0, -2, -1))
    assert np.abs(last - before).mean() < np.abs(last - first).mean()


def test_exported_gan_runs_standalone_with_trained_weights(run, tmp_path):
    g, cfg, result, _ = run
    source = g.to_python()
    assert "import netbuilder" not in source and "from netbuilder" not in source
    (tmp_path / "dcgan.py").write_text(source)
    weights = result.summary["weights"]
    z = torch.randn(6, 64, 1, 1)
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    save_file({"z": z, "x": x}, str(tmp_path / "inputs.safetensors"))
    script = textwrap.dedent(f"""
        import torch
        from safetensors.torch import load_file, save_file
        from dcgan import DcganDigits, Discriminator, Generator
        state = load_file({weights!r})
        model = DcganDigits()
        model.load_state_dict(state)
        generator, discriminator = Generator(), Discriminator()
        generator.load_state_dict({{k[10:]: v for k, v in state.items()
                                   if k.startswith("generator.")}})
        discriminator.load_state_dict({{k[14:]: v for k, v in state.items()
                                       if k.startswith("discriminator.")}})
        inputs = load_file("inputs.safetensors")
        model.eval(); generator.eval(); discriminator.eval()
        with torch.no_grad():
            fake, p_fake, p_real = model(inputs["x"], z=inputs["z"])
            alone = generator(inputs["z"])
            save_file({{"fake": fake, "alone": alone, "p_fake": p_fake, "p_real": p_real,
                        "d_alone": discriminator(alone)}}, "out.safetensors")
        print("ok", tuple(fake.shape))
    """)
    printed = run_standalone(tmp_path, script)
    assert "ok (6, 1, 28, 28)" in printed
    out = load_file(str(tmp_path / "out.safetensors"))
    model = result.model.eval()
    with torch.no_grad():
        want_fake, want_p_fake, want_p_real = model(x, z=z)
    torch.testing.assert_close(out["fake"], want_fake)
    torch.testing.assert_close(out["alone"], want_fake)
    torch.testing.assert_close(out["p_fake"], want_p_fake)
    torch.testing.assert_close(out["d_alone"], want_p_fake)
    torch.testing.assert_close(out["p_real"], want_p_real)


def test_gan_options_and_graph_problems_are_explained():
    g = nb.load(str(EXAMPLE))
    base = TrainingConfig.from_graph(g)
    with pytest.raises(TrainingError, match="label_smoothing must be a number in"):
        get_task("gan")(base.replace(task_options={"label_smoothing": 0.7}), g)
    with pytest.raises(TrainingError, match="has no option 'lr'"):
        get_task("gan")(base.replace(task_options={"lr": 0.1}), g)
    disc = next(n.id for n in g.nodes() if n.type == "Discriminator")
    g.remove(g.find("p_real"))
    g.remove(g.find("p_fake"))
    g.remove(disc)
    with pytest.raises(TrainingFailed, match="The GAN needs a Discriminator block fed by the "
                                             r"Generator's output and by the real data \(Input "
                                             "'image'\\)"):
        train(g, base.replace(epochs=1, device="cpu"))


def _step_context(g, cfg):
    from netbuilder.train.tasks.base import DataInfo, StepContext

    task = get_task("gan")(cfg, g)
    model = g.build()
    ctx = StepContext(config=cfg, graph=g, model=model, module=model, device=torch.device("cpu"),
                      data=DataInfo("digits", "image", (1, 8, 8)), loss_fn=None)
    ctx.optimizers = task.optimizers(ctx, task.phases()[0])
    return task, ctx


def test_one_sided_label_smoothing_lowers_the_real_target():
    from netbuilder.graph.templates import make_gan

    g = make_gan("dense", (1, 8, 8), latent=4, hidden=(8, 8))
    g.training = {"task": "gan"}
    losses = []
    for smoothing in (0.0, 0.1):
        torch.manual_seed(0)
        cfg = TrainingConfig(task="gan", device="cpu", task_options={
            "label_smoothing": smoothing, "lr_g": 1e-9, "lr_d": 1e-9})
        task, ctx = _step_context(g, cfg)
        disc = ctx.module.discriminator
        with torch.no_grad():  # D(anything) = sigmoid(3): a fixed, known score
            disc.score.weight.zero_()
            disc.score.bias.fill_(3.0)
        m = task.train_step(ctx, {"x": torch.rand(16, 1, 8, 8)})
        assert float(m["d_x"]) == pytest.approx(torch.sigmoid(torch.tensor(3.0)).item())
        losses.append(float(m["loss_d"]))
    # BCE(p, 1 - s) - BCE(p, 1) = s * logit(p) = 0.1 * 3 for the real half of loss_d.
    assert losses[1] - losses[0] == pytest.approx(0.3, abs=1e-5)


def test_extra_discriminator_steps_train(tmp_path):
    torch.manual_seed(1)
    g = nb.load(str(EXAMPLE))
    cfg = TrainingConfig.from_graph(g).replace(
        epochs=1, device="cpu", dataset_options={"size": 28, "limit": 128},
        task_options={"d_steps": 2, "lr_g": 1e-3, "lr_d": 1e-4})
    result = train(g, cfg)
    (h,) = result.history
    assert np.isfinite(h["train_loss_d"]) and np.isfinite(h["train_loss_g"])
    assert 0 < h["train_d_x"] < 1


def test_dcgan_64_trains_on_colour_pictures():
    """The PyTorch examples' DCGAN takes its training steps (on a few random 3×64×64 pictures
    standing in for a photo folder: CIFAR-10 is a download)."""
    from netbuilder.train.data import DatasetArrays

    torch.manual_seed(0)
    g = nb.load(str(EXAMPLES_DIR / "dcgan_64.json"))
    pictures = DatasetArrays("pictures", np.random.default_rng(0).random(
        (12, 3, 64, 64), dtype=np.float32), None, "image")
    cfg = TrainingConfig.from_graph(g)
    cfg = cfg.replace(epochs=1, batch_size=4, val_split=0.34, device="cpu",
                      task_options={**cfg.task_options, "n_samples": 16})
    events: list = []
    result = train(g, cfg, emit=events.append, dataset=pictures)
    (h,) = result.history
    assert h["step"] == 2 and 0 < h["train_d_x"] < 1 and 0 < h["val_d_g_z"] < 1
    grids = [e for e in events if isinstance(e, Samples)]
    assert grids[-1].images.shape == (16, 3, 64, 64)
