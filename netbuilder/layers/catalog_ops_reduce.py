"""Reductions over chosen sample dimensions, with keepdim: ``x.mean(dim=(2, 3))``."""
from __future__ import annotations

from .define import P, layer
from .ops_common import from_input, sample_dim, sample_dims
from .spec import fmt

_DIM = P("dim", "ints", -1, "Dimension(s) to reduce (1.. ; -1: the last); never 0, the batch",
         min=-8, max=8)
_ONE_DIM = P("dim", "int", -1, "Dimension to reduce (1.. ; -1: the last); never 0, the batch",
             min=-8, max=8)
_KEEPDIM = P("keepdim", "bool", False, "Keep reduced dimensions with size 1 (for broadcasting)")


def _dims(c) -> str:
    """The dim argument as the user gave it, after checking it spares the batch."""
    sample_dims(c.params["dim"], c.shape)
    return fmt(c.params["dim"])


def _keep(c) -> str:
    return ", keepdim=True" if c.params["keepdim"] else ""


def _subtitle(p: dict) -> str:
    return f"dim={fmt(p['dim'])}" + (", keepdim" if p.get("keepdim") else "")


def _reduction(type_: str, template: str, doc: str, aliases: tuple, extra: tuple = (),
               one_dim: bool = False, short: str = "", functions: tuple = (),
               renames: dict | None = None) -> None:
    """``template`` formats with x, dim, keep and the extra parameters (as literals)."""
    def forward(c) -> list[str]:
        if one_dim:
            sample_dim(c.params["dim"], c.shape)
        extras = {p.name: fmt(c.params[p.name]) for p in extra}
        code = template.format(x=c.x, dim=_dims(c) if not one_dim else fmt(c.params["dim"]),
                               keep=_keep(c), **extras)
        return [f"{c.out} = {code}"]

    fn = short or type_.lower()
    layer(type_, "Reductions", doc, ((_ONE_DIM if one_dim else _DIM), _KEEPDIM, *extra),
          forward=forward, aliases=aliases, short=short or fn, subtitle=_subtitle, no_macs=True,
          functions=functions or (fn, f"torch.{fn}", f"Tensor.{fn}"),
          from_call=from_input("dim", "keepdim", *(p.name for p in extra), **(renames or {})))


_reduction("Mean", "{x}.mean(dim={dim}{keep})", "Average over the chosen dimensions "
           "(global average pooling is a mean over (2, 3)).",
           ("average", "global average", "reduce mean"), short="mean")
_reduction("Sum", "{x}.sum(dim={dim}{keep})", "Sum over the chosen dimensions.",
           ("total", "reduce sum"), short="sum")
_reduction("Amax", "{x}.amax(dim={dim}{keep})", "Largest value over the chosen dimensions.",
           ("maximum", "reduce max", "global max"))
_reduction("Amin", "{x}.amin(dim={dim}{keep})", "Smallest value over the chosen dimensions.",
           ("minimum", "reduce min"))
_reduction("Max", "{x}.max(dim={dim}{keep}).values", "Largest value along one dimension "
           "(the values of torch.max; Argmax gives the indices).", ("maximum along",),
           one_dim=True)
_reduction("Min", "{x}.min(dim={dim}{keep}).values", "Smallest value along one dimension "
           "(the values of torch.min).", ("minimum along",), one_dim=True)
_reduction("Std", "{x}.std(dim={dim}, correction={correction}{keep})",
           "Standard deviation over the chosen dimensions.",
           ("standard deviation", "spread"),
           (P("correction", "int", 1, "Subtracted from the count: 1 unbiased, 0 population",
              min=0, max=1000),))
_reduction("Var", "{x}.var(dim={dim}, correction={correction}{keep})",
           "Variance over the chosen dimensions.", ("variance",),
           (P("correction", "int", 1, "Subtracted from the count: 1 unbiased, 0 population",
              min=0, max=1000),))
_reduction("Norm", "torch.linalg.vector_norm({x}, ord={p}, dim={dim}{keep})",
           "Vector p-norm over the chosen dimensions (2: Euclidean length).",
           ("l2 norm", "length", "magnitude", "p-norm", "euclidean"),
           (P("p", "float", 2.0, "The p of the p-norm (1: sum of magnitudes, 2: Euclidean)",
              min=0.0),),
           functions=("norm", "torch.norm", "Tensor.norm", "torch.linalg.vector_norm"),
           renames={"p": "ord"})  # torch.linalg calls it ord
_reduction("LogSumExp", "torch.logsumexp({x}, dim={dim}{keep})",
           "log(sum(exp(x))) over the chosen dimensions, computed stably.",
           ("log sum exp", "soft maximum", "smooth max"), short="logsumexp")
_reduction("Argmax", "{x}.argmax(dim={dim}{keep})",
           "Index of the largest value along one dimension (int64: class predictions).",
           ("arg max", "predicted class", "index of max"), one_dim=True)

__all__: list[str] = []
