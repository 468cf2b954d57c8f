"""Small helpers that keep the catalog modules declarative."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .registry import register
from .spec import (
    WEIGHT_PARAMS,
    Code,
    Emission,
    EmitContext,
    LayerSpec,
    Param,
    Port,
    RankRule,
    call,
)

__all__ = ["Code", "Emission", "EmitContext", "P", "Port", "RankRule", "activation", "attrs",
           "ff_params", "image_rule", "layer", "module_call", "refusal"]

P = Param


def module_call(ctx: EmitContext) -> list[str]:
    """The usual forward line: ``name = self.name(x)``."""
    return [f"{ctx.out} = self.{ctx.name}({ctx.x})"]


def _plain(value: Any) -> Any:
    """A module attribute as a parameter value: (3, 3) is 3, lists are tuples."""
    if isinstance(value, (list, tuple)):
        value = tuple(_plain(v) for v in value)
        return value[0] if value and all(v == value[0] for v in value) and \
            all(type(v) is int for v in value) else value
    return value


def attrs(*names: str, **renamed: str) -> Callable[[Any], dict]:
    """A ``from_module`` reading parameters from the torch module's attributes.

    ``names`` are read as they are; ``renamed`` maps a parameter to a differently named
    attribute (``init_slope="init"``).
    """
    pairs = [(n, n) for n in names] + list(renamed.items())
    return lambda m: {param: _plain(getattr(m, attr)) for param, attr in pairs}


def layer(
    type_: str,
    category: str,
    doc: str,
    params: tuple[Param, ...] = (),
    *,
    init: Callable[[EmitContext], str] | None = None,
    forward: Callable[[EmitContext], list[str]] = module_call,
    helpers: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
    short: str = "",
    rank: RankRule | None = None,
    weight: bool = False,
    inputs: tuple[Port, ...] = (Port("in"),),
    outputs: tuple[Port, ...] = (Port("out"),),
    functional: bool = False,
    source: bool = False,
    block_role: str | None = None,
    **knowledge,
) -> LayerSpec:
    """Register a layer whose ``__init__`` expression comes from ``init`` (None: stateless).

    ``knowledge`` sets the spec's per-layer fields (``subtitle``, ``same_shape``, ``no_macs``,
    ``shape_rule``, ``merge``, ``conv_dims``, ``torch_class``, ``from_module``... : see
    ``LayerSpec``).
    """

    def emit(ctx: EmitContext) -> Emission:
        return Emission(
            init=init(ctx) if init else None,
            forward=forward(ctx),
            helpers=helpers,
            uses_functional=functional,
        )

    all_params = tuple(params) + (WEIGHT_PARAMS if weight else ())
    return register(LayerSpec(
        type=type_, category=category, doc=doc, params=all_params, inputs=inputs,
        outputs=outputs, aliases=aliases, short=short or type_.lower(), emit=emit, rank=rank,
        weight_layer=weight, block_role=block_role, source=source, **knowledge,
    ))


def activation(type_: str, doc: str, params: tuple[Param, ...] = (), aliases: tuple = (),
               defaults: dict | None = None, short: str | None = None,
               category: str = "Activation", **knowledge) -> LayerSpec:
    """A parameter-only torch.nn module ``nn.<type_>(**params)``, element-wise by default."""
    names = tuple(p.name for p in params)
    knowledge.setdefault("same_shape", True)
    knowledge.setdefault("no_macs", True)
    knowledge.setdefault("torch_class", f"torch.nn.{type_}")
    knowledge.setdefault("from_module", attrs(*names))
    return layer(type_, category, doc, params,
                 init=lambda c: call(f"nn.{type_}", (), {k: c.params[k] for k in names},
                                     defaults or {}),
                 aliases=aliases, short=short or type_.lower(), **knowledge)


_IMAGE = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def image_rule(dims: int) -> RankRule:
    """Rank rule of a layer over ``dims`` spatial dimensions with channels first."""
    want = _IMAGE[dims]
    rank = dims + 1

    def hint(r: int) -> str:
        if r < rank:
            return f"add an Unflatten or Reshape before it to make {want[4:]}"
        return "add a pooling or Flatten/Reshape layer before it"

    return RankRule((rank,), want, hint)


def ff_params(layer_module) -> dict:
    """``from_module`` of a transformer encoder or decoder layer."""
    act = layer_module.activation
    name = getattr(act, "__name__", type(act).__name__).lower()
    return {"nhead": layer_module.self_attn.num_heads,
            "dim_feedforward": layer_module.linear1.out_features,
            "dropout": float(layer_module.dropout.p), "activation": "gelu" if "gelu" in name
            else "relu", "norm_first": layer_module.norm_first}


def refusal(message: str) -> str:
    """An expression raising ``message`` where shape analysis evaluates it: settings that cannot
    work, said in words. The node then has an error, so the graph never compiles with it."""
    return f"(_ for _ in ()).throw(ValueError({message!r}))"
