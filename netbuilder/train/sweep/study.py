"""Running a sweep: an Optuna study in SQLite inside the graph's run store, trials in warm
worker processes (the same ``Runner`` and ``WarmWorker`` the editor trains with: each parallel
job keeps one, which has imported torch and holds the data set, and runs its trials there one
after another), resumable after a crash.

Layout: ``<graph stem>.runs/sweeps/<name>/study.db`` and one run folder per trial beside it
(``trial-0003/``, the files of a normal run). A sweep whose name exists continues: finished
trials (complete or pruned) count, trials that were running when the process died are marked
failed, and only the missing trials run.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import TrainingConfig
from ..run_store import graph_store  # noqa: F401 (the sweeps' store is the runs')
from ..worker import WorkerKeeper, available_cores
from .objectives import Objective, costs, metric_value, parse_objectives
from .space import Dimension, SweepError, apply, check_space, grid_points, parse_params

STRATEGIES = ("grid", "random", "tpe")
STUDY_FILE = "study.db"
POLL_S = 0.2  # how often a trial's events are read (a pruned trial stops within this)
STOPPED = "stopped (the sweep was stopped; it runs again when the sweep continues)"


@dataclass
class SweepDefinition:
    """What to vary and optimise, how, and how many trials."""

    params: list[Dimension]
    objectives: list[Objective]
    strategy: str = "tpe"
    trials: int | None = None  # grid: all points when None
    seed: int = 0

    def to_dict(self) -> dict:
        return {"params": [d.text() for d in self.params],
                "objectives": [o.text() for o in self.objectives],
                "strategy": self.strategy, "trials": self.trials, "seed": self.seed}

    @classmethod
    def from_dict(cls, data: dict) -> SweepDefinition:
        return cls(parse_params(data["params"]), parse_objectives(data["objectives"], None),
                   data.get("strategy", "tpe"), data.get("trials"), data.get("seed", 0))


@dataclass
class TrialRecord:
    """One trial as the study holds it."""

    number: int
    state: str  # complete | pruned | failed | running | waiting
    params: dict
    values: dict = field(default_factory=dict)  # objective name → value
    run_dir: str | None = None
    duration_s: float | None = None
    error: str | None = None


class _TrialFailed(Exception):
    """A trial's training failed; the study records it as failed and goes on."""


def sweep_dir(store: str | os.PathLike, name: str) -> Path:
    """The folder of sweep ``name`` inside a run store (a graph's ``.runs`` folder)."""
    if not name or not all(ch.isalnum() or ch in "-_." for ch in name) or name.startswith("."):
        raise SweepError(f"sweep name {name!r}: use letters, digits, '-', '_' and '.'")
    return Path(store) / "sweeps" / name


def _optuna():
    try:
        import optuna
    except ModuleNotFoundError:
        raise SweepError("sweeps need Optuna, which is not installed: pip install optuna") \
            from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _storage(folder: Path):
    optuna = _optuna()
    folder.mkdir(parents=True, exist_ok=True)
    # a generous lock timeout: parallel trials write to the same SQLite file
    return optuna.storages.RDBStorage(
        f"sqlite:///{(folder / STUDY_FILE).resolve()}",
        engine_kwargs={"connect_args": {"timeout": 60}})


def open_study(folder: Path, name: str, definition: SweepDefinition | None):
    """The study of sweep ``name`` (made when new) and its definition; a stored sweep given a
    different definition is refused."""
    optuna = _optuna()
    storage = _storage(folder)
    names = [s.study_name for s in storage.get_all_studies()]
    if name in names:
        study = optuna.load_study(study_name=name, storage=storage)
        stored = SweepDefinition.from_dict(study.user_attrs["definition"])
        if definition is not None and definition.trials != stored.trials \
                and _same_but_trials(definition, stored):
            # more (or fewer) trials of the same sweep: continue it with the new count
            study.set_user_attr("definition", definition.to_dict())
            stored = definition
        if definition is not None and definition.to_dict() != stored.to_dict():
            raise SweepError(f"sweep {name!r} already exists with other settings "
                             f"({_describe(stored)}); resume it as it is (--resume) or give "
                             f"the new sweep another --name")
        return study, stored
    if definition is None:
        raise SweepError(f"there is no sweep {name!r} in {folder.parent} to resume")
    directions = ["maximize" if o.direction == "max" else "minimize"
                  for o in definition.objectives]
    study = optuna.create_study(study_name=name, storage=storage, directions=directions)
    study.set_user_attr("definition", definition.to_dict())
    return study, definition


