"""Where generated code registers a node's module: under its attribute (``self.conv1``), or,
for a node named as a module path, under that path (``0``, ``branches.0``), so that the
state-dict keys of an imported model stay the original's (``features.0.weight``)."""
from __future__ import annotations

import keyword


def module_key(node) -> str | None:
    """The path a node named as a module path registers its module under (``0``: an imported
    ``nn.Sequential``'s child; ``branches.0``: a ModuleList's member), so state-dict keys keep
    it (``features.0.weight``); None for a node whose name is its attribute."""
    name = node.name
    if node.is_input or node.is_output or not ("." in name or name.isdigit()):
        return None
    return name if is_module_path(name) else None


def is_module_path(name: str) -> bool:
    """Whether ``name`` is a submodule path: identifiers (no keywords) and indices joined by
    dots."""
    return name.isascii() and all((p.isidentifier() and not keyword.iskeyword(p)) or
                                  p.isdigit() for p in name.split("."))


def module_ref(node, attr: str) -> str:
    """How forward reaches the node's module after ``self.``."""
    key = module_key(node)
    return _path_ref(key) if key else attr


def assignment(node, attr: str, expr: str, made: set[str] | None = None) -> str:
    """The ``__init__`` line(s) that register the node's module; under a path, the containers
    on the way are made first (those in ``made`` exist): ``nn.ModuleList`` over indices."""
    key = module_key(node)
    if key is None:
        return f"self.{attr} = {expr}"
    parts = key.split(".")
    made = set() if made is None else made
    lines = []
    for i in range(1, len(parts) + 1):
        path = ".".join(parts[:i])
        if path in made:
            continue
        made.add(path)
        value = expr if i == len(parts) else \
            ("nn.ModuleList()" if parts[i].isdigit() else "nn.Module()")
        parent, last = ".".join(parts[:i - 1]), parts[i - 1]
        if not parent and last.isidentifier():
            lines.append(f"self.{last} = {value}")
        else:
            owner = "self" if not parent else f"self.{_path_ref(parent)}"
            lines.append(f'{owner}.add_module("{last}", {value})')
    return "\n".join(lines)


def _path_ref(path: str) -> str:
    """A module path as an expression after ``self.``."""
    return path if path.isidentifier() else f'get_submodule("{path}")'
