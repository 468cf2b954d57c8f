"""Sweeps: many trainings of one graph with settings and node parameters varied (no Qt).

    import netbuilder as nb
    trials = nb.sweep(graph, params=["conv1.out_channels=8,16", "lr=1e-4..1e-2:log"],
                      trials=8, objectives=["val_accuracy:max", "params:min"], jobs=2)
    front = pareto_front([[t.values["val_accuracy"], t.values["params"]] for t in trials],
                         ["max", "min"])

Optuna is the engine (grid, random, TPE with pruning); its SQLite study lives in the graph's
run store so that a sweep survives a crash and continues. ``ray_tune`` runs the same
definition on a Ray cluster.
"""
from __future__ import annotations

import os
from pathlib import Path

from .files import load_sweep_file
from .objectives import Objective, parse_objective, parse_objectives
from .pareto import dominates, pareto_front
from .space import Dimension, SweepError, parse_param, parse_params
from .study import (
    STRATEGIES,
    SweepDefinition,
    TrialRecord,
    graph_store,
    run_sweep,
    sweep_dir,
)


def sweep(graph, params=(), trials: int | None = None, *, objectives=(),
          strategy: str = "tpe", jobs: int = 1, name: str | None = None,
          store: str | os.PathLike | None = None, config=None, seed: int = 0,
          on_trial=None) -> list[TrialRecord]:
    """Run a sweep of ``graph`` (see the module docstring); return every trial's record.

    ``store`` is the run store (default: the ``NETBUILDER_RUNS_DIR`` folder of the graph's
    name); a sweep of the same ``name`` there continues where it stopped.
    """
    from ..config import TrainingConfig

    config = TrainingConfig.from_graph(graph) if config is None else config
    if store is None:
        base = os.environ.get("NETBUILDER_RUNS_DIR")
        if not base:
            raise SweepError("give store= (a folder for the sweep's study and trial runs): "
                             "the graph has no file whose run store could hold it")
        store = Path(base) / graph.name
    definition = SweepDefinition(parse_params(params), parse_objectives(objectives, config),
                                 strategy, trials, seed)
    name = name or graph.name
    return run_sweep(graph, config, definition, folder=sweep_dir(store, name), name=name,
                     jobs=jobs, on_trial=on_trial)


__all__ = [
    "sweep", "run_sweep", "SweepDefinition", "TrialRecord", "Dimension", "Objective",
    "SweepError", "parse_param", "parse_params", "parse_objective", "parse_objectives",
    "pareto_front", "dominates", "sweep_dir", "graph_store", "load_sweep_file", "STRATEGIES",
]
