"""Running a sweep's trials on a Ray cluster with Ray Tune (``netbuilder sweep --ray ADDRESS``).

Ray is optional and heavy: it is imported only here, and only when asked for. Each trial runs
the same ``Trainer`` in a Ray worker, reports every epoch's metrics to Tune (whose ASHA
scheduler stops bad trials of a one-objective sweep) and writes its run folder under the sweep's
folder. Ray keeps its own experiment state, so a Ray sweep is not in the local SQLite study.
"""
from __future__ import annotations

from pathlib import Path

from .space import Dimension, SweepError, grid_points
from .study import SweepDefinition, TrialRecord


def _ray():
    try:
        import ray
        from ray import tune
    except ModuleNotFoundError:
        raise SweepError("--ray needs Ray Tune, which is not installed: pip install "
                         "'ray[tune]' (or run the sweep here, without --ray)") from None
    return ray, tune


def _space(tune, dims: list[Dimension], grid: bool) -> dict:
    if grid:
        grid_points(dims)  # refuses ranges with the same sentence as a local sweep
        return {d.name: tune.grid_search(list(d.values)) for d in dims}
    out = {}
    for d in dims:
        if d.values is not None:
            out[d.name] = tune.choice(list(d.values))
        elif d.integer:
            make = tune.lograndint if d.log else tune.randint
            out[d.name] = make(int(d.low), int(d.high) + 1)
        else:
            out[d.name] = (tune.loguniform if d.log else tune.uniform)(d.low, d.high)
    return out


def _trainable(graph_json: str, config: dict, objectives: list):
    """The function each Ray worker runs for one trial (closes over plain data only)."""

    def trial(params: dict) -> dict:
        from ray import tune

        from ...graph import from_json
        from ..config import TrainingConfig
        from ..events import Metrics
        from ..trainer import Trainer
        from .objectives import costs, metric_value
        from .space import apply

        report = getattr(tune, "report", None)
        if report is None:  # Ray < 2.38
            from ray import train as ray_train

            report = ray_train.report
        graph, cfg = apply(from_json(graph_json), TrainingConfig.from_dict(config), params)
        results = costs(graph, objectives)

        def emit(event) -> None:
            if isinstance(event, Metrics) and event.epoch_end and event.split == "val":
                metrics = {f"val_{k}": v for k, v in event.values.items()}
                report({**results, **metrics, "epoch": event.epoch})

        if any(not o.is_cost for o in objectives):
            out_dir = Path(tune.get_context().get_trial_dir()) / "run"
            summary = Trainer(graph, cfg, emit=emit, out_dir=out_dir).run().summary
            for o in objectives:
                if not o.is_cost:
                    results[o.name] = metric_value(summary, o)
        return results

    return trial


def run_on_ray(address: str, graph, config, definition: SweepDefinition | None, *,
               folder: Path, name: str, jobs: int | None = None) -> list[TrialRecord]:
    """Run ``definition`` on the Ray cluster at ``address``; the trials' records.

    ``address`` "local" starts a private Ray instance for this sweep, with ``jobs`` CPUs (all
    when None), so that ``jobs`` trials run at once."""
    ray, tune = _ray()
    if definition is None:
        raise SweepError("--ray runs a sweep from its definition: give --param (a stored local "
                         "sweep is continued without --ray)")
    from ...graph import to_json

    if address == "local":
        import logging

        # NOTE: an instance that lives for one sweep: no dashboard, Ray's own chatter off
        ray.init(num_cpus=jobs, include_dashboard=False, logging_level=logging.WARNING,
                 ignore_reinit_error=True)
    else:
        ray.init(address=address, ignore_reinit_error=True)
    objectives = definition.objectives
    metric = objectives[0].name if len(objectives) == 1 else None
    mode = objectives[0].direction if metric else None
    search = scheduler = None
    if definition.strategy == "tpe":
        from ray.tune.search.optuna import OptunaSearch

        search = OptunaSearch(metric=[o.name for o in objectives],
                              mode=[o.direction for o in objectives], seed=definition.seed)
    if metric is not None and definition.strategy != "grid":
        from ray.tune.schedulers import ASHAScheduler

        scheduler = ASHAScheduler(time_attr="epoch", grace_period=1)
    grid = definition.strategy == "grid"
    tuner = tune.Tuner(
        _trainable(to_json(graph), config.to_dict(), objectives),
        param_space=_space(tune, definition.params, grid),
        tune_config=tune.TuneConfig(metric=metric, mode=mode, search_alg=search,
                                    scheduler=scheduler,
                                    num_samples=1 if grid else definition.trials,
                                    # a worker that has imported torch trains the next trial
                                    reuse_actors=True),
        run_config=tune.RunConfig(name=name, storage_path=str(Path(folder).resolve())))
    results = tuner.fit()
    out = []
    for i, r in enumerate(results):
        values = {o.name: r.metrics[o.name] for o in objectives
                  if r.metrics and o.name in r.metrics}
        state = "failed" if r.error else ("complete" if len(values) == len(objectives)
                                          else "pruned")
        out.append(TrialRecord(i, state, dict(r.config), values, str(r.path),
                               (r.metrics or {}).get("time_total_s"),
                               str(r.error) if r.error else None))
    return out
