"""The warm worker: runs one after another in one process, its data cache, its thread count."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from train_helpers import config, mlp_json, wait_for

from netbuilder.train import Runner, register_task
from netbuilder.train import events as ev
from netbuilder.train.tasks.classify import ClassifyTask
from netbuilder.train.worker import DataCache, WarmWorker, passive_waits, worker_threads

PLUGIN = __name__  # the worker imports this module: the task below exists there


@register_task
class KilledWorkerTask(ClassifyTask):
    """Dies like an out-of-memory kill at the third step."""

    name = "test_worker_sigkill"

    def train_step(self, ctx, batch):
        if ctx.step == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().train_step(ctx, batch)


@pytest.mark.parametrize("cores, expected", [
    (1, (1, 1)), (2, (1, 1)), (3, (2, 1)), (4, (3, 1)), (6, (6, 2)), (16, (16, 2))])
def test_threads_leave_the_window_a_core_on_small_machines(cores, expected):
    assert worker_threads(cores) == expected


def test_openmp_threads_wait_passively_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    passive_waits()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    passive_waits()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_starting_a_worker_does_not_load_torch_in_the_window_process():
    code = ("import sys; from netbuilder.train.worker import WarmWorker; w = WarmWorker().start(); "
            "print('torch' in sys.modules, w.process.is_alive()); w.close(); "
            "print(w.process.is_alive())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.split() == ["False", "True", "False"], done.stderr


@pytest.fixture(scope="module")
def worker():
    w = WarmWorker().start()
    yield w
    w.close()
    assert not w.process.is_alive()




def train_once(worker, tmp_path, **changes) -> tuple[Runner, list, float]:
    """(runner, events, seconds from start to the first Progress)."""
    runner = Runner(mlp_json(), config(**changes), out_dir=tmp_path, worker=worker)
    t0 = time.monotonic()
    runner.start()
    seen = wait_for(runner, lambda e: isinstance(e, ev.Progress), timeout=120)
    first_step = time.monotonic() - t0
    seen += runner.wait(timeout=120)
    runner.close()
    return runner, seen, first_step


def test_the_next_run_reuses_the_process_and_trains_alike(worker, tmp_path):
    a, seen_a, _ = train_once(worker, tmp_path / "a")
    assert a.finished and not a.is_alive() and isinstance(seen_a[-1], ev.Finished)
    assert worker.idle() and worker.process.is_alive()  # still there for the next run
    b, seen_b, first_step = train_once(worker, tmp_path / "b")
    assert b.pid == a.pid == worker.pid and worker.done.value == 2
    assert isinstance(seen_b[0], ev.RunStarted) and isinstance(seen_b[-1], ev.Finished)
    # the same seed gives the same losses, whatever the process ran before
    losses = [{k: v for k, v in s[-1].summary["final"].items() if "loss" in k or "acc" in k}
              for s in (seen_a, seen_b)]
    assert losses[0] == losses[1] and "train_loss" in losses[0]
    assert (tmp_path / "b" / "weights.safetensors").exists()
    print(f"\nwarm worker: first step {first_step:.3f} s after start")


def test_a_stopped_run_leaves_the_worker_ready(worker, tmp_path):
    runner = Runner(mlp_json(), config(epochs=10_000, batch_size=4), out_dir=tmp_path,
                    worker=worker)
    runner.start()
    wait_for(runner, lambda e: isinstance(e, ev.Progress), timeout=120)
    runner.stop()
    seen = runner.wait(timeout=30)
    assert isinstance(seen[-1], ev.Finished) and seen[-1].summary["status"] == "stopped"
    runner.close()
    assert worker.idle() and runner.poll() == []


def test_a_prefetched_data_set_is_the_one_the_next_run_trains_on(worker, tmp_path):
    # what the window asks for when it shows a graph: its data set, read before Train
    cfg = config(dataset_options={"n_samples": 321})
    before = worker.loads.value
    worker.prefetch(cfg, mlp_json())  # its data set read, its model built once
    deadline = time.monotonic() + 60
    while worker.prefetched.value == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.loads.value == before + 1 and worker.idle()  # loaded; no run counted
    runner, seen, _ = train_once(worker, tmp_path, dataset_options={"n_samples": 321})
    assert isinstance(seen[-1], ev.Finished) and worker.finished(worker.submitted)
    started = next(e for e in seen if isinstance(e, ev.RunStarted))
    assert started.dataset["n_train"] + started.dataset["n_val"] == 321
    assert worker.loads.value == before + 1  # the run read nothing: the cache held it


def test_the_data_cache_reads_a_file_again_only_when_it_changed(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((20, 3), np.float32))
    cfg = {"dataset": str(path), "task": "autoencode"}
    cache = DataCache()
    first = cache.get(cfg)
    assert first is not None and first.x.shape == (20, 3)
    assert cache.get(cfg) is first
    np.save(path, np.ones((30, 3), np.float32))
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    again = cache.get(cfg)
    assert again is not first and again.x.shape == (30, 3)
    assert cache.get({"dataset": str(tmp_path / "missing.npy")}) is None  # the trainer says why


def test_a_run_that_kills_the_worker_is_reported_and_the_worker_is_gone(worker):
    # (the module's worker, last: it does not survive this)
    runner = Runner(mlp_json(), config(task="test_worker_sigkill"), plugins=[PLUGIN], worker=worker)
    runner.start()
    seen = runner.wait(timeout=120)
    assert isinstance(seen[-1], ev.Failed)
    assert "exited unexpectedly (exit code -9)" in seen[-1].message
    assert not worker.is_alive() and not worker.idle()
    with pytest.raises(RuntimeError, match="busy or gone"):
        Runner(mlp_json(), config(), worker=worker).start()
