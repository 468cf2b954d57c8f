"""Small helpers that keep the catalog modules declarative."""
from __future__ import annotations

from collections.abc import Callable

from .registry import register
from .spec import WEIGHT_PARAMS, Code, Emission, EmitContext, LayerSpec, Param, Port, RankRule

__all__ = ["Code", "Emission", "EmitContext", "P", "Port", "RankRule", "layer", "module_call"]

P = Param


def module_call(ctx: EmitContext) -> list[str]:
    """The usual forward line: ``name = self.name(x)``."""
    return [f"{ctx.out} = self.{ctx.name}({ctx.x})"]


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
