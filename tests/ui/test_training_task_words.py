"""The dashboard speaks the task: metric names, grouped curves and views with nothing to show,
all read from the task (offscreen; the real-window screenshots of a GAN and a VAE run are in
test_generative_runs.py)."""
from __future__ import annotations

from window_helpers import click_tab, example

from netbuilder.graph import load
from netbuilder.ui.document import Document
from netbuilder.ui.training.history import RunHistory


def gan_like_history() -> RunHistory:
    h = RunHistory(steps_per_epoch=10, higher_is_better={"d_x": True, "d_g_z": True})
    for step in range(1, 21):
        h.add("train", step, step / 10, {"loss": 2.0, "loss_d": 1.2 - step * 0.01,
                                         "loss_g": 0.8 + step * 0.01, "d_x": 0.7, "d_g_z": 0.3})
    h.add("val", 10, 1.0, {"loss": 2.0, "loss_d": 1.1, "loss_g": 0.9, "d_x": 0.7, "d_g_z": 0.3})
    return h


def test_a_gan_names_its_losses_and_says_why_it_has_no_confusion_matrix(make_window, qtbot):
    w = make_window(Document(load(example("dcgan_digits"))), restore_layout=False)
    w.workspaces.switch("training")
    dash = w.training_dashboard
    curves = dash.view("curves")
    curves.reset(gan_like_history())
    box = curves.metric_box
    labels = [box.itemText(i) for i in range(box.count())]
    assert labels[:2] == ["D and G losses", "D(x) and D(G(z))"]
    assert {"D loss", "G loss", "D(x)", "D(G(z))"} <= set(labels)
    assert box.currentText() == "D and G losses"
    # both losses drawn, one hue each, named in the plot's legend and explained in its tooltip
    assert curves.point_count("train_metric") == 20 == curves.point_count("train_metric_1")
    assert curves.items["train_metric"].getOriginalDataset()[1][0] == 1.2 - 0.01
    legend = curves.metric_plot.getPlotItem().legend
    assert legend.isVisible() and [label.text for _, label in legend.items] == [
        "D loss", "G loss"]
    assert "the discriminator's loss, BCE of D on real images" in curves.metric_plot.toolTip()
    assert "the generator's loss" in curves.metric_plot.toolTip()
    assert curves.loss_plot.getPlotItem().titleLabel.text.count("D + G loss") == 1
    box.setCurrentIndex(1)  # D(x) and D(G(z)), with what each means
    assert curves.point_count("train_metric") == 20 == curves.point_count("train_metric_1")
    assert "probability D gives real images" in curves.metric_plot.toolTip()
    assert "probability D gives generated images" in curves.metric_plot.toolTip()
    text = curves.readout_at(5.0)
    assert "train D(x) <b>0.7</b>" in text and "train D(G(z)) <b>0.3</b>" in text
    box.setCurrentIndex(labels.index("G loss"))  # one metric alone: no legend
    assert not legend.isVisible() and not curves.items["train_metric_1"].isVisible()
    # the Confusion tab says in one line why it is empty
    click_tab(qtbot, w, "Confusion")
    note = dash.panels["confusion"].note
    qtbot.waitUntil(lambda: note.isVisible() and dash.panels["confusion"].is_built())
    assert note.text().startswith("No confusion matrix: a GAN generates images")
    assert not dash.built("confusion").isVisible()


def test_the_words_follow_the_task_chosen_in_the_setup(make_window, qtbot):
    from netbuilder.train.config import TrainingConfig
    from netbuilder.ui.training.commands import SetTrainingConfigCommand

    doc = Document(load(example("vae_conv")))
    w = make_window(doc, restore_layout=False)
    w.workspaces.switch("training")
    dash = w.training_dashboard
    curves = dash.view("curves")
    assert curves.loss_plot.getPlotItem().titleLabel.text.count("reconstruction + β·KL") == 1
    h = RunHistory(steps_per_epoch=10)
    for step in range(1, 6):
        h.add("train", step, step / 10, {"loss": 90.0, "recon": 80.0, "kl": 10.0, "elbo": -90.0})
    curves.reset(h)
    assert curves.metric_box.currentText() == "Reconstruction and KL"
    assert "KL divergence" in curves.readout_at(3.0)
    dash.view("confusion")
    assert "a VAE learns to reconstruct" in dash.panels["confusion"].note.text()
    config = TrainingConfig.from_graph(doc.graph).to_dict()
    doc.push(SetTrainingConfigCommand(doc, {**config, "task": "classify", "task_options": {}},
                                      "Set task to classify", key="task"))
    assert dash.panels["confusion"].note.isHidden()  # a classifier has a confusion matrix
    assert curves.loss_plot.getPlotItem().titleLabel.text.count("Loss") == 1
    doc.undo_stack.undo()
    assert "a VAE" in dash.panels["confusion"].note.text()
    assert dash.panels["confusion"].note.isVisibleTo(dash.panels["confusion"])
