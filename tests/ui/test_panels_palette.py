"""The layer palette: categories, search by names and aliases, tooltips, the drag payload."""
from __future__ import annotations

from PySide6.QtCore import Qt

from netbuilder.layers import all_specs, categories, get_spec
from netbuilder.ui.panels.palette import LAYER_MIME, PaletteWidget


def make_palette(qtbot) -> PaletteWidget:
    palette = PaletteWidget()
    qtbot.addWidget(palette)
    palette.show()
    return palette


def test_every_layer_is_listed_under_its_category(qtbot):
    palette = make_palette(qtbot)
    assert sorted(palette.visible_types()) == sorted(s.type for s in all_specs())
    tree = palette.tree
    cats = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert sorted(cats) == sorted(categories())
    assert cats[:3] == ["Input/Output", "Dense", "Convolution"]
    for i in range(tree.topLevelItemCount()):
        cat = tree.topLevelItem(i)
        for j in range(cat.childCount()):
            assert get_spec(cat.child(j).text(0)).category == cat.text(0)


def test_search_finds_layers_by_alias_as_well_as_name(qtbot):
    palette = make_palette(qtbot)
    qtbot.keyClicks(palette.search_box, "dense")
    assert palette.visible_types()[0] == "Linear"
    palette.search_box.clear()
    qtbot.keyClicks(palette.search_box, "deconvolution")
    assert palette.visible_types() == ["ConvTranspose2d"]
    palette.search_box.clear()
    qtbot.keyClicks(palette.search_box, "max pool")
    assert set(palette.visible_types()) >= {"MaxPool2d", "MaxPool1d"}
    assert "Linear" not in palette.visible_types()
    palette.search_box.clear()
    qtbot.keyClicks(palette.search_box, "zzzz")
    assert palette.visible_types() == []
    assert all(palette.tree.topLevelItem(i).isHidden()
               for i in range(palette.tree.topLevelItemCount()))
    palette.search_box.clear()
    assert len(palette.visible_types()) == len(all_specs())


def test_enter_in_the_search_box_adds_the_best_match(qtbot):
    palette = make_palette(qtbot)
    qtbot.keyClicks(palette.search_box, "fully connected")
    with qtbot.waitSignal(palette.layer_activated) as blocker:
        qtbot.keyClick(palette.search_box, Qt.Key.Key_Return)
    assert blocker.args == ["Linear"]


def test_tooltips_carry_the_layer_doc_and_aliases(qtbot):
    palette = make_palette(qtbot)
    spec = get_spec("Conv2d")
    tip = palette.item("Conv2d").toolTip(0)
    assert spec.doc in tip
    assert "convolution" in tip and "Convolution" in tip


def test_drag_payload_is_the_layer_type(qtbot):
    palette = make_palette(qtbot)
    data = palette.mimeData([palette.item("BatchNorm2d")])
    assert data.formats()[0] == LAYER_MIME
    assert bytes(data.data(LAYER_MIME)).decode("utf-8") == "BatchNorm2d"
    assert palette.tree.mimeTypes() == [LAYER_MIME]
    cat = palette.tree.topLevelItem(0)
    assert not palette.mimeData([cat]).hasFormat(LAYER_MIME)  # a category is not a layer
    assert palette.item("Linear").flags() & Qt.ItemFlag.ItemIsDragEnabled
    assert not cat.flags() & Qt.ItemFlag.ItemIsDragEnabled


def _click_header(qtbot, palette, name):
    cat = palette.category_item(name)
    palette.tree.scrollToItem(cat)
    rect = palette.tree.visualItemRect(cat)
    assert palette.tree.viewport().rect().contains(rect.center())
    qtbot.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_search_finds_words_of_the_docs_after_names(qtbot):
    palette = make_palette(qtbot)
    qtbot.keyClicks(palette.search_box, "segmentation")  # only in Softmax2d's doc
    assert palette.visible_types() == ["Softmax2d"]
    palette.search_box.clear()
    qtbot.keyClicks(palette.search_box, "swish")
    shown = palette.visible_types()
    # A name or alias match comes first; a layer whose doc mentions it is still found.
    assert palette.tree.currentItem().text(0) == "SiLU"
    assert {"SiLU", "Hardswish"} <= set(shown)
    palette.search_box.clear()
    qtbot.keyClicks(palette.search_box, "im2col")
    assert palette.visible_types() == ["Unfold"]


def test_a_category_collapses_on_a_click_and_stays_collapsed(qtbot):
    palette = make_palette(qtbot)
    pooling = palette.category_item("Pooling")
    assert pooling.isExpanded()
    with qtbot.waitSignal(palette.tree.itemCollapsed):
        _click_header(qtbot, palette, "Pooling")
    assert palette.collapsed_categories() == ["Pooling"]
    # A search opens every category with a match, and forgets nothing.
    qtbot.keyClicks(palette.search_box, "max pool")
    assert pooling.isExpanded() and "MaxPool2d" in palette.visible_types()
    palette.search_box.clear()
    assert not pooling.isExpanded()
    # A new palette (the next start of the app) shows it collapsed too.
    again = make_palette(qtbot)
    assert again.collapsed_categories() == ["Pooling"]
    with qtbot.waitSignal(again.tree.itemExpanded):
        _click_header(qtbot, again, "Pooling")
    assert make_palette(qtbot).collapsed_categories() == []


def test_recently_used_group_is_on_top_and_remembered(qtbot):
    palette = make_palette(qtbot)
    assert palette.recent_types() == []
    assert palette.tree.topLevelItem(0).text(0) == "Input/Output"  # no empty group
    for text in ("relu6", "conv3d"):
        palette.search_box.clear()
        qtbot.keyClicks(palette.search_box, text)
        with qtbot.waitSignal(palette.layer_activated):
            qtbot.keyClick(palette.search_box, Qt.Key.Key_Return)
    assert palette.recent_types() == ["Conv3d", "ReLU6"]
    assert palette.category_item("Recently used").isHidden()  # hidden while searching
    palette.search_box.clear()
    top = palette.tree.topLevelItem(0)
    assert top.text(0) == "Recently used" and not top.isHidden() and top.isExpanded()
    # Activating a recent entry adds that layer and moves it first.
    item = top.child(1)
    palette.tree.setCurrentItem(item)
    palette.tree.setFocus()
    with qtbot.waitSignal(palette.layer_activated) as blocker:
        qtbot.keyClick(palette.tree, Qt.Key.Key_Return)
    assert blocker.args == ["ReLU6"]
    assert palette.recent_types() == ["ReLU6", "Conv3d"]
    # Remembered across starts; the categories below still list every layer once.
    again = make_palette(qtbot)
    assert again.recent_types() == ["ReLU6", "Conv3d"]
    assert sorted(again.visible_types()) == sorted(s.type for s in all_specs())
    data = again.mimeData([again.category_item("Recently used").child(0)])
    assert bytes(data.data(LAYER_MIME)).decode("utf-8") == "ReLU6"


def test_recently_used_keeps_the_last_eight(qtbot):
    palette = make_palette(qtbot)
    types = [s.type for s in all_specs() if not s.is_block][:10]
    for t in types:
        palette.note_used(t)
    assert palette.recent_types() == types[::-1][:8]
