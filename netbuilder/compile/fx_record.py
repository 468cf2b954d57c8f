"""Tracing a module with torch.fx and recording one real run of it, for the importer.

Every submodule is a leaf of the trace (custom ones become blocks afterwards). The run keeps
each node's value; a block's first call runs through its own traced graph and recorder, kept
in the session for its import, so each layer of the model runs once whatever the nesting.
"""
from __future__ import annotations

import inspect
import linecache
import os
import sys
import traceback
from typing import Any

import torch
from torch import fx, nn

from . import fx_calls, fx_map, fx_names
from .fx_placeholders import Untraceable
from .import_source import short_path as _short_path

# NOTE: with the separator: torchvision, torchaudio... are the user's code, not torch's.
_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_OWN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class Tracer(fx.Tracer):
    """Every submodule is a leaf (custom ones become blocks afterwards); noise calls recorded;
    each node remembers the user's source line that made it."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return True

    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
        node = super().create_node(kind, target, args, kwargs, name, type_expr)
        # NOTE: torch's own record_stack_traces symbolizes C++ frames too, which costs seconds
        # on first use; the innermost Python frame outside torch is all an error needs.
        frame = sys._getframe(1)
        while frame is not None and not (
                is_user_frame(frame.f_code.co_filename) and
                linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()):
            frame = frame.f_back  # (a frame without source, "<frozen runpy>", says nothing)
        if frame is not None:
            code = frame.f_code
            line = linecache.getline(code.co_filename, frame.f_lineno).strip()
            node.stack_trace = (f'File "{code.co_filename}", line {frame.f_lineno}, in '
                                f'{code.co_name}\n    {line}\n')
        return node

    def trace(self, root, concrete_args=None):
        originals = {name: getattr(torch, name) for name in fx_map.NOISE_FUNCTIONS}
        base = fx_map.torch_base(type(root)) if isinstance(root, nn.Module) else None
        base_forward = base.forward if base is not None else None
        try:
            for name, fn in originals.items():
                setattr(torch, name, recorded_call(fn))
            if base is not None:
                base.forward = self._base_call(root, base, base_forward)
            return super().trace(root, concrete_args)
        finally:
            for name, fn in originals.items():
                setattr(torch, name, fn)
            if base is not None:
                base.forward = base_forward

    def _base_call(self, root, base, original):
        """``super().forward(x)`` of a torch layer's subclass as one call (the layer), not
        the torch code inside it (whose checks on the input's rank cannot be traced)."""
        target = fx_map.BaseForward(base, root)

        def forward(module, *args, **kwargs):
            if module is root:
                return self.create_proxy("call_function", target, args, kwargs)
            return original(module, *args, **kwargs)
        return forward


def recorded_call(fn):
    """``fn`` that becomes a graph node when its arguments hold a traced value."""
    from torch.utils._pytree import tree_flatten

    def call(*args, **kwargs):
        proxy = next((a for a in tree_flatten((args, kwargs))[0]
                      if isinstance(a, fx.Proxy)), None)
        if proxy is None:
            return fn(*args, **kwargs)
        return proxy.tracer.create_proxy("call_function", fn, args, kwargs)
    return call


def is_user_frame(filename: str) -> bool:
    """Whether a frame is the model's code (wherever it is installed), not torch's nor ours."""
    path = os.path.abspath(filename)
    return not path.startswith(_TORCH_DIR) and not path.startswith(_OWN_DIR)


class Recorder(fx.Interpreter):
    """Runs the traced module once, keeping each node's value and each submodule's arguments.

    A block (a submodule that becomes an inner graph) runs through its own traced graph and
    recorder, kept in ``session.recorded`` for its import: every layer of the model then runs
    once, not once per level of nesting (a ResNet's bottlenecks would otherwise run three
    times)."""

    def __init__(self, module: nn.Module, traced: fx.Graph, session: Any = None
                 ) -> None:
        # NOTE: the module itself, not a GraphModule, whose own attributes (code, graph)
        # would hide submodules of those names.
        super().__init__(module, graph=traced)
        self.session = session
        self.values: dict[fx.Node, Any] = {}
        self.module_args: dict[str, tuple] = {}
        self.module_kwargs: dict[str, dict] = {}
        self._node: fx.Node | None = None

    def run_node(self, n: fx.Node) -> Any:
        self._node = n
        out = super().run_node(n)
        self.values[n] = out
        return out

    def call_module(self, target, args, kwargs):
        # NOTE: torch.fx hands lists over immutable; a module may change the list it is
        # given (HRNet's branches write x[i]): it gets its own, the record keeps the originals.
        args, kwargs = _mutable(args), _mutable(kwargs)
        first = target not in self.module_args
        self.module_args.setdefault(target, _mutable(args))
        self.module_kwargs.setdefault(target, _mutable(kwargs))
        if first and self.session is not None:
            recorded = self._record_block(target, args, kwargs)
            if recorded is not None:
                return recorded[0]
        return super().call_module(target, args, kwargs)

    def _record_block(self, target, args, kwargs) -> tuple | None:
        """``(output,)`` of a block's first call, run through its own traced graph and
        recorder (kept for its import); None for a layer, or a block that cannot be traced
        or fails here (its own import retraces it and says why)."""
        mod = self.fetch_attr(target)
        if fx_map.module_rule(mod) is not None or not fx_names.is_block(mod) or \
                id(mod) in self.session.recorded:
            return None
        call = fx_calls.bind(mod, self._node.args, self._node.kwargs, args, kwargs)
        if isinstance(call, str):
            return None
        try:
            traced, concrete = trace_module(mod, type(mod).__name__, call.concrete)
        except Untraceable:
            return None
        inner = Recorder(mod, traced, self.session)
        rng = torch.get_rng_state()
        try:
            out = inner.run(*call.values)
        except Exception:  # noqa: BLE001 (reported when the block itself is imported)
            torch.set_rng_state(rng)  # the plain run that follows draws the same noise
            return None
        self.session.recorded[id(mod)] = (traced, concrete, inner)
        return (out,)


def _mutable(value: Any) -> Any:
    """``value`` with its lists and dicts copied into plain (mutable) ones."""
    if isinstance(value, tuple):
        return type(value)(_mutable(v) for v in value) if type(value) is tuple else value
    if isinstance(value, list):
        return [_mutable(v) for v in value]
    if isinstance(value, dict):
        return {k: _mutable(v) for k, v in value.items()}
    return value


def trace_module(module: nn.Module, label: str, concrete: dict | None = None
           ) -> tuple[fx.Graph, dict]:
    """The fx graph, and the arguments traced as constants: ``concrete`` (a block's call
    binds them), else those with defaults, traced with their default (``forward(self, x,
    z=None)``: z is noise drawn inside)."""
    if concrete is None:
        try:
            params = list(inspect.signature(module.forward).parameters.values())
        except (TypeError, ValueError):
            params = []
        concrete = {p.name: p.default for p in params if p.default is not p.empty and
                    p.kind is p.POSITIONAL_OR_KEYWORD}
    try:
        traced = Tracer().trace(module, concrete or None)
    except Exception as exc:  # noqa: BLE001 (any tracing failure: the fallbacks say why)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_frame(f.filename)]
        where = f" at {_short_path(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
        code = f" (`{frames[-1].line}`)" if frames and frames[-1].line else ""
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Untraceable(f"torch.fx cannot trace {label}.forward{where}{code}: {text}") \
            from None
    return traced, concrete


def same_constants(a: dict, b: dict) -> bool:
    """Whether two calls' constant arguments are the same (as a recording's must be)."""
    try:
        return a.keys() == b.keys() and all(x is y or bool(x == y)
                                             for x, y in zip(a.values(), b.values()))
    except Exception:  # noqa: BLE001 (a constant whose == is not a bool: record again)
        return False


__all__ = ["Recorder", "Tracer", "is_user_frame", "same_constants", "trace_module"]
