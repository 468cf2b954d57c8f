"""netbuilder: design neural networks by drawing them.

    import netbuilder as nb
    g = nb.Graph(name="lenet")
    x = g.add("Input", shape=(1, 28, 28))
    c = g.add("Conv2d", out_channels=6, kernel_size=5, padding=2)
    g.connect(x, c)
    g.check(); g.analyze(); g.build(); g.to_python(); g.save("lenet.json"); nb.load("lenet.json")
"""
import importlib

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

__version__ = "0.1.0"  # the one version number: pyproject.toml reads it

# NOTE: the graph model (networkx) and the layer catalog load on first use, so that
# processes that need neither start fast: `netbuilder --version`, and the command line's side
# of `netbuilder import` (which starts its child process before it reads any graph).
_LAZY = {**dict.fromkeys(("Diagnostic", "Edge", "Graph", "Node", "auto_layout", "group",
                          "load", "ungroup"), "graph"),
         **dict.fromkeys(("all_specs", "get_spec", "search"), "layers")}


def __getattr__(name: str):
    if name in _LAZY or name in ("graph", "layers"):
        module = importlib.import_module(f".{_LAZY.get(name, name)}", __name__)
        value = getattr(module, name) if name in _LAZY else module
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


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
