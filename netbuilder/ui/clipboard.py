"""The system clipboard holds graph JSON (``netbuilder.graph.extract``'s format): under its own
MIME type and as plain text, so a paste works between windows and a copy reads in any editor."""
from __future__ import annotations

import json

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication

from ..errors import FileFormatError
from ..graph.strict_json import loads

GRAPH_MIME = "application/x-netbuilder-graph"


def put(data: dict) -> None:
    text = json.dumps(data, indent=2)
    mime = QMimeData()
    mime.setData(GRAPH_MIME, text.encode("utf-8"))
    mime.setText(text)
    QGuiApplication.clipboard().setMimeData(mime)


def get() -> dict | None:
    """The nodes on the clipboard, or None when it holds something else."""
    mime = QGuiApplication.clipboard().mimeData()
    if mime is None:
        return None
    if mime.hasFormat(GRAPH_MIME):
        text = bytes(mime.data(GRAPH_MIME)).decode("utf-8", errors="replace")
    elif mime.hasText():
        text = mime.text()
    else:
        return None
    try:
        data = loads(text)  # strict, as a file: no NaN, no nesting deep enough to crash
    except FileFormatError:
        return None
    if isinstance(data, dict) and isinstance(data.get("nodes"), list):
        return data
    return None
