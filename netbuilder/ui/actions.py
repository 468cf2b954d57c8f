"""The main window's actions, menus and toolbar, declared as data.

Actions that would fight text fields for their keys (Delete, Ctrl+C, F …) are scoped to the
canvas (``Qt.WidgetWithChildrenShortcut``): in the inspector, Delete edits text; on the canvas it
deletes nodes. The canvas also takes those keys itself when it has focus, so the two agree.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar, QToolButton

from . import icons
from .files import list_examples


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    tip: str
    keys: tuple[str, ...] = ()
    icon: str | None = None
    canvas: bool = False  # scoped to the canvas (see the module note)
    checkable: bool = False


SPECS: tuple[ActionSpec, ...] = (
    # File
    ActionSpec("new", "&New", "Start a new, empty graph", ("Ctrl+N",), "new"),
    ActionSpec("open", "&Open…", "Open a graph file", ("Ctrl+O",), "open"),
    ActionSpec("save", "&Save", "Save the graph", ("Ctrl+S",), "save"),
    ActionSpec("save_as", "Save &As…", "Save the graph under a new name", ("Ctrl+Shift+S",),
               "save-as"),
    ActionSpec("export", "&Export to Python…",
               "Write the model as standalone PyTorch source (.py)", ("Ctrl+E",), "export"),
    ActionSpec("export_diagram", "Export &Diagram…",
               "Write the canvas (or the selection) as SVG, PDF or PNG, for papers and slides"),
    ActionSpec("quit", "&Quit", "Close netbuilder", ("Ctrl+Q",)),
    # Edit (undo/redo come from the undo group, see build_actions)
    ActionSpec("cut", "Cu&t", "Cut the selected nodes", ("Ctrl+X",), "cut", canvas=True),
    ActionSpec("copy", "&Copy", "Copy the selected nodes (as graph JSON)", ("Ctrl+C",), "copy",
               canvas=True),
    ActionSpec("paste", "&Paste", "Paste nodes from the clipboard", ("Ctrl+V",), "paste",
               canvas=True),
    ActionSpec("duplicate", "&Duplicate", "Duplicate the selected nodes", ("Ctrl+D",),
               canvas=True),
    ActionSpec("delete", "De&lete", "Delete the selected nodes and wires",
               ("Del", "Backspace"), "delete", canvas=True),
    ActionSpec("select_all", "Select &All", "Select every node", ("Ctrl+A",), canvas=True),
    ActionSpec("rename", "&Rename…", "Rename the selected node", ("F2",), canvas=True),
    ActionSpec("group", "&Group into Block", "Group the selection into a block", ("Ctrl+G",),
               "group", canvas=True),
    ActionSpec("ungroup", "&Ungroup Block", "Replace the selected block by its layers",
               ("Ctrl+Shift+G",), canvas=True),
    # View
    ActionSpec("frame_all", "Frame &All", "Fit the whole graph in view", ("F",), "frame",
               canvas=True),
    ActionSpec("frame_selection", "Frame &Selection", "Fit the selected nodes in view",
               ("Shift+F",), canvas=True),
    ActionSpec("auto_layout", "Auto &Layout", "Arrange the graph in layers, top to bottom",
               ("Ctrl+Shift+L",), "layout", canvas=True),
    ActionSpec("auto_layout_right", "Auto Layout Left to &Right",
               "Arrange the graph in layers, left to right", canvas=True),
    ActionSpec("zoom_in", "Zoom &In", "Zoom in", ("Ctrl++", "Ctrl+="), "zoom-in", canvas=True),
    ActionSpec("zoom_out", "Zoom &Out", "Zoom out", ("Ctrl+-",), "zoom-out", canvas=True),
    ActionSpec("zoom_reset", "Actual Si&ze", "Zoom to 100 %", ("Ctrl+0",), canvas=True),
    ActionSpec("minimap", "&Minimap", "Show the minimap in the canvas corner", ("M",),
               canvas=True, checkable=True),
    ActionSpec("theme_light", "&Light", "Light theme", checkable=True),
    ActionSpec("theme_dark", "&Dark", "Dark theme", checkable=True),
    # Model
    ActionSpec("check", "&Check", "Check the graph: shapes, wiring and code generation",
               ("F7",), "check"),
    ActionSpec("train", "&Train", "Train the model on its dataset (live curves in the "
               "dashboard)", ("F5",), "train"),
    ActionSpec("stop", "St&op", "Stop training", ("Shift+F5",), "stop"),
    # Help
    ActionSpec("shortcuts", "&Keyboard Shortcuts", "All keyboard shortcuts", ("F1", "?"),
               "keyboard"),
    ActionSpec("about", "&About netbuilder", "Versions and the device in use", (), "about"),
)

# Keys the canvas handles itself (gestures without a menu entry), for the shortcuts sheet.
CANVAS_KEYS: tuple[tuple[str, str], ...] = (
    ("Tab / double-click", "Quick-add a layer at the cursor"),
    ("Drag from a port", "Connect; drop on empty canvas to quick-add a connected layer"),
    ("Double-click a block", "Open the block (Esc goes back)"),
    ("Esc", "Close the quick-add popup or the open block; clear the selection"),
    ("Wheel", "Zoom at the cursor"),
    ("Middle drag / Space+drag", "Pan"),
    ("Drag on empty canvas", "Rubber-band select (Shift or Ctrl adds)"),
)

TOOLBAR = ("new", "open", "save", None, "undo", "redo", None, "check", "train", "stop", None,
           "export")
TEXT_BESIDE_ICON = ("check", "train", "stop", "export")

MENUS = {
    "&File": ("new", "open", "@recent", "@examples", None, "save", "save_as", None, "export",
              "export_diagram", None, "quit"),
    "&Edit": ("undo", "redo", None, "cut", "copy", "paste", "duplicate", "delete", None,
              "select_all", "rename", None, "group", "ungroup"),
    "&View": ("frame_all", "frame_selection", "auto_layout", "auto_layout_right", None,
              "zoom_in", "zoom_out", "zoom_reset", None, "minimap", "@theme", None, "@panels"),
    "&Model": ("check", None, "train", "stop"),
    "&Help": ("shortcuts", None, "about"),
}


def build_actions(window) -> dict[str, QAction]:
    """Every action of the window by name (undo/redo follow the active document's stack)."""
    actions: dict[str, QAction] = {}
    for spec in SPECS:
        a = QAction(spec.text, window)
        a.setObjectName(f"action_{spec.name}")
        a.setShortcuts([QKeySequence(k) for k in spec.keys])
        a.setCheckable(spec.checkable)
        if spec.canvas:
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            window.canvas.addAction(a)
        else:
            window.addAction(a)
        _describe(a, spec.tip)
        actions[spec.name] = a
    undo = window.undo_group.createUndoAction(window, "Undo")
    undo.setShortcuts([QKeySequence("Ctrl+Z")])
    redo = window.undo_group.createRedoAction(window, "Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    for name, a, tip in (("undo", undo, "Undo the last edit"), ("redo", redo,
                                                                  "Redo the edit undone")):
        a.setObjectName(f"action_{name}")
        window.addAction(a)
        _describe(a, tip)
        actions[name] = a
    themes = QActionGroup(window)
    themes.setExclusive(True)
    themes.addAction(actions["theme_light"])
    themes.addAction(actions["theme_dark"])
    actions["quit"].setMenuRole(QAction.MenuRole.QuitRole)
    actions["about"].setMenuRole(QAction.MenuRole.AboutRole)
    return actions


