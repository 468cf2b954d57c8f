"""Helpers for the main-window tests: open windows that close cleanly, answer modal dialogs."""
from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QTabBar, QToolButton

import netbuilder

EXAMPLES = Path(netbuilder.__file__).parent / "resources" / "examples"


def example(name: str) -> Path:
    return EXAMPLES / f"{name}.json"


def copy_example(name: str, folder: Path) -> Path:
    """A writable copy of an example (examples themselves open as untitled templates)."""
    target = folder / f"{name}.json"
    shutil.copy(example(name), target)
    return target


def answer_dialog(name: str, button=QMessageBox.StandardButton.Ok, button_name: str | None = None,
                  tries: int = 500) -> dict:
    """Click ``button`` (or the push button called ``button_name``) in the next modal dialog
    whose objectName is ``name``. Returns a dict that receives the dialog's texts."""
    seen: dict = {}

    def poll(left: int = tries) -> None:
        box = QApplication.activeModalWidget()
        if box is None or box.objectName() != name:
            if left > 0:
                QTimer.singleShot(10, lambda: poll(left - 1))
            return
        if isinstance(box, QMessageBox):
            seen["text"] = box.text()
            seen["informative"] = box.informativeText()
        seen["shown"] = True
        if button_name is not None:
            box.findChild(QPushButton, button_name).click()
        else:
            box.button(button).click()

    QTimer.singleShot(0, poll)
    return seen


def dock_tabs(window) -> dict[str, tuple[QTabBar, int]]:
    """Title → (tab bar, index) of every tab of the window's dock areas."""
    tabs = {}
    for bar in window.findChildren(QTabBar):
        if bar.parent() is window and bar.isVisible():
            tabs.update({bar.tabText(i): (bar, i) for i in range(bar.count())})
    return tabs


def click_tab(qtbot, window, title: str):
    """Click the dock tab ``title`` with the mouse; its dock once it is the current tab."""
    bar, index = dock_tabs(window)[title]
    arrows = [b for b in bar.findChildren(QToolButton) if b.isVisible()]  # ◀ ▶ when crowded
    for _ in range(2 * bar.count()):
        rect = bar.tabRect(index)
        if not arrows or bar.rect().contains(rect.center()) and all(
                not a.geometry().contains(rect.center()) for a in arrows):
            break
        arrow = max(arrows, key=lambda a: a.x()) if rect.center().x() > arrows[0].x() \
            else min(arrows, key=lambda a: a.x())
        QTest.mouseClick(arrow, Qt.MouseButton.LeftButton)
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    dock = next(d for d in window.docks.values() if d.windowTitle() == title)
    qtbot.waitUntil(lambda: bar.currentIndex() == index and dock.widget().isVisible())
    return dock


def fit_on_screen(qtbot, window, size: tuple[int, int]) -> tuple[int, int]:
    """Resize ``window`` to ``size``, or less where the screen's free area with the window
    manager's frame around it is smaller (a window as big as the screen has its bottom, the
    status bar, pushed off it). Returns the size it got."""
    qtbot.waitUntil(lambda: window.frameGeometry().height() > window.geometry().height())
    outer, inner = window.frameGeometry(), window.geometry()
    room = window.screen().availableGeometry()
    want = (min(size[0], room.width() - (outer.width() - inner.width())),
            min(size[1], room.height() - (outer.height() - inner.height())))
    window.resize(*want)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == want)
    window.move(room.topLeft())  # the frame's top left at the screen's
    qtbot.waitUntil(lambda: window.frameGeometry().topLeft() == room.topLeft())
    return want


def on_screen(widget) -> bool:
    """Whether all of ``widget`` lies on its screen (not pushed off an edge)."""
    from PySide6.QtCore import QPoint, QRect

    at = widget.mapToGlobal(QPoint(0, 0))
    return widget.screen().geometry().contains(QRect(at, widget.size()))
