"""TrainingConfig: defaults, JSON round trip, strict validation naming the field."""
import json

import pytest

import netbuilder as nb
from netbuilder.train import ConfigError, EarlyStopping, TrainingConfig


def test_defaults_are_a_working_setup():
    cfg = TrainingConfig()
    assert (cfg.dataset, cfg.task, cfg.loss, cfg.optimizer) == ("digits", "classify", "auto",
                                                                "adam")
    assert (cfg.batch_size, cfg.epochs, cfg.val_split, cfg.seed) == (64, 10, 0.2, 0)
    assert cfg.device == "auto" and cfg.early_stopping is None
    assert cfg.events.metrics_hz == 10 and cfg.events.images_hz == 2
    assert cfg.validate() is cfg


def test_json_round_trip_keeps_every_field():
    cfg = TrainingConfig(dataset="spirals", dataset_options={"noise": 0.1}, task="regress",
                         optimizer="sgd", lr=0.05, nesterov=True, schedule="one_cycle",
                         schedule_options={"max_lr": 0.1}, warmup_steps=10,
                         early_stopping=EarlyStopping(metric="val_loss", patience=3, target=0.1),
                         augmentation={"flip": True, "shift": 2}, probe=["conv1"],
                         events={"metrics_hz": 5.0, "images_hz": 1.0})
    text = json.dumps(cfg.to_dict())
    back = TrainingConfig.from_dict(json.loads(text))
    assert back == cfg
    assert back.early_stopping.patience == 3 and back.events.metrics_hz == 5.0


def test_stored_in_the_graph_file(tmp_path):
    g = nb.Graph("g")
    g.add("Input", shape=(2,))
    g.training = TrainingConfig(dataset="moons", epochs=3).to_dict()
    g.save(tmp_path / "g.json")
    cfg = TrainingConfig.from_graph(nb.load(tmp_path / "g.json"))
    assert cfg.dataset == "moons" and cfg.epochs == 3
    assert TrainingConfig.from_graph(nb.Graph("empty")) == TrainingConfig()


@pytest.mark.parametrize("data, field, words", [
    ({"optimizer": "adamax"}, "optimizer", "optimizer must be one of sgd"),
    ({"lr": 0}, "lr", "lr must be a number above 0"),
    ({"lr": "fast"}, "lr", "not 'fast'"),
    ({"batch_size": 0}, "batch_size", "at least 1"),
    ({"epochs": 2.5}, "epochs", "whole number"),
    ({"val_split": 1.0}, "val_split", "below 1"),
    ({"device": "tpu"}, "device", "auto, cpu, cuda"),
    ({"precision": "fp8"}, "precision", "fp32"),
    ({"schedule": "warm"}, "schedule", "cosine"),
    ({"schedule_options": {"gama": 0.5}}, "schedule_options.gama", "unknown schedule option"),
    ({"early_stopping": {"patience": -1}}, "early_stopping.patience", "at least 0"),
    ({"early_stopping": {"patients": 2}}, "early_stopping.patients", "unknown setting"),
    ({"augmentation": {"zoom": 2}}, "augmentation.zoom", "unknown augmentation"),
    ({"events": {"metrics_hz": -1}}, "events.metrics_hz", "at least 0"),
    ({"probe": 3}, "probe", "node names"),
    ({"batchsize": 3}, "batchsize", "unknown training setting"),
    ({"nesterov": True, "optimizer": "sgd", "momentum": 0.0}, "momentum", "Nesterov"),
])
def test_bad_values_name_the_field(data, field, words):
    with pytest.raises(ConfigError) as info:
        TrainingConfig.from_dict(data)
    assert info.value.field == field
    assert words in str(info.value)


def test_replace_validates():
    cfg = TrainingConfig().replace(epochs=3, lr=0.01)
    assert (cfg.epochs, cfg.lr) == (3, 0.01)
    with pytest.raises(ConfigError):
        cfg.replace(epochs=0)


def test_stored_settings_fall_back_to_the_one_set_of_defaults():
    """Readers of a stored (old or partial) settings dict take missing keys from TrainingConfig."""
    from netbuilder.train.config import stored_setting

    defaults = TrainingConfig()
    assert stored_setting({"epochs": 3}, "epochs") == 3
    assert stored_setting({"val_split": 0.0}, "val_split") == 0.0
    assert stored_setting({"seed": None}, "seed") == defaults.seed == 0
    assert stored_setting(None, "batch_size") == defaults.batch_size
    assert stored_setting({}, "dataset_options") == {}
