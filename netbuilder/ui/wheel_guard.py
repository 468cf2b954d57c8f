"""The mouse wheel scrolls a form; it changes a spin box or combo box only when that has focus.

Without this, scrolling down a long form (the inspector, the training setup) silently changes
whatever field happens to pass under the pointer.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QWidget


class _WheelGuard(QObject):
    """Event filter: a wheel over an unfocused field goes to the form's scroll area instead."""

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, QWidget):
            return False
        if obj.hasFocus():
            return False
        area = _scroll_area_of(obj)
        if area is None:
            event.ignore()  # Qt hands an ignored wheel event on to the parent
            return True
        viewport = area.viewport()
        pos = viewport.mapFromGlobal(event.globalPosition().toPoint())
        forwarded = QWheelEvent(pos, event.globalPosition(), event.pixelDelta(),
                                event.angleDelta(), event.buttons(), event.modifiers(),
                                event.phase(), event.inverted())
        QApplication.sendEvent(viewport, forwarded)
        return True


_guard: _WheelGuard | None = None


def guard_wheel(widget: QWidget) -> QWidget:
    """Make ``widget`` take focus by click or Tab only, and ignore the wheel until it has it."""
    global _guard
    if _guard is None:
        _guard = _WheelGuard(QApplication.instance())
    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    widget.installEventFilter(_guard)
    return widget


def _scroll_area_of(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return parent
        parent = parent.parentWidget()
    return None
