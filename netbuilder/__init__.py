"""netbuilder: design neural networks by drawing them.

    import netbuilder as nb
    g = nb.Graph(name="lenet")
    x = g.add("Input", shape=(1, 28, 28))
    c = g.add("Conv2d", out_channels=6, kernel_size=5, padding=2)
    g.connect(x, c)
    g.check(); g.analyze(); g.build(); g.to_python(); g.save("lenet.json"); nb.load("lenet.json")
"""
from .errors import (
                     CompileError,
                     CycleError,
                     FileFormatError,
                     GraphError,
                     NameTakenError,
                     NetbuilderError,
                     ParamError,
                     PortError,
                     UnknownTypeError,
)
from .graph import Diagnostic, Edge, Graph, Node, auto_layout, group, load, ungroup
from .layers import all_specs, get_spec, search

__version__ = "0.1.0"  # the one version number: pyproject.toml reads it


def sweep(graph, params=(), trials=None, **options):
    """Train ``graph`` many times over varied settings; see ``netbuilder.train.sweep.sweep``."""
    from .train.sweep import sweep as run

    return run(graph, params, trials, **options)


__all__ = [
    "Graph", "Node", "Edge", "Diagnostic", "load", "group", "ungroup", "auto_layout",
    "get_spec", "all_specs", "search", "NetbuilderError", "GraphError", "CycleError",
    "PortError", "ParamError", "UnknownTypeError", "NameTakenError", "FileFormatError",
    "CompileError", "sweep", "__version__",
]