def _same_but_trials(a: SweepDefinition, b: SweepDefinition) -> bool:
    return {**a.to_dict(), "trials": None} == {**b.to_dict(), "trials": None}


def _describe(d: SweepDefinition) -> str:
    params = " ".join(p.text() for p in d.params)
    objectives = " ".join(o.text() for o in d.objectives)
    return f"{d.strategy}, {d.trials or 'all'} trials, {params}, objectives {objectives}"


def records(study, definition: SweepDefinition) -> list[TrialRecord]:
    """Every trial of the study, in order."""
    out = []
    for t in study.get_trials(deepcopy=False):
        state = t.state.name.lower().replace("fail", "failed")
        values = {}
        if t.values is not None:
            values = {o.name: v for o, v in zip(definition.objectives, t.values)}
        duration = t.duration.total_seconds() if t.duration is not None else None
        out.append(TrialRecord(t.number, state, dict(t.params), values,
                               t.user_attrs.get("run_dir"), duration, t.user_attrs.get("error")))
    return out


def _mark_stale(study) -> None:
    """Trials left running by a process that died are failed (their folders stay)."""
    from optuna.trial import TrialState

    storage = study._storage
    study_id = storage.get_study_id_from_name(study.study_name)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        storage.set_trial_user_attr(trial_id, "error", "interrupted (the sweep process ended)")
        storage.set_trial_state_values(trial_id, TrialState.FAIL)


