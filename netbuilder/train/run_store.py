"""The run store: where a graph's runs live and what a run folder says about itself.

Every run, from the editor or ``netbuilder train``, gets its own folder in the graph's store:
``<graph stem>.runs/run-YYYYMMDD-HHMMSS/`` beside the graph file (the editor keeps the runs of
graphs never saved in a per-user data folder). The trainer writes the snapshot, config,
metrics, summary and weights there (``checkpoint.RunFiles``); this module adds ``run.json``
(when, from which file and which program it started, and how it ended) and reads it all back
for the Runs panel.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..graph.fileformat import atomic_write

STORE_SUFFIX = ".runs"
RUN_META = "run.json"
_STAMP = re.compile(r"run-(\d{8})-(\d{6})(?:-(\d+))?")


def graph_store(graph_path: str | os.PathLike) -> Path:
    """The run store of a saved graph: ``<stem>.runs`` beside it."""
    p = Path(graph_path)
    return p.parent / f"{p.stem}{STORE_SUFFIX}"


def new_run_dir(root: Path, when: float | None = None) -> Path:
    """A fresh, empty, uniquely named run folder (``run-20250101-120000``, ``...-2``)."""
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when or time.time()))
    path = root / f"run-{stamp}"
    i = 2
    while path.exists():
        path = root / f"run-{stamp}-{i}"
        i += 1
    path.mkdir()
    return path


def write_run_meta(run_dir: Path, **values) -> None:
    """Merge ``values`` into the run's ``run.json`` (atomic)."""
    meta = read_json(run_dir / RUN_META)
    meta.update(values)
    atomic_write(run_dir / RUN_META, json.dumps(meta, indent=2) + "\n")


def begin_run(run_dir: Path, graph_name: str, graph_path: str | os.PathLike | None,
              program: str) -> None:
    """Record a new run's start in ``run.json`` (``program``: "editor" or "cli"); the pid lets
    a reader tell a run still going in another process from one cut short."""
    write_run_meta(Path(run_dir), name=Path(run_dir).name, started=time.time(), graph=graph_name,
                   graph_path=None if graph_path is None else str(graph_path), status="running",
                   program=program, pid=os.getpid())


def end_run(run_dir: Path, status: str) -> None:
    """Record how a run ended: finished, stopped or failed."""
    write_run_meta(Path(run_dir), status=status, ended=time.time())


def read_json(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class RunInfo:
    """What the Runs panel lists about one run folder."""

    path: Path
    name: str
    started: float
    status: str  # running | finished | stopped | failed | interrupted
    epochs_done: int = 0
    epochs: int = 0
    best_epoch: int | None = None
    monitor: str | None = None
    best_value: float | None = None
    samples_per_s: float | None = None
    dataset: str = ""
    note: str = ""
    summary: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    @property
    def has_weights(self) -> bool:
        return (self.path / "weights.safetensors").exists()

    @property
    def resumable(self) -> bool:
        return (self.path / "checkpoint.json").exists() and (self.path / "graph.json").exists()

    def graph_dict(self) -> dict:
        return read_json(self.path / "graph.json")

    @property
    def label(self) -> str:
        """A short name for lists and legends: the start time (``2025-01-31 14:05:09``)."""
        m = _STAMP.fullmatch(self.name)
        if m is None:
            return self.name
        d, t, n = m.groups()
        return f"{d[:4]}-{d[4:6]}-{d[6:]} {t[:2]}:{t[2:4]}:{t[4:]}" + (f" ({n})" if n else "")

    def best_text(self) -> str:
        if self.best_value is None or not self.monitor:
            return ""
        name = self.monitor.replace("_", " ")
        if "accuracy" in self.monitor:
            return f"{name} {100 * self.best_value:.1f}%"
        return f"{name} {self.best_value:.4g}"


def read_run(path: Path, live: bool = False) -> RunInfo | None:
    """A run folder's facts, or None when ``path`` is not a run folder."""
    path = Path(path)
    meta = read_json(path / RUN_META)
    if not meta and not (path / "config.json").exists():
        return None
    summary = read_json(path / "summary.json")
    config = read_json(path / "config.json")
    checkpoint = read_json(path / "checkpoint.json")
    status = summary.get("status") or meta.get("status") or ""
    if live or (status == "running" and not summary and _alive(meta.get("pid"))):
        status = "running"
    elif not summary and status in ("", "running"):
        status = "interrupted"  # the editor closed or crashed while it trained
    started = float(meta.get("started") or path.stat().st_mtime)
    return RunInfo(
        path=path, name=meta.get("name") or path.name, started=started, status=status,
        epochs_done=int(summary.get("epochs_done") or checkpoint.get("epoch") or 0),
        epochs=int(config.get("epochs") or 0), best_epoch=summary.get("best_epoch"),
        monitor=summary.get("monitor"), best_value=summary.get("best_value"),
        samples_per_s=summary.get("samples_per_s"), dataset=str(config.get("dataset", "")),
        note=str(summary.get("error") or ""), summary=summary, config=config)


def list_runs(root: Path, live: set | None = None) -> list[RunInfo]:
    """Every run under ``root``, newest first; ``live`` holds folders being trained now."""
    root = Path(root)
    if not root.is_dir():
        return []
    live = {Path(p) for p in (live or ())}
    runs = []
    for child in root.iterdir():
        if child.is_dir():
            info = read_run(child, child in live)
            if info is not None:
                runs.append(info)
    runs.sort(key=lambda r: (r.started, r.name), reverse=True)
    return runs


def _alive(pid) -> bool:
    """Whether process ``pid`` (another program's run, such as ``netbuilder train``) runs."""
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True
