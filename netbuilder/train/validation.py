"""One check of a graph's training settings, used by ``netbuilder check``, training and export.

``TrainingConfig.validate`` checks each setting alone; here the settings are checked against
what they name: the dataset's options against its loader (a synthetic set's values too, by
making it), the task's options and the early stopping metric against the task. Reads no data
file and runs no code from the graph file.
"""
from __future__ import annotations

from ..errors import NetbuilderError
from .config import ConfigError, TrainingConfig


def validate_training(graph, config: TrainingConfig | None = None) -> TrainingConfig:
    """The graph's training settings (``config``, else the graph's own), checked; raises a
    netbuilder error whose ``field`` names the setting (``optimizer_options.foo``)."""
    if config is None:
        config = TrainingConfig.from_graph(graph)
    checked_task(graph, config)
    return config


def checked_task(graph, config: TrainingConfig):
    """The configured task, built once every setting checked out (what training and the
    exported script start from)."""
    from .tasks import get_task

    config.validate()
    _check_dataset_options(config)
    task = get_task(config.task)(config, graph)  # checks its options and the optimizer
    es = config.early_stopping
    if es is not None and es.metric != "auto":
        names = task.metric_names()
        if es.metric not in names:
            raise ConfigError(f"the {config.task} task reports no metric {es.metric!r}; "
                              f"early stopping may watch {', '.join(sorted(names))}",
                              field="early_stopping.metric")
    return task


# built-in sets numpy makes in milliseconds (the others load scikit-learn, seconds on a busy
# machine: their values are checked when the data is read)
_INSTANT = ("spirals", "sine")


def _check_dataset_options(config: TrainingConfig) -> None:
    from .data import accepted_options

    accepted = accepted_options(config.dataset)
    if accepted is None:  # no such dataset: loading it says so, with what there is
        return
    for key in config.dataset_options:
        if key not in accepted:
            raise ConfigError(f"the dataset {config.dataset!r} takes no option {key!r}; it "
                              f"accepts {', '.join(sorted(accepted))}",
                              field=f"dataset_options.{key}")
    from .data.loader import dataset_key

    if dataset_key(config.dataset) in _INSTANT:  # made in a moment: its loader checks values
        from .data import load_dataset

        load_dataset(config.dataset, **config.dataset_options)


def training_problem(graph) -> str | None:
    """What ``netbuilder check`` reports: ``training.<field>: <why>``, or None when fine."""
    try:
        validate_training(graph)
    except NetbuilderError as exc:
        return describe_problem(exc)
    return None


def describe_problem(exc: NetbuilderError) -> str:
    """A settings error as one line naming the setting: ``training.lr: lr must be ...``."""
    from .data import DataError

    field = exc.field
    if isinstance(exc, DataError) and field and field != "dataset":
        field = f"dataset_options.{field}"  # a loader names its own option
    if not field:
        return exc.message
    if not field.isprintable():  # a key from the file: newlines, separators, surrogates
        field = repr(field)[1:-1]
    return f"training.{field}: {exc.message}"


__all__ = ["validate_training", "checked_task", "training_problem", "describe_problem"]
