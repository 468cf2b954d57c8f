"""How much each swept parameter mattered to each objective: Optuna's importance evaluators
(fANOVA by default, mean decrease in impurity as the other choice) over the complete trials."""
from __future__ import annotations

import os

from .space import SweepError
from .study import open_study

EVALUATORS = ("fanova", "mean_decrease_impurity")
MIN_TRIALS = 2  # the evaluators need variation to explain


def importances(folder: str | os.PathLike, name: str, evaluator: str = "fanova",
                seed: int = 0) -> dict[str, dict[str, float]]:
    """Objective name → {parameter → importance (the shares add up to 1)}; an objective gets
    nothing while fewer than two complete trials differ in their parameters."""
    from pathlib import Path

    import optuna
    from optuna.trial import TrialState

    if evaluator not in EVALUATORS:
        raise SweepError(f"importance evaluator must be one of {', '.join(EVALUATORS)}, not "
                         f"{evaluator!r}")
    study, definition = open_study(Path(folder), name, None)
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    distinct = {tuple(sorted((k, repr(v)) for k, v in t.params.items())) for t in done}
    if len(done) < MIN_TRIALS or len(distinct) < MIN_TRIALS:
        return {}
    out: dict[str, dict[str, float]] = {}
    for i, objective in enumerate(definition.objectives):
        values = {t.values[i] for t in done}
        if len(values) < 2:  # a constant objective: nothing explains it
            out[objective.name] = {}
            continue
        make = (optuna.importance.FanovaImportanceEvaluator if evaluator == "fanova"
                else optuna.importance.MeanDecreaseImpurityImportanceEvaluator)
        try:
            scores = optuna.importance.get_param_importances(
                study, evaluator=make(seed=seed), target=lambda t, i=i: t.values[i])
        except (RuntimeError, ValueError) as exc:  # too few distinct values for a parameter
            raise SweepError(f"sweep {name!r}: cannot rate the parameters for "
                             f"{objective.name!r}: {exc}") from None
        out[objective.name] = {k: float(v) for k, v in scores.items()}
    return out
