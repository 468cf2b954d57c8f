"""Importing a model class from a Python file: what ``netbuilder import`` and File → Import
PyTorch model share.

    graph = import_file("models.py", "LeNet", args={"classes": 10}, input_shapes=[(1, 28, 28)])
"""
from __future__ import annotations

import ast
import importlib.util
import itertools
import re
import sys
from pathlib import Path
from typing import Any

from ..errors import ModelImportError
from ..graph import Graph

_COUNTER = itertools.count(1)


def module_classes(path: str | Path) -> list[str]:
    """Classes in the file that look like ``nn.Module`` subclasses (read, not executed)."""
    p = Path(path)
    try:
        tree = ast.parse(p.read_text(encoding="utf-8"), str(p))
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise ModelImportError(f"{p}: cannot read it as Python ({exc})") from None
    names = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            bases = [ast.unparse(b) for b in node.bases]
            if any(re.search(r"Module|Sequential", b) for b in bases) or \
                    any(b in names for b in bases):
                names.append(node.name)
    return names


def load_class(path: str | Path, class_name: str) -> type:
    """The class ``class_name`` of the Python file ``path`` (the file runs, as an import does;
    its folder is importable meanwhile, so it may import its neighbours)."""
    p = Path(path)
    if not p.is_file():
        raise ModelImportError(f"{p}: file not found")
    stem = re.sub(r"\W", "_", p.stem)
    module_name = f"netbuilder_import_{next(_COUNTER)}_{stem}"
    spec = importlib.util.spec_from_file_location(module_name, p)
    if spec is None or spec.loader is None:
        raise ModelImportError(f"{p}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(p.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[module_name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 (the user's file may raise anything)
        sys.modules.pop(module_name, None)
        raise ModelImportError(f"{p} fails when it runs: {type(exc).__name__}: {exc}") from None
    finally:
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        found = ", ".join(module_classes(p)) or "none"
        raise ModelImportError(f"{p} has no class {class_name!r} (its module classes: {found})")
    return cls


def instantiate(cls: type, args: dict | None = None):
    """``cls(**args)`` as an ``nn.Module``; failures name the class and the arguments."""
    from torch import nn

    if not issubclass(cls, nn.Module):
        raise ModelImportError(f"{cls.__name__} is not a torch.nn.Module subclass")
    args = dict(args or {})
    try:
        return cls(**args)
    except Exception as exc:  # noqa: BLE001 (the user's constructor may raise anything)
        shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
        raise ModelImportError(f"{cls.__name__}({shown}) fails: {type(exc).__name__}: {exc}"
                               " (pass constructor arguments as JSON with --args)") from None


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1,28,28"`` (or ``1x28x28``, ``(1, 28, 28)``) → ``(1, 28, 28)``."""
    parts = [p for p in re.split(r"[,x×\s()\[\]]+", text.strip()) if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise ModelImportError(f"{text!r} is not an input shape: give positive sizes without the "
                               f"batch dimension, e.g. 1,28,28")
    return shape


def parse_args_json(text: str | None) -> dict:
    """Constructor arguments from JSON (an object)."""
    import json

    if not text:
        return {}
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelImportError(f"--args is not valid JSON ({exc.msg} at character {exc.pos}): "
                               f"give an object such as '{{\"hidden\": 64}}'") from None
    if not isinstance(value, dict):
        raise ModelImportError("--args must be a JSON object such as '{\"hidden\": 64}'")
    return value


def import_file(path: str | Path, class_name: str, args: dict | None = None,
                input_shapes=None, name: str | None = None) -> Graph:
    """Load ``class_name`` from ``path``, instantiate it with ``args`` and import it."""
    from .importer import import_module

    module = instantiate(load_class(path, class_name), args)
    return import_module(module, input_shapes=input_shapes, name=name)


__all__ = ["module_classes", "load_class", "instantiate", "parse_shape", "parse_args_json",
           "import_file"]
