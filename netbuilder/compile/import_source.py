"""Importing a model class from a Python file: what ``netbuilder import`` and File → Import
PyTorch model share (they run it in a child process: ``import_process``).

    graph = import_file("models.py", "LeNet", args={"classes": 10}, input_shapes=[(1, 28, 28)])

A failure of the user's code names the user's file and line, never netbuilder's. Nothing here
imports torch at module level.
"""
from __future__ import annotations

import ast
import importlib.util
import inspect
import itertools
import os
import re
import sys
import traceback
from pathlib import Path

from ..errors import EXIT_ADVICE, ModelImportError
from ..graph import Graph

_COUNTER = itertools.count(1)
_OWN_DIR = Path(__file__).resolve().parents[1]  # the netbuilder package
# torch's folder, found without importing it (this module must not import torch)
_TORCH_DIR = Path(importlib.util.find_spec("torch").origin).resolve().parent \
    if importlib.util.find_spec("torch") else _OWN_DIR


def short_path(path: str | os.PathLike) -> str:
    """``path`` relative to the working folder when it lies inside it, else absolute."""
    path = os.path.abspath(path)
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def user_frame(exc: BaseException, path: str | Path) -> tuple[str, int, str] | None:
    """``(file, line, code)`` of the deepest traceback frame in the folder of ``path`` (the
    user's file, or the model class's own file, installed or not: the model's code is the
    user's); not netbuilder, not torch, not other installed packages under that folder."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return short_path(exc.filename), exc.lineno, (exc.text or "").strip()
    folder = Path(path).resolve().parent
    installed = "site-packages" in folder.parts or "dist-packages" in folder.parts
    found = None
    for f in traceback.extract_tb(exc.__traceback__):
        if f.filename.startswith("<"):
            continue
        fp = Path(f.filename).resolve()
        if fp.is_relative_to(folder) and not fp.is_relative_to(_OWN_DIR) and \
                not fp.is_relative_to(_TORCH_DIR) and \
                (installed or not {"site-packages", "dist-packages"} & set(fp.parts)):
            found = f
    if found is None:
        return None
    return short_path(found.filename), found.lineno or 0, (found.line or "").strip()


def failure_text(exc: BaseException, path: str | Path, doing: str) -> str:
    """One sentence about the user's code failing ``doing`` something, at its file and line."""
    frame = user_frame(exc, path)
    at = f"{frame[0]}:{frame[1]}" if frame else str(path)
    code = f" (`{frame[2]}`)" if frame and frame[2] else ""
    if isinstance(exc, SystemExit):
        return f"{at}{code} calls sys.exit({exc.code!r}) {doing}: {EXIT_ADVICE}"
    if isinstance(exc, KeyboardInterrupt):
        return f"{at}{code} was interrupted {doing}"
    text = f": {exc}" if str(exc) else ""
    return f"{at}{code} fails {doing}: {type(exc).__name__}{text}"


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
    except (Exception, SystemExit) as exc:  # noqa: BLE001 (the user's file may raise anything)
        sys.modules.pop(module_name, None)
        raise ModelImportError(failure_text(exc, p, "when it runs")) from None
    finally:
        if sys.path and sys.path[0] == folder:
            sys.path.pop(0)
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        found = ", ".join(module_classes(p)) or "none"
        raise ModelImportError(f"{p} has no class {class_name!r} (its module classes: {found})")
    return cls


def instantiate(cls: type, args: dict | None = None):
    """``cls(**args)`` as an ``nn.Module``; failures name the class, the arguments and the
    line of the user's constructor that failed."""
    from torch import nn

    if not issubclass(cls, nn.Module):
        raise ModelImportError(f"{cls.__name__} is not a torch.nn.Module subclass")
    args = dict(args or {})
    try:
        return cls(**args)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 (the constructor may raise anything)
        shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
        source = inspect.getsourcefile(cls) or ""
        frame = user_frame(exc, source) if source else None
        at = f" at {frame[0]}:{frame[1]} (`{frame[2]}`)" if frame else ""
        what = f"calls sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else \
            f"fails: {type(exc).__name__}: {exc}"
        raise ModelImportError(f"{cls.__name__}({shown}) {what}{at} (pass constructor "
                               f"arguments as JSON with --args)") from None


def import_file(path: str | Path, class_name: str, args: dict | None = None,
                input_shapes=None, name: str | None = None, input_dtypes=None) -> Graph:
    """Load ``class_name`` from ``path``, instantiate it with ``args`` and import it."""
    from .importer import import_module

    module = instantiate(load_class(path, class_name), args)
    return import_module(module, input_shapes=input_shapes, name=name,
                         input_dtypes=input_dtypes)


__all__ = ["module_classes", "load_class", "instantiate", "import_file", "short_path",
           "user_frame", "failure_text"]
