"""Helpers for the training dashboard tests: a tiny digits CNN that trains in seconds."""
from __future__ import annotations

import netbuilder as nb


def tiny_digits_graph(epochs: int = 30, limit: int = 600, name: str = "tiny_digits") -> nb.Graph:
    """Input(1, 8, 8) → conv1 (8 maps) → relu1 → pool1 → flatten → fc (10) → logits."""
    g = nb.Graph(name)
    x = g.add("Input", "image", pos=(0, 0), shape=(1, 8, 8))
    c = g.add("Conv2d", "conv1", pos=(220, 0), out_channels=8, kernel_size=3, padding=1)
    r = g.add("ReLU", "relu1", pos=(440, 0))
    p = g.add("MaxPool2d", "pool1", pos=(660, 0), kernel_size=2)
    f = g.add("Flatten", "flatten", pos=(880, 0))
    fc = g.add("Linear", "fc", pos=(1100, 0), out_features=10)
    o = g.add("Output", "logits", pos=(1320, 0))
    for a, b in ((x, c), (c, r), (r, p), (p, f), (f, fc), (fc, o)):
        g.connect(a, b)
    g.training = {"dataset": "digits", "dataset_options": {"limit": limit}, "epochs": epochs,
                  "batch_size": 32, "lr": 0.01, "device": "cpu", "seed": 0,
                  "events": {"metrics_hz": 20, "images_hz": 5}}
    return g


def click_point(qtbot, view, x: float, y: float) -> None:
    """A left click on the scatter where the point (x, y) is drawn (its Pareto tab raised
    first with a click, when another tab is in front)."""
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest

    if not view.plot.isVisible():
        bar = view.tabs.tabBar()
        index = next(i for i in range(bar.count()) if bar.tabText(i) == "Pareto")
        QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
        qtbot.waitUntil(view.plot.isVisible)
    vb = view.plot.getPlotItem().getViewBox()

    def in_view() -> bool:  # the plot ranges itself to its points once laid out
        (x0, x1), (y0, y1) = vb.viewRange()
        return x0 < x < x1 and y0 < y < y1

    qtbot.waitUntil(in_view)
    pos = view.plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
    QTest.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
