"""The welcome page: gallery cards with thumbnails, opening examples and recent files, New."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from window_helpers import copy_example, example

from netbuilder.ui.canvas.style import CATEGORY_COLOURS
from netbuilder.ui.files import list_examples


def welcome_window(make_window):
    w = make_window()
    w.welcome.show()
    QApplication.processEvents()
    return w, w.welcome.page


def colour_hits(image: QImage, colour: str, tolerance: int = 30) -> int:
    want = QColor(colour)
    hits = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = image.pixelColor(x, y)
            if abs(c.red() - want.red()) + abs(c.green() - want.green()) + \
                    abs(c.blue() - want.blue()) < tolerance:
                hits += 1
    return hits


def test_gallery_has_a_card_with_a_drawn_thumbnail_per_example(make_window, qtbot):
    w, page = welcome_window(make_window)
    assert w.welcome.showing
    assert all(dock.isHidden() for dock in w.docks.values())
    stems = {path.stem for path, _t, _d in list_examples()}
    assert len(stems) >= 10
    assert set(page.cards) == stems
    qtbot.waitUntil(page.thumbnails_done, timeout=60_000)
    for stem, card in page.cards.items():
        assert card.has_thumbnail, stem
        image = card.thumb.pixmap().toImage()
        assert image.width() >= 200 and image.height() >= 100
        small = image.scaled(64, 36)
        colours = {small.pixel(x, y) for x in range(64) for y in range(36)}
        assert len(colours) > 20, stem  # nodes, names and wires, not a flat placeholder
        assert card.line and card.title, stem
    # LeNet's thumbnail is LeNet's graph: its convolutions are drawn in the canvas' colour.
    lenet = page.cards["lenet5"].thumb.pixmap().toImage()
    assert colour_hits(lenet, CATEGORY_COLOURS["Convolution"]) > 20
    assert colour_hits(lenet, CATEGORY_COLOURS["Dense"]) > 20
    assert colour_hits(lenet, CATEGORY_COLOURS["Recurrent"]) == 0


def test_cards_follow_the_teaching_order_and_the_filter_chips(make_window, qtbot):
    w, page = welcome_window(make_window)
    order = [card.path.stem for card in page.grid.cards]
    for earlier, later in (("mlp_spirals", "lenet5"), ("lenet5", "resnet_small"),
                           ("resnet_small", "autoencoder"), ("vae_conv", "dcgan_digits"),
                           ("dcgan_digits", "rbm_digits"), ("rbm_digits", "lstm_classifier"),
                           ("lstm_classifier", "transformer_tiny")):
        if earlier in order and later in order:
            assert order.index(earlier) < order.index(later)
    chip = page.findChild(type(page.filters.buttons()[0]), "welcome_filter_vision")
    qtbot.mouseClick(chip, Qt.MouseButton.LeftButton)
    shown = {card.path.stem for card in page.grid.shown()}
    assert shown and all(page.cards[s].kind == "Vision" for s in shown)
    assert "resnet_small" in shown and "lenet5" not in shown
    qtbot.mouseClick(page.findChild(type(chip), "welcome_filter_all"), Qt.MouseButton.LeftButton)
    assert len(page.grid.shown()) == len(page.cards)


def test_clicking_a_card_opens_that_example(make_window, qtbot):
    w, page = welcome_window(make_window)
    card = page.cards["resnet_small"]
    page.scroll.ensureWidgetVisible(card)
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton)
    expected = json.loads(example("resnet_small").read_text())
    g = w.document.graph
    assert len(g.nodes()) == len(expected["nodes"]) > 20
    assert {n.name for n in g.nodes()} == {n["name"] for n in expected["nodes"]}
    assert w.document.path is None  # an example opens as an untitled copy
    assert not w.welcome.showing
    assert w.centralWidget().currentWidget() is w.canvas
    assert not w.docks["palette"].isHidden() and not w.docks["inspector"].isHidden()
    assert w.statusBar().isVisible()


def test_a_card_opens_from_the_keyboard(make_window, qtbot):
    w, page = welcome_window(make_window)
    card = page.cards["lenet5"]
    card.setFocus()
    qtbot.keyClick(card, Qt.Key.Key_Return)
    expected = json.loads(example("lenet5").read_text())
    assert len(w.document.graph.nodes()) == len(expected["nodes"]) > 5
    assert not w.welcome.showing


def test_recent_files_are_listed_and_open(make_window, qtbot, tmp_path):
    first = copy_example("mlp_spirals", tmp_path)
    second = copy_example("lstm_classifier", tmp_path)
    gone = copy_example("gru_forecaster", tmp_path)
    w = make_window()
    for path in (gone, first, second):
        w.files.add_recent(path)
    gone.unlink()
    w.welcome.show()
    page = w.welcome.page
    assert [row.name_label.text() for row in page.recent_rows] == ["lstm_classifier.json",
                                                                   "mlp_spirals.json"]
    assert page.no_recent.isHidden()
    assert page.recent_rows[1].toolTip() == str(first.resolve())
    qtbot.mouseClick(page.recent_rows[1], Qt.MouseButton.LeftButton)
    assert w.document.path == first.resolve()
    assert not w.welcome.showing
    w.files.clear_recent()
    w.welcome.show()
    assert page.recent_rows == [] and not page.no_recent.isHidden()


def test_new_blank_graph_leaves_the_page_for_an_empty_document(make_window, qtbot):
    w = make_window()
    w.files.open_file(example("lenet5"))
    w.welcome.show()
    page = w.welcome.page
    assert not page.back_row.isHidden()  # LeNet is still open behind the page
    before = w.document
    qtbot.mouseClick(page.new_row, Qt.MouseButton.LeftButton)
    assert w.document is not before
    assert w.document.graph.nodes() == [] and w.document.path is None
    assert not w.document.dirty
    assert not w.welcome.showing and w.centralWidget().currentWidget() is w.canvas


def test_file_welcome_and_escape_return_to_the_same_graph(make_window, qtbot):
    w = make_window()
    w.files.open_file(example("lenet5"))
    doc = w.document
    assert w.welcome.action in w.menus["file"].actions()
    w.welcome.action.trigger()
    page = w.welcome.page
    assert w.welcome.showing and page.back_row.text_label.text() == "Back to lenet5"
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    assert not w.welcome.showing and w.document is doc
    assert not w.docks["palette"].isHidden()


def test_reset_layout_on_the_page_keeps_it_whole_and_resets_the_docks_behind_it(make_window,
                                                                               qtbot):
    w = make_window()
    w.files.open_file(example("lenet5"))
    w.docks["palette"].close()  # the person's arrangement, to be reset
    w.welcome.action.trigger()
    w.workspaces.reset_action.trigger()
    qtbot.wait(10)  # the default arrangement sizes its docks on the next turn of the loop
    # the page still stands alone: no dock around it, no status bar under it
    assert [n for n, d in w.docks.items() if not d.isHidden()] == []
    assert w.statusBar().isHidden() and w.welcome.showing
    qtbot.keyClick(w.welcome.page, Qt.Key.Key_Escape)
    assert not w.docks["palette"].isHidden() and not w.docks["code"].isHidden()
    assert not w.statusBar().isHidden()


def test_graph_actions_are_off_while_the_page_stands_in_for_the_canvas(make_window, qtbot):
    w = make_window()
    w.files.open_file(example("lenet5"))
    graph_actions = [w.actions[n] for n in ("check", "train", "export", "export_project",
                                           "export_onnx") if n in w.actions]
    assert len(graph_actions) >= 3 and all(a.isEnabled() for a in graph_actions)
    w.welcome.action.trigger()
    assert not any(a.isEnabled() for a in graph_actions)
    assert w.actions["new"].isEnabled() and w.actions["open"].isEnabled()
    qtbot.keyClick(w.welcome.page, Qt.Key.Key_Escape)
    assert all(a.isEnabled() for a in graph_actions)


def test_question_mark_on_the_page_opens_the_shortcuts_sheet(make_window, qtbot):
    from netbuilder.ui.shortcuts import ShortcutsDialog

    w, page = welcome_window(make_window)
    shown = []
    original = ShortcutsDialog.exec
    ShortcutsDialog.exec = lambda dialog: shown.append(dialog) or 0
    try:
        w.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
        page.setFocus()
        qtbot.keyClick(page, Qt.Key.Key_Question)
        qtbot.mouseClick(page.shortcuts_row, Qt.MouseButton.LeftButton)
    finally:
        ShortcutsDialog.exec = original
    assert len(shown) == 2
    for dialog in shown:
        dialog.deleteLater()


def test_closing_on_the_page_keeps_the_docks_for_the_next_start(make_window):
    w, _page = welcome_window(make_window)
    assert w.docks["palette"].isHidden()
    w.close()
    again = make_window()
    assert not again.docks["palette"].isHidden()
    assert not again.docks["inspector"].isHidden()
    assert not again.welcome.showing and again.centralWidget() is again.canvas


def test_thumbnails_are_cached_by_content_and_theme(qapp, tmp_path):
    from netbuilder.ui import thumbnails

    path = copy_example("mlp_spirals", tmp_path)
    size = QSize(200, 110)
    first = thumbnails.thumbnail(path, size, "light")
    cached = sorted(thumbnails.cache_dir().glob("*.png"))
    assert len(cached) == 1
    again = thumbnails.thumbnail(path, size, "light")
    assert again.convertToFormat(first.format()) == first
    assert sorted(thumbnails.cache_dir().glob("*.png")) == cached
    thumbnails.thumbnail(path, size, "dark")
    data = json.loads(path.read_text())
    data["nodes"][0]["pos"] = [40.0, 400.0]  # an edited file is drawn again
    path.write_text(json.dumps(data))
    thumbnails.thumbnail(path, size, "light")
    assert len(list(thumbnails.cache_dir().glob("*.png"))) == 3


def test_a_broken_file_has_no_thumbnail_but_a_clear_error(qapp, tmp_path):
    from netbuilder.errors import NetbuilderError
    from netbuilder.ui import thumbnails

    bad = tmp_path / "bad.json"
    bad.write_text('{"format_version": 1, "nodes": [{"id": "n1", "type": "Nope"}]}')
    with pytest.raises(NetbuilderError, match="bad.json"):
        thumbnails.thumbnail(bad, QSize(200, 110), "light")


def test_card_text_takes_the_lead_in_as_title():
    from netbuilder.ui.welcome import card_text

    assert card_text("inception_block", "inception block",
                     "An Inception block: 1×1 and 3×3 branches.") == \
        ("Inception block", "1×1 and 3×3 branches.")
    assert card_text("gru_forecaster", "gru forecaster", "A GRU predicts the next value.") == \
        ("GRU forecaster", "A GRU predicts the next value.")
    assert card_text("vae", "Variational autoencoder", "A VAE: the encoder gives a mean.") == \
        ("Variational autoencoder", "The encoder gives a mean.")


def test_screenshot_without_a_file_shows_the_welcome_page(qapp, tmp_path):
    from netbuilder.ui.app import SCREENSHOT_SIZE, run_app

    out = tmp_path / "welcome.png"
    assert run_app(None, screenshot=out) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == SCREENSHOT_SIZE
    # Cards show thumbnails: the canvas colours of the examples' layers are in the picture.
    assert colour_hits(image, CATEGORY_COLOURS["Convolution"]) > 100
    assert colour_hits(image, CATEGORY_COLOURS["Generative"]) > 50


def _wrapped_positions(graph) -> dict:
    """Node name → position after the thumbnail's row folding for a welcome card."""
    from PySide6.QtCore import QRectF

    from netbuilder.ui.canvas.scene import GraphScene
    from netbuilder.ui.thumbnails import MARGIN, _wrap_rows
    from netbuilder.ui.welcome_widgets import THUMB_SIZE

    scene = GraphScene(graph)
    try:
        _wrap_rows(graph, scene, QRectF(MARGIN, MARGIN, THUMB_SIZE.width() - 2 * MARGIN,
                                        THUMB_SIZE.height() - 2 * MARGIN))
    finally:
        scene.detach()
        scene.deleteLater()
    return {n.name: n.pos for n in graph.nodes()}


def test_thumbnail_folds_a_long_row_but_never_refolds_a_folded_layout(qapp):
    import netbuilder as nb

    def chain(positions):
        g = nb.Graph("chain")
        ids = [g.add("ReLU", f"n{i}", pos) for i, pos in enumerate(positions)]
        for a, b in zip(ids, ids[1:]):
            g.connect(a, b)
        return g

    # One long row of 7: folded into bands, each band read left to right.
    row = _wrapped_positions(chain([(300.0 * i, 0.0) for i in range(7)]))
    assert len({y for _x, y in row.values()}) >= 2
    assert row["n0"][0] == 0.0 and row["n0"][1] == 0.0
    # Already folded by auto-layout (5, then 2 under them, a wire running back to the left):
    # cutting its columns again would put n2…n4 in a third row below n5, n6 (mlp_spirals did).
    folded = [(300.0 * i, 0.0) for i in range(5)] + [(0.0, 260.0), (300.0, 260.0)]
    after = _wrapped_positions(chain(folded))
    assert list(after.values()) == folded
