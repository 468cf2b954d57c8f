"""A dock's content built on first sight, so the editor starts without torch or pyqtgraph."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QLabel, QVBoxLayout, QWidget


class LazyPanel(QWidget):
    """Builds its content with ``factory`` the first time its dock comes on screen (or when
    asked for), and says ``shown`` each time it comes on screen again. A panel with nothing to
    show for the task says why in one line instead of its content (``set_note``).

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
        self.note = QLabel("", objectName=f"{name}_note")
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note.setProperty("role", "muted")
        self.note.setContentsMargins(16, 16, 16, 16)
        self.note.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note)

    def watch(self, dock: QDockWidget) -> None:
        """Follow ``dock``'s visibility (the dock that holds this panel)."""
        dock.visibilityChanged.connect(self._dock_visibility_changed)

    def content(self) -> QWidget:
        if self._content is None:
            self._content = self._factory()
            self.layout().addWidget(self._content, 1)
            self._content.setVisible(self.note.isHidden())
            if self.isVisible() and self.note.isHidden():
                self._content.show()  # not only at the next event-loop turn
            self.built.emit(self._content)
        return self._content

    def set_note(self, text: str | None) -> None:
        """Say ``text`` (why this view shows nothing for the task) instead of the view;
        None or "" shows the view again."""
        self.note.setText(text or "")
        self.note.setVisible(bool(text))
        if self._content is not None:
            self._content.setVisible(not text)

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
