"""The layer palette: every layer type by category, a search box, drag onto the canvas.

Categories collapse with a click on their header and stay as left (remembered in settings); a
"Recently used" group at the top keeps the last layers added from the palette.
"""
from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...layers import LayerSpec, all_specs, get_spec, search
from ..settings import KEY_PALETTE_COLLAPSED, KEY_PALETTE_RECENT, app_settings, read_list

LAYER_MIME = "application/x-netbuilder-layer"
TYPE_ROLE = Qt.ItemDataRole.UserRole
RECENT = "Recently used"
MAX_RECENT = 8

# The order a person reads the palette in: data in, the common layers, then the special ones.
CATEGORY_ORDER = (
    "Input/Output", "Dense", "Convolution", "Pooling", "Normalization", "Activation",
    "Regularization", "Shape", "Merge", "Recurrent", "Attention", "Resampling", "Generative",
    "Blocks",
)

# Fallback colours when the canvas does not publish its category colours.
_FALLBACK_COLORS = ("#4c8dff", "#f2a93b", "#36c08a", "#b07cf7", "#ef6b6b", "#2bb3c0",
                    "#d98b3a", "#8a94a6")


def category_color(category: str) -> QColor:
    """The colour nodes of ``category`` have on the canvas."""
    try:
        from ..canvas import style

        fn = getattr(style, "category_colour", None)
        if fn is not None:
            return QColor(fn(category))
    except ImportError:
        pass
    index = CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(category)
    return QColor(_FALLBACK_COLORS[index % len(_FALLBACK_COLORS)])


def _swatch(color: QColor) -> QIcon:
    pm = QPixmap(24, 24)
    pm.setDevicePixelRatio(2.0)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(color)
    p.drawRoundedRect(2, 3, 8, 6, 2, 2)
    p.end()
    return QIcon(pm)


def tooltip_html(spec: LayerSpec) -> str:
    aliases = ", ".join(spec.aliases)
    also = f"<br><i>also: {aliases}</i>" if aliases else ""
    return (f"<b>{spec.type}</b> &nbsp;<span style='opacity:.7'>{spec.category}</span>"
            f"<br>{spec.doc}{also}<br><span style='opacity:.7'>Drag onto the canvas, or "
            f"double-click to add it after the selection.</span>")


class LayerTree(QTreeWidget):
    """The tree whose layer items drag as ``application/x-netbuilder-layer`` (the type name)."""

    dropped = Signal(str)  # a layer type dragged out of the palette and dropped

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, items) -> QMimeData:
        types = [it.data(0, TYPE_ROLE) for it in items if it.data(0, TYPE_ROLE)]
        data = QMimeData()
        if types:
            data.setData(LAYER_MIME, types[0].encode("utf-8"))
            data.setText(types[0])
        return data

    def supportedDropActions(self):
        return Qt.DropAction.CopyAction

    def startDrag(self, actions) -> None:
        # NOTE: QDrag.exec() runs its own event loop; a drop the canvas accepted counts as an
        # addition from the palette (a cancelled drag does not).
        from PySide6.QtGui import QDrag

        item = self.currentItem()
        type_name = item.data(0, TYPE_ROLE) if item is not None else None
        if not type_name:
            return
        drag = QDrag(self)
        drag.setMimeData(self.mimeData([item]))
        if drag.exec(Qt.DropAction.CopyAction) == Qt.DropAction.CopyAction:
            self.dropped.emit(type_name)


