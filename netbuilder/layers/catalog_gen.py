"""Generative sources: the Noise node that feeds a generator.

NOTE: a source other than Input becomes an *optional* keyword argument of the generated
``forward`` (``def forward(self, image, z=None)``). When the caller leaves it out, the lines
emitted here draw it, taking the batch size and device from the graph's first Input (the
"companion", passed as ``in_vars[0]``). A graph with no Input takes the noise as a required
argument: it is then the model's input. Shape analysis calls ``emit`` with no companion and
gets one sample.
"""
from __future__ import annotations

from .define import P, layer

DISTRIBUTIONS = ("normal", "uniform")


def noise_shape(params: dict) -> tuple[int, ...]:
    """Sample shape of a Noise node: ``(latent,)`` or ``(latent, 1, 1)`` for conv generators."""
    n = int(params["latent_size"])
    return (n, 1, 1) if params.get("spatial") else (n,)


def noise_expression(params: dict, batch: str, device: str | None) -> str:
    """The torch expression drawing a batch of noise (normal, or uniform in [-1, 1])."""
    dims = ", ".join([batch, *(str(d) for d in noise_shape(params))])
    dev = f", device={device}" if device else ""
    if params["distribution"] == "uniform":
        return f"torch.rand({dims}{dev}) * 2 - 1"
    return f"torch.randn({dims}{dev})"


def _forward(ctx) -> list[str]:
    if not ctx.in_vars:  # shape analysis: one sample
        return [f"{ctx.out} = {noise_expression(ctx.params, '1', None)}"]
    c = ctx.in_vars[0]
    return [f"if {ctx.out} is None:",
            f"    {ctx.out} = {noise_expression(ctx.params, f'{c}.shape[0]', f'{c}.device')}"]


layer("Noise", "Generative",
      "Random latent vectors z for a generator: normal N(0, 1) or uniform in [-1, 1]. Drawn "
      "with the batch size of the data unless passed to forward.",
      (P("latent_size", "int", 100, "Size of z (nz in DCGAN)", min=1, max=1_000_000),
       P("distribution", "choice", "normal", "Normal N(0, 1) or uniform in [-1, 1]",
         choices=DISTRIBUTIONS),
       P("spatial", "bool", False, "Shape (latent, 1, 1) for convolutional generators (DCGAN)")),
      inputs=(), forward=_forward, aliases=("latent", "z", "random", "gan input", "prior"),
      short="noise", source=True)

__all__ = ["DISTRIBUTIONS", "noise_expression", "noise_shape"]
