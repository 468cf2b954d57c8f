"""The Experiments dock's entries in the window: Model ▸ New Sweep…, View ▸ Experiments, and
the inspector's Sweep this value… (cheap to install: the dock's content is built on first use).
"""
from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

DOCK = "experiments"


def make_panel(dashboard):
    """The dock's content (LazyPanel factory)."""
    from .experiments_panel import ExperimentsPanel

    return ExperimentsPanel(dashboard.window, dashboard.controller,
                            load_weights=dashboard.load_run_weights)


def show_experiments(dashboard):
    """Bring the Experiments dock forward; its panel."""
    window = dashboard.window
    workspaces = getattr(window, "workspaces", None)
    if workspaces is not None and workspaces.current != "training":
        workspaces.switch("training")
    window.show_dock(DOCK)
    return dashboard.view(DOCK)


def install_experiment_actions(dashboard) -> dict[str, QAction]:
    """Add the menu entries and the inspector's request; the actions by name."""
    window = dashboard.window
    new = QAction("New &Sweep…", window)
    new.setObjectName("action_new_sweep")
    new.setStatusTip("Train the graph many times over varied values (Experiments panel)")
    new.triggered.connect(lambda: _new_sweep(dashboard))
    view = QAction("&Experiments", window)
    view.setObjectName("action_view_experiments")
    view.setStatusTip("Show the Experiments panel: sweeps and their trials")
    view.triggered.connect(lambda: show_experiments(dashboard))
    menus = getattr(window, "menus", {})
    if "model" in menus:
        menus["model"].addSeparator()
        menus["model"].addAction(new)
    if "view" in menus:
        menus["view"].addAction(view)
    window.addAction(new)
    window.addAction(view)
    window.inspector.sweep_requested.connect(
        lambda node, param: show_experiments(dashboard).sweep_value(node, param))
    app = QApplication.instance()
    if app is not None:  # quitting with a sweep going: end its trials, keep the study
        app.aboutToQuit.connect(lambda: _shutdown(dashboard))
    return {"new_sweep": new, "view_experiments": view}


def _new_sweep(dashboard) -> None:
    panel = show_experiments(dashboard)
    panel.editor.table.setFocus()
    panel.say("Right-click a parameter in the inspector (Sweep this value…) or use Add "
              "setting, then Run sweep")


def _shutdown(dashboard) -> None:
    panel = dashboard.built(DOCK)
    if panel is not None:
        panel.shutdown()
