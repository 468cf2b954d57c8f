"""The live training dashboard: setup, controls, curves, feature maps, samples, runs.

``install(window)`` adds its docks to the main window and plugs its controller into the Train
and Stop actions (see ``docks``). Importing this package stays cheap: torch and pyqtgraph load
when a panel is first shown or a run starts.
"""
from __future__ import annotations


def install(window):
    """Add the dashboard to ``window`` and return it (``window.training_dashboard``)."""
    from .docks import install as _install

    return _install(window)


__all__ = ["install"]
