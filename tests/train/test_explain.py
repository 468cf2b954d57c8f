"""The maths of looking inside a network, on small models with known answers."""
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from netbuilder.train.explain import (
    capture,
    deep_dream,
    explain,
    fgsm,
    gram_matrix,
    grid_png,
    maximize_activation,
    node_features,
    overlay_png,
    pgd,
    project,
    robustness_curve,
    scatter_png,
    style_transfer,
)
from netbuilder.train.predictor import PredictError

pytestmark = pytest.mark.usefixtures("one_thread")


def linear_model(seed=0, classes=3, shape=(1, 4, 4)):
    torch.manual_seed(seed)
    fc = torch.nn.Linear(int(np.prod(shape)), classes)
    return torch.nn.Sequential(torch.nn.Flatten(), fc).eval(), fc


def picture(seed=1, shape=(1, 1, 4, 4)):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def test_saliency_of_a_linear_model_is_its_weights_magnitude():
    model, fc = linear_model()
    heat = explain(model, picture(), "saliency", target=2)
    assert heat.shape == (4, 4)
    assert np.allclose(heat, fc.weight[2].detach().abs().reshape(4, 4).numpy(), atol=1e-6)


def test_integrated_gradients_of_a_linear_model_is_input_times_weight():
    model, fc = linear_model()
    x = picture()
    heat = explain(model, x, "integrated_gradients", target=1)
    want = (x[0, 0] * fc.weight[1].detach().reshape(4, 4)).numpy()
    assert np.allclose(heat, want, atol=1e-5)
    # completeness: the attributions add up to the score's rise from the black baseline
    with torch.no_grad():
        rise = float(model(x)[0, 1] - model(torch.zeros_like(x))[0, 1])
    assert heat.sum() == pytest.approx(rise, abs=1e-4)


def test_occlusion_with_a_one_pixel_window_is_the_score_each_pixel_adds():
    model, fc = linear_model()
    x = picture()
    heat = explain(model, x, "occlusion", target=0, window=1)
    assert np.allclose(heat, (x[0, 0] * fc.weight[0].detach().reshape(4, 4)).numpy(), atol=1e-5)


def test_smoothgrad_of_a_linear_model_equals_its_saliency():
    model, fc = linear_model()
    heat = explain(model, picture(), "smoothgrad", target=0, samples=4)
    assert np.allclose(heat, fc.weight[0].detach().abs().reshape(4, 4).numpy(), atol=1e-6)


def test_default_target_is_the_predicted_class():
    model, fc = linear_model()
    x = picture()
    predicted = int(model(x).argmax())
    assert np.allclose(explain(model, x, "saliency"), explain(model, x, "saliency", predicted))


