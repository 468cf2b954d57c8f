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
