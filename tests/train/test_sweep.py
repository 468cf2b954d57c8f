"""Sweeps: parameter strings, the Pareto front, grid and TPE sweeps, and resuming a killed one."""
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from train_helpers import chain

import netbuilder as nb
from netbuilder.cli import main
from netbuilder.train.config import TrainingConfig
from netbuilder.train.sweep import (
    SweepError,
    pareto_front,
    parse_objective,
    parse_param,
    parse_params,
)
from netbuilder.train.sweep.space import apply, check_space, sweep_scope

QUIET = {"activations": False, "histograms": False, "samples": False, "confusion": False}


def mlp(path=None):
    g = chain("mlp", (64,), ("Linear", {"out_features": 16}), ("ReLU", {}),
              ("Dropout", {"p": 0.1}), ("Linear", {"out_features": 10}))
    g.training = TrainingConfig(dataset="digits", dataset_options={"flatten": True,
                                                                    "limit": 400},
                                epochs=1, device="cpu", batch_size=128, checkpoint_every=0,
                                probe="none", events=QUIET).to_dict()
    if path is not None:
        g.save(path)
    return g


# --- parameter strings --------------------------------------------------------------------

def test_parse_lists_and_ranges():
    d = parse_param("conv1.out_channels=8,16,32")
    assert (d.name, d.values, d.is_range) == ("conv1.out_channels", (8, 16, 32), False)
    d = parse_param("lr=1e-4..1e-2:log")
    assert (d.low, d.high, d.log, d.integer) == (1e-4, 1e-2, True, False)
    d = parse_param("epochs=1..3")
    assert (d.low, d.high, d.integer) == (1, 3, True)
    assert parse_param("optimizer=adam,sgd").values == ("adam", "sgd")
    assert parse_param("augmentation.flip=true,false").values == (True, False)
    assert parse_param(d.text()) == d


@pytest.mark.parametrize("text, message", [
    ("lr", "expected NAME=VALUES"),
    ("=1,2", "expected NAME=VALUES"),
    ("lr=", "'lr' has no values"),
    ("lr=1e-2..1e-4", "must go from low to high (0.01 is not below 0.0001)"),
    ("lr=0..1:log", "a log range needs positive ends"),
    ("lr=1..x", "'x' is not a number"),
    ("lr=1..2:exp", "unknown range option 'exp'"),
    ("batch_size=8,,16", "an empty value"),
    ("batch_size=8,8", "lists a value twice"),
])
def test_parse_errors_are_clear(text, message):
    with pytest.raises(SweepError, match="sweep parameter") as info:
        parse_param(text)
    assert message in str(info.value)


def test_same_parameter_twice_is_refused():
    with pytest.raises(SweepError, match="'lr' is given twice"):
        parse_params(["lr=0.1,0.2", "lr=1e-3..1e-2"])


def test_values_are_checked_by_the_layer_spec_and_the_config():
    g = mlp()
    cfg = TrainingConfig.from_graph(g)
    graph, config = apply(g, cfg, {"fc1.out_features": 8, "drop1.p": 0.5, "lr": 0.01,
                                   "augmentation.noise": 0.1})
    assert graph.node(graph.find("fc1")).params["out_features"] == 8
    assert graph.node(graph.find("drop1")).params["p"] == 0.5
    assert g.node(g.find("fc1")).params["out_features"] == 16  # the original is untouched
    assert (config.lr, config.augmentation) == (0.01, {"noise": 0.1})
    with pytest.raises(SweepError, match=r"'fc1.out_features': value 0 is refused by node "
                                         r"'fc1'"):
        check_space(g, cfg, parse_params(["fc1.out_features=0,8"]))
    with pytest.raises(SweepError, match=r"Linear node 'fc1' has no parameter 'width'; its "
                                         r"parameters are: .*out_features"):
        check_space(g, cfg, parse_params(["fc1.width=8"]))
    with pytest.raises(SweepError, match="no node named 'conv9' in graph 'mlp' and no training "
                                         "setting 'conv9'"):
        check_space(g, cfg, parse_params(["conv9.out_channels=8"]))
    with pytest.raises(SweepError, match="optimizer must be one of .* not 'fast'"):
        check_space(g, cfg, parse_params(["optimizer=adam,fast"]))
    with pytest.raises(SweepError, match="drop1.p"):
        check_space(g, cfg, parse_params(["drop1.p=0.1..1.5"]))


