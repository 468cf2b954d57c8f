"""The Runner: a training in a spawned process with pause, resume, probe, stop, crash and kill.

The worker imports this module (``plugins``) so that the misbehaving tasks below exist there.
"""
import os
import signal
import time

import pytest
from train_helpers import config, mlp_json, wait_for

from netbuilder.train import Runner, register_task
from netbuilder.train import events as ev
from netbuilder.train.tasks.classify import ClassifyTask

PLUGIN = __name__


@register_task
class KilledTask(ClassifyTask):
    """Dies like an out-of-memory kill at the third step."""

    name = "test_sigkill"

    def train_step(self, ctx, batch):
        if ctx.step == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().train_step(ctx, batch)


@register_task
class StuckTask(ClassifyTask):
    """Hangs inside a step (a stuck kernel): a stop cannot be honoured."""

    name = "test_stuck"

    def train_step(self, ctx, batch):
        if ctx.step == 2:
            ctx.log("stuck")
            time.sleep(60)
        return super().train_step(ctx, batch)


@pytest.fixture
def runners():
    made = []
    yield made
    for r in made:
        r.close()


def test_a_run_reports_start_progress_and_finish_and_writes_its_folder(tmp_path, runners):
    runner = Runner(mlp_json(), config(), out_dir=tmp_path)
    runners.append(runner)
    runner.start()
    seen = runner.wait(timeout=90)
    assert runner.finished and not runner.is_alive() and runner.exitcode == 0
    assert isinstance(seen[0], ev.RunStarted) and isinstance(seen[-1], ev.Finished)
    assert any(isinstance(e, ev.Progress) for e in seen)
    assert seen[-1].summary["epochs_done"] == 2
    assert (tmp_path / "weights.safetensors").exists()
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 2
    assert runner.poll() == []
    assert (tmp_path / "preprocessing.json").exists()  # what an export needs besides weights
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        return
    # The editor's runs write TensorBoard files too (the worker adds the sink).
    scalars = EventAccumulator(str(tmp_path / "tensorboard")).Reload().Tags()["scalars"]
    assert "train/loss" in scalars


def test_pause_resume_probe_and_stop(runners):
    runner = Runner(mlp_json(), config(epochs=10_000, batch_size=4))
    runners.append(runner)
    runner.start()
    wait_for(runner, lambda e: isinstance(e, ev.Progress) and e.step > 20)
    runner.pause()
    paused = wait_for(runner, lambda e: isinstance(e, ev.StateChanged) and e.state == "paused")[-1]
    # While paused no step is taken: whatever arrives now was sent before the pause.
    quiet = runner.wait(0.6)
    assert not any(isinstance(e, ev.Progress) and e.step > paused.step for e in quiet)
    runner.set_probe(["fc2"])
    runner.resume()
    after = wait_for(runner, lambda e: isinstance(e, ev.Progress) and e.step > paused.step)
    assert any(isinstance(e, ev.StateChanged) and e.state == "running" for e in after)
    probed = wait_for(runner, lambda e: isinstance(e, ev.Activations) and
                      set(e.tiles) == {"fc2"}, timeout=30)[-1]
    assert probed.tiles["fc2"].shape == (1, 1, 2)
    asked = time.monotonic()
    runner.stop()
    rest = runner.wait(timeout=30)
    assert time.monotonic() - asked < 5
    assert isinstance(rest[-1], ev.Finished) and rest[-1].summary["status"] == "stopped"
    assert runner.exitcode == 0


def test_a_killed_worker_is_reported_as_failed(runners):
    runner = Runner(mlp_json(), config(task="test_sigkill"), plugins=[PLUGIN])
    runners.append(runner)
    runner.start()
    seen = runner.wait(timeout=90)
    assert isinstance(seen[-1], ev.Failed)
    assert seen[-1].message == "the training process exited unexpectedly (exit code -9)"
    assert not any(isinstance(e, ev.Finished) for e in seen)
    assert runner.finished and runner.poll() == []


def test_a_worker_that_ignores_stop_is_killed(runners):
    runner = Runner(mlp_json(), config(task="test_stuck"), plugins=[PLUGIN], stop_timeout=1.0)
    runners.append(runner)
    runner.start()
    wait_for(runner, lambda e: isinstance(e, ev.Log) and e.message == "stuck")
    runner.stop()
    seen = runner.wait(timeout=30)
    assert isinstance(seen[-1], ev.Failed)
    assert seen[-1].message == "the training did not stop within 1 s and was killed"
    assert not runner.is_alive()


def test_the_runner_knows_when_its_worker_is_inside_a_step_and_can_end_it(runners):
    runner = Runner(mlp_json(), config(task="test_stuck"), plugins=[PLUGIN])
    runners.append(runner)
    assert not runner.in_step
    runner.start()
    wait_for(runner, lambda e: isinstance(e, ev.Log) and e.message == "stuck")
    assert runner.in_step  # the stuck step has not returned
    runner.kill()
    seen = runner.wait(timeout=30)
    assert isinstance(seen[-1], ev.Failed)
    assert seen[-1].message == "the training process was ended on request, inside a training step"
    assert not runner.is_alive()


def test_between_steps_the_worker_is_not_inside_one(runners):
    runner = Runner(mlp_json(), config(epochs=50), plugins=[PLUGIN])
    runners.append(runner)
    runner.start()
    wait_for(runner, lambda e: isinstance(e, ev.Progress))
    runner.pause()
    wait_for(runner, lambda e: isinstance(e, ev.StateChanged) and e.state == "paused")
    assert not runner.in_step  # paused between steps
    runner.stop()
    runner.wait(timeout=30)


def test_a_setup_error_arrives_as_one_failed_event(runners):
    runner = Runner(mlp_json(), config(dataset="digits"))
    runners.append(runner)
    runner.start()
    seen = runner.wait(timeout=90)
    assert [type(e) for e in seen] == [ev.Failed]
    assert "Input 'x' expects (2,)" in seen[0].message and runner.exitcode == 0
