"""Panning the canvas: a middle-button drag, or a left drag while Space is held."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt


def wants_pan(event, space_down: bool) -> bool:
    """Whether a mouse press starts a pan rather than a gesture on the graph."""
    return event.button() == Qt.MouseButton.MiddleButton or (
        event.button() == Qt.MouseButton.LeftButton and space_down)


def show_space_held(view, held: bool) -> None:
    """Space held: an open hand says that a left drag pans."""
    view.viewport().setCursor(Qt.CursorShape.OpenHandCursor if held
                              else Qt.CursorShape.ArrowCursor)


class Pan:
    """The gesture: the scene follows the mouse, in viewport pixels."""

    def __init__(self, view, viewport_pos: QPoint) -> None:
        self.view = view
        self.last = viewport_pos
        view.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def move(self, _scene_pos: QPointF, viewport_pos: QPoint) -> None:
        view = self.view
        delta = viewport_pos - self.last
        self.last = viewport_pos
        view.left_as_opened()
        view.horizontalScrollBar().setValue(view.horizontalScrollBar().value() - delta.x())
        view.verticalScrollBar().setValue(view.verticalScrollBar().value() - delta.y())
        view.minimap.schedule_update()

    def finish(self, _scene_pos: QPointF, _viewport_pos: QPoint) -> None:
        self.cancel()

    def cancel(self) -> None:
        show_space_held(self.view, self.view.space_down)