def two_uses() -> nb.Graph:
    """A block definition used twice (``a`` and ``b``), each holding ``fc`` and ``act``."""
    inner = nb.Graph("Mlp")
    x = inner.add("Input", "x", shape=(6,))
    fc = inner.add("Linear", "fc", out_features=6)
    act = inner.add("ReLU", "act")
    y = inner.add("Output", "y")
    for src, dst in [(x, fc), (fc, act), (act, y)]:
        inner.connect(src, dst)
    g = nb.Graph("blocks")
    g.define_block("Mlp", inner, width=(6, ["fc.out_features"]))
    x = g.add("Input", "x", shape=(6,))
    a = g.add_block("Mlp", "a")
    b = g.add_block("Mlp", "b")
    g.connect(x, a)
    g.connect(a, b)
    return g


def test_a_node_inside_a_shared_block_is_named_by_its_dotted_path():
    g = two_uses()
    cfg = TrainingConfig.from_graph(g)
    graph, _ = apply(g, cfg, {"a.fc.out_features": 9})
    # only the use the path names changes; the other use of Mlp keeps its value

    def width(graph, block: str) -> int:
        inner = graph.node(graph.find(block)).inner
        return inner.node(inner.find("fc")).params["out_features"]

    assert (width(graph, "a"), width(graph, "b")) == (9, 6)
    assert (width(g, "a"), width(g, "b")) == (6, 6)  # the original is untouched
    assert sweep_scope(g, "a.fc.out_features") == \
        "only this use of Mlp varies; the other use keeps its value"
    assert sweep_scope(g, "x.shape") == ""
    for name, message in [
            ("c.fc.out_features", "no node named 'c' in graph 'blocks'"),
            ("a.fc2.out_features", "no node named 'fc2' in block 'a'"),
            ("x.fc.out_features", "node 'x' is not a block, so it has no node 'fc' inside"),
            ("a.fc.width", "Linear node 'a.fc' has no parameter 'width'"),
            ("a.fc.out_features", "value 0 is refused by node 'a.fc'")]:
        with pytest.raises(SweepError, match="sweep parameter") as info:
            check_space(g, cfg, parse_params([f"{name}=0" if "refused" in message
                                              else f"{name}=8"]))
        assert message in str(info.value), str(info.value)


def test_objectives_parse_with_directions():
    assert parse_objective("val_accuracy").direction == "max"
    assert parse_objective("params").direction == "min"
    assert parse_objective("val_loss:max").direction == "max"
    with pytest.raises(SweepError, match="the direction is 'min' or 'max', not 'up'"):
        parse_objective("latency:up")


# --- the Pareto front ---------------------------------------------------------------------

def test_pareto_front_of_a_known_set():
    # (accuracy: max, parameters: min)
    points = [(0.90, 1000), (0.95, 5000), (0.85, 1000), (0.95, 4000), (0.80, 500),
              (0.90, 1000), (0.70, 600)]
    assert pareto_front(points, ["max", "min"]) == [0, 3, 4, 5]
    assert pareto_front([(1, 2), (2, 1), (0, 0)], ["min", "min"]) == [2]
    assert pareto_front([(1, 2), (2, 1), (0, 0)], ["max", "max"]) == [0, 1]
    assert pareto_front([], ["min"]) == []
    with pytest.raises(ValueError, match="'best'"):
        pareto_front([(1,)], ["best"])


# --- running sweeps -----------------------------------------------------------------------

@pytest.fixture
def started_workers(monkeypatch):
    """Every warm worker process started during the test, in order."""
    from netbuilder.train.worker import WarmWorker

    started: list[WarmWorker] = []
    start = WarmWorker.start

    def spy(self):
        started.append(self)
        return start(self)

    monkeypatch.setattr(WarmWorker, "start", spy)
    return started


def test_grid_sweep_runs_every_point_in_one_warm_worker_per_job(tmp_path, started_workers):
    g = mlp()
    trials = nb.sweep(g, params=["fc1.out_features=8,16,24", "lr=0.01"], strategy="grid",
                      objectives=["val_accuracy:max", "params:min"], jobs=2,
                      store=tmp_path, name="grid")
    assert [t.state for t in trials] == ["complete"] * 3
    assert sorted(t.params["fc1.out_features"] for t in trials) == [8, 16, 24]
    by_width = {t.params["fc1.out_features"]: t for t in trials}
    assert by_width[8].values["params"] == 64 * 8 + 8 + 8 * 10 + 10
    assert by_width[16].values["params"] == 64 * 16 + 16 + 16 * 10 + 10
    assert all(0.0 <= t.values["val_accuracy"] <= 1.0 for t in trials)
    for t in trials:
        assert (tmp_path / "sweeps" / "grid" / f"trial-{t.number:04d}" / "summary.json").exists()
    # two jobs, two processes for three trials (one ran two in turn), all ended with the sweep
    assert len(started_workers) == 2
    assert sorted(w.submitted for w in started_workers) == [1, 2]
    assert not any(w.process.is_alive() for w in started_workers)
    # the same name again: nothing is missing, nothing runs (and no worker starts)
    again = nb.sweep(g, params=["fc1.out_features=8,16,24", "lr=0.01"], strategy="grid",
                     objectives=["val_accuracy:max", "params:min"], store=tmp_path,
                     name="grid")
    assert [(t.number, t.values) for t in again] == [(t.number, t.values) for t in trials]
    assert len(started_workers) == 2
    with pytest.raises(SweepError, match="already exists with other settings"):
        nb.sweep(g, params=["lr=0.1,0.2"], strategy="grid", store=tmp_path, name="grid")


