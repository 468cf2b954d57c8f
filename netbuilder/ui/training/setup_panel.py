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
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...errors import NetbuilderError
from ..wheel_guard import guard_wheel
from .commands import SetTrainingConfigCommand
from .controls import ControlBar
from .dataset_preview import DatasetPreview

LABELS = {"dataset": "Dataset", "task": "Task", "loss": "Loss", "optimizer": "Optimizer",
          "lr": "Learning rate", "momentum": "Momentum", "weight_decay": "Weight decay",
          "schedule": "LR schedule", "warmup_steps": "Warm-up steps", "batch_size": "Batch size",
          "epochs": "Epochs", "val_split": "Validation", "seed": "Seed",
          "device": "Device", "precision": "Precision", "normalization": "Normalization",
          "grad_clip": "Clip gradients"}


class SetupForm(QWidget):
    """The TrainingConfig as a form; edits go through the undo stack."""

    dataset_changed = Signal(str)

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training_setup")
        self.controller = controller
        self.doc = None
        self.fields: dict[str, QWidget] = {}
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
        self.fields[key] = value_widget or widget
        self.errors[key] = error

    def _choice(self, form, key: str, choices, editable: bool = False) -> None:
        box = QComboBox(objectName=f"setup_{key}")
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
            edit = QLineEdit(objectName=f"setup_{key}")
            edit.editingFinished.connect(lambda: self._commit_text_number(key, edit))
            self._add(form, key, edit)
            return
        spin = QDoubleSpinBox(objectName=f"setup_{key}")
        spin.setRange(lo, hi)
        spin.setDecimals(decimals)
        spin.setSingleStep(step)
        spin.editingFinished.connect(lambda: self._commit(key, round(spin.value(), decimals)))
        self._add(form, key, spin)

    def _int(self, form, key: str, lo: int, hi: int) -> None:
        spin = QSpinBox(objectName=f"setup_{key}")
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
                elif key == "early_stopping":
                    value = cfg["early_stopping"] is not None
                else:
                    value = cfg.get(key)
                self._set_widget(w, value)
        finally:
            self._loading = False
        self.dataset_changed.emit(cfg["dataset"])
        self._preview_timer.start()

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
        if cfg.get(key) == value and type(cfg.get(key)) is type(value):
            self._clear_error(key)
            return True
        cfg[key] = value
        return self._push(cfg, key, f"Set {LABELS.get(key, key).lower()} to {value}")

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
        from ...train.config import TrainingConfig
        from ...train.data import preview

        try:
            cfg = TrainingConfig.from_graph(self.doc.graph)
            ds = self.controller.load_dataset(cfg)
        except NetbuilderError as exc:
            self.preview.show_preview(None, str(exc))
            return
        n = 400 if ds.kind == "vector" else 16
        self.preview.show_preview(preview(ds, n=n))


class TrainingPanel(QWidget):
    """ControlBar on top, the scrollable setup form below."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training_panel")
        self.controls = ControlBar(controller)
        self.form = SetupForm(controller)
        scroll = QScrollArea(objectName="training_setup_scroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        self.log = QPlainTextEdit(objectName="training_log")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)  # a line per epoch: the whole of long runs
        self.log.setMaximumHeight(72)
        self.log.setPlaceholderText("Messages from the training process appear here.")
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Plain)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.controls)
        layout.addWidget(line)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.log)
        self._epochs = 0
        self._has_val = False
        self._pending_train: dict = {}
        self.controller = controller
        controller.log_received.connect(self._log)
        self._replay_logs()  # what arrived before this panel was first shown
        controller.state_changed.connect(
            lambda state: state == "starting" and self.log.clear())
        controller.run_started.connect(self._run_started)
        controller.metrics_received.connect(self._epoch_line)
        controller.run_ended.connect(self._run_ended)

    def _replay_logs(self) -> None:
        if self.controller.shows_run():
            for e in self.controller.logs:
                self._log(e)

    def _run_ended(self, _e) -> None:
        if self.controller.shows_run():
            self.log.appendPlainText(self.controller.message[0])

    def _log(self, e) -> None:
        if not self.controller.shows_run():
            return
        prefix = "⚠ " if e.level == "warning" else ""
        self.log.appendPlainText(prefix + e.message)

    def _run_started(self, e) -> None:
        if not self.controller.shows_run():
            return
        self._epochs = e.epochs
        self._has_val = bool(e.dataset.get("n_val"))
        d = e.dataset
        self.log.appendPlainText(
            f"{e.task} on {d.get('name', '?')} ({d.get('n_train', 0):,} train / "
            f"{d.get('n_val', 0):,} val) · {e.num_params:,} parameters · {e.device} · "
            f"{e.precision}")

    def _epoch_line(self, e) -> None:
        """One line per epoch, like a console run: the epoch's training and validation means."""
        if not e.epoch_end or not self.controller.shows_run():
            return
        if e.split == "train":
            self._pending_train = e.values
            if self._has_val:
                return  # its validation follows
        short = {"loss": "loss", "accuracy": "acc"}  # the dock is narrow: keep lines short
        values = {short[k]: v for k, v in self._pending_train.items() if k in short}
        if e.split == "val":
            values.update({f"val {short[k]}": v for k, v in e.values.items() if k in short})
        phase = "" if e.phase in ("train", "") else f"{e.phase} · "
        text = " · ".join(f"{k} {100 * v:.1f}%" if k.endswith("acc") else f"{k} {v:.4g}"
                          for k, v in values.items())
        self.log.appendPlainText(f"{phase}epoch {e.epoch}/{self._epochs}  {text}")

    def set_document(self, doc) -> None:
        """Show ``doc``'s setup, and its run's messages only (another graph's stay away)."""
        self.form.set_document(doc)
        self.log.clear()
        self._replay_logs()
        self.controls.follow(self.controller.shows_run())


def _compact(box: QComboBox) -> None:
    """Let a combo box shrink with the dock instead of forcing its longest item's width."""
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(6)