def test_gradcam_of_a_one_channel_net_is_the_rectified_weighted_feature_map():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 1, 3, padding=1)
    head = torch.nn.Linear(1, 2)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[0.5], [-2.0]]))
    model = torch.nn.Sequential(conv, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                head).eval()
    x = torch.randn(1, 1, 6, 6, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        a = conv(x)[0, 0]
    # α = ∂y/∂A averaged over the 36 positions = w/36 everywhere
    for target, w in ((0, 0.5), (1, -2.0)):
        heat = explain(model, x, "gradcam", target=target, layer=conv)
        assert heat.shape == (6, 6)
        assert np.allclose(heat, torch.relu(w / 36 * a).numpy(), atol=1e-6)


def test_gradcam_errors_name_what_is_wrong():
    model, fc = linear_model()
    with pytest.raises(PredictError, match="needs the convolutional node"):
        explain(model, picture(), "gradcam")
    with pytest.raises(PredictError, match=r"spatial output.*gives \(1, 3\)"):
        explain(model, picture(), "gradcam", layer=fc)
    with pytest.raises(PredictError, match="Unknown explanation method 'lime'.*saliency"):
        explain(model, picture(), "lime")


def test_fgsm_moves_every_value_by_eps_along_the_gradient_sign():
    model, _ = linear_model()
    x, y = picture(shape=(5, 1, 4, 4)), torch.tensor([0, 1, 2, 0, 1])
    xg = x.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(model(xg), y).backward()
    adv = fgsm(model, x, y, 0.1)
    assert (xg.grad != 0).all()
    assert torch.allclose(adv - x, 0.1 * xg.grad.sign(), atol=1e-7)  # float rounding only
    clamped = fgsm(model, x, y, 0.5, x_range=(0.0, 1.0))
    assert float(clamped.min()) >= 0.0 and float(clamped.max()) <= 1.0


def test_fgsm_on_a_run_model_moves_each_pixel_by_eps_whatever_the_normalisation():
    """A run's model takes raw pictures (its normalisation folded in): ε is in pixel units,
    so each pixel moves by exactly ε although the network sees a move of ε / std."""
    from netbuilder.train.data import Normalizer
    from netbuilder.train.explain.model import OnRawInput

    model, _ = linear_model()
    norm = Normalizer("standard", shift=[[[0.3]]], scale=[[[0.2]]])
    net = OnRawInput(model, norm).eval()
    x, y = picture(shape=(5, 1, 4, 4)), torch.tensor([0, 1, 2, 0, 1])
    adv = fgsm(net, x, y, 0.1)
    assert torch.allclose((adv - x).abs(), torch.full_like(x, 0.1), atol=1e-6)
    seen = norm.apply(adv) - norm.apply(x)
    assert torch.allclose(seen.abs(), torch.full_like(x, 0.5), atol=1e-5)


def test_pgd_stays_in_the_eps_ball_and_beats_fgsm_on_the_loss():
    model, _ = linear_model(classes=4)
    x, y = picture(shape=(8, 1, 4, 4)), torch.arange(8) % 4
    adv = pgd(model, x, y, 0.05, steps=12, x_range=(0.0, 1.0))
    assert float((adv - x).abs().max()) <= 0.05 + 1e-6
    assert float(adv.min()) >= 0.0 and float(adv.max()) <= 1.0

    @torch.no_grad()
    def loss(z):
        return float(torch.nn.functional.cross_entropy(model(z), y))
    assert loss(adv) > loss(x)
    assert loss(adv) >= loss(fgsm(model, x, y, 0.05, x_range=(0.0, 1.0))) - 1e-6


def test_robustness_curve_starts_at_clean_accuracy_and_falls():
    model, _ = linear_model(classes=3)
    x = picture(shape=(60, 1, 4, 4))
    with torch.no_grad():
        y = model(x).argmax(1)  # the model is right about every sample
    curve = robustness_curve(model, x, y, [0.0, 0.05, 0.5], "fgsm")
    assert curve[0] == (0.0, 1.0)
    assert curve[1][1] <= 1.0 and curve[2][1] < curve[1][1] + 1e-9 and curve[2][1] < 0.7
    with pytest.raises(PredictError, match="Unknown attack 'cw'"):
        robustness_curve(model, x, y, [0.1], "cw")


def test_gram_matrix_of_a_known_feature_map():
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # (1, 2 channels, 1, 2 positions)
    assert torch.allclose(gram_matrix(f), torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 4)
    with pytest.raises(PredictError, match="channels and positions"):
        gram_matrix(torch.ones(2, 3))


def small_cnn():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.Conv2d(4, 6, 3, padding=1)).eval()


def test_style_transfer_lowers_its_loss_and_keeps_the_content_without_style():
    model = small_cnn()
    content, style = picture(1, (1, 1, 8, 8)), picture(2, (1, 1, 8, 8))
    losses = []
    out = style_transfer(model, [model[0], model[2]], content, style, style_weight=1e4,
                         steps=30, lr=0.01, progress=lambda _s, loss, _x: losses.append(loss))
    assert out.shape == content.shape and len(losses) == 30 and losses[-1] < losses[0] / 4
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    same = style_transfer(model, [model[2]], content, style, style_weight=0.0, steps=5)
    assert torch.allclose(same, content, atol=1e-4)  # the content's own features: no gradient


