"""Before a run: the document's training setup, its dataset (cached) and the checks that block a
Start, shown in the Problems dock beside the graph's own diagnostics."""
from __future__ import annotations

import json

from ...errors import NetbuilderError
from ...graph import Diagnostic


class Preflight:
    """The checks a Start makes on a document; it keeps the newest dataset read (a Start reads
    it at every press, the setup panel's preview too)."""

    def __init__(self) -> None:
        self._dataset_cache: dict = {}

    @staticmethod
    def config(doc):
        """The document's TrainingConfig (ConfigError when the saved setup is invalid)."""
        from ...train.config import TrainingConfig

        return TrainingConfig.from_graph(doc.graph)

    def load_dataset(self, config):
        """The run's dataset, cached by name and options."""
        from ...train.data import load_dataset

        key = (config.dataset, json.dumps(config.dataset_options, sort_keys=True))
        ds = self._dataset_cache.get(key)
        if ds is None:
            ds = load_dataset(config.dataset, **dict(config.dataset_options))
            self._dataset_cache = {key: ds}
        return ds

    def check(self, doc, config=None) -> tuple[list[Diagnostic], list[str]]:
        """(problems that block a run, notes) for ``doc`` and its setup (or ``config``)."""
        from ...train.batches import fit_to_input
        from ...train.tasks import get_task
        from ...train.tasks.base import TrainingError

        if getattr(doc, "extra_diagnostics", None):
            doc.extra_diagnostics = []  # the data check below makes them again if still true
        errors = [d for d in doc.diagnostics() if d.is_error]
        notes: list[str] = []
        if errors:
            return errors, notes
        config = config or self.config(doc)
        inputs = doc.graph.inputs()
        try:
            problem = get_task(config.task).inputs_problem(doc.graph)
        except NetbuilderError as exc:
            problem = str(exc)
        if problem is not None:
            return [Diagnostic("error", None, problem)], notes
        try:
            ds = self.load_dataset(config)
            fit_to_input(ds, doc.graph, notes.append)
        except (TrainingError, NetbuilderError) as exc:
            return [Diagnostic("error", inputs[0], f"Data: {exc}")], notes
        return [], notes

    @staticmethod
    def show_problems(doc, problems: list[Diagnostic], window) -> None:
        """Put the data problems (if any) into the Problems dock beside the graph's own."""
        extra = [d for d in problems if d.message.startswith("Data: ") or d.node is None]
        if hasattr(doc, "extra_diagnostics"):
            doc.extra_diagnostics = extra
        if window is not None:
            problems_panel = getattr(window, "problems", None)
            if problems_panel is not None:
                problems_panel.refresh()
            if problems and hasattr(window, "show_dock"):
                window.show_dock("problems")
