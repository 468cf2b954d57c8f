"""The sweep editor: first values suggested from a parameter's current value, rows checked by
the command line's parser, and sweep files written that ``netbuilder sweep`` reads back."""
import pytest

from netbuilder.train.config import TrainingConfig
from netbuilder.train.sweep import load_sweep_file
from netbuilder.ui.training.sweep_editor import SweepEditor, setting_values, suggest_values


def test_values_suggested_from_the_current_value():
    assert suggest_values("int", 16, low=1) == "8,16,32"
    assert suggest_values("int", 1, low=1) == "1,2,3"
    assert suggest_values("int", 64, high=100) == "32,64"
    assert suggest_values("float", 0.001) == "0.0001..0.01:log"
    assert suggest_values("float", 0.5, high=1.0) == "0.05..1:log"
    assert suggest_values("choice", "max", choices=("max", "avg")) == "max,avg"
    assert suggest_values("bool", True) == "true,false"
    config = TrainingConfig(lr=0.01, batch_size=32)
    assert setting_values(config, "lr") == "0.001..0.1:log"
    assert setting_values(config, "batch_size") == "16,32,64"
    assert setting_values(config, "optimizer") == "sgd,adam,adamw"


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_a_sweep_file_written_by_the_editor_reads_back(qtbot, tmp_path, suffix):
    editor = SweepEditor()
    qtbot.addWidget(editor)
    editor.add_param("conv1.out_channels", "8,16,32")
    editor.add_param("lr", "1e-4..1e-2:log")
    editor.strategy.setCurrentText("tpe")
    editor.trials.setValue(12)
    editor.jobs.setValue(1)
    editor.objectives.setText("val_accuracy:max, params:min")
    editor.name.setText("channels-lr")
    path = tmp_path / f"lenet.sweep{suffix}"
    assert editor.save_file(path)
    settings = load_sweep_file(path)  # the command line's reader
    assert settings == {"strategy": "tpe", "jobs": 1, "trials": 12, "name": "channels-lr",
                        "objectives": ["val_accuracy:max", "params:min"],
                        "params": ["conv1.out_channels=8,16,32", "lr=1e-4..1e-2:log"]}
    again = SweepEditor()
    qtbot.addWidget(again)
    assert again.load_file(path)
    assert again.texts() == editor.texts()
    assert again.settings() == editor.settings()
    definition = again.definition(TrainingConfig())
    assert [d.text() for d in definition.params] == ["conv1.out_channels=8,16,32",
                                                     "lr=0.0001..0.01:log"]


def test_a_bad_sweep_file_is_named_in_the_editor(qtbot, tmp_path):
    editor = SweepEditor()
    qtbot.addWidget(editor)
    bad = tmp_path / "bad.json"
    bad.write_text('{"trails": 3}')
    assert not editor.load_file(bad)
    assert editor.error.text().endswith("bad.json: unknown key 'trails'; the keys are: name, "
                                        "strategy, trials, jobs, objectives, params, seed")
