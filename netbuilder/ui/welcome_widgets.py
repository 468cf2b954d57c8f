"""The pieces of the welcome page: clickable rows and example cards, and a grid that reflows
cards into as many columns as fit."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetricsF, QImage, QPixmap, QTextLayout
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from . import theme
from .thumbnails import rounded

CARD_WIDTH = 272
THUMB_SIZE = QSize(CARD_WIDTH - 16, 144)
CARD_SPACING = 18
LINE_ROWS = 3  # lines of description under a card's title


class Clickable(QFrame):
    """A frame that acts like a button: click, Enter or Space emits ``clicked``; hover and
    keyboard focus show in the style sheet (``:hover``, ``:focus``)."""

    clicked = Signal()

    def __init__(self, role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", role)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._pressed = False

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._pressed = True
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pressed and event.button() == Qt.MouseButton.LeftButton:
            self._pressed = False
            if self.rect().contains(event.position().toPoint()):
                self.clicked.emit()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.clicked.emit()
            event.accept()
        else:
            super().keyPressEvent(event)


def _label(text: str = "", role: str | None = None, name: str | None = None) -> QLabel:
    label = QLabel(text)
    if role:
        label.setProperty("role", role)
    if name:
        label.setObjectName(name)
    label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    return label


class ActionRow(Clickable):
    """Icon, text and (muted, right-aligned) a key or a detail: one line of the side panel."""

    def __init__(self, name: str, text: str, detail: str = "", parent=None) -> None:
        super().__init__("welcome-row", parent)
        self.setObjectName(name)
        self.icon_label = _label()
        self.icon_label.setFixedSize(18, 18)
        self.text_label = _label(text, "row-text")
        self.detail_label = _label(detail, "row-detail")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 7, 10, 7)
        layout.setSpacing(10)
        layout.addWidget(self.icon_label)
        layout.addWidget(self.text_label, 1)
        layout.addWidget(self.detail_label)

    def set_icon(self, pixmap: QPixmap) -> None:
        self.icon_label.setPixmap(pixmap)


class RecentRow(Clickable):
    """A recent file: its name, and the folder it is in (muted, elided in the middle)."""

    def __init__(self, name: str, path: str, parent=None) -> None:
        super().__init__("welcome-row", parent)
        from pathlib import Path

        self.setObjectName(name)
        self.path = path
        self.setToolTip(path)
        self.name_label = _label(Path(path).name, "row-text")
        self.folder = str(Path(path).parent)
        self.folder_label = _label(self.folder, "row-detail")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(1)
        layout.addWidget(self.name_label)
        layout.addWidget(self.folder_label)

    def resizeEvent(self, event) -> None:
        width = max(40, self.width() - 22)
        metrics = self.folder_label.fontMetrics()
        self.folder_label.setText(metrics.elidedText(self.folder, Qt.TextElideMode.ElideMiddle,
                                                     width))
        super().resizeEvent(event)


def elide_lines(text: str, font: QFont, width: float, lines: int) -> str:
    """``text`` wrapped to ``width`` and cut with an ellipsis after ``lines`` lines."""
    layout = QTextLayout(text, font)
    layout.beginLayout()
    kept: list[str] = []
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        start, length = line.textStart(), line.textLength()
        if len(kept) == lines - 1:
            rest = text[start:]
            metrics = QFontMetricsF(font)
            kept.append(metrics.elidedText(rest, Qt.TextElideMode.ElideRight, width))
            break
        kept.append(text[start:start + length].rstrip())
    layout.endLayout()
    return "\n".join(kept)


class ExampleCard(Clickable):
    """One example: a thumbnail of its graph, its kind, its title and what it teaches."""

    def __init__(self, path, title: str, line: str, kind: str = "", colour: str = "",
                 parent=None) -> None:
        super().__init__("example-card", parent)
        self.path = path
        self.title = title
        self.line = line
        self.kind = kind
        self.setObjectName(f"example_card_{path.stem}")
        self.setFixedWidth(CARD_WIDTH)
        self.setToolTip(f"<b>{title}</b><br>{line}<br><br>Click to open it as a new, "
                        f"untitled graph.")
        self.thumb = _label(name="card_thumbnail")
        self.thumb.setFixedSize(THUMB_SIZE)
        self.has_thumbnail = False
        self.kind_label = _label(kind.upper(), "card-kind")
        if colour:
            self.kind_label.setStyleSheet(f"color: {colour};")
        self.title_label = _label(title, "card-title")
        self.line_label = _label("", "card-line")
        self.line_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 12)
        layout.setSpacing(0)
        layout.addWidget(self.thumb)
        layout.addSpacing(10)
        layout.addWidget(self.kind_label)
        layout.addSpacing(2)
        layout.addWidget(self.title_label)
        layout.addSpacing(4)
        layout.addWidget(self.line_label)
        self._layout_text()

    def _layout_text(self) -> None:
        width = THUMB_SIZE.width() - 4
        for label in (self.title_label, self.line_label):
            label.ensurePolished()
        metrics = self.title_label.fontMetrics()
        self.title_label.setText(metrics.elidedText(self.title, Qt.TextElideMode.ElideRight,
                                                    width))
        font = self.line_label.font()
        self.line_label.setText(elide_lines(self.line, font, width, LINE_ROWS))
        self.line_label.setFixedHeight(int(QFontMetricsF(font).lineSpacing() * LINE_ROWS + 2))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (event.Type.FontChange, event.Type.StyleChange):
            self._layout_text()

    def set_thumbnail(self, image: QImage | None) -> None:
        """Show ``image`` (None: the placeholder, a plain canvas-coloured panel)."""
        self.has_thumbnail = image is not None and not image.isNull()
        if self.has_thumbnail:
            self.thumb.setPixmap(QPixmap.fromImage(rounded(image, 6.0)))
        else:
            self.thumb.clear()


class CardGrid(QWidget):
    """Cards in rows of as many columns as the width allows, placed by hand on resize.

    NOTE: no QGridLayout: a grid's minimum width is its current column count, so a shrinking
    window would get a scroll bar instead of fewer columns.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.cards: list[ExampleCard] = []
        sp = self.sizePolicy()
        sp.setHeightForWidth(True)
        self.setSizePolicy(sp)

    def add_card(self, card: ExampleCard) -> None:
        card.setParent(self)
        self.cards.append(card)
        card.setHidden(False)
        self._place(self.width())
        self.updateGeometry()

    def columns_for(self, width: int) -> int:
        return max(1, (width + CARD_SPACING) // (CARD_WIDTH + CARD_SPACING))

    def _card_height(self) -> int:
        return max(card.sizeHint().height() for card in self.cards) if self.cards else 0

    def shown(self) -> list[ExampleCard]:
        return [card for card in self.cards if not card.isHidden()]

    def set_filter(self, kind: str | None) -> None:
        """Show only the cards of ``kind`` (None: all of them)."""
        for card in self.cards:
            card.setHidden(kind is not None and card.kind != kind)
        self._place(self.width())
        self.updateGeometry()

    def _place(self, width: int) -> None:
        columns, height = self.columns_for(width), self._card_height()
        for i, card in enumerate(self.shown()):
            row, col = divmod(i, columns)
            card.setGeometry(col * (CARD_WIDTH + CARD_SPACING), row * (height + CARD_SPACING),
                             CARD_WIDTH, height)

    def resizeEvent(self, event) -> None:
        old = self.columns_for(event.oldSize().width())
        self._place(event.size().width())
        if old != self.columns_for(event.size().width()):
            self.updateGeometry()
        super().resizeEvent(event)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        shown = self.shown()
        if not shown:
            return 0
        rows = -(-len(shown) // self.columns_for(width))
        return rows * self._card_height() + (rows - 1) * CARD_SPACING

    def sizeHint(self) -> QSize:
        width = max(self.width(), CARD_WIDTH)
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        return QSize(CARD_WIDTH, 0)


def stylesheet(name: str) -> str:
    """The welcome page's style sheet in theme ``name``'s colours."""
    c = dict(theme.colors(name))
    dark = name == "dark"
    c["page"] = c["base"]
    c["side"] = c["window"]
    c["card"] = "#25282e" if dark else "#ffffff"
    c["card_border"] = "#33363d" if dark else "#dde1e7"
    c["row_hover"] = c["hover"]
    c["focus"] = c["highlight"]
    return """
QWidget#welcome_page, QWidget#welcome_content {{ background: {page}; }}
QScrollArea#welcome_scroll {{ background: {page}; border: none; }}
QFrame#welcome_side {{ background: {side}; border-right: 1px solid {border}; }}
QLabel#welcome_title {{ font-size: 17pt; font-weight: 600; color: {text}; }}
QLabel#welcome_version {{ font-size: 9pt; }}
QLabel#welcome_tagline {{ font-size: 10pt; }}
QLabel#welcome_gallery_title {{ font-size: 19pt; font-weight: 600; color: {text}; }}
QLabel#welcome_gallery_subtitle {{ font-size: 10pt; }}
QLabel[role="welcome-heading"] {{
    color: {muted}; font-size: 8pt; font-weight: 700; letter-spacing: 1px;
    padding: 0 0 6px 2px;
}}
QLabel[role="muted"] {{ color: {muted}; }}
QLabel#welcome_no_recent {{ padding: 4px 10px; font-size: 9pt; }}
QFrame[role="welcome-row"] {{
    background: transparent; border: 1px solid transparent; border-radius: 6px;
}}
QFrame[role="welcome-row"]:hover {{ background: {row_hover}; }}
QFrame[role="welcome-row"]:focus {{ border-color: {focus}; }}
QFrame[role="welcome-row"] QLabel[role="row-text"] {{ color: {link}; font-size: 10pt; }}
QFrame[role="welcome-row"] QLabel[role="row-detail"] {{ color: {muted}; font-size: 9pt; }}
QFrame[role="example-card"] {{
    background: {card}; border: 1px solid {card_border}; border-radius: 10px;
}}
QFrame[role="example-card"]:hover {{ border-color: {highlight}; }}
QFrame[role="example-card"]:focus {{ border: 2px solid {focus}; }}
QFrame[role="example-card"] QLabel {{ background: transparent; border: none; }}
QLabel[role="card-kind"] {{ font-size: 7.5pt; font-weight: 700; letter-spacing: 1px; }}
QLabel[role="card-title"] {{ color: {text}; font-size: 10.5pt; font-weight: 600; }}
QPushButton[role="filter-chip"] {{
    background: {card}; color: {text}; border: 1px solid {card_border}; border-radius: 13px;
    padding: 4px 14px; min-height: 17px; font-size: 9pt;
}}
QPushButton[role="filter-chip"]:hover {{ border-color: {highlight}; }}
QPushButton[role="filter-chip"]:checked {{
    background: {highlight}; color: {highlight_text}; border-color: {highlight};
}}
QLabel[role="card-line"] {{ color: {muted}; font-size: 9pt; }}
""".format(**c)
