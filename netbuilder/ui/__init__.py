"""The desktop editor (PySide6 + pyqtgraph). The only package that imports Qt.

Data flows one way: a gesture makes a ``QUndoCommand`` (``commands``) that mutates the
``Document``'s graph; the canvas scene and the panels follow the graph's signals and the
document's ``analysis_updated``.
"""
