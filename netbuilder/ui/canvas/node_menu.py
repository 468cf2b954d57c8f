"""Right-click on a node: a menu of what applies to it (and the rest of the selection)."""
from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QMenu


def open_node_menu(view, item, global_pos: QPoint) -> QMenu:
    """Select the node under the mouse (keeping a selection it belongs to) and pop up its
    menu: Freeze/Unfreeze, Rename, Delete. Returns the menu (shown, not modal)."""
    if item.node_id not in view.selected_ids():
        view.select([item.node_id])
    ids = view.selected_ids()
    graph = view.graph
    menu = QMenu(view)
    menu.setObjectName("node_menu")
    # One switch for the selection: freeze unless every selected node is frozen already.
    all_frozen = all(not graph.node(i).trainable for i in ids)
    what = "block" if len(ids) == 1 and graph.node(ids[0]).inner is not None else \
        "node" if len(ids) == 1 else f"{len(ids)} nodes"
    freeze = menu.addAction(f"Unfreeze {what}" if all_frozen else f"Freeze {what}")
    freeze.setObjectName("menu_freeze")
    freeze.setToolTip("Frozen parameters stay as they are in training (a block: everything "
                      "inside it); the layer runs in inference mode")
    freeze.triggered.connect(lambda: view.set_trainable_selected(all_frozen))
    menu.addSeparator()
    rename = menu.addAction("Rename")
    rename.setObjectName("menu_rename")
    rename.setEnabled(len(ids) == 1)
    rename.triggered.connect(view.rename_selected)
    delete = menu.addAction("Delete")
    delete.setObjectName("menu_delete")
    delete.triggered.connect(view.delete_selected)
    menu.popup(global_pos)
    return menu
