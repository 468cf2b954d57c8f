"""A graph's weights: a safetensors file beside the graph file, named in it (``"weights"``).

The graph package only knows where the bytes are (no torch here): ``compile.weights`` reads
them into tensors and checks them against the model's state dict.

NOTE: the name comes from a file that may be a stranger's: only a plain file name ending in
``.safetensors`` is accepted (no folder, no ``..``, no absolute path), and the file it names
must really lie in the graph file's folder (a symlink out of it is refused), so that opening a
graph can never make netbuilder read ``/etc/passwd`` or ``../../x``.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import WeightsError

SUFFIX = ".safetensors"


def check_weights_name(name: object) -> str:
    """``name`` if it is a plain ``*.safetensors`` file name; else a sentence why not."""
    if not isinstance(name, str) or not name:
        raise WeightsError("the weights file must be named by a non-empty text",
                           field="weights")
    bad = ("/" in name or "\\" in name or "\0" in name or name in (".", "..") or
           name.startswith(".") or ":" in name or os.path.isabs(name))
    if bad:
        raise WeightsError(f"the weights file {name!r} must be a plain file name beside the "
                           f"graph file (no folder, no '..', no absolute path)",
                           field="weights")
    if not name.endswith(SUFFIX) or len(name) == len(SUFFIX):
        raise WeightsError(f"the weights file {name!r} must be a {SUFFIX} file",
                           field="weights")
    return name


class GraphWeights:
    """Where a graph's weights are: ``name`` in ``folder`` (the graph file's), and/or
    ``data`` (safetensors bytes not yet written beside the graph: loaded in the editor, or
    imported). ``origin`` says where they came from, for messages."""

    def __init__(self, name: str | None = None, folder: str | os.PathLike | None = None,
                 data: bytes | None = None, origin: str | None = None):
        if name is not None:
            check_weights_name(name)
        if name is None and data is None:
            raise ValueError("GraphWeights needs a file name or the data")
        self.name = name
        self.folder = Path(folder) if folder is not None else None
        self.data = bytes(data) if data is not None else None
        self.origin = origin or name

    def __repr__(self) -> str:
        held = f", {len(self.data)} bytes held" if self.data is not None else ""
        return f"GraphWeights({self.name!r}, folder={self.folder}{held})"

    def label(self) -> str:
        """What messages call these weights: the file, else where they came from."""
        if self.data is None and self.name is not None and self.folder is not None:
            return str(self.folder / self.name)
        return self.origin or "the graph's weights"

    def path(self) -> Path:
        """The file, checked to lie in the graph file's folder (WeightsError naming it)."""
        if self.name is None or self.folder is None:
            raise WeightsError(f"the graph names the weights file {self.name!r}, but it was not "
                               f"read from a file, so there is no folder to find it in: load "
                               f"the graph from its file", field="weights")
        folder = self.folder.resolve()
        p = folder / self.name
        real = Path(os.path.realpath(p))
        if real.parent != folder:
            raise WeightsError(f"{p}: the weights file leads out of the graph's folder (a "
                               f"link to {real}): not read", field="weights")
        return p

    def source(self) -> bytes | Path:
        """The bytes held, else the checked file path."""
        return self.data if self.data is not None else self.path()

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        p = self.path()
        try:
            return p.read_bytes()
        except FileNotFoundError:
            raise WeightsError(f"{p}: the graph's weights file is missing (the graph names "
                               f"it; put it beside the graph file, or remove the weights)",
                               field="weights") from None
        except OSError as exc:
            raise WeightsError(f"{p}: cannot read the graph's weights "
                               f"({exc.strerror or exc})", field="weights") from None

    def is_saved_in(self, folder: Path) -> bool:
        return (self.data is None and self.folder is not None and self.name is not None and
                self.folder.resolve() == Path(folder).resolve())


def weights_name_for(graph_path: str | os.PathLike) -> str:
    """The name a graph saved at ``graph_path`` gives its weights file: ``<stem>.safetensors``."""
    stem = re.sub(r"[^\w.-]", "_", Path(graph_path).stem).lstrip(".") or "graph"
    return check_weights_name(f"{stem}{SUFFIX}")


def save_weights_beside(weights: GraphWeights, graph_path: str | os.PathLike) -> GraphWeights:
    """Write the weights beside the graph file ``graph_path`` (atomically) unless they are
    already there; the link the saved graph keeps."""
    from .atomic import atomic_write

    folder = Path(graph_path).resolve().parent
    if weights.is_saved_in(folder):
        return weights
    data = weights.read_bytes()
    name = weights_name_for(graph_path)
    atomic_write(folder / name, data)
    return GraphWeights(name, folder, origin=weights.origin)


__all__ = ["GraphWeights", "check_weights_name", "save_weights_beside", "weights_name_for",
           "SUFFIX"]