def _describe(action: QAction, tip: str) -> None:
    """Tooltip with the shortcut in it, and the same sentence in the status bar."""
    keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()]
    action.setToolTip(f"{tip} ({keys[0]})" if keys else tip)
    action.setStatusTip(tip)


def apply_icons(actions: dict[str, QAction]) -> None:
    """(Re)draw the icons in the current theme's colours."""
    by_name = {s.name: s.icon for s in SPECS}
    by_name.update(undo="undo", redo="redo")
    for name, icon_name in by_name.items():
        if icon_name:
            actions[name].setIcon(icons.icon(icon_name))


def build_toolbar(window, actions: dict[str, QAction]) -> QToolBar:
    bar = QToolBar("Main toolbar", window)
    bar.setObjectName("main_toolbar")
    bar.setMovable(False)
    bar.setIconSize(icons.icon_size(20))
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    for name in TOOLBAR:
        if name is None:
            bar.addSeparator()
            continue
        bar.addAction(actions[name])
        button = bar.widgetForAction(actions[name])
        button.setObjectName(f"tool_{name}")
        if name in TEXT_BESIDE_ICON and isinstance(button, QToolButton):
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    return bar


def build_menus(window, actions: dict[str, QAction]) -> dict[str, QMenu]:
    menus: dict[str, QMenu] = {}
    bar = window.menuBar()
    for title, entries in MENUS.items():
        menu = bar.addMenu(title)
        menu.setObjectName("menu_" + title.strip("&").lower())
        menu.setToolTipsVisible(True)
        for entry in entries:
            if entry is None:
                menu.addSeparator()
            elif entry == "@recent":
                window.recent_menu = menu.addMenu("Open &Recent")
                window.recent_menu.setObjectName("menu_recent")
                window.recent_menu.aboutToShow.connect(window.fill_recent_menu)
            elif entry == "@examples":
                window.examples_menu = menu.addMenu("E&xamples")
                window.examples_menu.setObjectName("menu_examples")
                fill_examples_menu(window, window.examples_menu)
            elif entry == "@theme":
                theme = menu.addMenu("&Theme")
                theme.setObjectName("menu_theme")
                theme.addAction(actions["theme_light"])
                theme.addAction(actions["theme_dark"])
            elif entry == "@panels":
                window.panels_menu = menu.addMenu("&Panels")
                window.panels_menu.setObjectName("menu_panels")
            else:
                menu.addAction(actions[entry])
        menus[title.strip("&").lower()] = menu
    return menus


def fill_examples_menu(window, menu: QMenu) -> None:
    """One entry per example graph; its description is the status tip."""
    menu.clear()
    examples = list_examples()
    for path, title, description in examples:
        a = menu.addAction(title)
        a.setObjectName(f"example_{path.stem}")
        a.setStatusTip(description)
        a.setToolTip(description)
        a.setData(str(path))
        a.triggered.connect(lambda _=False, p=path: window.files.open_file(p))
    if not examples:
        none = menu.addAction("No examples installed")
        none.setEnabled(False)


def shortcut_rows(actions: dict[str, QAction]) -> list[tuple[str, str, str]]:
    """``(group, action text, keys)`` for the shortcuts sheet, in menu order."""
    rows = []
    for title, entries in MENUS.items():
        group = title.strip("&")
        for name in entries:
            if not name or name.startswith("@"):
                continue
            a = actions[name]
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                             for k in a.shortcuts())
            text = a.text().replace("&", "").rstrip("…")
            if name in ("undo", "redo"):
                text = name.capitalize()
            rows.append((group, text, keys))
    rows += [("Canvas", what, keys) for keys, what in CANVAS_KEYS]
    return rows
