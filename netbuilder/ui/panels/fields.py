"""Editors for one layer parameter each, chosen by the parameter's kind.

Every editor emits ``committed(value)`` when the person finishes an edit (Enter, focus out, an
arrow step, a pick) and ``refused(text)`` when what they typed cannot be a value at all. Range
checks are NOT done here: the inspector validates with the spec's own ``Param.validate`` so the
reason shown beside the field is the same sentence the graph would raise.
"""
from __future__ import annotations

import math
import re

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox, QWidget

from ...layers import Param

INT_LIMIT = 2**31 - 1
_INT_RE = re.compile(r"^\s*[-+]?\d+\s*$")
_FLOAT_RE = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class FieldMixin:
    """Shared contract: ``set_value`` (no signals), ``committed``/``refused`` signals."""

    param: Param

    def set_value(self, value) -> None:
        raise NotImplementedError


class IntField(QSpinBox, FieldMixin):
    """An integer spin box. Out-of-range text stays typeable so Enter can explain the refusal.

    An optional parameter (None allowed) shows "auto" at one below the minimum.
    """

    committed = Signal(object)
    refused = Signal(str)

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(parent)
        self.param = param
        lo = int(param.min) if param.min is not None else -INT_LIMIT + 1
        hi = int(param.max) if param.max is not None else INT_LIMIT
        if param.optional:
            lo -= 1
            self.setSpecialValueText("auto")
        self.setRange(lo, hi)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)
        self.setButtonSymbols(QSpinBox.ButtonSymbols.UpDownArrows)
        self.setCorrectionMode(QSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.valueChanged.connect(self._changed)

    def set_value(self, value) -> None:
        with QSignalBlocker(self):
            self.setValue(self.minimum() if value is None else int(value))

    def value_of(self):
        if self.param.optional and self.value() == self.minimum():
            return None
        return self.value()

    def validate(self, text: str, pos: int):
        body = text.strip()
        if self.param.optional and body == "auto"[: len(body)]:
            return (QValidator.State.Intermediate if body != "auto" else
                    QValidator.State.Acceptable), text, pos
        if body in ("", "-", "+"):
            return QValidator.State.Intermediate, text, pos
        if not _INT_RE.match(body):
            return QValidator.State.Invalid, text, pos
        inside = self.minimum() <= int(body) <= self.maximum()
        return (QValidator.State.Acceptable if inside else QValidator.State.Intermediate,
                text, pos)

    def raw_value(self):
        """What the person typed, as a number (None when it is not one)."""
        body = self.lineEdit().text().strip()
        if self.param.optional and body == "auto":
            return None
        return int(body) if _INT_RE.match(body) else body

    def keyPressEvent(self, event):
        if event.key() in _ENTER and not self.hasAcceptableInput():
            self.refused.emit(self.lineEdit().text())
            return  # keep the text so the person can correct it
        super().keyPressEvent(event)

    def focusOutEvent(self, event):
        if not self.hasAcceptableInput() and self.lineEdit().text().strip():
            self.refused.emit(self.lineEdit().text())
        super().focusOutEvent(event)

    def _changed(self, _value) -> None:
        self.committed.emit(self.value_of())


class FloatField(QDoubleSpinBox, FieldMixin):
    """A float spin box that shows short numbers (1e-05, 0.25) instead of fixed decimals.

    An optional parameter (None allowed: a Clamp without a lower bound) shows "none" at one
    below the minimum.
    """

    committed = Signal(object)
    refused = Signal(str)

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(parent)
        self.param = param
        self.setDecimals(12)
        lo = float(param.min) if param.min is not None else -1e12
        hi = float(param.max) if param.max is not None else 1e12
        if param.optional:
            lo -= 1
            self.setSpecialValueText("none")
        self.setRange(lo, hi)
        self.setSingleStep(_step_for(param))
        self.setKeyboardTracking(False)
        self.setCorrectionMode(QDoubleSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.valueChanged.connect(lambda v: self.committed.emit(self.value_of()))

    def set_value(self, value) -> None:
        with QSignalBlocker(self):
            self.setValue(self.minimum() if value is None else float(value))

    def value_of(self):
        if self.param.optional and self.value() == self.minimum():
            return None
        return float(self.value())

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        if self.param.optional and text.strip() == "none":
            return self.minimum()
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        body = text.strip()
        if self.param.optional and body and body == "none"[: len(body)]:
            return (QValidator.State.Intermediate if body != "none" else
                    QValidator.State.Acceptable), text, pos
        if body in ("", "-", "+", ".") or re.match(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?$", body):
            return QValidator.State.Intermediate, text, pos
        if not _FLOAT_RE.match(body):
            return QValidator.State.Invalid, text, pos
        inside = self.minimum() <= float(body) <= self.maximum()
        return (QValidator.State.Acceptable if inside else QValidator.State.Intermediate,
                text, pos)

    def raw_value(self):
        body = self.lineEdit().text().strip()
        if self.param.optional and body == "none":
            return None
        return float(body) if _FLOAT_RE.match(body) else body

    def keyPressEvent(self, event):
        if event.key() in _ENTER and not self.hasAcceptableInput():
            self.refused.emit(self.lineEdit().text())
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event):
        if not self.hasAcceptableInput() and self.lineEdit().text().strip():
            self.refused.emit(self.lineEdit().text())
        super().focusOutEvent(event)


def _step_for(param: Param) -> float:
    d = param.default if isinstance(param.default, (int, float)) else 0.0
    if d and abs(d) < 0.1:
        return 10 ** math.floor(math.log10(abs(d)))
    if param.max is not None and param.max <= 1:
        return 0.05
    return 0.1


class ChoiceField(QComboBox, FieldMixin):
    committed = Signal(object)
    refused = Signal(str)

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(parent)
        self.param = param
        for choice in param.choices:
            self.addItem(str(choice), choice)
        self.activated.connect(lambda i: self.committed.emit(self.itemData(i)))

    def set_value(self, value) -> None:
        with QSignalBlocker(self):
            index = self.findData(value)
            self.setCurrentIndex(max(index, 0))

    def value_of(self):
        return self.currentData()


class BoolField(QCheckBox, FieldMixin):
    committed = Signal(object)
    refused = Signal(str)

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(parent)
        self.param = param
        self.clicked.connect(lambda checked: self.committed.emit(bool(checked)))

    def set_value(self, value) -> None:
        with QSignalBlocker(self):
            self.setChecked(bool(value))

    def value_of(self):
        return self.isChecked()


class TextField(QLineEdit, FieldMixin):
    """Text, or a tuple of integers typed as ``3`` or ``3, 3`` (also ``(3, 3)`` or ``3x3``).

    An optional tuple left empty means None, shown as the placeholder "auto".
    """

    committed = Signal(object)
    refused = Signal(str)

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(parent)
        self.param = param
        self._shown = ""
        if param.optional:
            self.setPlaceholderText("auto")
        elif param.kind in ("ints", "shape"):
            self.setPlaceholderText("e.g. 3 or 3, 3")
        self.editingFinished.connect(self._finish)

    def set_value(self, value) -> None:
        self._shown = format_value(value)
        with QSignalBlocker(self):
            self.setText(self._shown)

    def value_of(self):
        return parse_value(self.param, self.text())

    def raw_value(self):
        return self.value_of()

    def _finish(self) -> None:
        if self.text().strip() == self._shown.strip():
            return
        value = self.value_of()
        if isinstance(value, _Unparsed):
            self.refused.emit(self.text())
        else:
            self.committed.emit(value)


class _Unparsed(str):
    """Text that is not a number or tuple (the inspector explains why)."""


def parse_value(param: Param, text: str):
    """``"3"`` → 3, ``"3, 3"``/``"(3, 3)"``/``"3x3"`` → (3, 3); ``""`` → None; else unparsed."""
    body = text.strip()
    if param.kind == "str":
        return text
    if not body:
        return None
    inner = re.sub(r"(?<=\d)\s*[x×]\s*(?=\d)", ",", body.strip("()[] "))  # 3x3 → 3,3
    parts = [p for p in re.split(r"[,\s]+", inner) if p]
    if parts and all(_INT_RE.match(p) for p in parts):
        numbers = tuple(int(p) for p in parts)
        if param.kind == "ints" and len(numbers) == 1 and "," not in body:
            return numbers[0]
        return numbers
    return _Unparsed(text)


def format_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    return str(value)


def make_field(param: Param, parent: QWidget | None = None) -> QWidget:
    """The editor for ``param``'s kind."""
    if param.kind == "int":
        return IntField(param, parent)
    if param.kind == "float":
        return FloatField(param, parent)
    if param.kind == "choice":
        return ChoiceField(param, parent)
    if param.kind == "bool":
        return BoolField(param, parent)
    return TextField(param, parent)


def is_unparsed(value) -> bool:
    return isinstance(value, _Unparsed)
