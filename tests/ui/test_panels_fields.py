"""Inspector field editors and the code highlighter, on their own."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument

from netbuilder.layers import Param, get_spec
from netbuilder.ui import theme
from netbuilder.ui.panels.code import PythonHighlighter
from netbuilder.ui.panels.fields import (
    BoolField,
    ChoiceField,
    FloatField,
    IntField,
    TextField,
    format_value,
    is_unparsed,
    make_field,
    parse_value,
)
from netbuilder.ui.panels.numbers import fmt_bytes, fmt_count, fmt_si

KERNEL = get_spec("Conv2d").param("kernel_size")
STRIDE = get_spec("MaxPool2d").param("stride")  # optional: None means "same as the kernel"
SHAPE = get_spec("Input").param("shape")


@pytest.mark.parametrize("text, value", [
    ("3", 3), ("3, 3", (3, 3)), ("(3, 5)", (3, 5)), ("3x5", (3, 5)), ("3,", (3,)),
    ("  7  ", 7),
])
def test_tuple_text_parses_like_a_person_writes_it(text, value):
    assert parse_value(KERNEL, text) == value


def test_shape_text_is_always_a_tuple_and_bad_text_is_unparsed():
    assert parse_value(SHAPE, "28") == (28,)
    assert parse_value(SHAPE, "1, 28, 28") == (1, 28, 28)
    assert is_unparsed(parse_value(KERNEL, "3, x"))
    assert parse_value(STRIDE, "") is None
    assert format_value((1, 28, 28)) == "1, 28, 28"
    assert format_value(None) == ""


def test_editors_match_the_parameter_kind(qtbot):
    spec = get_spec("Conv2d")
    kinds = {p.name: type(make_field(p)) for p in spec.params}
    assert kinds["out_channels"] is IntField
    assert kinds["kernel_size"] is TextField
    assert kinds["bias"] is BoolField
    assert kinds["padding_mode"] is ChoiceField
    assert kinds["l2"] is FloatField


def test_int_field_commits_on_enter_and_refuses_out_of_range_text(qtbot):
    field = IntField(Param("units", "int", 4, min=1, max=100))
    qtbot.addWidget(field)
    field.set_value(4)
    committed, refused = [], []
    field.committed.connect(committed.append)
    field.refused.connect(refused.append)
    field.lineEdit().selectAll()
    qtbot.keyClicks(field, "250")
    assert field.lineEdit().text() == "250"  # typeable, so Enter can explain the refusal
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert refused == ["250"] and committed == []
    assert field.raw_value() == 250
    field.lineEdit().selectAll()
    qtbot.keyClicks(field, "12")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert committed == [12]
    qtbot.keyClick(field, Qt.Key.Key_Up)
    assert committed == [12, 13]


def test_optional_int_shows_auto_for_none(qtbot):
    field = IntField(Param("padding_idx", "int", None, min=0, optional=True))
    qtbot.addWidget(field)
    field.set_value(None)
    assert field.text() == "auto" and field.value_of() is None
    field.set_value(3)
    assert field.value_of() == 3


def test_float_field_shows_small_numbers_short(qtbot):
    field = FloatField(get_spec("BatchNorm2d").param("eps"))
    qtbot.addWidget(field)
    field.set_value(1e-5)
    assert field.text() == "1e-05"
    assert field.singleStep() == pytest.approx(1e-5)
    committed = []
    field.committed.connect(committed.append)
    field.lineEdit().selectAll()
    qtbot.keyClicks(field, "2e-3")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert committed == [pytest.approx(2e-3)]


def test_optional_float_shows_none_and_takes_a_number_or_none(qtbot):
    field = FloatField(get_spec("Clamp").param("min"))  # no lower bound unless set
    qtbot.addWidget(field)
    field.set_value(None)
    assert field.text() == "none" and field.value_of() is None
    committed = []
    field.committed.connect(committed.append)
    field.lineEdit().selectAll()
    qtbot.keyClicks(field, "-0.5")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert committed == [-0.5] and field.value_of() == -0.5
    field.lineEdit().selectAll()
    qtbot.keyClicks(field, "none")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert committed == [-0.5, None] and field.text() == "none"


def test_highlighter_colours_keywords_strings_and_comments(qapp):
    doc = QTextDocument()
    doc.setPlainText('class Net(nn.Module):\n    """Doc\n    more"""\n    x = 3  # note\n')
    highlighter = PythonHighlighter(doc)
    highlighter.rehighlight()
    c = theme.colors()

    def colour_at(block: int, column: int) -> str:
        layout = doc.findBlockByNumber(block).layout()
        for r in layout.formats():
            if r.start <= column < r.start + r.length:
                return r.format.foreground().color().name()
        return ""

    assert colour_at(0, 0) == c["code_keyword"]  # class
    assert colour_at(0, 6) == c["code_def"]  # Net
    assert colour_at(1, 6) == c["code_string"]  # inside the docstring
    assert colour_at(2, 4) == c["code_string"]  # its second line
    assert colour_at(3, 8) == c["code_number"]  # 3
    assert colour_at(3, 13) == c["code_comment"]  # the comment


def test_numbers_read_like_a_person_writes_them():
    assert fmt_count(61706) == "61,706"
    assert fmt_si(417_000) == "417 K"
    assert fmt_si(1_234_567) == "1.23 M"
    assert fmt_si(12) == "12"
    assert fmt_bytes(4_036_608) == "3.85 MB"
    assert fmt_bytes(512) == "512 B"
