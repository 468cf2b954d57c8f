"""The layer catalog: specs (data, no torch) and the source each layer emits."""
# Importing the catalog modules registers their layers. NOTE: the first ones set the order of
# the categories (a wire dropped on the canvas offers convolutions first): keep them first.
from . import catalog_conv, catalog_core  # noqa: F401, I001
from . import (  # noqa: F401
    catalog_activations,
    catalog_gen,
    catalog_module,
    catalog_norm,
    catalog_ops_call,
    catalog_ops_math,
    catalog_ops_param,
    catalog_ops_reduce,
    catalog_ops_shape,
    catalog_pairs,
    catalog_pooling,
    catalog_resample,
    catalog_seq,
    catalog_windows,
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
