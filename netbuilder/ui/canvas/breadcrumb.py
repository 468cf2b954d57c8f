"""The breadcrumb shown over the canvas while a block is open: "graph › block1 › inner".
Each name is a link back to that level."""
from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel

from . import style


class BreadcrumbBar(QLabel):
    level_chosen = Signal(int)  # depth to go back to (0: the top level)

    def __init__(self, view) -> None:
        super().__init__(view)
        self.view = view
        self.setObjectName("breadcrumb")
        self.linkActivated.connect(lambda link: self.level_chosen.emit(int(link)))
        self.names: list[str] = []
        self.hide()

    def set_names(self, names: list[str]) -> None:
        self.names = list(names)
        self.update_style()
        if len(names) < 2:
            self.hide()
            return
        p = style.canvas_palette()
        parts = [f'<a href="{i}" style="color:{p["selection"]}; text-decoration:none">'
                 f"{html.escape(n)}</a>" for i, n in enumerate(names[:-1])]
        parts.append(f'<b style="color:{p["text"]}">{html.escape(names[-1])}</b>')
        sep = f' <span style="color:{p["muted"]}">›</span> '
        self.setText(sep.join(parts) + f' <span style="color:{p["muted"]}">'
                     f"&nbsp;&nbsp;(Esc to go back)</span>")
        self.adjustSize()
        self.place()
        self.show()

    def update_style(self) -> None:
        p = style.canvas_palette()
        self.setStyleSheet(f"#breadcrumb {{ background: {p['node_body']}; border: 1px solid "
                           f"{p['overlay_border']}; border-radius: 6px; padding: 5px 10px; }}")
        self.setFont(style.font("overlay"))

    def place(self) -> None:
        vp = self.view.viewport().geometry()
        self.move(vp.left() + 12, vp.top() + 12)
        self.raise_()
