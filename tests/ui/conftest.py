"""UI tests run offscreen, each with its own temporary settings and data folders."""
import os
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Test helpers (ui_helpers, window_helpers, training_helpers) sit beside the tests; with
# --import-mode=importlib their folder is not on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Settings, recent files and recovery files of this test live under its tmp_path."""
    folder = tmp_path / "settings"
    folder.mkdir()
    monkeypatch.setenv("NETBUILDER_SETTINGS_DIR", str(folder))
    return folder


# --- canvas fixtures (helpers in ui_helpers.py) ---------------------------------------------------

@pytest.fixture
def lenet_doc(qapp):
    from ui_helpers import lenet_graph

    from netbuilder.ui.document import Document

    doc = Document(lenet_graph())
    yield doc
    doc.deleteLater()


@pytest.fixture
def make_canvas(qtbot):
    """``make_canvas(doc)`` → a shown 1200×700 CanvasView, framed on its graph."""
    from netbuilder.ui.canvas import CanvasView

    def make(doc, size=(1200, 700)):
        view = CanvasView(doc)
        qtbot.addWidget(view)
        view.resize(*size)
        view.show()
        qtbot.waitExposed(view)
        view.frame_all()
        view.setFocus()
        return view

    return make


@pytest.fixture
def canvas(make_canvas, lenet_doc):
    return make_canvas(lenet_doc)


@pytest.fixture
def make_window(qtbot):
    """``make_window(document=None, **kw)``: a shown MainWindow with every panel filled.

    At teardown the document is marked clean (no prompt) and the window is closed.
    """
    from netbuilder.ui.main_window import MainWindow

    windows = []

    def make(document=None, **kw):
        kw.setdefault("autosave_ms", 3_600_000)
        w = MainWindow(document, **kw)
        windows.append(w)
        w.show()
        qtbot.waitExposed(w)
        w.flush()
        return w

    yield make
    for w in windows:
        if w.document is not None:
            w.document.undo_stack.setClean()
        w.close()
        w.deleteLater()
    QApplication.processEvents()
