"""The clipboard is read as strictly as a file: hostile text is no paste, never a crash."""
from __future__ import annotations

import json

import pytest
from PySide6.QtGui import QGuiApplication

from netbuilder.ui import clipboard


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,  # deep enough to crash json.loads (RecursionError)
    '{"nodes": [], "nodes": [1]}',  # a duplicate key
    '{"nodes": [{"id": "n1", "params": {"p": NaN}}]}',
    '{"nodes": [' + "9" * 5000 + "]}",  # past the int-string digit limit (a ValueError)
    "no JSON at all",
], ids=["deep", "duplicate-key", "nan", "huge-int", "not-json"])
def test_hostile_clipboard_text_is_no_paste(qapp, text):
    QGuiApplication.clipboard().setText(text)
    assert clipboard.get() is None


def test_graph_json_on_the_clipboard_is_read(qapp):
    data = {"format_version": 1, "name": "g", "nodes": [{"id": "n1", "type": "ReLU",
                                                         "name": "r"}], "edges": []}
    clipboard.put(data)
    assert clipboard.get() == data
    QGuiApplication.clipboard().setText("\ufeff" + json.dumps(data))
    assert clipboard.get() == data