def test_tpe_sweep_runs_the_number_of_trials(tmp_path, started_workers):
    g = mlp()
    trials = nb.sweep(g, params=["lr=1e-3..1e-1:log", "drop1.p=0.0,0.2"], trials=3,
                      strategy="tpe", objectives=["val_accuracy"], store=tmp_path,
                      name="tpe")
    assert len(trials) == 3
    assert all(t.state in ("complete", "pruned") for t in trials)
    assert all(1e-3 <= t.params["lr"] <= 1e-1 for t in trials)
    assert [w.submitted for w in started_workers] == [3]  # one job: one process, in turn


def _finished_trials(db) -> list[int]:
    """The numbers of the study's complete trials."""
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return [n for (n,) in con.execute("SELECT number FROM trials WHERE state = "
                                              "'COMPLETE' ORDER BY number")]
    except sqlite3.OperationalError:  # the tables are not made yet
        return []


def test_a_killed_sweep_resumes(tmp_path, capsys):
    graph_file = tmp_path / "mlp.json"
    mlp(graph_file)
    args = [str(graph_file), "--param", "fc1.out_features=4,8,12", "--strategy", "grid",
            "--objective", "val_accuracy:max", "--name", "k"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "netbuilder", "sweep", *args],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    db = tmp_path / "mlp.runs" / "sweeps" / "k" / "study.db"
    deadline = time.monotonic() + 240
    try:
        while not _finished_trials(db):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no trial finished within 240 s"
            time.sleep(0.05)  # bounded wait on another process's file: there is no signal
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its training worker
        proc.wait(10)
        proc.stderr.close()
    done_before = _finished_trials(db)
    # killed within a poll of the first trial's end: the warm worker's next trials were
    # still to finish
    assert 1 <= len(done_before) < 3
    assert main(["sweep", str(graph_file), "--resume", "--name", "k", "--quiet"]) == 0
    out = capsys.readouterr().out
    done = _finished_trials(db)
    # the finished trials were kept, not trained again; only the missing points ran
    assert len(done) == 3 and set(done_before) < set(done)
    assert "3 complete" in out
    assert "best trial (val_accuracy:max):" in out