def test_activation_maximisation_excites_its_channel():
    model = small_cnn()
    layer = model[2]

    def level(x):
        with torch.no_grad(), capture([layer]) as seen:
            model(x)
        return float(seen[0][:, 3].mean())
    start = torch.full((1, 1, 8, 8), 0.5)
    best = maximize_activation(model, layer, 3, (1, 8, 8), steps=40)
    assert best.shape == (1, 1, 8, 8) and level(best) > level(start) + 0.03
    dreamt = deep_dream(model, layer, picture(4, (1, 1, 8, 8)), channel=3, steps=10)
    assert level(dreamt) > level(picture(4, (1, 1, 8, 8)))
    with pytest.raises(PredictError, match="Channel 9 does not exist: this node has 6"):
        maximize_activation(model, layer, 9, (1, 8, 8), steps=1)


def test_node_features_and_projections():
    model = small_cnn()
    x = picture(5, (20, 1, 8, 8))
    feats = node_features(model, model[0], x, batch=7)
    assert feats.shape == (20, 4 * 64)
    with torch.no_grad():
        assert np.allclose(feats, model[0](x).reshape(20, -1).numpy(), atol=1e-6)
    # two well separated groups stay separated in 2-D
    rng = np.random.default_rng(0)
    groups = np.concatenate([rng.normal(0, 0.1, (15, 10)), rng.normal(5, 0.1, (15, 10))])
    for method in ("pca", "tsne"):
        p = project(groups, method)
        assert p.shape == (30, 2)
        a, b = p[:15].mean(0), p[15:].mean(0)
        spread = max(p[:15].std(0).max(), p[15:].std(0).max())
        assert np.linalg.norm(a - b) > 3 * spread
    with pytest.raises(PredictError, match="Unknown projection 'umap'"):
        project(groups, "umap")


def test_pictures_are_written(tmp_path):
    heat = np.zeros((8, 8), np.float32)
    heat[2, 5] = 3.0
    out = overlay_png(np.zeros((1, 8, 8)), heat, tmp_path / "map.png")
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape[0] == 256 and img.shape[1] > 256  # enlarged 32×, scale bar beside it
    hot, cold = img[2 * 32 + 16, 5 * 32 + 16], img[16, 16]
    assert hot.sum() > 300 and cold.sum() < 30  # bright where the map is high
    grid = grid_png([np.ones((1, 4, 4))] * 3, tmp_path / "grid.png", labels=["a", "b", "c"],
                    side=32)
    assert Image.open(grid).size == (3 * 36 + 4, 32 + 14 + 8)
    pts = np.array([[0, 0], [1, 1], [2, 0]], np.float32)
    scatter = scatter_png(pts, np.array([0, 1, 1]), tmp_path / "s.png", ["zero", "one"])
    assert Image.open(scatter).size == (640 + 110, 640)
    with pytest.raises(FileNotFoundError):
        grid_png([np.ones((4, 4))], tmp_path / "missing" / "g.png")


def test_verdicts_put_the_surest_mistakes_first():
    from netbuilder.train.explain import select, verdicts

    logits = torch.tensor([[2.0, 0.0], [0.0, 4.0], [1.0, 0.0], [0.0, 3.0], [0.5, 0.0]])
    y = torch.tensor([0, 0, 1, 1, 0])  # samples 1 and 2 are wrong
    ranked = verdicts(torch.nn.Identity(), logits, y, batch=2)
    assert [v.index for v in ranked] == [1, 2, 4, 0, 3]
    assert [v.correct for v in ranked] == [False, False, True, True, True]
    assert ranked[0].predicted == 1 and ranked[0].label == 0
    assert abs(ranked[0].confidence - float(torch.sigmoid(torch.tensor(4.0)))) < 1e-6
    assert [v.index for v in select(ranked, label=0)] == [1, 4, 0]
    assert [v.index for v in select(ranked, label=1, correct=True)] == [3]
    assert [v.index for v in select(ranked, correct=False)] == [1, 2]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_a_projection_thread_yields_to_training_alone():
    import os
    import threading

    from netbuilder.train.explain import yield_to_training

    seen = {}

    def work():
        seen["done"] = yield_to_training()
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == {"done": True, "nice": max(before, 10)}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # not ours
