"""The layer catalog: specs (data, no torch) and the source each layer emits."""
from . import (  # noqa: F401  (registers the layers)
    catalog_conv,
    catalog_core,
    catalog_gen,
    catalog_module,
    catalog_seq,
)
from .registry import all_specs, categories, get_spec, register, search
from .spec import Emission, EmitContext, LayerSpec, Param, Port, RankRule

__all__ = [
    "Emission",
    "EmitContext",
    "LayerSpec",
    "Param",
    "Port",
    "RankRule",
    "all_specs",
    "categories",
    "get_spec",
    "register",
    "search",
]
