"""The Training panel: Start/Pause/Stop with live progress on top, the training setup below.

Every edit of the form becomes a ``SetTrainingConfigCommand`` on the document's undo stack, so
the setup is saved with the graph and undo works as for any other edit; the form re-reads
``graph.training`` whenever the undo stack moves. An invalid value is refused with the reason
beside the field (the engine's ``ConfigError`` names it).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...errors import NetbuilderError
from ..wheel_guard import guard_wheel
from .commands import SetTrainingConfigCommand
from .dataset_preview import DatasetPreview
from .option_text import BAD as _BAD
from .option_text import option_text, parse_option
from .setup_adversarial import add_adversarial_group, show_adversarial_settings

LABELS = {"dataset": "Dataset", "task": "Task", "loss": "Loss", "optimizer": "Optimizer",
          "lr": "Learning rate", "momentum": "Momentum", "weight_decay": "Weight decay",
          "schedule": "LR schedule", "warmup_steps": "Warm-up steps", "batch_size": "Batch size",
          "epochs": "Epochs", "val_split": "Validation", "seed": "Seed",
          "device": "Device", "precision": "Precision", "normalization": "Normalization",
          "grad_clip": "Clip gradients", "adversarial.method": "Attack",
          "adversarial.eps": "ε", "adversarial.fraction": "Share of batch",
          "adversarial.steps": "PGD steps", "adversarial.step_size": "PGD step size"}


class SetupForm(QWidget):
    """The TrainingConfig as a form; edits go through the undo stack."""

    dataset_changed = Signal(str)

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training_setup")
        self.controller = controller
        self.doc = None
        self.fields: dict[str, QWidget] = {}
        self.rows: dict[str, tuple[QFormLayout, QWidget]] = {}  # key → (its form, its row)
        self.errors: dict[str, QLabel] = {}
        self._loading = False
        from ...train.config import LOSSES, NORMALIZATIONS, OPTIMIZERS, PRECISIONS, SCHEDULES
        from ...train.data import list_builtin_datasets
        from ...train.tasks import task_names

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.setSpacing(8)

        data = self._group(layout, "Data")
        ds_box = QComboBox(objectName="setup_dataset")
        _compact(ds_box)
        ds_box.setEditable(True)
        ds_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for row in list_builtin_datasets():
            ds_box.addItem(row["name"], row["name"])
            ds_box.setItemData(ds_box.count() - 1, row["description"], Qt.ItemDataRole.ToolTipRole)
        ds_box.activated.connect(lambda _i: self._commit("dataset", ds_box.currentText().strip()))
        ds_box.lineEdit().editingFinished.connect(
            lambda: self._commit("dataset", ds_box.currentText().strip()))
        browse = QToolButton(text="…", objectName="setup_dataset_browse")
        browse.setToolTip("Choose a data file (CSV, NPY, NPZ, IDX) or a folder of images")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.setSpacing(4)
        row.addWidget(ds_box, 1)
        row.addWidget(browse)
        holder = QWidget()
        holder.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self._add(data, "dataset", holder, ds_box)
        size = QSpinBox(objectName="setup_image_size")
        size.setRange(0, 1024)
        size.setSpecialValueText("original")
        size.setToolTip("Resize images to this side length (0: keep their size; the run also "
                        "resizes them to fit the Input by itself)")
        size.editingFinished.connect(lambda: self._commit_option("size", size.value() or None))
        self._add(data, "dataset_options.size", size, label="Image size")
        limit = QSpinBox(objectName="setup_limit")
        limit.setRange(0, 10_000_000)
        limit.setSingleStep(100)
        limit.setSpecialValueText("all")
        limit.setToolTip("Use only the first N samples (quick experiments)")
        limit.editingFinished.connect(lambda: self._commit_option("limit", limit.value() or None))
        self._add(data, "dataset_options.limit", limit, label="Samples")
        self.preview = DatasetPreview()
        data.addRow(self.preview)
        self._preview_timer = QTimer(self, singleShot=True, interval=0)
        self._preview_timer.timeout.connect(self.refresh_preview)

        model = self._group(layout, "Objective")
        self._choice(model, "task", task_names())
        self._choice(model, "loss", LOSSES)

        opt = self._group(layout, "Optimizer")
        self._choice(opt, "optimizer", OPTIMIZERS)
        self._number(opt, "lr", 1e-7, 10.0)
        self._number(opt, "momentum", 0.0, 1.0)
        self._number(opt, "weight_decay", 0.0, 1.0)
        self._optimizer_options(opt)
        self._choice(opt, "schedule", SCHEDULES)
        self._int(opt, "warmup_steps", 0, 10_000_000)

        run = self._group(layout, "Run")
        self._int(run, "batch_size", 1, 1_000_000)
        self._int(run, "epochs", 1, 1_000_000)
        self._number(run, "val_split", 0.0, 0.95, decimals=2, step=0.05)
        self._int(run, "seed", 0, 2**31 - 1)
        self._choice(run, "normalization", NORMALIZATIONS)
        self._number(run, "grad_clip", 0.0, 1e6, decimals=2, step=0.5)
        early = QCheckBox("patience 5", objectName="setup_early")
        early.setToolTip("Stop when the validation metric has not improved for 5 epochs; the "
                         "best epoch's weights are kept")
        early.toggled.connect(self._commit_early)
        self._add(run, "early_stopping", early, label="Early stop")

        add_adversarial_group(self, layout)

        hw = self._group(layout, "Hardware")
        self._choice(hw, "device", ("auto", "cpu", "cuda", "mps"), editable=True)
        self._choice(hw, "precision", PRECISIONS)
        layout.addStretch(1)

    # --- building ---------------------------------------------------------------------------

    def _group(self, layout, title: str) -> QFormLayout:
        box = QGroupBox(title)
        box.setObjectName(f"setup_group_{title.lower()}")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setContentsMargins(8, 6, 8, 6)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(5)
        layout.addWidget(box)
        return form

    def _add(self, form: QFormLayout, key: str, widget: QWidget, value_widget=None,
             label: str | None = None) -> None:
        for w in {widget, value_widget or widget}:
            if isinstance(w, (QSpinBox, QDoubleSpinBox, QLineEdit, QComboBox)):
                # spin boxes ask for the width of their largest value (2147483647): let the
                # dock decide instead
                w.setMinimumWidth(64)
            if isinstance(w, (QSpinBox, QDoubleSpinBox, QComboBox)):
                guard_wheel(w)
            line = w if isinstance(w, QLineEdit) else getattr(w, "lineEdit", lambda: None)()
            if line is not None:
                line.textEdited.connect(lambda _t, k=key: self._recheck(k))
        error = QLabel("", objectName=f"setup_error_{key.replace('.', '_')}")
        error.setProperty("role", "field-error")
        error.setWordWrap(True)
        error.hide()
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(1)
        col.addWidget(widget)
        col.addWidget(error)
        form.addRow(label or LABELS.get(key, key), box)
        self.rows[key] = (form, box)
        self.fields[key] = value_widget or widget
        self.errors[key] = error

    def _choice(self, form, key: str, choices, editable: bool = False) -> None:
        box = QComboBox(objectName=f"setup_{key.replace('.', '_')}")
        _compact(box)
        box.addItems(list(choices))
        box.setEditable(editable)
        box.activated.connect(lambda _i: self._commit(key, box.currentText()))
        if editable:
            box.lineEdit().editingFinished.connect(lambda: self._commit(key, box.currentText()))
        self._add(form, key, box)

    def _number(self, form, key: str, lo: float, hi: float, decimals: int = 6,
                step: float | None = None) -> None:
        if step is None:  # learning rates and friends: free text, any magnitude
            edit = QLineEdit(objectName=f"setup_{key.replace('.', '_')}")
            edit.editingFinished.connect(lambda: self._commit_text_number(key, edit))
            self._add(form, key, edit)
            return
        spin = QDoubleSpinBox(objectName=f"setup_{key.replace('.', '_')}")
        spin.setRange(lo, hi)
        spin.setDecimals(decimals)
        spin.setSingleStep(step)
        spin.editingFinished.connect(lambda: self._commit(key, round(spin.value(), decimals)))
        self._add(form, key, spin)

    def _optimizer_options(self, form) -> None:
        """A field per optimizer option (``optimizer_options``); empty: torch's default."""
        from ...train.config import OPTIMIZER_OPTIONS

        kinds = {name: kind for opts in OPTIMIZER_OPTIONS.values() for name, kind in opts.items()}
        for name, kind in kinds.items():
            key = f"optimizer_options.{name}"
            label = name.replace("_", " ").capitalize()
            if kind == "bool":
                box = QCheckBox(objectName=f"setup_opt_{name}")
                box.toggled.connect(lambda on, n=name: self._commit_optimizer_option(n, on))
                self._add(form, key, box, label=label)
            elif isinstance(kind, tuple):
                combo = QComboBox(objectName=f"setup_opt_{name}")
                combo.addItems([str(v) for v in kind])
                combo.activated.connect(lambda i, n=name, k=kind: self._commit_optimizer_option(
                    n, k[i]))
                self._add(form, key, combo, label=label)
            else:
                edit = QLineEdit(objectName=f"setup_opt_{name}")
                edit.setPlaceholderText("torch's default" if kind != "pair" else "e.g. 0.9, 0.999")
                edit.editingFinished.connect(lambda n=name, e=edit: self._commit_optimizer_text(
                    n, e))
                self._add(form, key, edit, label=label)

    def _int(self, form, key: str, lo: int, hi: int) -> None:
        spin = QSpinBox(objectName=f"setup_{key.replace('.', '_')}")
        spin.setRange(lo, hi)
        spin.setKeyboardTracking(False)
        spin.editingFinished.connect(lambda: self._commit(key, spin.value()))
        self._add(form, key, spin)

    # --- document ---------------------------------------------------------------------------

    def set_document(self, doc) -> None:
        if self.doc is not None:
            try:
                self.doc.undo_stack.indexChanged.disconnect(self._stack_moved)
            except (RuntimeError, TypeError):
                pass
        self.doc = doc
        if doc is not None:
            doc.undo_stack.indexChanged.connect(self._stack_moved)
        self.load()

    def _stack_moved(self, _index: int) -> None:
        self.load()

    def config_dict(self) -> dict:
        from ...train.config import ConfigError, TrainingConfig

        try:
            return TrainingConfig.from_graph(self.doc.graph).to_dict()
        except ConfigError:
            return TrainingConfig().to_dict()

    def load(self) -> None:
        """Show the document's setup (defaults for what it does not set)."""
        if self.doc is None:
            return
        cfg = self.config_dict()
        self._loading = True
        try:
            for key, w in self.fields.items():
                if key.startswith("dataset_options."):
                    value = cfg["dataset_options"].get(key.split(".", 1)[1]) or 0
                elif key.startswith("optimizer_options."):
                    value = cfg["optimizer_options"].get(key.split(".", 1)[1])
                    if not isinstance(w, QCheckBox):
                        value = option_text(value)
                elif key == "early_stopping":
                    value = cfg["early_stopping"] is not None
                elif "." in key:  # a setting of a group (adversarial.eps)
                    top, _, sub = key.partition(".")
                    value = cfg[top].get(sub)
                else:
                    value = cfg.get(key)
                self._set_widget(w, value)
        finally:
            self._loading = False
        self._show_optimizer_settings(cfg["optimizer"])
        show_adversarial_settings(self, cfg["adversarial"]["method"])
        self.dataset_changed.emit(cfg["dataset"])
        self._preview_timer.start()

    def _show_optimizer_settings(self, optimizer: str) -> None:
        """Only the settings ``optimizer`` has (SGD's momentum; no weight decay for L-BFGS)."""
        from ...train.config import OPTIMIZER_OPTIONS, OPTIMIZER_SETTINGS

        has = (*OPTIMIZER_SETTINGS.get(optimizer, ()),
               *(f"optimizer_options.{k}" for k in OPTIMIZER_OPTIONS.get(optimizer, {})))
        for key, (form, row) in self.rows.items():
            if key in ("lr", "momentum", "weight_decay") or key.startswith("optimizer_options."):
                form.setRowVisible(row, key in has)

    def _set_widget(self, w: QWidget, value) -> None:
        w.blockSignals(True)
        if isinstance(w, QComboBox):
            text = str(value)
            i = w.findText(text)
            if i >= 0:
                w.setCurrentIndex(i)
            elif w.isEditable():
                w.setEditText(text)
        elif isinstance(w, QSpinBox):
            w.setValue(int(value or 0))
        elif isinstance(w, QDoubleSpinBox):
            w.setValue(float(value or 0))
        elif isinstance(w, QLineEdit):
            w.setText(f"{value:g}" if isinstance(value, float) else str(value))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        w.blockSignals(False)

    # --- edits ------------------------------------------------------------------------------

    def _commit(self, key: str, value) -> bool:
        if self._loading or self.doc is None:
            return False
        cfg = self.config_dict()
        top, dot, sub = key.partition(".")
        holder = cfg[top] if dot else cfg  # a group's setting (adversarial.eps) or a setting
        name = sub if dot else key
        if holder.get(name) == value and type(holder.get(name)) is type(value):
            self._clear_error(key)
            return True
        if dot:
            cfg[top] = {**holder, name: value}
        else:
            cfg[key] = value
        if key == "optimizer":  # the options the new optimizer does not take go
            from ...train.config import OPTIMIZER_OPTIONS

            cfg["optimizer_options"] = {k: v for k, v in cfg["optimizer_options"].items()
                                        if k in OPTIMIZER_OPTIONS.get(value, {})}
        return self._push(cfg, key, f"Set {LABELS.get(key, key).lower()} to {value}")

    def _commit_optimizer_text(self, name: str, edit: QLineEdit) -> None:
        value = parse_option(edit.text())
        if value is _BAD:
            self._show_error(f"optimizer_options.{name}",
                             f"{edit.text()!r} is not a number (or two, for betas)")
            return
        self._commit_optimizer_option(name, value, remove=value is None)

    def _commit_optimizer_option(self, name: str, value, remove: bool = False) -> None:
        """Set option ``name`` to ``value`` (``remove``: back to torch's default)."""
        if self._loading or self.doc is None:
            return
        cfg = self.config_dict()
        opts = dict(cfg["optimizer_options"])
        if (name not in opts) if remove else (name in opts and opts[name] == value):
            return
        if remove:
            opts.pop(name, None)
        else:
            opts[name] = value
        cfg["optimizer_options"] = opts
        shown = "the default" if remove else value
        self._push(cfg, f"optimizer_options.{name}", f"Set {cfg['optimizer']} {name} to {shown}")

    def _commit_text_number(self, key: str, edit: QLineEdit) -> None:
        try:
            value = float(edit.text().strip())
        except ValueError:
            self._show_error(key, f"{edit.text()!r} is not a number")
            return
        self._commit(key, value)

    def _commit_option(self, name: str, value) -> None:
        if self._loading or self.doc is None:
            return
        cfg = self.config_dict()
        opts = dict(cfg["dataset_options"])
        if value is None:
            if name not in opts:
                return
            opts.pop(name)
        elif opts.get(name) == value:
            return
        else:
            opts[name] = value
        cfg["dataset_options"] = opts
        self._push(cfg, f"dataset_options.{name}", f"Set dataset {name} to {value}")

    def _commit_early(self, on: bool) -> None:
        if self._loading or self.doc is None:
            return
        cfg = self.config_dict()
        cfg["early_stopping"] = {"metric": "auto", "patience": 5} if on else None
        self._push(cfg, "early_stopping", "Turn early stopping " + ("on" if on else "off"))

    def _push(self, cfg: dict, key: str, text: str) -> bool:
        from ...train.config import TrainingConfig

        try:
            new = TrainingConfig.from_dict(cfg).to_dict()
        except NetbuilderError as exc:
            self._show_error(key, str(exc))
            return False
        self._clear_error(key)
        ok = self.doc.push(SetTrainingConfigCommand(self.doc, new, text, key=key))
        if key == "dataset" or key.startswith("dataset_options"):
            self._preview_timer.start()
        return ok

    def _show_error(self, key: str, text: str) -> None:
        label = self.errors.get(key)
        if label is not None:
            label.setText(text)
            label.show()
        self.load_field(key)

    def _clear_error(self, key: str) -> None:
        label = self.errors.get(key)
        if label is not None:
            label.hide()

    def _typed_value(self, key: str):
        """What field ``key`` holds right now, as the config would store it (None: no value)."""
        w = self.fields[key]
        if isinstance(w, (QSpinBox, QDoubleSpinBox)):
            if not w.hasAcceptableInput():
                return None
            return w.valueFromText(w.cleanText())
        if isinstance(w, QComboBox):
            return w.currentText().strip() or None
        if key.startswith("optimizer_options."):
            value = parse_option(w.text())
            return None if value is _BAD else value
        try:
            return float(w.text().strip())
        except ValueError:
            return None

    def _recheck(self, key: str) -> None:
        """Hide a shown refusal as soon as the field's text is a valid value."""
        label = self.errors.get(key)
        if label is None or label.isHidden() or self.doc is None:
            return
        value = self._typed_value(key)
        if value is None:
            return
        from ...train.config import TrainingConfig

        cfg = self.config_dict()
        if key.startswith("dataset_options."):
            cfg["dataset_options"] = {**cfg["dataset_options"], key.split(".", 1)[1]: value or None}
        elif "." in key:  # optimizer_options.eps, adversarial.eps
            top, _, sub = key.partition(".")
            cfg[top] = {**cfg[top], sub: value}
        else:
            cfg[key] = value
        try:
            TrainingConfig.from_dict(cfg)
        except NetbuilderError:
            return
        label.hide()

    def load_field(self, key: str) -> None:
        """Put the stored value back into one field (after a refused edit)."""
        error_shown = {k: not lbl.isHidden() for k, lbl in self.errors.items()}
        self.load()
        for k, vis in error_shown.items():
            self.errors[k].setVisible(vis)

    def _browse(self) -> None:
        start = str(self.doc.path.parent) if self.doc is not None and self.doc.path else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a dataset", start,
            "Data files (*.csv *.tsv *.npy *.npz *.idx *ubyte *.gz);;All files (*)")
        if path:
            self._commit("dataset", str(Path(path)))

    # --- preview ----------------------------------------------------------------------------

    def refresh_preview(self) -> None:
        if self.doc is None:
            return
        from ...train.batches import fit_to_input
        from ...train.config import TrainingConfig
        from ...train.data import preview

        try:
            cfg = TrainingConfig.from_graph(self.doc.graph)
            ds = self.controller.load_dataset(cfg)
        except NetbuilderError as exc:
            self.preview.show_preview(None, str(exc))
            return
        notes: list[str] = []
        try:  # what the run will feed: resized or flattened to fit the Input, as it will be
            ds, _ = fit_to_input(ds, self.doc.graph, notes.append)
        except NetbuilderError as exc:
            notes.append(str(exc))
        n = 400 if ds.kind == "vector" and ds.input_shape == (2,) else 16
        self.preview.show_preview(preview(ds, n=n), note=" ".join(notes))


def _compact(box: QComboBox) -> None:
    """Let a combo box shrink with the dock instead of forcing its longest item's width."""
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(6)
