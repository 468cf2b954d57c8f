"""The node canvas: a ``QGraphicsScene`` that mirrors one graph (``scene``), the items that
draw nodes, ports and wires, one module per interaction, and the ``CanvasView`` widget."""
from .style import DARK, LIGHT, set_canvas_palette
from .view import LAYER_MIME, CanvasView

__all__ = ["DARK", "LAYER_MIME", "LIGHT", "CanvasView", "set_canvas_palette"]
