"""Where the editor keeps a graph's runs: the graph's run store (``netbuilder.train.run_store``,
shared with ``netbuilder train``), or a per-user data folder for graphs never saved."""
from __future__ import annotations

import os
from pathlib import Path

from ...train.run_store import (  # noqa: F401 (the panels' names for the shared store)
    RunInfo,
    begin_run,
    end_run,
    graph_store,
    list_runs,
    new_run_dir,
    read_json,
    read_run,
    write_run_meta,
)

RUNS_ENV = "NETBUILDER_RUNS_DIR"  # overrides where runs of unsaved graphs go


def runs_root(graph_path: Path | None, graph_name: str = "untitled") -> Path:
    """The folder that holds a graph's runs."""
    if graph_path is not None:
        return graph_store(graph_path)
    base = os.environ.get(RUNS_ENV)
    if not base:
        from PySide6.QtCore import QStandardPaths

        base = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.AppLocalDataLocation) or str(Path.home() /
                                                                        ".netbuilder")
        base = str(Path(base) / "runs")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in graph_name) or "untitled"
    return Path(base) / safe
