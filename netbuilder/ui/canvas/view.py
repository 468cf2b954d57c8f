"""The canvas widget: shows one level of a document's graph (the top level or an opened block)
and turns gestures into undoable commands. It holds no graph state of its own."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QFontInfo, QPainter, QTransform
from PySide6.QtWidgets import QApplication, QGraphicsView, QWidget

from ...errors import NetbuilderError
from ..shared_edit import ask as ask_shared_edit
from . import style
from .actions import EditActions
from .breadcrumb import BreadcrumbBar
from .keys import action_for
from .minimap import Minimap
from .node_item import NodeItem
from .node_menu import open_node_menu
from .node_move import NodeMove
from .pan import Pan, show_space_held, wants_pan
from .port_item import PortItem
from .quick_add import QuickAdd
from .rename import RenameEditor
from .rubber_band import RubberBand
from .scene import GraphScene
from .wire_drag import WireDrag
from .wire_item import WireItem

LAYER_MIME = "application/x-netbuilder-layer"


class CanvasView(EditActions, QGraphicsView):
    """The node editor. Keys (when it has focus): Del/Backspace delete, Ctrl+D duplicate,
    Ctrl+C/X/V copy/cut/paste, Ctrl+A select all, F2 rename, Ctrl+G group, Ctrl+Shift+G
    ungroup, Tab quick-add, F frame all, Shift+F frame selection, Ctrl++/Ctrl+- zoom,
    Ctrl+0 100 %, Ctrl+Shift+L auto-layout, M minimap, Esc close block, Ctrl+Z undo,
    Ctrl+Shift+Z/Ctrl+Y redo; wheel zooms, middle drag or Space+drag pans."""

    selection_changed = Signal(list)  # node ids
    node_activated = Signal(str)  # double click on a (non-block) node
    block_opened = Signal(list)  # path of block ids from the top level
    breadcrumb_changed = Signal(list)  # names: graph name, then each opened block
    status_message = Signal(str)
    minimap_toggled = Signal(bool)  # shown or hidden (M, or set_minimap_visible)

    def __init__(self, document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.doc = None
        self._path: list[str] = []
        self._scene: GraphScene | None = None
        self._activity: dict[str, dict] = {}
        # the gesture in progress (Pan, WireDrag, RubberBand): it gets the mouse, not Qt
        self._interaction = None
        self._node_move: NodeMove | None = None  # nodes Qt drags, recorded on release
        self.context_menu = None  # the node menu last opened (a right-click)
        self.space_down = False  # Space held: a left drag pans
        self._paste_count = 0
        self._needs_frame = True
        # framed as it opened, and not moved since: a resize (the docks settling around the
        # canvas) frames it again, so it opens framed for the size the canvas ends up with
        self._as_opened = False
        self.setRenderHints(QPainter.RenderHint.Antialiasing |
                            QPainter.RenderHint.TextAntialiasing |
                            QPainter.RenderHint.SmoothPixmapTransform)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.quick_add = QuickAdd(self)
        self.quick_add.chosen.connect(self._quick_add_chosen)
        self.minimap = Minimap(self)
        self.breadcrumb_bar = BreadcrumbBar(self)
        self.breadcrumb_bar.level_chosen.connect(self._close_to_level)
        self.rename_editor = RenameEditor(self)
        style.register_view(self)
        self.palette_changed()
        self.set_document(document)

    # --- document and levels ------------------------------------------------------------------

    def set_document(self, doc) -> None:
        """Show ``doc`` (its top level); the previous document is let go."""
        if self.doc is not None:
            self.doc.analysis_updated.disconnect(self._analysis_updated)
            self.doc.undo_stack.indexChanged.disconnect(self._stack_moved)
            self.doc.error_reported.disconnect(self.status_message)
        self.doc = doc
        self._path = []
        self._activity.clear()
        doc.analysis_updated.connect(self._analysis_updated)
        doc.undo_stack.indexChanged.connect(self._stack_moved)
        doc.error_reported.connect(self.status_message)
        if doc.ask_shared_edit is None:
            doc.ask_shared_edit = lambda name, n: ask_shared_edit(self, name, n)
        self._show_level()
        self._needs_frame = True
        if self.isVisible():
            self.frame_for_reading()

    @property
    def graph(self):
        """The graph shown now (the top level, or the inside of the opened block)."""
        return self._scene.graph

    @property
    def path(self) -> list[str]:
        return list(self._path)

    def graph_scene(self) -> GraphScene:
        return self._scene

    def open_block(self, block_id: str) -> None:
        node = self.graph.node(block_id)
        if node.inner is None:
            raise NetbuilderError(f"{node.label} is not a block", node=block_id)
        self._path.append(block_id)
        self._show_level()
        self.frame_for_reading()
        self.block_opened.emit(list(self._path))

    def close_block(self) -> None:
        """Back to the graph around the opened block (Esc)."""
        if self._path:
            self._close_to_level(len(self._path) - 1)

    def breadcrumb(self) -> list[str]:
        names = [self.doc.graph.name or "graph"]
        g = self.doc.graph
        for block_id in self._path:
            names.append(g.node(block_id).name)
            g = g.node(block_id).inner
        return names

    def _close_to_level(self, depth: int) -> None:
        if depth >= len(self._path):
            return
        came_from = self._path[depth]
        del self._path[depth:]
        self._show_level()
        self.select([came_from])
        self.frame_all()
        self.block_opened.emit(list(self._path))

    def _show_level(self) -> None:
        old = self._scene
        analysis, diagnostics = self._level_analysis()
        self._scene = GraphScene(self.doc.graph_at(self._path), self._activity
                                 if not self._path else {}, self, analysis, diagnostics)
        self._scene.selectionChanged.connect(self._scene_selection_changed)
        self._scene.changed.connect(self.minimap.schedule_update)
        self.setScene(self._scene)
        self._sync_lod()
        if old is not None:
            old.detach()
            old.deleteLater()
        self.breadcrumb_bar.set_names(self.breadcrumb())
        self.breadcrumb_changed.emit(self.breadcrumb())
        self.minimap.schedule_update()

    def _stack_moved(self, _index: int) -> None:
        self._as_opened = False  # an edit: the view stays where the person works
        # An undo may have removed (or replaced) a block that is open: fall back to the deepest
        # level that still exists and is the same graph.
        g = self.doc.graph
        for depth, block_id in enumerate(self._path):
            node = g.node(block_id) if block_id in g else None
            if node is None or node.inner is None:
                self._close_to_level(depth)
                return
            g = node.inner
        if g is not self._scene.graph:
            self._show_level()

    def _analysis_updated(self, _analysis) -> None:
        self._apply_analysis()

    def _level_analysis(self) -> tuple:
        """(analysis, diagnostics) of the level shown: inside a block, the block's own."""
        if self.doc.analysis_pending():  # the window paints first; shapes follow
            return None, []
        if self._path:
            a = self.doc.analysis_at(self._path)
            return a, (list(a.diagnostics) if a is not None else [])
        return self.doc.analysis(), self.doc.diagnostics()

    def _apply_analysis(self) -> None:
        self._scene.apply_analysis(*self._level_analysis())

    # --- selection ------------------------------------------------------------------------------

    def selected_ids(self) -> list[str]:
        return self._scene.selected_ids()

    def select(self, ids) -> None:
        self._scene.select(list(ids))

    def _scene_selection_changed(self) -> None:
        self.selection_changed.emit(self.selected_ids())

    # --- framing and zoom -------------------------------------------------------------------------

    def zoom(self) -> float:
        return self.transform().m11()

    def left_as_opened(self) -> None:
        """The person moved the view: a resize no longer frames the graph again."""
        self._as_opened = False

    def _sync_lod(self) -> None:
        """Zoomed out, the scene's overview draws the map (see overview.py)."""
        if self._scene is not None:
            self._scene.set_overview(self.lod() != "full")

    def lod(self) -> str:
        """"full", "low" or "tiny": what the nodes draw at the current zoom."""
        return style.lod_name(self.zoom())

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the scene point under ``anchor`` (a viewport position; default: the
        centre) where it is, within the zoom limits."""
        target = min(style.MAX_SCALE, max(style.MIN_SCALE, self.zoom() * factor))
        f = target / self.zoom()
        self._as_opened = False
        at = QPointF(anchor) if anchor is not None else QRectF(self.viewport().rect()).center()
        fixed = self.mapToScene(at.toPoint())
        self.scale(f, f)
        drift = self.mapFromScene(fixed) - at.toPoint()
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())
        self.status_message.emit(f"Zoom {round(self.zoom() * 100)}%")
        self._sync_lod()
        self.minimap.schedule_update()

    def set_zoom(self, scale: float) -> None:
        self.zoom_by(scale / self.zoom())

    def frame_all(self) -> None:
        self._needs_frame = self._as_opened = False
        self._frame(self._scene.nodes_rect())

    def frame_selection(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.frame_nodes(ids)
        else:
            self.frame_all()

    def frame_nodes(self, ids) -> None:
        self._frame(self._scene.nodes_rect(list(ids)))

    def _frame(self, rect: QRectF, readable: bool = False) -> None:
        """Fit ``rect`` in the view; with ``readable``, never below the zoom at which node
        names are as large as the palette's text: a large graph then shows its beginning (top
        left) and the rest is a pan away, instead of shrinking to illegible specks."""
        if rect.isNull():
            self.setTransform(QTransform())
            self.centerOn(0, 0)
            self._sync_lod()
            return
        margin = 60.0
        rect = rect.adjusted(-margin, -margin, margin, margin)
        vp = self.viewport().rect()
        scale = min(vp.width() / rect.width(), vp.height() / rect.height())
        scale = min(1.25, max(style.MIN_SCALE, scale))  # small graphs are not blown up
        if readable:
            scale = max(scale, self.readable_scale())
        self.setTransform(QTransform.fromScale(scale, scale))
        shown_w, shown_h = vp.width() / scale, vp.height() / scale
        cx = rect.center().x() if rect.width() <= shown_w else rect.left() + shown_w / 2
        cy = rect.center().y() if rect.height() <= shown_h else rect.top() + shown_h / 2
        self.centerOn(QPointF(cx, cy))
        self._sync_lod()
        self.minimap.schedule_update()

    def readable_scale(self) -> float:
        """The zoom at which a node's name is drawn as large as the palette's (the
        application's) text."""
        app_px = QFontInfo(QApplication.font()).pixelSize()
        return min(1.25, max(0.5, app_px / style.font("title").pixelSize()))

    def frame_for_reading(self) -> None:
        """Frame the graph as it opens: all of it if it fits at a readable zoom, else its
        beginning at that zoom."""
        self._needs_frame = False
        self._frame(self._scene.nodes_rect(), readable=True)
        self._as_opened = True

    # --- palette -------------------------------------------------------------------------------

    def palette_changed(self) -> None:
        self.setBackgroundBrush(style.colour("background"))
        self.resetCachedContent()
        if self._scene is not None:
            self._scene.update()
        self.minimap.schedule_update()
        self.breadcrumb_bar.update_style()

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, style.colour("background"))
        style.draw_grid(painter, rect, self.zoom())

    # --- drops from the palette ------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        if not event.mimeData().hasFormat(LAYER_MIME):
            event.ignore()
            return
        type_name = bytes(event.mimeData().data(LAYER_MIME)).decode("utf-8").strip()
        at = self.mapToScene(event.position().toPoint())
        event.acceptProposedAction()
        self.add_node(type_name, at, on_wire=self.wire_at(at))
        self.setFocus()

    # --- mouse -----------------------------------------------------------------------------------

    def mousePressEvent(self, event) -> None:
        self.rename_editor.commit()
        if self.quick_add.isVisible():
            self.quick_add.close_popup()
        pos = event.position().toPoint()
        self._interaction = self._gesture_for(event, pos)
        if self._interaction is not None:
            event.accept()
            return
        super().mousePressEvent(event)
        self._node_move = NodeMove.start(self)

    def _gesture_for(self, event, pos: QPoint):
        """The gesture a press starts on the canvas itself (None: Qt handles the press)."""
        if wants_pan(event, self.space_down):
            return Pan(self, pos)
        if event.button() != Qt.MouseButton.LeftButton:
            return None
        item = self._item_at(pos)
        if isinstance(item, PortItem):
            return WireDrag(self, item)
        if item is None:
            extend = bool(event.modifiers() & (Qt.KeyboardModifier.ShiftModifier |
                                               Qt.KeyboardModifier.ControlModifier))
            return RubberBand(self, self.mapToScene(pos), extend)
        return None

    def mouseMoveEvent(self, event) -> None:
        pos = event.position().toPoint()
        if self._interaction is not None:
            self._interaction.move(self.mapToScene(pos), pos)
            event.accept()
            return
        super().mouseMoveEvent(event)
        if self._node_move is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self._node_move.follow()

    def mouseReleaseEvent(self, event) -> None:
        pos = event.position().toPoint()
        if self._interaction is not None:
            interaction, self._interaction = self._interaction, None
            interaction.finish(self.mapToScene(pos), pos)
            event.accept()
            return
        super().mouseReleaseEvent(event)
        move, self._node_move = self._node_move, None
        if move is not None:
            move.finish(self.mapToScene(pos))

    def mouseDoubleClickEvent(self, event) -> None:
        pos = event.position().toPoint()
        item = self._item_at(pos)
        if item is None:
            self.open_quick_add(pos)
            event.accept()
            return
        node = item if isinstance(item, NodeItem) else (
            item.node_item if isinstance(item, PortItem) else None)
        if node is not None:
            if self.graph.node(node.node_id).inner is not None:
                self.open_block(node.node_id)
            else:
                self.node_activated.emit(node.node_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(1.0015 ** delta, anchor=event.position())
        event.accept()

    def contextMenuEvent(self, event) -> None:
        item = self._item_at(event.pos())
        if isinstance(item, NodeItem):
            self.context_menu = open_node_menu(self, item, event.globalPos())
            event.accept()
            return
        super().contextMenuEvent(event)

    def _item_at(self, viewport_pos: QPoint):
        """The top node, port or wire under a viewport point (labels and badges excluded)."""
        for item in self.items(viewport_pos):
            if isinstance(item, (PortItem, NodeItem, WireItem)):
                return item
        return None

    # --- keys -------------------------------------------------------------------------------------

    def event(self, event) -> bool:
        # Take our keys before window-wide shortcuts (the app's Edit menu uses the same keys;
        # when the canvas has focus it is the canvas that acts), and keep Tab from moving focus.
        if event.type() == QEvent.Type.ShortcutOverride and action_for(event):
            event.accept()
            return True
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Tab:
            self.keyPressEvent(event)
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.space_down = True
            show_space_held(self, True)
            event.accept()
            return
        action = action_for(event)
        if action is None:
            super().keyPressEvent(event)
            return
        event.accept()
        getattr(self, action)()

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.space_down = False
            show_space_held(self, False)
            event.accept()
            return
        super().keyReleaseEvent(event)

    # --- layout of the overlays ------------------------------------------------------------------

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._needs_frame:  # the first time it has a real size, frame the graph
            self.frame_for_reading()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._as_opened and self.isVisible():
            self.frame_for_reading()
        self.minimap.place()
        self.breadcrumb_bar.place()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self.minimap.schedule_update()

    def closeEvent(self, event) -> None:
        if self._scene is not None:
            self._scene.detach()
        super().closeEvent(event)

