"""The dock panels around the canvas; each panel is its own module and class."""
from .code import CodePanel
from .inspector import InspectorPanel
from .palette import LAYER_MIME, PaletteWidget
from .problems import ProblemsPanel
from .summary import SummaryPanel

__all__ = [
           "LAYER_MIME",
           "CodePanel",
           "InspectorPanel",
           "PaletteWidget",
           "ProblemsPanel",
           "SummaryPanel",
]
