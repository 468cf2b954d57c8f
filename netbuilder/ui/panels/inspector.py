"""The inspector: the selected node's name, shapes, size and a form built from its layer spec.

Every edit goes through an undoable command. A value the layer cannot take is refused with the
reason in red beside the field (the sentence ``Param.validate`` raises), never in a pop-up.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ...errors import NetbuilderError, ParamError
from ...graph import fmt_shape
from ...layers import Param
from .. import theme
from ..canvas.node_text import shape_texts
from ..commands import RenameCommand, SetParamsCommand, SetTrainableCommand
from .fields import is_unparsed, make_field
from .numbers import fmt_count, fmt_si, trainable_text
from .sharing import SharingField

WEIGHT_FIELDS = ("init", "init_value", "l1", "l2")
SWEEPABLE = ("int", "float", "choice", "bool")  # kinds a sweep can vary
EMPTY_HINT = ("Select a layer on the canvas to see its shapes and edit its parameters. Drag "
              "layers in from the Layers panel, or press Tab on the canvas to add one.")


def error_label(object_name: str) -> QLabel:
    label = QLabel(objectName=object_name)
    label.setProperty("role", "field-error")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


class ParamRow(QWidget):
    """One parameter: its editor with the refusal reason right beneath it."""

    def __init__(self, param: Param, parent: QWidget | None = None):
        super().__init__(parent)
        self.param = param
        self.editor = make_field(param, self)
        self.editor.setObjectName(f"field_{param.name}")
        self.editor.setToolTip(f"{param.doc}\nValid: {param.describe_range()}")
        self.error = error_label(f"error_{param.name}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.editor)
        layout.addWidget(self.error)
        if hasattr(self.editor, "typed"):
            self.editor.typed.connect(self._typed)

    def _typed(self, value) -> None:
        """Take the refusal away as soon as the text is a valid value."""
        if self.error.isHidden() or is_unparsed(value):
            return
        try:
            self.param.validate(value, "")
        except ParamError:
            return
        self.clear_error()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def clear_error(self) -> None:
        self.error.clear()
        self.error.hide()


class InspectorPanel(QWidget):
    """Shows and edits the one selected node of the graph at the canvas's current level."""

    edit_refused = Signal(str)
    sweep_requested = Signal(str, str)  # node's dotted name, parameter: sweep it

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("inspector")
        self.doc = None
        self.path: tuple = ()
        self.node_id: str | None = None
        self._type: str | None = None
        self.rows: dict[str, ParamRow] = {}

        self.title = QLabel(objectName="inspector_title")
        self.title.setProperty("role", "heading")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title.setFont(font)
        self.subtitle = QLabel(objectName="inspector_doc")
        self.subtitle.setProperty("role", "muted")
        self.subtitle.setWordWrap(True)

        self.name_edit = QLineEdit(objectName="inspector_name")
        self.name_edit.setToolTip("The node's name: its attribute and variable name in the "
                                  "generated code (F2 on the canvas)")
        self.name_edit.editingFinished.connect(self._rename)
        self.name_error = error_label("error_name")
        name_box = QWidget()
        nl = QVBoxLayout(name_box)
        nl.setContentsMargins(0, 0, 0, 0)
        nl.setSpacing(2)
        nl.addWidget(self.name_edit)
        nl.addWidget(self.name_error)

        self.trainable = QCheckBox("Trainable", objectName="inspector_trainable")
        self.trainable.setToolTip("Off: the node is frozen — training leaves its parameters "
                                  "as they are (a block: everything inside it) and runs it in "
                                  "inference mode (BatchNorm keeps its statistics)")
        self.trainable.clicked.connect(self._set_trainable)

        self.facts = QWidget(objectName="inspector_facts")
        grid = QGridLayout(self.facts)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(3)
        self.fact_labels: dict[str, QLabel] = {}
        for row, (key, text) in enumerate((("inputs", "Input"), ("outputs", "Output"),
                                           ("params", "Parameters"), ("macs", "MACs"))):
            caption = QLabel(text)
            caption.setProperty("role", "muted")
            value = QLabel(objectName=f"inspector_{key}")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            grid.addWidget(caption, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, 1)
            self.fact_labels[key] = value
        grid.setColumnStretch(1, 1)
        self.block_hint = QLabel("Double-click the block on the canvas to open it and edit "
                                 "the layers inside; Esc comes back.", objectName="inspector_block")
        self.block_hint.setProperty("role", "muted")
        self.block_hint.setWordWrap(True)
        self.node_error = QLabel(objectName="inspector_node_error")
        self.node_error.setProperty("role", "field-error")
        self.node_error.setWordWrap(True)
        self.node_error.hide()

        self.form_host = QWidget(objectName="inspector_form")
        self.form = QFormLayout(self.form_host)
        self._setup_form(self.form)

        self.overview = QLabel(objectName="inspector_overview")
        self.overview.setWordWrap(True)
        self.overview.setTextFormat(Qt.TextFormat.RichText)
        self.overview.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty = QLabel(EMPTY_HINT, objectName="inspector_empty")
        self.empty.setProperty("role", "muted")
        self.empty.setWordWrap(True)

        body = QWidget()
        self.body_layout = QVBoxLayout(body)
        self.body_layout.setContentsMargins(10, 10, 10, 10)
        self.body_layout.setSpacing(8)
        self.shares = SharingField()
        self.shares_title = _section("Module")
        self.node_widgets = [self.title, self.subtitle, _section("Name"), name_box,
                             self.trainable, self.shares_title, self.shares,
                             _section("Tensor"), self.facts, self.node_error,
                             self.params_title(), self.block_hint, self.form_host]
        for w in self.node_widgets:
            self.body_layout.addWidget(w)
        self.body_layout.addWidget(self.overview)
        self.body_layout.addWidget(self.empty)
        self.body_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._show_node(False)

    def params_title(self) -> QLabel:
        self._params_title = _section("Parameters")
        self._params_title.setWordWrap(True)
        return self._params_title

    @staticmethod
    def _setup_form(form: QFormLayout) -> None:
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(6)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)

    # --- wiring -------------------------------------------------------------------------------

    def set_document(self, doc) -> None:
        if self.doc is not None:
            self.doc.analysis_updated.disconnect(self._analysis_updated)
        self.doc = doc
        self.path = ()
        self.node_id = None
        doc.analysis_updated.connect(self._analysis_updated)
        self.refresh()

    def set_selection(self, ids, path=None) -> None:
        """Show the node when exactly one is selected; ``path`` is the open block path."""
        if path is not None:
            self.path = tuple(path)
        ids = list(ids)
        self.node_id = ids[0] if len(ids) == 1 else None
        self.empty.setText(f"{len(ids)} nodes selected: select one to edit it." if len(ids) > 1
                           else EMPTY_HINT)
        self.refresh()

    def graph(self):
        return self.doc.graph_at(self.path) if self.doc is not None else None

    def _analysis_updated(self, _analysis) -> None:
        self.refresh()

    # --- display ------------------------------------------------------------------------------

    def refresh(self) -> None:
        g = self.graph() if self.doc is not None else None
        try:
            node = g.node(self.node_id) if g is not None and self.node_id else None
        except NetbuilderError:
            node = None
        if node is None:
            self.node_id, self._type = None, None
            self._show_node(False)
            self._show_overview(g)
            return
        if node.type != self._type or node.id != getattr(self, "_built_for", None):
            self._build_form(node)
        self._show_node(True)
        self.title.setText(node.type)
        self.subtitle.setText(node.spec.doc)
        if not self.name_edit.hasFocus():
            self.name_edit.setText(node.name)
        for name, row in self.rows.items():
            if not row.editor.hasFocus():
                row.editor.set_value(node.params.get(name))
        self._show_facts(node)
        self._show_trainable(g, node)
        sharing = SharingField.applies(node)
        if sharing:
            self.shares.show_node(self.doc, self.path, node)
        self.shares.setVisible(sharing)
        self.shares_title.setVisible(sharing)

    def _show_trainable(self, g, node) -> None:
        inherited = node.trainable and g.is_frozen(node.id)  # frozen with its block
        self.trainable.setChecked(node.trainable and not inherited)
        self.trainable.setEnabled(not inherited)
        self.trainable.setText("Trainable (frozen with its block)" if inherited else
                               "Trainable")

    def _set_trainable(self, checked: bool) -> None:
        if self.doc is None or self.node_id is None:
            return
        self.doc.push(SetTrainableCommand(self.doc, [self.node_id], checked, self.path))
        self.refresh()

    def _show_facts(self, node) -> None:
        analysis = None if self.doc.analysis_pending() else self.doc.analysis_at(self.path)
        info = analysis.nodes.get(node.id) if analysis is not None else None
        if info is None:
            for label in self.fact_labels.values():
                label.setText("—")
            self.node_error.hide()
            return
        ins = [fmt_shape(s) for s in info.in_shapes]
        outs = shape_texts(info)
        self.fact_labels["inputs"].setText("\n".join(ins) if ins else "none (a source)")
        self.fact_labels["outputs"].setText("\n".join(outs) if outs else "—")
        trainable = (" (frozen)" if not info.trainable and info.params else
                     f" ({info.trainable:,} trainable)" if info.trainable != info.params
                     else "")
        self.fact_labels["params"].setText(fmt_count(info.params) + trainable)
        self.fact_labels["macs"].setText(fmt_si(info.macs) + " per sample")
        self.node_error.setText(info.error or "")
        self.node_error.setVisible(bool(info.error))

    def _show_node(self, visible: bool) -> None:
        for w in self.node_widgets:
            w.setVisible(visible)
        self.empty.setVisible(not visible)
        self.overview.setVisible(not visible and bool(self.overview.text()))
        if visible:
            has_main = bool(self.rows)
            self.form_host.setVisible(has_main)
            block = self._is_block()
            self._params_title.setText("PARAMETERS" if has_main else
                                       "BLOCK" if block else "NO PARAMETERS")
            self.block_hint.setVisible(block)
            self.name_error.setVisible(bool(self.name_error.text()))
            self.node_error.setVisible(bool(self.node_error.text()))
            for row in self.rows.values():
                row.error.setVisible(bool(row.error.text()))

    def _show_overview(self, g) -> None:
        """With no layer selected: what the graph is and how big, at a glance."""
        if g is None or not len(g):
            self.overview.clear()
            self.overview.hide()
            return
        c = theme.colors()
        analysis = None if self.doc.analysis_pending() else self.doc.analysis_at(self.path)
        desc = g.meta.get("description", "") if isinstance(g.meta, dict) else ""
        rows = [("Layers", f"{len(g)}"), ("Wires", f"{len(g.edges())}")]
        if analysis is not None:
            rows += [("Parameters", fmt_count(analysis.total_params)),
                     ("Trainable", trainable_text(analysis)),
                     ("MACs", f"{fmt_si(analysis.total_macs)} per sample")]
            for label, ids in (("Input", g.inputs()), ("Output", g.outputs())):
                shapes = [fmt_shape(analysis.shape(i)) for i in ids if analysis.shape(i)]
                if shapes:
                    rows.append((label, "<br>".join(shapes)))
            errors = sum(d.is_error for d in analysis.diagnostics)
            if errors:
                rows.append(("Problems", f"<span style='color:{c['error']}'>{errors} "
                                         f"error{'s' if errors > 1 else ''}</span>"))
        table = "".join(f"<tr><td style='color:{c['muted']}; padding:2px 12px 2px 0'>{k}</td>"
                        f"<td style='padding:2px 0'>{v}</td></tr>" for k, v in rows)
        title = html.escape(g.name or "untitled")
        text = f"<div style='font-size:large; font-weight:600'>{title}</div>"
        if desc:
            text += f"<p style='color:{c['muted']}'>{html.escape(desc)}</p>"
        self.overview.setText(text + f"<table>{table}</table>")
        self.overview.show()

    def _is_block(self) -> bool:
        g = self.graph()
        return bool(g is not None and self.node_id and g.node(self.node_id).inner is not None)

    def _build_form(self, node) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.rows = {}
        self.name_error.clear()
        # The layer's own parameters first, then weight init and penalties under a heading; one
        # form keeps every field in the same column.
        params = sorted(node.spec.params, key=lambda p: p.name in WEIGHT_FIELDS)
        for param in params:
            if param.name == WEIGHT_FIELDS[0]:
                self.form.addRow(_section("Initialization & regularization"))
            row = ParamRow(param)
            row.editor.committed.connect(lambda v, p=param.name: self._commit(p, v))
            row.editor.refused.connect(lambda text, p=param.name: self._refuse(p, text))
            caption = QLabel(param.name)
            caption.setObjectName(f"caption_{param.name}")
            caption.setToolTip(param.doc)
            caption.setBuddy(row.editor)
            if param.kind in SWEEPABLE:
                caption.setToolTip(f"{param.doc}\nRight-click: sweep this value")
                caption.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
                caption.customContextMenuRequested.connect(
                    lambda pos, c=caption, p=param.name: self._caption_menu(c, p, pos))
            self.form.addRow(caption, row)
            self.rows[param.name] = row
        self._type = node.type
        self._built_for = node.id

    def _caption_menu(self, caption: QLabel, param: str, pos) -> None:
        menu = self.sweep_menu(param)
        if menu is not None:
            menu.exec(caption.mapToGlobal(pos))

    def sweep_menu(self, param: str) -> QMenu | None:
        """The caption's context menu: Sweep this value. A sweep names the node by its
        dotted name from the top level (``layer1.0.conv1``); inside a block that several
        block nodes use, the entry says that only this use varies."""
        from ...train.sweep.space import block_uses

        g = self.graph()
        if g is None or self.node_id is None:
            return None
        name = ".".join([*self._path_names(), g.node(self.node_id).name])
        shared = block_uses(self.doc.graph, f"{name}.{param}")
        menu = QMenu(self)
        menu.setObjectName("inspector_sweep_menu")
        action = menu.addAction("Sweep this value…" if shared is None else
                                f"Sweep this value (this use of {shared[0]} only)…")
        action.setObjectName("action_sweep_value")
        action.triggered.connect(lambda: self.sweep_requested.emit(name, param))
        return menu

    def _path_names(self) -> list[str]:
        """The names of the open blocks, from the top level down."""
        names, g = [], self.doc.graph
        for block_id in self.path:
            node = g.node(block_id)
            names.append(node.name)
            g = node.inner
        return names

    # --- edits --------------------------------------------------------------------------------

    def _commit(self, key: str, value) -> None:
        g = self.graph()
        node = g.node(self.node_id)
        row = self.rows[key]
        if is_unparsed(value):
            self._refuse(key, str(value))
            return
        try:
            value = node.spec.param(key).validate(value, node.label)
        except ParamError as exc:
            row.show_error(str(exc))
            self.edit_refused.emit(str(exc))
            return
        row.clear_error()
        if node.params.get(key) == value and type(node.params.get(key)) is type(value):
            return
        errors: list[str] = []
        self.doc.error_reported.connect(errors.append)
        try:
            self.doc.push(SetParamsCommand(self.doc, self.node_id, {key: value}, self.path))
        finally:
            self.doc.error_reported.disconnect(errors.append)
        if errors:
            row.show_error(errors[0])

    def _refuse(self, key: str, text: str) -> None:
        """Explain why ``text`` is not a value of ``key``, in the words of the spec."""
        g = self.graph()
        node = g.node(self.node_id)
        row = self.rows[key]
        raw = row.editor.raw_value() if hasattr(row.editor, "raw_value") else text
        try:
            node.spec.param(key).validate(raw if not is_unparsed(raw) else text.strip(),
                                          node.label)
            reason = (f"{node.label}: {key} = {text.strip()!r} is not valid: expected "
                      f"{node.spec.param(key).describe_range()}")
        except ParamError as exc:
            reason = str(exc)
        row.show_error(reason)
        self.edit_refused.emit(reason)

    def _rename(self) -> None:
        g = self.graph()
        if g is None or self.node_id is None or self.node_id not in g:
            return
        node = g.node(self.node_id)
        name = self.name_edit.text().strip()
        if name == node.name:
            self.name_error.clear()
            self.name_error.hide()
            return
        taken = next((n for n in g.nodes() if n.name == name and n.id != node.id), None)
        if not name:
            reason = "A node name cannot be empty"
        elif taken is not None:
            reason = (f"The name {name!r} is taken by {taken.label}: names must be unique "
                      f"(try {g.unique_name(name)!r})")
        else:
            reason = ""
        if not reason:
            errors: list[str] = []
            self.doc.error_reported.connect(errors.append)
            try:
                self.doc.push(RenameCommand(self.doc, self.node_id, name, self.path))
            finally:
                self.doc.error_reported.disconnect(errors.append)
            reason = errors[0] if errors else ""
        self.name_error.setText(reason)
        self.name_error.setVisible(bool(reason))
        if reason:
            self.edit_refused.emit(reason)


def _section(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setProperty("role", "muted")
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.85)
    font.setBold(True)
    font.setLetterSpacing(font.SpacingType.PercentageSpacing, 108)
    label.setFont(font)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    label.setContentsMargins(0, 6, 0, 0)
    return label
