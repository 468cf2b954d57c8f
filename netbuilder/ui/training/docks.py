"""The training dashboard in the main window: its docks, and the wiring between the
controller, the canvas and the views.

Dock contents are built when their dock first comes on screen (``LazyPanel``): installing the
dashboard imports neither pyqtgraph nor torch, so the editor opens as fast without it. A view
built late catches up from the controller's state (history, newest events).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QDockWidget, QVBoxLayout, QWidget

from ...errors import NetbuilderError
from .badges import ActivityBadges, badge_nodes
from .controller import TrainingController

RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


class LazyPanel(QWidget):
    """Builds its content with ``factory`` the first time its dock comes on screen (or when
    asked for), and says ``shown`` each time it comes on screen again.

    NOTE: a dock tabbed behind another stays "visible" to Qt (``isVisible()`` is true; only
    its tab is not current), so raising its tab sends no show event: a show event alone left
    the panels of a real window blank. The dock's ``visibilityChanged`` is the one signal that
    every route sends (tab raise, show, restoreState, float and unfloat), so it decides.
    """

    built = Signal(object)
    shown = Signal()

    def __init__(self, factory: Callable[[], QWidget], name: str) -> None:
        super().__init__()
        self.setObjectName(f"{name}_holder")
        self.setAutoFillBackground(True)  # the views paint only their own pixels
        self._factory = factory
        self._content: QWidget | None = None
        self._dock_visible = False  # what the dock's visibilityChanged said last
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    def watch(self, dock: QDockWidget) -> None:
        """Follow ``dock``'s visibility (the dock that holds this panel)."""
        dock.visibilityChanged.connect(self._dock_visibility_changed)

    def content(self) -> QWidget:
        if self._content is None:
            self._content = self._factory()
            self.layout().addWidget(self._content)
            if self.isVisible():
                self._content.show()  # not only at the next event-loop turn
            self.built.emit(self._content)
        return self._content

    def is_built(self) -> bool:
        return self._content is not None

    def on_screen(self) -> bool:
        """Whether people can see this panel now (not hidden, not behind another tab)."""
        return self._dock_visible and self.isVisible()

    def _dock_visibility_changed(self, visible: bool) -> None:
        self._dock_visible = visible
        if visible:
            # NOTE: when the window first appears Qt shows every dock of a tab group, then
            # hides the tabs behind; building then would pull torch and scikit-learn into the
            # start-up. So build on the next event-loop turn, if the panel is still on screen.
            QTimer.singleShot(0, self._build_if_visible)

    def _build_if_visible(self) -> None:
        if self.on_screen():
            self.content()
            self.shown.emit()


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
        self._add("embedding", "Embedding", self._make_embedding, BOTTOM, "curves")
        for name in ("summary", "code"):
            if name in window.docks:
                window.docks[name].raise_()
        window.set_train_controller(self.controller)
        window.document_changed.connect(self._document_changed)
        window.canvas.selection_changed.connect(self._selection_changed)
        c = self.controller
        c.run_started.connect(self._run_started)
        c.metrics_received.connect(self._metrics)
        c.activations_received.connect(self._activations)
        c.histograms_received.connect(lambda e: self._deliver("histograms", e))
        c.samples_received.connect(self._samples)
        c.confusion_received.connect(lambda e: self._deliver("confusion", e))
        c.checkpoint_saved.connect(self._checkpoint)
        c.run_ended.connect(self._run_ended)
        c.state_changed.connect(self._state_changed)
        self._watch_document(window.document)
        app = QApplication.instance()
        if app is not None:  # quitting with a run going: end it properly, keep its files
            app.aboutToQuit.connect(self.controller.shutdown)

    # --- docks ------------------------------------------------------------------------------

    def _add(self, name: str, title: str, factory, area, tabify_with: str) -> None:
        panel = LazyPanel(factory, name)
        panel.shown.connect(lambda n=name: self._flush_pending(n))
        self.panels[name] = panel
        panel.watch(self.window.add_dock(name, title, panel, area, tabify_with=tabify_with))

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

    def _make_training(self):
        from .setup_panel import TrainingPanel

        panel = TrainingPanel(self.controller)
        panel.set_document(self.window.document)
        return panel

    def _make_curves(self):
        from .curves import CurvesView

        view = CurvesView()
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
        run = self.controller.run_dir or self.controller.last_run_dir
        if run is not None:
            view.set_run(run)
        return view

    def _make_embedding(self):
        from .embedding_view import EmbeddingView

        view = EmbeddingView()
        view.set_run(self.controller.run_dir or self.controller.last_run_dir)
        return view

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
        """Keep ``run``'s weights with the graph (checked against the graph as drawn now)."""
        from ...train.checkpoint import load_weights
        from .commands import SetGraphMetaCommand

        doc = self.window.document
        weights = Path(run.path) / "weights.safetensors"
        try:
            load_weights(doc.graph.build(), weights)
        except NetbuilderError as exc:
            self.window.show_message(f"Cannot load the weights of {run.name}: {exc}", 10000)
            return False
        where = str(weights)
        if doc.path is not None:
            try:
                where = str(weights.relative_to(doc.path.parent))
            except ValueError:
                pass
        value = {"path": where, "run": run.name, "epochs": run.epochs_done}
        ok = doc.push(SetGraphMetaCommand(doc, "weights", value,
                                          f"Load weights of {run.name}"))
        if ok:
            self.window.show_message(f"Loaded the weights of {run.name} into the graph")
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

    # --- timed runs (netbuilder FILE --train SECONDS) -------------------------------------------

    def start_training_for(self, seconds: float, wait: bool = False) -> bool:
        """Start a run and let it train ``seconds`` (counted from the worker's first progress
        report, so a slow process start does not eat the time), then stop it. With
        ``wait``, spin the event loop until then and return with the run still live (the
        screenshot renders it; the caller stops it)."""
        self.window.flush()
        c = self.controller
        if not c.start(self.window):
            return False
        loop = QEventLoop()
        state = {"done": False}

        def time_up() -> None:
            if state["done"]:  # the run ended on its own (a later run is not ours to stop)
                return
            state["done"] = True
            loop.quit()
            if not wait:
                c.stop()

        def begin(_e) -> None:
            c.progress_updated.disconnect(begin)
            state["began"] = True
            self.window.canvas.frame_all()  # the docks took room from the canvas
            QTimer.singleShot(int(seconds * 1000), time_up)

        def ended(_e) -> None:
            c.run_ended.disconnect(ended)
            if not state.get("began"):
                c.progress_updated.disconnect(begin)
            state["done"] = True
            loop.quit()

        c.progress_updated.connect(begin)
        c.run_ended.connect(ended)
        if wait:
            while not state["done"]:
                loop.exec()
            QApplication.processEvents()
        return True

def install(window) -> Dashboard:
    """Add the training dashboard to ``window`` (MainWindow calls this when it is built)."""
    dashboard = Dashboard(window)
    window.training_dashboard = dashboard
    window.start_training_for = dashboard.start_training_for
    return dashboard
