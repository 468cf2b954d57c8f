"""Error types. Each reads as advice to a person and carries the node or field it is about."""
from __future__ import annotations


class NetbuilderError(Exception):
    """Base of every error netbuilder raises on purpose."""

    def __init__(self, message: str, *, node: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.node = node
        self.field = field

    def __str__(self) -> str:
        return self.message


class GraphError(NetbuilderError):
    """A mutation would make the graph invalid in itself."""


class CycleError(GraphError):
    """A wire would close a cycle."""


class PortError(GraphError):
    """A port does not exist or is already taken."""


class UnknownTypeError(GraphError):
    """No layer type of that name is registered."""


class ParamError(GraphError):
    """A parameter value is out of range or of the wrong kind."""


class NameTakenError(GraphError):
    """Two nodes would share a name."""


class FileFormatError(NetbuilderError):
    """A graph file is not valid.

    `field` is the path to the bad field, e.g. ``nodes[3].params.stride``.
    """

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None):
        where = f"{path}: " if path else ""
        at = f" (at {field})" if field else ""
        super().__init__(f"{where}{message}{at}", field=field)
        self.path = path


class CompileError(NetbuilderError):
    """The graph cannot be turned into a module (errors listed in the message)."""


class WeightsError(NetbuilderError):
    """A graph's weights file is missing, unsafe, damaged or does not fit the graph (the
    message names the file and the tensor)."""


class ModelImportError(NetbuilderError):
    """A PyTorch model cannot be imported (every unsupported operation and where it is)."""


# Said wherever a model file exits while it is imported (in the child process or in-process).
EXIT_ADVICE = ("a model file is run as an import, so code that parses the command line or "
               "exits belongs under `if __name__ == \"__main__\":`")