class PaletteWidget(QWidget):
    """Categories of layers, filtered by a search over names and aliases."""

    layer_activated = Signal(str)  # a layer type the user double-clicked or chose with Enter

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("palette")
        self.search_box = QLineEdit(objectName="palette_search")
        self.search_box.setPlaceholderText("Search layers: dense, conv, pool…")
        self.search_box.setClearButtonEnabled(True)
        self.tree = LayerTree(objectName="palette_tree")
        self.tree.setHeaderHidden(True)
        self.tree.setIndentation(12)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setExpandsOnDoubleClick(False)  # a single click on a header toggles it
        self.setMinimumWidth(180)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search_box)
        layout.addWidget(self.tree)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._categories: dict[str, QTreeWidgetItem] = {}
        self._recent: QTreeWidgetItem | None = None
        self._filtering = False  # while a search shows its matches, expansion is not remembered
        self._settings = app_settings()
        self._populate()
        self._restore_expansion()
        self._show_recent(read_list(self._settings, KEY_PALETTE_RECENT))
        self.search_box.textChanged.connect(self.set_filter)
        self.search_box.returnPressed.connect(self._activate_first)
        self.tree.itemActivated.connect(self._item_activated)
        self.tree.itemClicked.connect(self._header_clicked)
        self.tree.itemExpanded.connect(self._remember_expansion)
        self.tree.itemCollapsed.connect(self._remember_expansion)
        self.tree.dropped.connect(self.note_used)

    def _populate(self) -> None:
        specs = sorted(all_specs(), key=lambda s: (
            CATEGORY_ORDER.index(s.category) if s.category in CATEGORY_ORDER else 99,
            s.category))
        bold = self.font()
        bold.setBold(True)
        for spec in specs:
            cat = self._categories.get(spec.category)
            if cat is None:
                cat = QTreeWidgetItem([spec.category])
                cat.setFont(0, bold)
                cat.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.tree.addTopLevelItem(cat)
                self._categories[spec.category] = cat
            item = self._layer_item(spec)
            cat.addChild(item)
            self._items[spec.type] = item
        self.tree.expandAll()

    @staticmethod
    def _layer_item(spec: LayerSpec) -> QTreeWidgetItem:
        item = QTreeWidgetItem([spec.type])
        item.setData(0, TYPE_ROLE, spec.type)
        item.setToolTip(0, tooltip_html(spec))
        item.setStatusTip(0, spec.doc)
        item.setIcon(0, _swatch(category_color(spec.category)))
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable |
                      Qt.ItemFlag.ItemIsDragEnabled)
        return item

    # --- queries (tests and the main window use these) -------------------------------------

    def item(self, type_name: str) -> QTreeWidgetItem:
        return self._items[type_name]

    def visible_types(self) -> list[str]:
        """Layer types currently shown under their categories, in display order."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            cat = self.tree.topLevelItem(i)
            if cat.isHidden() or cat is self._recent:
                continue
            out += [cat.child(j).data(0, TYPE_ROLE) for j in range(cat.childCount())
                    if not cat.child(j).isHidden()]
        return out

    def mimeData(self, items) -> QMimeData:
        """The drag payload for ``items`` (what a drop on the canvas receives)."""
        return self.tree.mimeData(list(items))

    def category_item(self, name: str) -> QTreeWidgetItem:
        """The header of category ``name`` ("Recently used" included)."""
        return self._recent if name == RECENT else self._categories[name]

    def recent_types(self) -> list[str]:
        """The "Recently used" group, newest first (empty when nothing was added yet)."""
        if self._recent is None:
            return []
        return [self._recent.child(j).data(0, TYPE_ROLE) for j in range(self._recent.childCount())]

    def collapsed_categories(self) -> list[str]:
        return [name for name, cat in self._categories.items() if not cat.isExpanded()]

    # --- remembered state ------------------------------------------------------------------

    def note_used(self, type_name: str) -> None:
        """Put ``type_name`` first in "Recently used" and remember it."""
        recent = [type_name] + [t for t in self.recent_types() if t != type_name]
        self._show_recent(recent[:MAX_RECENT])
        self._settings.setValue(KEY_PALETTE_RECENT, self.recent_types())

    def _show_recent(self, types: list[str]) -> None:
        known = {s.type for s in all_specs()}
        types = [t for t in types if t in known]  # a layer type that has gone since is dropped
        if not types:
            return
        if self._recent is None:
            self._recent = QTreeWidgetItem([RECENT])
            font = self.font()
            font.setBold(True)
            self._recent.setFont(0, font)
            self._recent.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.insertTopLevelItem(0, self._recent)
        self._recent.takeChildren()
        for t in types:
            self._recent.addChild(self._layer_item(get_spec(t)))
        self._recent.setHidden(self._filtering)
        self._recent.setExpanded(RECENT not in self._remembered_collapsed())

    def _remembered_collapsed(self) -> list[str]:
        return read_list(self._settings, KEY_PALETTE_COLLAPSED)

    def _restore_expansion(self) -> None:
        collapsed = set(self._remembered_collapsed())
        for name, cat in self._categories.items():
            cat.setExpanded(name not in collapsed)
        if self._recent is not None:
            self._recent.setExpanded(RECENT not in collapsed)

    def _remember_expansion(self, item: QTreeWidgetItem) -> None:
        if self._filtering or item.data(0, TYPE_ROLE):
            return
        collapsed = self.collapsed_categories()
        if self._recent is not None and not self._recent.isExpanded():
            collapsed.append(RECENT)
        self._settings.setValue(KEY_PALETTE_COLLAPSED, collapsed)

    def _header_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if not item.data(0, TYPE_ROLE):
            item.setExpanded(not item.isExpanded())

    # --- behaviour ------------------------------------------------------------------------

    def set_filter(self, text: str) -> None:
        """Show only layers whose name or aliases match ``text`` (all when empty)."""
        text = text.strip()
        matches = {s.type for s in search(text)} if text else set(self._items)
        for type_name, item in self._items.items():
            item.setHidden(type_name not in matches)
        # While searching every category with a match is open; the remembered state comes back
        # when the search is cleared.
        self._filtering = True
        for cat in self._categories.values():
            shown = any(not cat.child(j).isHidden() for j in range(cat.childCount()))
            cat.setHidden(not shown)
            cat.setExpanded(True)
        if self._recent is not None:
            self._recent.setHidden(bool(text))
        if not text:
            self._restore_expansion()
        self._filtering = bool(text)
        first = self._first_match(text)
        if first is not None:
            self.tree.setCurrentItem(self._items[first])

    def _first_match(self, text: str) -> str | None:
        if not text:
            return None
        ranked = [s.type for s in search(text)]
        return ranked[0] if ranked else None

    def _activate_first(self) -> None:
        current = self.tree.currentItem()
        type_name = current.data(0, TYPE_ROLE) if current is not None else None
        if type_name and not current.isHidden():
            self._activate(type_name)

    def _item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        type_name = item.data(0, TYPE_ROLE)
        if type_name:
            self._activate(type_name)

    def _activate(self, type_name: str) -> None:
        self.layer_activated.emit(type_name)
        self.note_used(type_name)

    def keyPressEvent(self, event):
        # Down from the search box moves into the list, as in any search-as-you-type list.
        if event.key() == Qt.Key.Key_Down and self.search_box.hasFocus():
            self.tree.setFocus()
            return
        super().keyPressEvent(event)