def _plan(study, definition: SweepDefinition) -> int:
    """Enqueue what a grid still lacks; return how many trials to run now."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    if definition.strategy != "grid":
        return max(0, (definition.trials or 0) - len(done))
    points = grid_points(definition.params)[:definition.trials or None]
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    taken = [dict(t.params) for t in done] + [dict(t.system_attrs.get("fixed_params", {}))
                                              for t in waiting]
    missing = [p for p in points if p not in taken]
    for p in missing:
        study.enqueue_trial(p)
    return len(missing) + len(waiting)


def _sampler(definition: SweepDefinition):
    optuna = _optuna()
    if definition.strategy == "tpe":
        startup = max(2, min(10, (definition.trials or 10) // 3))
        return optuna.samplers.TPESampler(seed=definition.seed, n_startup_trials=startup)
    return optuna.samplers.RandomSampler(seed=definition.seed)  # grid: every value is fixed


def _pruner(definition: SweepDefinition):
    optuna = _optuna()
    if definition.strategy == "grid" or len(definition.objectives) > 1:
        return optuna.pruners.NopPruner()  # Optuna prunes single-objective studies only
    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)


def epoch_metric(event, name: str) -> float | None:
    """The value of metric ``name`` (``val_accuracy``) in an end-of-epoch Metrics event, whose
    values are named without their split (``"accuracy"`` in a ``"val"`` event)."""
    from ..events import Metrics

    if not isinstance(event, Metrics) or not event.epoch_end:
        return None
    split, _, metric = name.partition("_")
    if split != event.split or metric not in event.values:
        return None
    return float(event.values[metric])


class _Trial:
    """The objective each job's thread calls: edit, train in the job's warm worker, report."""

    def __init__(self, graph, config: TrainingConfig, definition: SweepDefinition,
                 folder: Path, on_event: Callable | None, stop: threading.Event | None = None):
        self.graph, self.config, self.definition = graph, config, definition
        self.folder, self.on_event = folder, on_event
        self.stop = stop

    @property
    def trains(self) -> bool:
        """Some objective is a metric of the trained network (not only costs)."""
        return any(not o.is_cost for o in self.definition.objectives)

    def __call__(self, trial, workers):
        """Run ``trial``, training (when an objective needs it) in the worker that
        ``workers`` (a ``WorkerKeeper``) holds or makes."""
        values = {d.name: d.suggest(trial) for d in self.definition.params}
        try:
            graph, config = apply(self.graph, self.config, values)
        except SweepError as exc:
            raise _TrialFailed(str(exc)) from None
        results = costs(graph, self.definition.objectives)
        if self.trains:
            summary = self._train(trial, graph, config, workers)
            for o in self.definition.objectives:
                if not o.is_cost:
                    results[o.name] = metric_value(summary, o)
        return tuple(results[o.name] for o in self.definition.objectives)

    def _train(self, trial, graph, config: TrainingConfig, workers) -> dict:
        from ...graph import to_json
        from ..events import Failed, Finished
        from ..runner import Runner

        optuna = _optuna()
        run_dir = self.folder / f"trial-{trial.number:04d}"
        trial.set_user_attr("run_dir", str(run_dir))
        single = self.definition.objectives[0].name if len(self.definition.objectives) == 1 \
            else None
        # NOTE: a pruned or stopped trial ends its run cooperatively and leaves the worker
        # idle for the next trial; one that had to be killed (or crashed) is replaced.
        runner = Runner(to_json(graph), config, out_dir=run_dir,
                        weights=graph.weights.source() if graph.weights is not None else None,
                        worker=workers.for_run())
        runner.start()
        try:
            while True:
                for event in runner.wait(POLL_S):
                    if self.on_event is not None:
                        self.on_event(trial.number, event)
                    if isinstance(event, Finished):
                        return event.summary
                    if isinstance(event, Failed):
                        raise _TrialFailed(event.message)
                    value = epoch_metric(event, single) if single else None
                    if value is not None:
                        trial.report(value, event.epoch)
                        if trial.should_prune():
                            runner.stop()
                            runner.wait(runner.stop_timeout + 2)
                            raise optuna.TrialPruned(f"pruned after epoch {event.epoch}")
                if self.stop is not None and self.stop.is_set():
                    runner.stop()
                    runner.wait(runner.stop_timeout + 2)
                    raise _TrialFailed(STOPPED)
        finally:
            runner.close()
            workers.run_ended(runner)


_ENV_LOCK = threading.Lock()


def run_sweep(graph, config: TrainingConfig | None, definition: SweepDefinition | None, *,
              folder: str | os.PathLike, name: str, jobs: int = 1,
              on_trial: Callable[[TrialRecord], None] | None = None,
              on_event: Callable | None = None,
              stop: threading.Event | None = None,
              on_open: Callable[[], None] | None = None) -> list[TrialRecord]:
    """Run (or continue) sweep ``name`` in ``folder``; return every trial's record.

    ``definition`` None continues the stored sweep as it was defined. Each of the ``jobs``
    parallel jobs keeps one warm worker process, sized for ``cores // jobs`` cores, and trains
    its trials there one after another; all are closed at the end. Setting
    ``stop`` ends the running trials (recorded failed, run again on resume) and starts no more.
    ``on_open`` is called once the study exists (others may read it from then on).
    """
    config = TrainingConfig.from_graph(graph) if config is None else config
    if definition is not None:
        _check_definition(graph, config, definition)
    study, definition = open_study(Path(folder), name, definition)
    _mark_stale(study)
    todo = _plan(study, definition)
    if on_open is not None:
        on_open()
    if todo:
        study.sampler = _sampler(definition)
        study.pruner = _pruner(definition)
        objective = _Trial(graph, config, definition, Path(folder), on_event, stop)
        with _ENV_LOCK, _threads_per_trial(min(jobs, todo)) as share:
            _optimize(study, objective, todo, jobs, share.cores, stop,
                      None if on_trial is None else lambda n: on_trial(
                          next(r for r in records(study, definition) if r.number == n)))
    return records(study, definition)


def _optimize(study, objective, todo: int, jobs: int, cores: int,
              stop: threading.Event | None, finished: Callable | None) -> None:
    """Run ``todo`` trials, ``jobs`` at a time: one thread per job, whose trials train one
    after another in its warm worker (sized for ``cores`` cores).

    NOTE: the study is asked and told under one lock: Optuna's own ``n_jobs`` loop hands the
    same enqueued trial to two threads on SQLite storage.
    """
    optuna = _optuna()
    lock = threading.Lock()
    left = [todo]
    errors: list[BaseException] = []

    def work() -> None:
        workers = WorkerKeeper(cores)
        if objective.trains:
            # NOTE: started now, its torch import overlaps the study's first ask and the
            # trial's cost analysis in this process
            workers.warm_up()
        try:
            run_trials(workers)
        finally:
            workers.close()

    def run_trials(workers) -> None:
        while True:
            with lock:
                if left[0] <= 0 or errors or (stop is not None and stop.is_set()):
                    return
                left[0] -= 1
                trial = study.ask()
            try:
                values = objective(trial, workers)
                outcome = {"values": values}
            except optuna.TrialPruned:
                outcome = {"state": optuna.trial.TrialState.PRUNED}
            except (_TrialFailed, SweepError) as exc:
                trial.set_user_attr("error", str(exc))
                outcome = {"state": optuna.trial.TrialState.FAIL}
            except BaseException as exc:  # noqa: BLE001 (ends the sweep; the trial is failed)
                errors.append(exc)
                outcome = {"state": optuna.trial.TrialState.FAIL}
            with lock:
                study.tell(trial, **outcome)
            if finished is not None and not errors:
                finished(trial.number)

    threads = [threading.Thread(target=work, name=f"sweep-job-{i}", daemon=True)
               for i in range(max(1, min(jobs, todo)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _check_definition(graph, config: TrainingConfig, d: SweepDefinition) -> None:
    if d.strategy not in STRATEGIES:
        raise SweepError(f"strategy must be one of {', '.join(STRATEGIES)}, not {d.strategy!r}")
    if d.strategy != "grid" and not d.trials:
        raise SweepError(f"a {d.strategy} sweep needs a number of trials (--trials N)")
    if d.trials is not None and d.trials < 1:
        raise SweepError(f"trials must be at least 1, not {d.trials}")
    check_space(graph, config, d.params)
    if d.strategy == "grid":
        grid_points(d.params)


class _threads_per_trial:
    """Each job's share of the cores (``cores``): its worker sizes torch's threads for it,
    and inherits it in the environment (for the OpenMP and BLAS pools outside torch)."""

    def __init__(self, jobs: int):
        self.cores = max(1, available_cores() // max(1, jobs))
        self.saved: dict = {}

    def __enter__(self):
        for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            self.saved[key] = os.environ.get(key)
            os.environ[key] = str(self.cores)
        return self

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def load_records(folder: str | os.PathLike, name: str) -> tuple[SweepDefinition, list]:
    """The definition and trials of the stored sweep ``name``; SweepError when there is none."""
    folder = Path(folder)
    if not (folder / STUDY_FILE).exists():
        raise SweepError(f"there is no sweep {name!r}: {folder / STUDY_FILE} does not exist")
    study, definition = open_study(folder, name, None)
    return definition, records(study, definition)


def front(trials: list[TrialRecord], definition: SweepDefinition) -> list[TrialRecord]:
    """The complete trials on the Pareto front of the objectives (the best one, for one)."""
    from .pareto import pareto_front

    done = [t for t in trials if t.state == "complete" and len(t.values) ==
            len(definition.objectives)]
    names = [o.name for o in definition.objectives]
    points = [[t.values[n] for n in names] for t in done]
    return [done[i] for i in pareto_front(points, [o.direction for o in definition.objectives])]
