"""RBM and DBN tasks: contrastive divergence lowers the reconstruction error (CD-k and
persistent CD), dreams stream as pictures, the DBN's greedy pretraining and fine-tuning show as
phases and reach ≥ 95% validation accuracy on digits, and the exported RBM's gibbs_step/sample
work standalone with the trained weights."""
from __future__ import annotations

import textwrap
from importlib import resources

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from standalone import run_standalone

import netbuilder as nb
from netbuilder.graph.templates import make_dbn, make_rbm
from netbuilder.train.config import TrainingConfig
from netbuilder.train.events import Metrics, Progress, RunStarted, Samples
from netbuilder.train.tasks import TrainingError, get_task
from netbuilder.train.trainer import TrainingFailed, train

EXAMPLES = resources.files("netbuilder") / "resources" / "examples"


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def rbm_run(train_example):
    return train_example("rbm_digits", 10)


def test_contrastive_divergence_lowers_the_reconstruction_error(rbm_run):
    _, cfg, result, _ = rbm_run
    assert cfg.task == "rbm" and cfg.dataset_options == {"binarize": True, "flatten": True}
    recon = [h["val_recon_error"] for h in result.history]
    assert recon[-1] < 0.5 * recon[0], recon
    assert result.history[-1]["train_recon_error"] < 0.5 * result.history[0]["train_recon_error"]
    pl = [h["val_pseudo_likelihood"] for h in result.history]
    assert np.mean(pl[-3:]) > pl[0], pl  # the data became more probable
    assert all(np.isfinite(h["val_free_energy"]) for h in result.history)
    assert result.summary["monitor"] == "val_recon_error"


def test_dreams_are_pictures_that_change_as_the_rbm_learns(rbm_run):
    _, _, _, events = rbm_run
    dreams = [e for e in events if isinstance(e, Samples)]
    assert dreams and {e.kind for e in dreams} == {"dreams"}
    first, last = dreams[0].images, dreams[-1].images
    assert last.dtype == np.uint8 and last.shape == (64, 1, 8, 8)
    assert not np.array_equal(first, last)
    # Dreams of a trained RBM look like digits: dark borders, like the binarized data.
    border = np.concatenate([last[:, 0, :, 0], last[:, 0, :, -1]]).mean() / 255
    assert border < 0.3


def test_persistent_cd_trains_too():
    torch.manual_seed(0)
    g = make_rbm(64, 64)
    cfg = TrainingConfig(dataset="digits", dataset_options={"binarize": True, "flatten": True},
                         task="rbm", task_options={"persistent": True}, lr=5e-3, epochs=8,
                         batch_size=32, device="cpu")
    result = train(g, cfg)
    recon = [h["val_recon_error"] for h in result.history]
    assert recon[-1] < 0.8 * recon[0], recon


def test_exported_rbm_samples_standalone_with_trained_weights(rbm_run, tmp_path):
    g, _, result, _ = rbm_run
    source = g.to_python()
    assert "class RBM(nn.Module):" in source and "def gibbs_step(self, v):" in source
    (tmp_path / "rbm_model.py").write_text(source)
    v = (torch.rand(8, 64) > 0.5).float()
    save_file({"v": v}, str(tmp_path / "inputs.safetensors"))
    script = textwrap.dedent(f"""
        import torch
        from safetensors.torch import load_file, save_file
        from rbm_model import RBM, RbmDigits
        state = load_file({result.summary["weights"]!r})
        model = RbmDigits()
        model.load_state_dict(state)
        rbm = RBM(64, 100)
        rbm.load_state_dict({{k[4:]: v for k, v in state.items() if k.startswith("rbm.")}})
        v = load_file("inputs.safetensors")["v"]
        torch.manual_seed(7)
        pv, sample = model.rbm.gibbs_step(v)
        torch.manual_seed(7)
        dreams = rbm.sample(5, steps=50)
        save_file({{"hidden": model(v), "pv": pv, "sample": sample, "dreams": dreams,
                    "free_energy": rbm.free_energy(v)}}, "out.safetensors")
        print("ok")
    """)
    assert run_standalone(tmp_path, script) == "ok\n"
    out = load_file(str(tmp_path / "out.safetensors"))
    rbm = result.model.rbm
    with torch.no_grad():
        torch.testing.assert_close(out["hidden"], rbm.hidden_probs(v))
        torch.testing.assert_close(out["free_energy"], rbm.free_energy(v))
        torch.manual_seed(7)
        pv, sample = rbm.gibbs_step(v)
        torch.manual_seed(7)
        dreams = rbm.sample(5, steps=50)
    torch.testing.assert_close(out["pv"], pv)
    torch.testing.assert_close(out["sample"], sample)
    torch.testing.assert_close(out["dreams"], dreams)
    assert set(out["sample"].unique().tolist()) <= {0.0, 1.0}


