"""Asking a person whether to trust a graph file that names Python code (Module nodes)."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def ask_trust(parent: QWidget, file_name: str, targets: list[str]) -> bool:
    """A dialog listing the modules and files the graph would import; True when the person
    trusts it. Until then its Module nodes are placeholders and nothing is imported."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Trust this graph's code?",
                      f"“{file_name}” uses Python code that runs on your computer when its "
                      f"model is built:", QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("trust_prompt")
    listed = "\n".join(f"• {target}" for target in targets)
    box.setInformativeText(f"{listed}\n\nTrust it only if you trust where the file came from. "
                           "Otherwise those nodes stay placeholders with their saved shapes.")
    trust = box.addButton("Trust and import", QMessageBox.ButtonRole.AcceptRole)
    trust.setObjectName("trust_button")
    keep = box.addButton("Keep as placeholders", QMessageBox.ButtonRole.RejectRole)
    keep.setObjectName("distrust_button")
    box.setDefaultButton(keep)
    box.exec()
    box.deleteLater()
    return box.clickedButton() is trust


__all__ = ["ask_trust"]
