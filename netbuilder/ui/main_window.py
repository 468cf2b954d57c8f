"""The main window: a thin shell of docks, menus, toolbar and status bar around the canvas.

Panels are their own classes (``panels``); file behaviour lives in ``files``; actions, menus and
the toolbar are declared in ``actions``. Later docks (the training dashboard) register with
``add_dock`` and plug a controller into Train/Stop with ``set_train_controller``.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QUndoGroup
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QTabBar, QToolButton, QWidget

from . import actions as window_actions
from . import icons, theme
from .background_import import import_then
from .canvas.view import CanvasView
from .document import Document
from .files import FileController
from .panels import CodePanel, InspectorPanel, PaletteWidget, ProblemsPanel, SummaryPanel
from .panels.numbers import fmt_bytes, fmt_count, fmt_si, trainable_text
from .panels.summary import batch_size_of
from .settings import KEY_GEOMETRY, KEY_STATE, app_settings
from .workspaces import Workspaces

STATE_VERSION = 1
DEFAULT_SIZE = QSize(1440, 900)
# Actions on the graph on the canvas (off while the welcome page stands in its place).
GRAPH_ACTIONS = ("check", "train", "export", "export_project", "export_onnx")
ANALYSIS_MODULES = ("torch", "netbuilder.compile")  # what the first analysis imports


class MainWindow(QMainWindow):
    """One document in one window.

    Extension points: ``docks`` (name → QDockWidget) and ``add_dock``; ``set_train_controller``
    takes an object with ``start(window)`` and ``stop()`` (and optionally a
    ``running_changed(bool)`` signal) that the Train and Stop actions call.
    """

    document_changed = Signal(object)  # the new Document

    def __init__(self, document: Document | None = None, *, autosave_ms: int | None = None,
                 restore_layout: bool = True):
        super().__init__()
        self.setObjectName("main_window")
        self.setWindowIcon(icons.app_icon())
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks |
                            QMainWindow.DockOption.AllowTabbedDocks)
        self.setDocumentMode(True)
        self.document: Document | None = None
        self.docks: dict[str, QDockWidget] = {}
        self.train_controller = None
        self._training_running = False
        self._graph_actions_on = True
        self._problems_first_count = False
        self.undo_group = QUndoGroup(self)
        document = document if document is not None else Document()
        # The first paint comes before the first analysis (which imports torch: seconds).
        self._painted = False
        document.analysis_held = True

        self.canvas = CanvasView(document, self)
        self._first_paint = _FirstPaint(self.canvas.viewport(), self._first_painted)
        self.setCentralWidget(self.canvas)
        self.palette_panel = PaletteWidget()
        self.inspector = InspectorPanel()
        self.problems = ProblemsPanel()
        self.summary = SummaryPanel()
        self.code = CodePanel()
        self.files = FileController(self, autosave_ms)

        self.actions = window_actions.build_actions(self)
        window_actions.apply_icons(self.actions)
        self.toolbar = window_actions.build_toolbar(self, self.actions)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.menus = window_actions.build_menus(self, self.actions)
        self._build_docks()
        self._build_status_bar()
        self._connect()
        self.set_document(document)
        self.resize(DEFAULT_SIZE)
        self.set_train_controller(None)
        self._install_plugins()  # before restoring: saved state covers the plugins' docks too
        from .welcome import WelcomeController  # issue 8: File ▸ Welcome; the page is lazy

        self.welcome = WelcomeController(self)
        self.welcome.shown_changed.connect(lambda shown: self.set_graph_actions_enabled(not shown))
        self._raise_default_tabs()
        self.workspaces = Workspaces(self, STATE_VERSION)
        self.workspaces.add_to_menu(self.menus["view"])
        # Dock sizes only hold once the window has its real size: set them at the first show.
        self._size_docks_on_show = not (restore_layout and self.restore_layout())
        if self._size_docks_on_show:
            self.workspaces.apply_default()
        self._sync_theme_actions()

    # --- construction -------------------------------------------------------------------------

    def _build_docks(self) -> None:
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.add_dock("palette", "Layers", self.palette_panel, left)
        self.add_dock("inspector", "Inspector", self.inspector, right)
        self.add_dock("problems", "Problems", self.problems, bottom)
        self.add_dock("code", "Code", self.code, bottom)
        self.splitDockWidget(self.docks["problems"], self.docks["code"], Qt.Orientation.Horizontal)
        self.add_dock("summary", "Summary", self.summary, bottom, tabify_with="problems")
        self.docks["summary"].raise_()
        self.setCorner(Qt.Corner.BottomLeftCorner, left)
        self.setCorner(Qt.Corner.BottomRightCorner, right)

    def _raise_default_tabs(self) -> None:
        """Editing comes first: the inspector, summary and code tabs in front."""
        for name in ("inspector", "summary", "code"):
            self.docks[name].raise_()

    def default_dock_sizes(self) -> None:
        """Side docks at a comfortable width, the bottom row at about a quarter of the height."""
        horizontal, vertical = Qt.Orientation.Horizontal, Qt.Orientation.Vertical
        d = self.docks
        side = (250, 340)  # the palette fits its longest name (TransformerEncoderLayer)
        self.resizeDocks([d["palette"], d["inspector"]], list(side), horizontal)
        self.resizeDocks([d["summary"]], [max(220, self.height() * 27 // 100)], vertical)
        centre = max(400, self.width() - sum(side))
        self.resizeDocks([d["summary"], d["code"]], [centre * 58 // 100, centre * 42 // 100],
                         horizontal)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._size_docks_on_show:
            self._size_docks_on_show = False
            QTimer.singleShot(0, self.default_dock_sizes)  # after the first layout pass

    def add_dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea,
                 tabify_with: str | None = None) -> QDockWidget:
        """Put ``widget`` in a dock registered as ``docks[name]`` with a View ▸ Panels toggle."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{name}_dock")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable |
                         QDockWidget.DockWidgetFeature.DockWidgetMovable |
                         QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        if tabify_with is not None and tabify_with in self.docks:
            self.tabifyDockWidget(self.docks[tabify_with], dock)
        self.docks[name] = dock
        toggle = dock.toggleViewAction()
        toggle.setObjectName(f"action_show_{name}")
        toggle.setStatusTip(f"Show or hide the {title} panel")
        self.panels_menu.addAction(toggle)
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setObjectName("status_bar")
        bar.setSizeGripEnabled(True)
        self.problems_button = QToolButton(objectName="status_problems")
        self.problems_button.setAutoRaise(True)
        self.problems_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.problems_button.setToolTip("Show the Problems panel")
        self.problems_button.clicked.connect(lambda: self.show_dock("problems"))
        self.totals_label = QLabel(objectName="status_totals")
        self.totals_label.setToolTip("Parameters, multiply-accumulates per sample, and the "
                                     "memory the forward activations take at the training "
                                     "batch size")
        bar.addPermanentWidget(self.problems_button)
        bar.addPermanentWidget(self.totals_label)

    def _connect(self) -> None:
        a = self.actions
        f = self.files
        a["new"].triggered.connect(f.new_document)
        a["open"].triggered.connect(lambda: f.open_file())
        a["save"].triggered.connect(f.save)
        a["save_as"].triggered.connect(lambda: f.save_as())
        a["export"].triggered.connect(lambda: f.export_python())
        a["export_diagram"].triggered.connect(self._export_diagram)
        a["auto_layout_right"].triggered.connect(lambda: self.canvas.auto_layout("right"))
        a["quit"].triggered.connect(self.close)
        c = self.canvas
        for name, slot in (("cut", c.cut), ("copy", c.copy), ("paste", c.paste),
                           ("duplicate", c.duplicate), ("delete", c.delete_selected),
                           ("select_all", c.select_all), ("rename", c.rename_selected),
                           ("group", c.group_selected), ("ungroup", c.ungroup_selected),
                           ("frame_all", c.frame_all), ("frame_selection", c.frame_selection),
                           ("auto_layout", c.auto_layout), ("zoom_in", c.zoom_in),
                           ("zoom_out", c.zoom_out), ("zoom_reset", c.zoom_reset)):
            a[name].triggered.connect(lambda _=False, s=slot: s())
        a["minimap"].setChecked(c.minimap.wanted)
        a["minimap"].toggled.connect(c.set_minimap_visible)
        self.menus["view"].aboutToShow.connect(self._sync_view_menu)  # M on the canvas toggles
        a["theme_light"].triggered.connect(lambda: self.set_theme("light"))
        a["theme_dark"].triggered.connect(lambda: self.set_theme("dark"))
        a["check"].triggered.connect(self.check)
        a["train"].triggered.connect(self.start_training)
        a["stop"].triggered.connect(self.stop_training)
        a["shortcuts"].triggered.connect(self.show_shortcuts)
        a["about"].triggered.connect(self.show_about)
        c.selection_changed.connect(self._selection_changed)
        c.block_opened.connect(lambda path: self.inspector.set_selection([], path))
        c.status_message.connect(self.show_message)
        c.node_activated.connect(lambda _id: self.show_dock("inspector"))
        self.palette_panel.layer_activated.connect(self.add_layer)
        self.problems.node_requested.connect(self.reveal_node)
        self.problems.counts_changed.connect(self._problem_counts)
        self.summary.node_requested.connect(self.reveal_node)
        self.inspector.edit_refused.connect(self.show_message)
        self.files.status.connect(self.show_message)
        self.files.recent_changed.connect(self.fill_recent_menu)

    def _export_diagram(self) -> None:
        from .diagram import export_diagram_dialog  # QtSvg loads when first used

        export_diagram_dialog(self)

    def _install_plugins(self) -> None:
        """Let the training dashboard (``netbuilder.ui.training``) add its docks and controller.

        NOTE: ``install(window)`` must stay cheap; heavy imports belong in its docks' first use.
        """
        from .import_export_actions import install_import_export_actions  # File menu entries

        install_import_export_actions(self)
        from .weights_actions import install_weights_action

        install_weights_action(self)
        try:
            from . import training
        except ImportError:
            return
        install = getattr(training, "install", None)
        if install is not None:
            install(self)

    # --- documents ----------------------------------------------------------------------------

    def set_document(self, doc: Document) -> None:
        """Show ``doc`` in the canvas and every panel; the previous document is released."""
        old = self.document
        if old is doc:
            return
        if old is not None:
            old.dirty_changed.disconnect(self._update_title)
            old.path_changed.disconnect(self._update_title)
            old.analysis_updated.disconnect(self._analysis_updated)
            old.error_reported.disconnect(self.show_message)
            self.undo_group.removeStack(old.undo_stack)
        self.document = doc
        doc.setParent(self)
        if not self._painted:
            doc.analysis_held = True
        self.undo_group.addStack(doc.undo_stack)
        self.undo_group.setActiveStack(doc.undo_stack)
        doc.dirty_changed.connect(self._update_title)
        doc.path_changed.connect(self._update_title)
        doc.analysis_updated.connect(self._analysis_updated)
        doc.error_reported.connect(self.show_message)
        if self.canvas.doc is not doc:
            self.canvas.set_document(doc)
        for panel in (self.inspector, self.problems, self.summary, self.code):
            panel.set_document(doc)
        self.files.autosave.set_document(doc)
        self.inspector.set_selection([], [])
        self._update_title()
        self.totals_label.setText("Analysing…")
        self._problems_first_count = True  # a file opened with errors shows its Problems
        if old is not None:
            old.deleteLater()
        if not doc.analysis_pending():  # else the release after the first paint fills them
            QTimer.singleShot(0, self.refresh_analysis)
        self.document_changed.emit(doc)

    def _first_painted(self) -> None:
        self._painted = True
        # NOTE: the analysis needs torch: imported beside the window, so that it can be moved,
        # edited or quit meanwhile (on its own thread it froze the window for seconds).
        import_then(ANALYSIS_MODULES, self._release_first_analysis, self)

    def _release_first_analysis(self) -> None:
        if self.document is not None and self.document.analysis_held:
            self.document.release_analysis()

    def refresh_analysis(self) -> None:
        """Analyse now and have every view update.

        NOTE: one path only: the document announces its analysis (``analysis_updated``) and
        each panel, the canvas and the status bar follow that signal; nothing here calls a
        panel directly, so a view cannot be refreshed one way and forgotten the other.
        """
        if self.document is not None:
            self.document.release_analysis(now=True)

    def flush(self) -> None:
        """Finish every pending update now (tests and the screenshot call this)."""
        self.refresh_analysis()
        self.code.flush()

    def _update_title(self, *_args) -> None:
        doc = self.document
        name = doc.path.name if doc.path is not None else (doc.graph.name or "untitled")
        self.setWindowTitle(f"{name}[*] — netbuilder")
        self.setWindowModified(doc.dirty)
        self.actions["save"].setEnabled(True)

    def _analysis_updated(self, analysis) -> None:
        batch = batch_size_of(analysis.graph)
        frozen = analysis.total_params - analysis.total_trainable
        self.totals_label.setText(
            f"{fmt_count(analysis.total_params)} parameters   ·   " +
            (f"{trainable_text(analysis)}   ·   " if frozen else "") +
            f"{fmt_si(analysis.total_macs)} MACs   ·   "
            f"{fmt_bytes(analysis.activation_bytes(batch))} activations at batch {batch}")

    def _problem_counts(self, errors: int, warnings: int) -> None:
        if self._problems_first_count:
            # Only for the document's first analysis: an error that comes and goes while
            # someone wires nodes must not pull the tab from under them.
            self._problems_first_count = False
            if errors and not self.welcome_showing():
                self.show_dock("problems")
        if errors:
            self.problems_button.setIcon(icons.icon("error"))
            self.problems_button.setText(f"{errors} error" + ("s" if errors > 1 else ""))
        elif warnings:
            self.problems_button.setIcon(icons.icon("warning"))
            self.problems_button.setText(f"{warnings} warning" + ("s" if warnings > 1 else ""))
        else:
            self.problems_button.setIcon(icons.icon("check", theme.colors()["ok"]))
            self.problems_button.setText("No problems")

    # --- behaviour ----------------------------------------------------------------------------

    def _selection_changed(self, ids: list) -> None:
        self.inspector.set_selection(ids, self.canvas.path)

    def show_message(self, text: str, timeout_ms: int = 6000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def welcome_showing(self) -> bool:
        welcome = getattr(self, "welcome", None)
        return welcome is not None and welcome.showing

    def show_dock(self, name: str) -> None:
        dock = self.docks[name]
        dock.show()
        dock.raise_()

    def reveal_node(self, node_id: str) -> None:
        """Select and frame a top-level node (closing an open block first)."""
        while self.canvas.path:
            self.canvas.close_block()
        if node_id not in self.document.graph:
            return
        self.canvas.select([node_id])
        self.canvas.frame_nodes([node_id])

    def add_layer(self, type_name: str) -> None:
        """Add a layer from the palette (double-click/Enter): after the selected node and wired
        to it when exactly one is selected, else at the centre of the view."""
        selected = self.canvas.selected_ids()
        g = self.canvas.graph
        connect = None
        if len(selected) == 1 and g.output_ports(selected[0]):
            src = g.node(selected[0])
            at = self.canvas.mapFromScene(src.pos[0] + 250, src.pos[1] + 40)
            connect = (selected[0], None)
        else:
            at = self.canvas.viewport().rect().center()
        new = self.canvas.add_node(type_name, self.canvas.mapToScene(at), connect_from=connect)
        if new is None and connect is not None:  # e.g. the selection takes no wire: just add
            self.canvas.add_node(type_name, self.canvas.mapToScene(at))
        self.canvas.setFocus()

    def check(self) -> None:
        """Diagnostics plus code generation; the result goes to the status bar and Problems."""
        self.flush()
        diags = self.document.diagnostics()
        errors = sum(d.is_error for d in diags)
        warnings = sum(d.severity == "warning" for d in diags)
        if errors or warnings:
            self.show_dock("problems")
        if errors:
            self.show_message(f"Check: {errors} error(s), {warnings} warning(s): see Problems")
        else:
            a = self.document.analysis()
            note = f", {warnings} warning(s)" if warnings else ""
            self.show_message(f"Check passed: the graph compiles "
                              f"({a.total_params:,} parameters{note})")

    def set_theme(self, name: str) -> None:
        theme.apply_theme(name)
        window_actions.apply_icons(self.actions)
        self._sync_theme_actions()
        if self.document is not None:
            self.problems.refresh()

    def _sync_view_menu(self) -> None:
        action = self.actions["minimap"]
        action.blockSignals(True)
        action.setChecked(self.canvas.minimap.wanted)
        action.blockSignals(False)

    def _sync_theme_actions(self) -> None:
        current = theme.current_theme()
        self.actions["theme_light"].setChecked(current == "light")
        self.actions["theme_dark"].setChecked(current == "dark")

    def show_shortcuts(self) -> None:
        from .shortcuts import ShortcutsDialog

        ShortcutsDialog(self.actions, self).exec()

    def show_about(self) -> None:
        from .about import AboutDialog

        AboutDialog(self).exec()

    def fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        files = self.files.recent_files()
        for i, path in enumerate(files):
            a = menu.addAction(f"&{i + 1}  {Path(path).name}" if i < 9 else Path(path).name)
            a.setObjectName(f"recent_{i}")
            a.setStatusTip(path)
            a.setToolTip(path)
            a.triggered.connect(lambda _=False, p=path: self.files.open_file(p))
        if files:
            menu.addSeparator()
            clear = menu.addAction("Clear Recent Files")
            clear.setObjectName("recent_clear")
            clear.triggered.connect(self.files.clear_recent)
        else:
            empty = menu.addAction("No recent files")
            empty.setEnabled(False)

    # --- training (the dashboard plugs in here) -----------------------------------------------

    def set_train_controller(self, controller) -> None:
        """Plug in what Train/Stop do (see the class docstring); None disables them."""
        previous = getattr(self.train_controller, "running_changed", None)
        if previous is not None:
            previous.disconnect(self.set_training_running)
        self.train_controller = controller
        signal = getattr(controller, "running_changed", None)
        if signal is not None:
            signal.connect(self.set_training_running)
        self.set_training_running(False)

    def set_training_running(self, running: bool) -> None:
        has = self.train_controller is not None
        self._training_running = running
        self.actions["train"].setEnabled(has and not running and self._graph_actions_on)
        self.actions["stop"].setEnabled(has and running)

    def set_graph_actions_enabled(self, on: bool) -> None:
        """Check, Train and Export act on the graph on the canvas: off while the welcome page
        stands in its place (Stop stays usable: a run may go on meanwhile)."""
        self._graph_actions_on = on
        for name in GRAPH_ACTIONS:
            if name in self.actions:
                self.actions[name].setEnabled(on)
        self.set_training_running(self._training_running)

    def start_training(self) -> None:
        if self.train_controller is not None:
            self.train_controller.start(self)

    def stop_training(self) -> None:
        if self.train_controller is not None:
            self.train_controller.stop()

    # --- window state -------------------------------------------------------------------------

    def restore_layout(self) -> bool:
        """Geometry and dock layout from the settings; False when there were none."""
        s = app_settings()
        geometry = s.value(KEY_GEOMETRY)
        state = s.value(KEY_STATE)
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.workspaces.load()
        return state is not None and self.restoreState(state, STATE_VERSION)

    def save_layout(self) -> None:
        s = app_settings()
        s.setValue(KEY_GEOMETRY, self.saveGeometry())
        s.setValue(KEY_STATE, self.saveState(STATE_VERSION))
        self.workspaces.save()
        s.sync()

    def closeEvent(self, event) -> None:
        if not self.files.maybe_save():
            event.ignore()
            return
        if self.train_controller is not None:
            self.train_controller.stop()
            release = getattr(self.train_controller, "release_worker", None)
            if release is not None:  # its warm training process, once no run needs it
                release()
        self.save_layout()
        self.files.autosave.shutdown()
        self.canvas.close()
        event.accept()

    def event(self, event) -> bool:
        # NOTE: the dock areas' tab bars are made by Qt as docks are tabbed; on a 1366-pixel
        # screen five tabs elided to "C…", "Sa…": whole names, with scroll arrows, instead.
        if event.type() == QEvent.Type.ChildPolished and isinstance(event.child(), QTabBar):
            event.child().setElideMode(Qt.TextElideMode.ElideNone)
            event.child().setUsesScrollButtons(True)
        return super().event(event)

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "actions"):
            window_actions.apply_icons(self.actions)
        super().changeEvent(event)


class _FirstPaint(QObject):
    """Calls ``callback`` once, on the event-loop turn after ``widget`` first paints."""

    def __init__(self, widget: QWidget, callback) -> None:
        super().__init__(widget)
        self._callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self._callback)
        return False
