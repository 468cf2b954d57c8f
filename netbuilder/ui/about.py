"""About netbuilder: versions of the pieces it stands on and the device it trains on."""
from __future__ import annotations

import platform

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
)

from .. import __version__
from . import icons


def device_description() -> str:
    """The device training would use: the CUDA device's name, Apple MPS, or the CPU."""
    try:
        import torch
    except ImportError:
        return "CPU (PyTorch not installed)"
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        name = torch.cuda.get_device_name(0)
        return f"CUDA: {name}" + (f" (+{count - 1} more)" if count > 1 else "")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"


def version_rows() -> list[tuple[str, str]]:
    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    return [("netbuilder", __version__), ("PyTorch", torch_version), ("Qt", qVersion()),
            ("PySide6", pyside_version), ("Python", platform.python_version()),
            ("Platform", f"{platform.system()} {platform.machine()}"),
            ("Device", device_description())]


class AboutDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle("About netbuilder")
        logo = QLabel()
        logo.setPixmap(icons.app_icon().pixmap(64, 64))
        title = QLabel(f"<span style='font-size:16pt; font-weight:600'>netbuilder</span>"
                       f"&nbsp;&nbsp;{__version__}")
        tagline = QLabel("Design neural networks by drawing them: the drawing compiles to "
                         "PyTorch, trains live and exports clean code.")
        tagline.setWordWrap(True)
        tagline.setProperty("role", "muted")
        head = QVBoxLayout()
        head.addWidget(title)
        head.addWidget(tagline)
        top = QHBoxLayout()
        top.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        top.addSpacing(8)
        top.addLayout(head, 1)
        self.rows = version_rows()
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(4)
        for r, (key, value) in enumerate(self.rows):
            k = QLabel(key)
            k.setProperty("role", "muted")
            v = QLabel(value, objectName=f"about_{key.lower()}")
            v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(k, r, 0, Qt.AlignmentFlag.AlignRight)
            grid.addWidget(v, r, 1)
        grid.setColumnStretch(1, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy Details", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setObjectName("about_copy")
        copy.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

    def details(self) -> str:
        return "\n".join(f"{k}: {v}" for k, v in self.rows)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details())
