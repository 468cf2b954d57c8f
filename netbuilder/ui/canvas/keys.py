"""The canvas's keys: (key, modifiers) → the ``CanvasView`` method it calls.

NOTE: the view takes these keys in ``ShortcutOverride`` so that, while the canvas has focus, a
window-wide action with the same shortcut (the Edit menu's Copy, Undo ...) does not steal them.
"""
from __future__ import annotations

from PySide6.QtCore import Qt

KEYS: dict[tuple, str] = {
    (Qt.Key.Key_Delete, 0): "delete_selected",
    (Qt.Key.Key_Backspace, 0): "delete_selected",
    (Qt.Key.Key_D, "ctrl"): "duplicate",
    (Qt.Key.Key_C, "ctrl"): "copy",
    (Qt.Key.Key_X, "ctrl"): "cut",
    (Qt.Key.Key_V, "ctrl"): "paste",
    (Qt.Key.Key_A, "ctrl"): "select_all",
    (Qt.Key.Key_F2, 0): "rename_selected",
    (Qt.Key.Key_G, "ctrl"): "group_selected",
    (Qt.Key.Key_G, "ctrl+shift"): "ungroup_selected",
    (Qt.Key.Key_F, 0): "frame_all",
    (Qt.Key.Key_F, "shift"): "frame_selection",
    (Qt.Key.Key_Plus, "ctrl"): "zoom_in",
    (Qt.Key.Key_Equal, "ctrl"): "zoom_in",
    (Qt.Key.Key_Plus, "ctrl+shift"): "zoom_in",
    (Qt.Key.Key_Minus, "ctrl"): "zoom_out",
    (Qt.Key.Key_0, "ctrl"): "zoom_reset",
    (Qt.Key.Key_Z, "ctrl"): "undo",
    (Qt.Key.Key_Z, "ctrl+shift"): "redo",
    (Qt.Key.Key_Y, "ctrl"): "redo",
    (Qt.Key.Key_Tab, 0): "open_quick_add",
    (Qt.Key.Key_Escape, 0): "escape",
    (Qt.Key.Key_L, "ctrl+shift"): "auto_layout",
    (Qt.Key.Key_M, 0): "toggle_minimap",
}


def action_for(event) -> str | None:
    """The method name bound to a key event, or None."""
    mods = event.modifiers()
    parts = []
    if mods & Qt.KeyboardModifier.ControlModifier:
        parts.append("ctrl")
    if mods & Qt.KeyboardModifier.ShiftModifier:
        parts.append("shift")
    if mods & Qt.KeyboardModifier.AltModifier:
        parts.append("alt")
    return KEYS.get((Qt.Key(event.key()), "+".join(parts) or 0))
