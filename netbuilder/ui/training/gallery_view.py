"""The validation gallery: every validation sample as a thumbnail, mistakes first (the surest
first), filtered by class and by right/wrong; activating one opens it in the Explain view."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .imaging import to_qimage

THUMB = 48
WRONG, RIGHT = QColor(220, 60, 60), QColor(60, 170, 90)


class GalleryView(QWidget):
    """Thumbnails of the validation samples in ``train.explain.verdicts`` order."""

    opened = Signal(int)  # the validation index of the sample to explain

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gallery")
        self.ranked: list = []
        self._x: np.ndarray | None = None
        self._classes: list[str] | None = None
        self.label = QComboBox(objectName="gallery_class")
        self.label.setToolTip("Show only the samples of this class (by their label)")
        self.which = QComboBox(objectName="gallery_which")
        for text, data in (("All", None), ("Wrong", False), ("Right", True)):
            self.which.addItem(text, data)
        self.list = QListWidget(objectName="gallery_list")
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setUniformItemSizes(True)
        filters = QHBoxLayout()
        filters.addWidget(self.label, 1)
        filters.addWidget(self.which, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(filters)
        layout.addWidget(self.list, 1)
        self.label.currentIndexChanged.connect(self._refill)
        self.which.currentIndexChanged.connect(self._refill)
        self._filling = False
        # a click or the arrow keys open the sample: browsing the gallery browses the maps
        self.list.currentItemChanged.connect(self._current_changed)

    def set_samples(self, x: np.ndarray | None, ranked: list,
                    classes: list[str] | None = None) -> None:
        """Show ``ranked`` (verdicts) of the pictures ``x`` (None: empty the gallery)."""
        self._x, self.ranked, self._classes = x, list(ranked), classes
        self.label.blockSignals(True)
        self.label.clear()
        self.label.addItem("All classes", None)
        for c in sorted({v.label for v in self.ranked if v.label is not None}):
            self.label.addItem(self._name(c), c)
        self.label.blockSignals(False)
        self._refill()

    def shown_indices(self) -> list[int]:
        """The validation indices shown, in order."""
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())]

    def _name(self, c: int) -> str:
        names = self._classes
        return names[c] if names and 0 <= c < len(names) else str(c)

    def _refill(self) -> None:
        from ...train.explain import select
        from ...train.explain.images import to_rgb

        self._filling = True
        self.list.clear()
        if self._x is None:
            self._filling = False
            return
        for v in select(self.ranked, self.label.currentData(), self.which.currentData()):
            item = QListWidgetItem(self._icon(to_rgb(self._x[v.index]), v.correct),
                                   f"{self._name(v.predicted)} {v.confidence:.0%}")
            truth = "" if v.label is None else f", label {self._name(v.label)}"
            item.setToolTip(f"Sample {v.index}: predicted {self._name(v.predicted)} "
                            f"({v.confidence:.1%} sure){truth}")
            item.setData(Qt.UserRole, v.index)
            self.list.addItem(item)
        self.list.setCurrentItem(None)
        self._filling = False

    def _current_changed(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None and not self._filling:
            self.opened.emit(item.data(Qt.UserRole))

    @staticmethod
    def _icon(rgb: np.ndarray, correct: bool | None) -> QIcon:
        # a coloured frame says right (green) or wrong (red) at a glance
        pix = QPixmap.fromImage(to_qimage(rgb)).scaled(
            THUMB - 4, THUMB - 4, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.FastTransformation)
        framed = QPixmap(THUMB, THUMB)
        framed.fill(QColor(128, 128, 128) if correct is None else RIGHT if correct else WRONG)
        with_frame = QPainter(framed)
        with_frame.drawPixmap((THUMB - pix.width()) // 2, (THUMB - pix.height()) // 2, pix)
        with_frame.end()
        return QIcon(framed)