def test_cli_errors_and_show(tmp_path, capsys):
    graph_file = tmp_path / "mlp.json"
    mlp(graph_file)
    assert main(["sweep", str(graph_file), "--param", "lr=1..x"]) == 1
    assert "sweep parameter 'lr': the range '1..x' needs two numbers" in capsys.readouterr().err
    assert main(["sweep", str(graph_file), "--param", "lr=1e-3..1e-2", "--strategy",
                 "grid"]) == 1
    assert "a grid sweep needs lists of values, and lr is a range" in capsys.readouterr().err
    assert main(["sweep", str(graph_file), "--show", "--name", "none"]) == 1
    assert "there is no sweep 'none'" in capsys.readouterr().err
    assert main(["sweep", str(graph_file), "--param", "fc1.out_features=8,16", "--strategy",
                 "grid", "--objective", "params:min", "--objective", "macs:min",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Pareto front (params:min, macs:min):" in out
    assert main(["sweep", str(graph_file), "--show"]) == 0
    shown = capsys.readouterr().out
    assert "2 complete, 0 pruned, 0 failed of 2 trials" in shown
    front = shown.split("Pareto front")[1]
    assert "fc1.out_features=8" in front and "fc1.out_features=16" not in front


def test_cost_objectives_need_no_training(tmp_path):
    g = chain("tiny", (8,), ("Linear", {"out_features": 4}))
    trials = nb.sweep(g, params=["fc1.out_features=2,64"], strategy="grid",
                      objectives=["latency", "macs"], store=tmp_path, name="costs")
    assert [t.state for t in trials] == ["complete", "complete"]
    assert [t.values["macs"] for t in trials] == [16.0, 512.0]
    assert all(t.values["latency"] > 0 and t.run_dir is None for t in trials)


def test_a_sweep_given_more_trials_continues(tmp_path):
    g = chain("tiny", (8,), ("Linear", {"out_features": 4}))
    first = nb.sweep(g, params=["fc1.out_features=1..64"], trials=2, strategy="random",
                     objectives=["params"], store=tmp_path, name="r")
    more = nb.sweep(g, params=["fc1.out_features=1..64"], trials=5, strategy="random",
                    objectives=["params"], store=tmp_path, name="r")
    assert [t.number for t in more] == [0, 1, 2, 3, 4]
    assert [t.params for t in more[:2]] == [t.params for t in first]
    assert all(t.values["params"] == 9 * t.params["fc1.out_features"] for t in more)


def test_nested_settings_of_an_optional_group():
    g = mlp()
    _, config = apply(g, TrainingConfig.from_graph(g), {"early_stopping.patience": 2})
    assert config.early_stopping.patience == 2


class _PruneAtOnce:
    """An Optuna trial stand-in whose pruner stops the trial at its first report."""

    number = 0

    def __init__(self):
        self.reports, self.attrs = [], {}

    def suggest_categorical(self, name, choices):
        return choices[0]

    def set_user_attr(self, key, value):
        self.attrs[key] = value

    def report(self, value, step):
        self.reports.append((value, step))

    def should_prune(self):
        return True


def test_a_pruned_trial_stops_its_training_and_leaves_the_worker_for_the_next(tmp_path):
    import json

    import optuna

    from netbuilder.train.sweep import SweepDefinition
    from netbuilder.train.sweep.study import _Trial
    from netbuilder.train.worker import WorkerKeeper

    g = mlp()
    config = TrainingConfig.from_graph(g).replace(epochs=20)
    definition = SweepDefinition(parse_params(["lr=0.01"]), [parse_objective("val_accuracy")],
                                 "tpe", 4)
    trial = _PruneAtOnce()
    workers = WorkerKeeper(cores=1)
    try:
        with pytest.raises(optuna.TrialPruned, match="pruned after epoch 1"):
            _Trial(g, config, definition, tmp_path, None)(trial, workers)
        assert [step for _, step in trial.reports] == [1]
        assert 0.0 <= trial.reports[0][0] <= 1.0
        summary = json.loads((tmp_path / "trial-0000" / "summary.json").read_text())
        assert summary["status"] == "stopped" and summary["epochs_done"] < 20
        # stopped between steps, not killed: the same process is ready for the next trial
        worker = workers.worker
        assert worker.idle() and worker.submitted == 1
        trial = _PruneAtOnce()
        trial.number, trial.should_prune = 1, lambda: False
        values = _Trial(g, config.replace(epochs=1), definition, tmp_path, None)(trial, workers)
        assert workers.worker is worker and worker.submitted == 2
        assert 0.0 <= values[0] <= 1.0
        summary = json.loads((tmp_path / "trial-0001" / "summary.json").read_text())
        assert (summary["status"], summary["epochs_done"]) == ("finished", 1)
    finally:
        workers.close()
    assert not worker.process.is_alive()


def test_sweep_file_toml_and_its_errors(tmp_path):
    from netbuilder.train.sweep import load_sweep_file

    f = tmp_path / "s.toml"
    f.write_text('name = "n"\nstrategy = "grid"\nobjectives = "params:min"\n[params]\n'
                 '"fc1.out_features" = [8, 16]\nlr = "1e-4..1e-2:log"\n')
    data = load_sweep_file(f)
    assert data["params"] == ["fc1.out_features=8,16", "lr=1e-4..1e-2:log"]
    assert (data["name"], data["objectives"]) == ("n", ["params:min"])
    bad = tmp_path / "bad.json"
    bad.write_text('{"trails": 3}')
    with pytest.raises(SweepError, match=r"bad.json: unknown key 'trails'; the keys are"):
        load_sweep_file(bad)
    bad.write_text('{"params": {"lr": 3}}')
    with pytest.raises(SweepError, match=r"params.lr must be a list of values or a range"):
        load_sweep_file(bad)


def test_ray_without_ray_is_one_clear_line(tmp_path, capsys):
    pytest.importorskip("optuna")
    if __import__("importlib").util.find_spec("ray") is not None:
        pytest.skip("ray is installed here")
    graph_file = tmp_path / "mlp.json"
    mlp(graph_file)
    assert main(["sweep", str(graph_file), "--param", "lr=0.1,0.2", "--ray", "auto"]) == 1
    assert "--ray needs Ray Tune, which is not installed" in capsys.readouterr().err
