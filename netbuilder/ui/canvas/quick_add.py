"""Quick-add: a search popup over the canvas (Tab, double-click on empty canvas, or a wire
dropped on empty canvas). Type to search names and aliases; Enter adds the layer at the cursor.
Opened from a dropped wire, the layers that accept that wire's shape come first."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QVBoxLayout,
)

from ...graph import fmt_shape
from ...layers import categories, search
from . import style

TYPE_ROLE = Qt.ItemDataRole.UserRole
CATEGORY_ROLE = Qt.ItemDataRole.UserRole + 1
FITS_ROLE = Qt.ItemDataRole.UserRole + 2


def ranked_specs(text: str, shape: tuple | None = None, wired: bool = False,
                 reverse: bool = False) -> list:
    """Layers for the search text. Wired from an output: only layers with an input, those whose
    rank rule accepts ``shape`` first, then rank-agnostic ones, then the rest. Wired into an
    input: only layers with an output."""
    if text.strip():
        specs = search(text)
    else:
        specs = [s for group in categories().values() for s in group]
    if wired and not reverse:
        specs = [s for s in specs if s.inputs or s.is_block]
    if reverse:
        specs = [s for s in specs if s.outputs or s.is_block]
    if shape is None or not wired or reverse:
        return specs
    rank = len(shape)

    def fit(spec) -> int:
        if spec.rank is not None and rank in spec.rank.ranks:
            return 0
        return 1 if spec.rank is None else 2

    return sorted(specs, key=fit)  # stable: keeps the search order within each group


def fits(spec, shape: tuple | None) -> bool:
    return shape is None or spec.rank is None or len(shape) in spec.rank.ranks


class _Delegate(QStyledItemDelegate):
    """Type name on the left, category on the right in a muted colour."""

    def paint(self, painter: QPainter, option, index) -> None:
        super().paint(painter, option, index)
        category = index.data(CATEGORY_ROLE)
        if category:
            painter.save()
            painter.setFont(style.font("small"))
            selected = option.state & QStyle.StateFlag.State_Selected
            painter.setPen(QColor("#ffffff") if selected else style.colour("muted"))
            painter.drawText(option.rect.adjusted(0, 0, -10, 0),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             category)
            painter.restore()

    def sizeHint(self, option, index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), max(size.height(), 24))


def _swatch(category: str) -> QIcon:
    pm = QPixmap(12, 12)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(style.category_colour(category))
    p.drawRoundedRect(1, 1, 10, 10, 3, 3)
    p.end()
    return QIcon(pm)


class QuickAdd(QFrame):
    chosen = Signal(str)  # a layer type name

    def __init__(self, view) -> None:
        super().__init__(view)
        self.view = view
        self.setObjectName("quickAdd")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.search = QLineEdit(self)
        self.search.setObjectName("quickAddSearch")
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setObjectName("quickAddList")
        self.list.setItemDelegate(_Delegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list.setIconSize(QSize(12, 12))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.resize(300, 340)
        self.search.textChanged.connect(self._refilter)
        self.search.installEventFilter(self)
        self.list.itemClicked.connect(lambda _item: self.choose())
        self._shape = None
        self._wired = False
        self._reverse = False
        self.hide()

    def update_style(self) -> None:
        p = style.canvas_palette()
        self.setStyleSheet(
            f"#quickAdd {{ background: {p['node_body']}; border: 1px solid "
            f"{p['overlay_border']}; border-radius: 8px; }}"
            f"#quickAddSearch {{ background: {p['background']}; color: {p['text']}; border: 1px "
            f"solid {p['overlay_border']}; border-radius: 5px; padding: 5px 8px; }}"
            f"#quickAddList {{ background: transparent; color: {p['text']}; border: none; "
            f"outline: none; }}"
            f"#quickAddList::item {{ padding: 3px 4px; border-radius: 4px; }}"
            f"#quickAddList::item:selected {{ background: {p['selection']}; color: #ffffff; }}"
            f"#quickAddList QScrollBar:vertical {{ background: transparent; width: 8px; "
            f"margin: 2px; }}"
            f"#quickAddList QScrollBar::handle:vertical {{ background: {p['overlay_border']}; "
            f"border-radius: 3px; min-height: 24px; }}"
            f"#quickAddList QScrollBar::add-line, #quickAddList QScrollBar::sub-line "
            f"{{ height: 0; }}"
            f"#quickAddList QScrollBar::add-page, #quickAddList QScrollBar::sub-page "
            f"{{ background: none; }}")

    def open_at(self, viewport_pos: QPoint, shape: tuple | None = None, wired: bool = False,
                reverse: bool = False) -> None:
        self._shape, self._wired, self._reverse = shape, wired, reverse
        self.update_style()
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.search.setPlaceholderText(
            f"Layer for {_fmt(shape)}…" if wired and shape is not None else "Search layers…")
        self._refilter()
        at = self.view.viewport().mapTo(self.view, viewport_pos)
        area = self.view.rect()
        x = min(max(4, at.x()), max(4, area.width() - self.width() - 4))
        y = min(max(4, at.y()), max(4, area.height() - self.height() - 4))
        self.setGeometry(QRect(x, y, self.width(), self.height()))
        self.show()
        self.raise_()
        self.search.setFocus()

    def _refilter(self) -> None:
        self.list.clear()
        for spec in ranked_specs(self.search.text(), self._shape, self._wired, self._reverse):
            item = QListWidgetItem(_swatch(spec.category), spec.type)
            item.setData(TYPE_ROLE, spec.type)
            item.setData(CATEGORY_ROLE, spec.category)
            ok = fits(spec, self._shape) if self._wired and not self._reverse else True
            item.setData(FITS_ROLE, ok)
            if not ok:
                item.setForeground(QColor(style.colour("muted")))
            aliases = f"\nAlso: {', '.join(spec.aliases)}" if spec.aliases else ""
            item.setToolTip(f"{spec.type} — {spec.doc}{aliases}")
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.search and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 8,
                        Qt.Key.Key_PageUp: -8}[key]
                row = min(max(0, self.list.currentRow() + step), self.list.count() - 1)
                self.list.setCurrentRow(row)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.choose()
                return True
            if key == Qt.Key.Key_Escape:
                self.close_popup()
                return True
        return super().eventFilter(obj, event)

    def choose(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self.hide()
        self.chosen.emit(item.data(TYPE_ROLE))

    def close_popup(self) -> None:
        self.hide()
        self.view.setFocus()

    def types(self) -> list[str]:
        """The listed layer types, in order (what a test or a screen reader sees)."""
        return [self.list.item(i).data(TYPE_ROLE) for i in range(self.list.count())]


def _fmt(shape: tuple) -> str:
    return fmt_shape(shape)

