"""The window fits the common screens (1366×768 and 1920×1080) in a real X server: no dock
title, tab or label is cut off, in the Design workspace and while a run trains, light and dark.

The screenshots go to ``$NETBUILDER_SCREENSHOT_DIR`` (docs/images) when set, for people to look
at: the welcome page, LeNet-5, a run in progress and an imported ResNet-50, at both sizes and
in both themes.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QSplitter, QTabBar
from test_real_window import START_MS, same_pixels, save_window, shots  # noqa: F401 (fixture)
from window_helpers import example, fit_on_screen, on_screen

from netbuilder.graph import load
from netbuilder.ui import theme

pytestmark = pytest.mark.xwindow

SIZES = [(1366, 768), (1920, 1080)]


def clipped(w) -> list[str]:
    """What the window shows cut off: dock titles, tabs, and one-line labels in the docks."""
    out = []
    if w.minimumSizeHint().width() > w.width() or w.minimumSizeHint().height() > w.height():
        out.append(f"window needs {w.minimumSizeHint().toTuple()}")
    for name, dock in w.docks.items():
        if dock.isHidden() or dock.isFloating() or not dock.visibleRegion().boundingRect().width():
            continue
        title = dock.fontMetrics().horizontalAdvance(dock.windowTitle())
        if title + 48 > dock.width():  # the title and its two buttons
            out.append(f"dock title {dock.windowTitle()!r}")
        for label in dock.widget().findChildren(QLabel):
            if (label.isVisible() and not label.wordWrap() and label.text()
                    and label.textFormat() != Qt.TextFormat.RichText and label.pixmap().isNull()
                    and label.width() < label.minimumSizeHint().width() - 1):
                out.append(f"{name}: label {label.text()[:30]!r} {label.width()} px of "
                           f"{label.minimumSizeHint().width()}")
        for split in dock.widget().findChildren(QSplitter):
            if split.isVisible():  # a hidden pane (the runs' learning rate) has no handle
                shown = sum(not split.widget(i).isHidden() for i in range(split.count()))
                need = sum(split.sizes()) + split.handleWidth() * max(0, shown - 1)
                if need > (split.width() if split.orientation() == Qt.Orientation.Horizontal
                           else split.height()) + 1:
                    out.append(f"{name}: panes need {need} px of {split.width()}")
    for bar in w.findChildren(QTabBar):
        if bar.parent() is w and bar.isVisible():
            need = sum(bar.tabRect(i).width() for i in range(bar.count()))
            if need > bar.width():
                tabs = [bar.tabText(i) for i in range(bar.count())]
                out.append(f"tabs {tabs} need {need} px of {bar.width()}")
    return out


def sized(make_window, qtbot, size, document=None):
    """A window as large as a screen of ``size`` lets it be, its frame included."""
    w = make_window(document, restore_layout=False)
    fit_on_screen(qtbot, w, size)
    w.workspaces.reset()  # the default arrangement at this size
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    return w


def both_themes(w, qtbot, shots, name: str, size) -> dict[str, list[str]]:  # noqa: F811
    found = {}
    for look in ("light", "dark"):
        theme.apply_theme(look, save=False)
        qtbot.wait(200)  # a theme change repaints on the next turns of the loop
        found[look] = clipped(w)
        path = shots / f"{name}-{size[0]}x{size[1]}-{look}.png"
        image = w.screen().grabWindow(w.winId()).toImage()
        assert (image.width(), image.height()) == (w.width(), w.height())
        assert on_screen(w.statusBar()) and on_screen(w.menuBar())  # nothing off the screen
        # the status bar on the screen as the window draws it
        bar = QRect(w.statusBar().mapTo(w, QPoint(0, 0)), w.statusBar().size())
        drawn = w.grab(bar).toImage().convertToFormat(image.format())
        assert same_pixels(image.copy(bar), drawn) > 0.9
        assert image.save(str(path), "PNG")
    theme.apply_theme("light", save=False)
    return {k: v for k, v in found.items() if v}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_welcome_lenet_and_a_run_fit_the_screen(make_window, qtbot, shots, size, tmp_path):  # noqa: F811
    w = sized(make_window, qtbot, size)
    w.welcome.show()
    qtbot.waitUntil(lambda: w.welcome.showing and w.welcome.page.isVisible())
    qtbot.waitUntil(w.welcome.page.thumbnails_done, timeout=60_000)
    assert both_themes(w, qtbot, shots, "welcome", size) == {}
    path = tmp_path / "lenet5.json"
    g = load(example("lenet5"))
    g.training = {**g.training, "dataset_options": {"size": 28, "limit": 480}, "epochs": 1000,
                  "device": "cpu"}
    g.save(path)
    assert w.files.open_file(str(path))
    qtbot.waitUntil(lambda: not w.welcome.showing)
    w.workspaces.reset()
    qtbot.wait(100)
    # framed for the canvas the docks leave it: the Input's box whole on screen, not above it
    canvas = w.canvas
    view = canvas.viewport().rect()
    first = canvas.graph_scene().nodes_rect(canvas.graph.inputs())
    assert view.contains(canvas.mapFromScene(first).boundingRect()), (first, view)
    assert both_themes(w, qtbot, shots, "lenet5", size) == {}
    c = w.training_dashboard.controller
    QTest.mouseClick(w.toolbar.widgetForAction(w.actions["train"]), Qt.MouseButton.LeftButton)
    try:
        qtbot.waitUntil(lambda: c.state == "running" and c.history is not None and
                        w.training_dashboard.view("curves").point_count("train_loss") >= 5,
                        timeout=START_MS)
        assert w.workspaces.current == "training"
        assert both_themes(w, qtbot, shots, "training", size) == {}
    finally:
        c.shutdown()


CORPUS = Path(__file__).parents[1] / "compile" / "import_corpus"


def test_an_imported_resnet50_reads_top_to_bottom(make_window, qtbot, shots):  # noqa: F811
    """ResNet-50 from the import corpus, imported as File ▸ Import does it (a child process):
    its stages are blocks, drawn collapsed, and the page reads from the input down to the
    output at a readable zoom, at both sizes and in both themes."""
    from netbuilder.ui.import_export_actions import import_model

    w = sized(make_window, qtbot, SIZES[0])
    assert import_model(w, CORPUS / "resnet.py", "ResNet50", "", "3,224,224", timeout=120)
    qtbot.waitUntil(lambda: not w.welcome.showing)
    g, canvas = w.document.graph, w.canvas
    stages = [g.find(f"layer{i}") for i in range(1, 5)]
    assert all(g.node(s).inner is not None for s in stages)  # blocks, not their insides
    assert canvas.path == [] and set(canvas.graph_scene().node_items) == {n.id for n in g.nodes()}
    chain = g.topo_order()  # ResNet's top level is one chain: x, conv1, …, layer4, …, fc
    ys = [g.node(n).pos[1] for n in chain]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)  # top to bottom, one node a row
    for size in SIZES:
        if size != SIZES[0]:
            fit_on_screen(qtbot, w, size)
            w.workspaces.reset()
        w.canvas.frame_for_reading()
        w.flush()  # the code panel's text for this graph, not the one before the import
        qtbot.waitUntil(lambda: "class ResNet50" in w.code.text())
        assert canvas.zoom() >= canvas.readable_scale() - 1e-6  # names as large as the palette's
        first = canvas.graph_scene().nodes_rect(canvas.graph.inputs())
        assert canvas.viewport().rect().contains(canvas.mapFromScene(first).boundingRect())
        assert both_themes(w, qtbot, shots, "resnet50-import", size) == {}
