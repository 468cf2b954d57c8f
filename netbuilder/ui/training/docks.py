"""The training dashboard in the main window: its docks, and the wiring between the
controller, the canvas and the views.

Dock contents are built when their dock first comes on screen (``LazyPanel``): installing the
dashboard imports neither pyqtgraph nor torch, so the editor opens as fast without it. A view
built late catches up from the controller's state (history, newest events).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget
from shiboken6 import isValid

from ...errors import NetbuilderError
from ...train import events as ev
from .badges import ActivityBadges, badge_nodes
from .controller import TrainingController, route
from .experiments_menu import DOCK as DOCK_EXPERIMENTS
from .experiments_menu import install_experiment_actions
from .experiments_menu import make_panel as make_experiments
from .lazy_panel import LazyPanel
from .task_views import apply_task, shown_task_name, task_class
from .timed_run import train_for

PREBUILT = ("training", "curves", "feature_maps")  # the views show_dashboard brings forward
PREBUILD_GAP_MS = 100  # between two of them: the window answers input in between
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


class Dashboard(QObject):
    """Everything the training dashboard adds to one main window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.controller = TrainingController(window.document, parent=self)
        self.badges = ActivityBadges(window.canvas)
        self.panels: dict[str, LazyPanel] = {}
        self._latest: dict[str, object] = {}  # newest event per view, for views built late
        self._pending: dict[str, object] = {}  # newest event per hidden view
        self._add("training", "Training", self._make_training, RIGHT, "inspector")
        self._add("curves", "Curves", self._make_curves, BOTTOM, "summary")
        self._add("feature_maps", "Feature maps", self._make_feature_maps, BOTTOM, "code")
        self._add("samples", "Samples", self._make_samples, BOTTOM, "feature_maps")
        self._add("confusion", "Confusion", self._make_confusion, BOTTOM, "feature_maps")
        self._add("histograms", "Histograms", self._make_histograms, BOTTOM, "feature_maps")
        self._add("try_it", "Try it", self._make_try_it, BOTTOM, "curves")
        self._add("runs", "Runs", self._make_runs, BOTTOM, "curves")
        self._add("explain", "Explain", self._make_explain, BOTTOM, "curves")
        self._add(DOCK_EXPERIMENTS, "Experiments", lambda: make_experiments(self), BOTTOM,
                  "curves")
        self._add("embedding", "Embedding", self._make_embedding, BOTTOM, "curves")
        self._add("style", "Style transfer", self._make_style, BOTTOM, "curves")
        self._add("attack", "Attack", self._make_attack, BOTTOM, "curves")
        self._add("dream", "Dream", self._make_dream, BOTTOM, "curves")
        for name in ("summary", "code"):
            if name in window.docks:
                window.docks[name].raise_()
        window.set_train_controller(self.controller)
        window.document_changed.connect(self._document_changed)
        window.canvas.selection_changed.connect(self._selection_changed)
        c = self.controller
        c.run_started.connect(self._run_started)
        shown = {ev.Metrics: self._metrics, ev.Activations: self._activations,
                 ev.Histograms: lambda e: self._deliver("histograms", e),
                 ev.ConfusionMatrix: lambda e: self._deliver("confusion", e),
                 ev.Samples: self._samples}
        c.event_received.connect(lambda e: route(shown, e))
        c.checkpoint_saved.connect(self._checkpoint)
        c.run_ended.connect(self._run_ended)
        c.state_changed.connect(self._state_changed)
        c.preloaded.connect(self._prebuild)
        self._watch_document(window.document)
        app = QApplication.instance()
        if app is not None:  # quitting with a run going: end it properly, keep its files
            app.aboutToQuit.connect(self.controller.shutdown)

    # --- docks ------------------------------------------------------------------------------

    def _add(self, name: str, title: str, factory, area, tabify_with: str) -> None:
        panel = LazyPanel(factory, name)
        panel.shown.connect(lambda n=name: self._flush_pending(n))
        panel.built.connect(lambda _view: apply_task(self))  # the task's words from the start
        self.panels[name] = panel
        panel.watch(self.window.add_dock(name, title, panel, area, tabify_with=tabify_with))

    def _prebuild(self, names: tuple[str, ...] = PREBUILT) -> None:
        """Make the views a run shows first while the person draws, one per event-loop turn
        (each takes a few hundred ms): made on the first Train, they held its first step
        back by a second."""
        if names:
            self.panels[names[0]].content()
            QTimer.singleShot(PREBUILD_GAP_MS, self, lambda: self._prebuild(names[1:]))

    def view(self, name: str) -> QWidget:
        """The content of dock ``name`` (built now if needed)."""
        return self.panels[name].content()

    def built(self, name: str) -> QWidget | None:
        panel = self.panels[name]
        return panel.content() if panel.is_built() else None

    def show_dashboard(self) -> None:
        """Bring the live views forward (a run starts): the Training workspace."""
        w = self.window
        workspaces = getattr(w, "workspaces", None)
        if workspaces is not None and workspaces.current != "training":
            workspaces.switch("training")
            return
        for name in ("training", "curves", "feature_maps"):
            w.show_dock(name)
        self.size_docks()

    def size_docks(self) -> None:
        """The setup beside the canvas, the curves and feature maps below it."""
        w = self.window
        docks = w.docks
        if not docks["curves"].isFloating() and not docks["feature_maps"].isFloating():
            horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
            w.resizeDocks([docks["training"]], [max(320, w.width() // 5)], horizontal)
            w.resizeDocks([docks["curves"]], [max(300, int(w.height() * 0.38))], vertical)
            centre = w.width() - docks["training"].width() - docks["palette"].width()
            w.resizeDocks([docks["curves"], docks["feature_maps"]],
                          [int(centre * 0.56), int(centre * 0.44)], horizontal)

    def start_training_for(self, seconds: float, wait: bool = False) -> bool:
        """Train ``seconds``, then stop (``netbuilder FILE --train SECONDS``; see timed_run)."""
        return train_for(self, seconds, wait)

    def _make_training(self):
        from .training_panel import TrainingPanel

        panel = TrainingPanel(self.controller)
        panel.set_document(self.window.document)
        return panel

    def _make_curves(self):
        from .curves import CurvesView

        view = CurvesView()
        task = task_class(shown_task_name(self.controller))
        view.set_task(task.metric_label, task.metric_groups)
        view.reset(self.controller.history)
        started = self.controller.started_event
        if started is not None:
            view.set_extent(started.total_steps, started.epochs)
        return view

    def _make_feature_maps(self):
        from .feature_maps import FeatureMapView

        view = FeatureMapView()
        view.mode_changed.connect(lambda _m: self._load_filters())
        self._follow_selection(view)
        if "activations" in self._latest:
            view.show_activations(self._latest["activations"])
        return view

    def _make_samples(self):
        from .samples import SamplesView

        view = SamplesView()
        for e in self._latest.get("samples_by_kind", {}).values():
            view.show_event(e)
        return view

    def _make_confusion(self):
        from .confusion import ConfusionView

        return self._with_latest(ConfusionView(), "confusion")

    def _make_histograms(self):
        from .histograms import HistogramsView

        return self._with_latest(HistogramsView(), "histograms")

    def _make_try_it(self):
        from .try_it import TryItView

        view = TryItView()
        run = self.controller.run_dir or self.controller.last_run_dir
        if run is not None:
            view.set_run(run)
        return view

    def _make_explain(self):
        from .explain_view import ExplainView

        view = ExplainView()
        view.gallery.opened.connect(self._gallery_opened)
        run = self.controller.run_dir or self.controller.last_run_dir
        if run is not None:
            view.set_run(run)
        return view

    def _make_embedding(self):
        from .embedding_view import EmbeddingView

        view = EmbeddingView()
        view.set_run(self.controller.run_dir or self.controller.last_run_dir)
        return view

    def _make_style(self):
        from .style_view import StyleView

        view = StyleView()
        view.set_run(self.controller.run_dir or self.controller.last_run_dir)
        view.select_nodes(self._selected_names())
        return view

    def _make_attack(self):
        from .attack_view import AttackView

        view = AttackView()
        view.set_run(self.controller.run_dir or self.controller.last_run_dir)
        return view

    def _make_dream(self):
        from .dream_view import DreamView

        view = DreamView()
        view.set_run(self.controller.run_dir or self.controller.last_run_dir)
        view.select_nodes(self._selected_names())
        return view

    def _gallery_opened(self, index: int) -> None:
        """The sample picked in the Explain gallery is the one Attack and Dream work on."""
        for view in filter(None, map(self.built, ("attack", "dream"))):
            view.set_sample(index)

    def _make_runs(self):
        from .runs import RunsPanel

        panel = RunsPanel(self.controller)
        panel.weights_requested.connect(self.load_run_weights)
        panel.try_requested.connect(self._try_run)
        panel.resume_requested.connect(lambda run: self.controller.resume_run(run.path))
        panel.refresh()
        return panel

    def _with_latest(self, view, key: str):
        if key in self._latest:
            view.show_event(self._latest[key])
        return view

    # --- events -----------------------------------------------------------------------------

    def _deliver(self, key: str, event) -> None:
        """Hand ``event`` to its view now if it is shown, else when its dock next comes on
        screen (a closed dock costs the GUI thread nothing). A tab behind others counts as
        shown: Qt keeps it visible, and a view asked for by ``view(name)`` must be current."""
        self._latest[key] = event
        if not self.controller.shows_run():
            return  # another graph's run: kept for when that graph comes back
        view = self.built(key)
        if view is not None and view.isVisible():
            self._pending.pop(key, None)
            view.show_event(event)
        else:
            self._pending[key] = event

    def _samples(self, e) -> None:
        # the view keeps the newest of each kind and draws only while shown
        self._latest.setdefault("samples_by_kind", {})[e.kind] = e
        view = self.built("samples")
        if view is not None and self.controller.shows_run():
            view.show_event(e)

    def _retask(self) -> None:
        """The shown task may have changed: its words to the views (once one is built)."""
        if any(panel.is_built() for panel in self.panels.values()):
            apply_task(self)

    def _setup_edited(self, _index: int) -> None:
        # (the task may have been chosen). NOTE: a closing window clears its document's undo
        # stack after its docks are gone: then there is nothing left to tell.
        if all(isValid(panel) for panel in self.panels.values()):
            self._retask()

    def _flush_pending(self, name: str) -> None:
        """Panel ``name`` came on screen: give it what arrived while it was out of sight."""
        view = self.built(name)
        if name == "curves" and view is not None:
            view.redraw()  # its timer draws only while it is on screen
        event = self._pending.pop(name, None)
        if event is None or view is None:
            return
        if name == "feature_maps":
            view.show_activations(event)
        else:
            view.show_event(event)

    def _run_started(self, e) -> None:
        self._latest.clear()
        self._pending.clear()
        self._retask()
        graph = self._snapshot_graph()
        if graph is not None:
            self.badges.begin(graph)
        curves = self.built("curves")
        if curves is not None:
            curves.reset(self.controller.history)
            curves.set_extent(e.total_steps, e.epochs)
        for key in ("samples", "confusion", "histograms", "feature_maps"):
            view = self.built(key)
            if view is not None:
                view.clear()
        try_it = self.built("try_it")
        if try_it is not None and self.controller.run_dir is not None:
            try_it.set_run(self.controller.run_dir)

    def _metrics(self, _e) -> None:
        curves = self.built("curves")
        if curves is not None and self.controller.shows_run():
            if curves.history is not self.controller.history:
                curves.reset(self.controller.history)
            curves.schedule_redraw()

    def _activations(self, e) -> None:
        self._latest["activations"] = e
        if not self.controller.shows_run():
            return
        self.badges.show_event(e)
        view = self.built("feature_maps")
        if view is not None and view.isVisible():
            self._pending.pop("feature_maps", None)
            view.show_activations(e)
        else:
            self._pending["feature_maps"] = e

    def _checkpoint(self, _path) -> None:
        if not self.controller.shows_run():
            return
        try_it = self.built("try_it")
        if try_it is not None and try_it.run_dir == self.controller.run_dir:
            try_it.refresh()
        fm = self.built("feature_maps")
        if fm is not None and fm.mode == "filters":
            self._load_filters()
        embedding = self.built("embedding")
        if embedding is not None and self.controller.run_dir is not None:
            embedding.new_weights(self.controller.run_dir)

    def _run_ended(self, _e) -> None:
        if not self.controller.shows_run():
            return
        curves = self.built("curves")
        if curves is not None:
            curves.redraw()
        self._checkpoint(None)
        explain = self.built("explain")
        if explain is not None and self.controller.run_dir is not None:
            explain.set_run(self.controller.run_dir)
        style = self.built("style")
        if style is not None and self.controller.run_dir is not None and style.job is None:
            style.set_run(self.controller.run_dir)
        for name in ("attack", "dream"):
            view = self.built(name)
            if view is not None and self.controller.run_dir is not None:
                view.set_run(self.controller.run_dir)

    def _state_changed(self, state: str) -> None:
        if state == "starting":
            self.show_dashboard()
            self._send_badge_probe()

    def _snapshot_graph(self):
        if self.controller.snapshot is None:
            return None
        from ...graph import from_json

        return from_json(self.controller.snapshot[0])

    def _send_badge_probe(self) -> None:
        graph = self._snapshot_graph()
        if graph is not None:
            self.controller.set_base_probe([name for _id, name in badge_nodes(graph)])

    # --- selection → feature maps -------------------------------------------------------------

    def _selection_changed(self, ids: list) -> None:
        view = self.built("feature_maps")
        if view is not None:
            self._follow_selection(view, ids)
        else:
            self._follow_selection(None, ids)
        hist = self.built("histograms")
        name = self.controller.followed
        if hist is not None and name is not None:
            hist.select_layer(name)
        style = self.built("style")
        if style is not None:
            style.select_nodes(self._selected_names(ids))
        dream = self.built("dream")
        if dream is not None:
            dream.select_nodes(self._selected_names(ids))

    def _selected_names(self, ids: list | None = None) -> list[str]:
        """The names of the nodes selected on the canvas (of the top-level graph)."""
        canvas, graph = self.window.canvas, self.window.document.graph
        ids = canvas.selected_ids() if ids is None else ids
        return [] if canvas.path else [graph.node(i).name for i in ids if i in graph]

    def _follow_selection(self, view, ids: list | None = None) -> None:
        canvas = self.window.canvas
        ids = canvas.selected_ids() if ids is None else ids
        node = None
        if len(ids) == 1 and not canvas.path and ids[0] in self.window.document.graph:
            node = self.window.document.graph.node(ids[0])
        name = node.name if node is not None else None
        self.controller.follow_node(name)
        if view is not None:
            probed = node is None or node.spec.probe != "never"
            view.set_node(name, node.type if node is not None else None, probed)
            if view.mode == "filters":
                self._load_filters()

    def _load_filters(self) -> None:
        view = self.built("feature_maps")
        run = self.controller.run_dir or self.controller.last_run_dir
        if view is None or view.node_name is None or run is None:
            return
        from .feature_maps import load_conv_weight

        try:
            graph_json = (Path(run) / "graph.json").read_text(encoding="utf-8")
            weight = load_conv_weight(Path(run) / "weights.safetensors", graph_json,
                                      view.node_name)
        except (OSError, NetbuilderError):
            weight = None
        view.show_filters(weight)

    # --- runs ---------------------------------------------------------------------------------

    def load_run_weights(self, run) -> bool:
        """Make ``run``'s weights the graph's (checked against the graph as drawn now)."""
        from ..weights_actions import load_weights_into

        ok = load_weights_into(self.window, Path(run.path), run.name, quiet=True)
        if ok:
            self._try_run(run)
        return ok

    def _try_run(self, run) -> None:
        view = self.view("try_it")
        view.set_run(run.path, run.name)
        self.window.show_dock("try_it")

    # --- documents ----------------------------------------------------------------------------

    def _document_changed(self, doc) -> None:
        self.controller.set_document(doc)
        self.badges.clear()
        training = self.built("training")
        if training is not None:
            training.set_document(doc)
        self._show_document_run()
        self._watch_document(doc)
        self._retask()
        runs = self.built("runs")
        if runs is not None:
            runs.refresh()

    def _show_document_run(self) -> None:
        """The live views show the shown document's run, or nothing: never another graph's."""
        owns = self.controller.shows_run()
        curves = self.built("curves")
        if curves is not None:
            curves.reset(self.controller.history if owns else None)
        for key in ("samples", "confusion", "histograms", "feature_maps"):
            view = self.built(key)
            if view is not None:
                view.clear()
        self._pending.clear()
        if not owns:
            return
        for key in ("confusion", "histograms"):
            if key in self._latest:
                self._deliver(key, self._latest[key])
        for e in self._latest.get("samples_by_kind", {}).values():
            self._samples(e)
        if "activations" in self._latest:
            self._activations(self._latest["activations"])

    def _watch_document(self, doc) -> None:
        if doc is not None:
            doc.analysis_updated.connect(lambda _a, d=doc: self._recheck_data(d))
            # a method, not a lambda: the connection ends with this dashboard
            doc.undo_stack.indexChanged.connect(self._setup_edited)

    def _recheck_data(self, doc) -> None:
        """A data problem in the Problems dock goes away once the graph is fixed."""
        if doc is not self.window.document or not getattr(doc, "extra_diagnostics", None):
            return
        try:
            problems, _ = self.controller.check()
        except NetbuilderError:
            return
        doc.extra_diagnostics = [d for d in problems if d.message.startswith("Data: ")]
        self.window.problems.refresh()

def install(window) -> Dashboard:
    """Add the training dashboard to ``window`` (MainWindow calls this when it is built)."""
    dashboard = Dashboard(window)
    window.training_dashboard = dashboard
    window.start_training_for = dashboard.start_training_for
    dashboard.experiment_actions = install_experiment_actions(dashboard)
    return dashboard