def test_dbn_pretrains_greedily_then_finetunes_to_95_percent():
    torch.manual_seed(0)
    g = nb.load(str(EXAMPLES / "dbn_digits.json"))
    cfg = TrainingConfig.from_graph(g).replace(device="cpu")
    assert cfg.task == "dbn" and cfg.task_options["pretrain_epochs"] == 10
    events: list = []
    result = train(g, cfg, emit=events.append)
    (started,) = [e for e in events if isinstance(e, RunStarted)]
    assert started.phases == [("pretrain rbm1", 10), ("pretrain rbm2", 10), ("finetune", 15)]
    phases = [h["phase"] for h in result.history]
    assert phases == ["pretrain rbm1"] * 10 + ["pretrain rbm2"] * 10 + ["finetune"] * 15
    assert {e.phase for e in events if isinstance(e, (Metrics, Progress))} == {
        "pretrain rbm1", "pretrain rbm2", "finetune"}
    pre1 = [h for h in result.history if h["phase"] == "pretrain rbm1"]
    assert pre1[-1]["val_recon_error"] < pre1[0]["val_recon_error"]
    assert np.isnan(pre1[0]["train_accuracy"])  # no labels are used while pretraining
    final = result.history[-1]
    assert final["val_accuracy"] >= 0.95, [h["val_accuracy"] for h in result.history]
    kinds = {(e.kind) for e in events if isinstance(e, Samples)}
    assert kinds == {"dreams", "predictions"}


def test_greedy_pretraining_trains_the_rbms_and_nothing_else():
    g = make_dbn(64, (32, 16), 10)
    cfg = TrainingConfig(dataset="digits", dataset_options={"flatten": True}, task="rbm",
                         epochs=1, device="cpu", seed=0)
    assert [p.name for p in get_task("rbm")(cfg, g).phases()] == ["pretrain rbm1",
                                                                  "pretrain rbm2"]
    torch.manual_seed(0)  # the trainer seeds with cfg.seed before it builds the model
    before = {k: v.clone() for k, v in g.build().state_dict().items()}
    after = train(g, cfg).model.state_dict()
    for k in ("rbm1.weight", "rbm1.hidden_bias", "rbm2.weight", "rbm2.visible_bias"):
        assert not torch.equal(before[k], after[k]), k
    for k in ("head.weight", "head.bias"):  # no labels, no classifier: the head is untouched
        assert torch.equal(before[k], after[k]), k


def test_rbm_problems_are_explained():
    g = nb.Graph("no_rbm")
    x = g.add("Input", "x", shape=(64,))
    g.connect(x, g.add("Linear", "fc", out_features=4))
    cfg = TrainingConfig(dataset="digits", dataset_options={"flatten": True}, task="rbm",
                         epochs=1, device="cpu")
    with pytest.raises(TrainingFailed, match="trains RBM nodes, but the graph has none"):
        train(g, cfg)
    with pytest.raises(TrainingError, match="cd_k must be a whole number"):
        get_task("rbm")(cfg.replace(task_options={"cd_k": 0}), make_rbm())
    with pytest.raises(TrainingError, match="pretrain_epochs"):
        get_task("dbn")(cfg.replace(task="dbn", task_options={"pretrain_epochs": -1}),
                        make_dbn())
