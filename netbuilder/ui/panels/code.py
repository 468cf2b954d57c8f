"""The generated PyTorch source, live: the exact text the app executes and exports."""
from __future__ import annotations

import keyword
import re

from PySide6.QtCore import QEvent, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QSyntaxHighlighter,
    QTextCharFormat,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...errors import NetbuilderError
from .. import icons, theme

DEBOUNCE_MS = 250
_BUILTINS = ("len", "range", "super", "print", "isinstance", "int", "float", "tuple", "list",
             "dict", "zip", "enumerate", "min", "max", "sum", "getattr", "setattr", "True",
             "False", "None")


_IN_TRIPLE = {"\"\"\"": 1, "'''": 2}  # block state: inside a triple-quoted string


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, strings (triple-quoted across lines), comments, numbers, names after def/class."""

    def __init__(self, document):
        super().__init__(document)
        self.rules: list[tuple[re.Pattern, QTextCharFormat, int]] = []
        self.set_colors(theme.colors())

    def set_colors(self, c: dict) -> None:
        def fmt(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
            f = QTextCharFormat()
            f.setForeground(QColor(color))
            if bold:
                f.setFontWeight(QFont.Weight.DemiBold)
            f.setFontItalic(italic)
            return f

        self.string_format = fmt(c["code_string"])
        self.comment_format = fmt(c["code_comment"], italic=True)
        kw = "|".join(k for k in keyword.kwlist if k not in ("True", "False", "None"))
        self.rules = [
            (re.compile(rf"\b({kw})\b"), fmt(c["code_keyword"], bold=True), 0),
            (re.compile(rf"\b({'|'.join(_BUILTINS)})\b"), fmt(c["code_builtin"]), 0),
            (re.compile(r"\bself\b"), fmt(c["code_self"], italic=True), 0),
            (re.compile(r"\b(?:def|class)\s+(\w+)"), fmt(c["code_def"], bold=True), 1),
            (re.compile(r"\b(?:torch|nn|F)\b"), fmt(c["code_builtin"]), 0),
            (re.compile(r"\b\d+(?:\.\d*)?(?:[eE][-+]?\d+)?\b"), fmt(c["code_number"]), 0),
            (re.compile(r"^\s*@[\w.]+"), fmt(c["code_decorator"]), 0),
        ]
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        for pattern, form, group in self.rules:
            for m in pattern.finditer(text):
                self.setFormat(m.start(group), m.end(group) - m.start(group), form)
        self.setCurrentBlockState(0)
        start = 0
        state = self.previousBlockState()
        if state in (1, 2):  # inside a triple-quoted string that began on an earlier line
            quote = '"""' if state == 1 else "'''"
            end = text.find(quote)
            if end < 0:
                self.setFormat(0, len(text), self.string_format)
                self.setCurrentBlockState(state)
                return
            self.setFormat(0, end + 3, self.string_format)
            start = end + 3
        self._strings_and_comments(text, start)

    def _strings_and_comments(self, text: str, start: int) -> None:
        i = start
        while i < len(text):
            ch = text[i]
            if ch == "#":
                self.setFormat(i, len(text) - i, self.comment_format)
                return
            if text.startswith(('"""', "'''"), i):
                quote = text[i:i + 3]
                end = text.find(quote, i + 3)
                if end < 0:
                    self.setFormat(i, len(text) - i, self.string_format)
                    self.setCurrentBlockState(_IN_TRIPLE[quote])
                    return
                self.setFormat(i, end + 3 - i, self.string_format)
                i = end + 3
                continue
            if ch in "\"'":
                end = i + 1
                while end < len(text) and text[end] != ch:
                    end += 2 if text[end] == "\\" else 1
                self.setFormat(i, end + 1 - i, self.string_format)
                i = end + 1
                continue
            i += 1


class CodePanel(QWidget):
    """Read-only, highlighted, monospace view of ``graph.to_python()``; a Copy button."""

    code_updated = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("code")
        self.doc = None
        self._stale = True
        self.ok = False
        self.editor = QPlainTextEdit(objectName="code_text")
        self.editor.setReadOnly(True)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setFrameShape(QFrame.Shape.NoFrame)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setFixedPitch(True)
        mono.setPointSizeF(max(mono.pointSizeF(), 9.5))
        self.editor.setFont(mono)
        self.editor.setTabStopDistance(4 * self.editor.fontMetrics().horizontalAdvance(" "))
        self.highlighter = PythonHighlighter(self.editor.document())

        self.caption = QLabel("Generated PyTorch: the code the app runs and exports",
                              objectName="code_caption")
        self.caption.setProperty("role", "muted")
        self.caption.setWordWrap(True)
        self.copy_button = QPushButton("Copy", objectName="code_copy")
        self.copy_button.setIcon(icons.icon("copy"))
        self.copy_button.setToolTip("Copy the generated source to the clipboard")
        self.copy_button.clicked.connect(self.copy)
        self.banner = QFrame(objectName="code_banner")
        self.banner_text = QLabel(objectName="code_banner_text")
        self.banner_text.setWordWrap(True)
        bl = QHBoxLayout(self.banner)
        bl.setContentsMargins(8, 5, 8, 5)
        bl.addWidget(self.banner_text)
        self.banner.hide()

        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 6, 0)
        bar.addWidget(self.caption, 1)
        bar.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.banner)
        layout.addWidget(self.editor, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.update_now)

    def set_document(self, doc) -> None:
        if self.doc is not None:
            self.doc.analysis_updated.disconnect(self._analysis_updated)
        self.doc = doc
        doc.analysis_updated.connect(self._analysis_updated)
        self._stale = True
        self._timer.start()

    def _analysis_updated(self, _analysis) -> None:
        self._stale = True
        self._timer.start()  # restarts: a burst of edits regenerates once

    def text(self) -> str:
        return self.editor.toPlainText()

    def flush(self) -> None:
        """Regenerate now if an update is pending (tests and the screenshot use this)."""
        if self._timer.isActive() or self._stale:
            self._timer.stop()
            self.update_now(force=True)

    def update_now(self, force: bool = False) -> None:
        # NOTE: generating code for a big graph costs time; a hidden panel waits until shown.
        if self.doc is None or (not force and (not self.isVisible() or
                                               self.doc.analysis_pending())):
            return
        self._stale = False
        try:
            source = self.doc.graph.to_python()
            self.ok = True
            self.banner.hide()
        except NetbuilderError as exc:
            source = str(exc)
            self.ok = False
            self.banner_text.setText("The graph has errors, so there is no code yet. Fix the "
                                     "problems listed below (and in the Problems panel).")
            self.banner.show()
        if source != self.editor.toPlainText():
            bar_v = self.editor.verticalScrollBar().value()
            bar_h = self.editor.horizontalScrollBar().value()
            self.editor.setPlainText(source)
            self.editor.verticalScrollBar().setValue(bar_v)
            self.editor.horizontalScrollBar().setValue(bar_h)
        self.code_updated.emit(source)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text())

    def showEvent(self, event):
        super().showEvent(event)
        if self._stale and not self._timer.isActive():
            self._timer.start()

    def changeEvent(self, event):
        if event.type() == QEvent.Type.PaletteChange:
            self.highlighter.set_colors(theme.colors())
            self.copy_button.setIcon(icons.icon("copy"))
        super().changeEvent(event)

    def sizeHint(self):
        hint = super().sizeHint()
        hint.setWidth(max(hint.width(), 56 * self.editor.fontMetrics().horizontalAdvance("m")))
        return hint

