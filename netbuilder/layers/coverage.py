"""Which torch.nn module classes the catalog covers, and why the others are left out.

Counted, not claimed: ``nn_coverage`` walks torch.nn's Module subclasses and checks each against
the registry's ``torch_class`` fields; every class not covered must have a reason here, so a new
torch version's layers show up as a failing test until they are added or explained.
"""
from __future__ import annotations

from .registry import all_specs

_CONTAINER = ("a container of other modules: draw its contents, or group them into a block "
              "(repeat ×N for a stack)")
_BASE = "an abstract base class, not a layer"
_LAZY = ("a lazy module: its input size is inferred on the first call, which every layer "
         "here already does from the incoming shape (use {})")
_LOSS = ("a loss: it compares outputs with targets and belongs to the training setup (the "
         "loss of a TrainingConfig), not to the network")

# Classes that cannot be a layer on the canvas, by name; losses and lazy modules by pattern.
LEFT_OUT = {
    "Module": _BASE, "Container": _BASE, "RNNBase": _BASE, "RNNCellBase": _BASE,
    "Sequential": _CONTAINER, "ModuleList": _CONTAINER, "ModuleDict": _CONTAINER,
    "ParameterList": "a container of parameters: use parameter nodes",
    "ParameterDict": "a container of parameters: use parameter nodes",
    "TransformerEncoder": _CONTAINER + " of TransformerEncoderLayer",
    "TransformerDecoder": _CONTAINER + " of TransformerDecoderLayer",
    "DataParallel": "a wrapper that runs a whole model on several GPUs (training runs DDP)",
    "SyncBatchNorm": ("BatchNorm that synchronizes statistics across processes, meaningful only "
                      "in distributed training: draw BatchNorm (torch's "
                      "convert_sync_batchnorm turns it into this)"),
    "AdaptiveLogSoftmaxWithLoss": ("needs the targets in its forward and returns a loss: "
                                   "a loss, not a layer"),
}


def left_out_reason(name: str) -> str | None:
    """Why torch.nn.``name`` is not in the catalog, or None where it should be."""
    if name in LEFT_OUT:
        return LEFT_OUT[name]
    if name.endswith("Loss") or name == "NLLLoss2d":
        return _LOSS
    if name.startswith("Lazy"):
        return _LAZY.format(name[4:])
    return None


def torch_nn_classes() -> list[str]:
    """Names of the Module subclasses torch.nn exports (imports torch)."""
    import inspect

    from torch import nn

    return sorted(n for n, v in vars(nn).items()
                  if inspect.isclass(v) and issubclass(v, nn.Module) and not n.startswith("_"))


def nn_coverage() -> tuple[list[str], dict[str, str], list[str]]:
    """``(covered, left out with reasons, missing)`` over torch.nn's module classes."""
    declared = {s.torch_class for s in all_specs() if s.torch_class}
    covered, left, missing = [], {}, []
    for name in torch_nn_classes():
        if f"torch.nn.{name}" in declared:
            covered.append(name)
        elif (why := left_out_reason(name)) is not None:
            left[name] = why
        else:
            missing.append(name)
    return covered, left, missing


def coverage_markdown() -> str:
    """The docs page docs/layers.md (regenerate with ``python -m netbuilder.layers.coverage``)."""
    import torch

    covered, left, missing = nn_coverage()
    total = len(covered) + len(left) + len(missing)
    layers = total - len(left)
    lines = [
        "# Layers: what of torch.nn is on the canvas",
        "",
        f"Counted on torch {torch.__version__.split('+')[0]} by walking the `nn.Module` "
        f"subclasses that `torch.nn` exports and checking each against the catalog's "
        f"`torch_class` fields (`netbuilder/layers/coverage.py`; a test keeps this page true).",
        "",
        f"- torch.nn module classes: **{total}**",
        f"- of them layers (not losses, containers, base classes, lazy or wrapper modules): "
        f"**{layers}**",
        f"- covered by the catalog: **{len(covered)}** of those {layers}",
        f"- catalog types in all (with netbuilder's own: Input, Output, Add, Concat, Reshape, "
        f"blocks...): **{len(all_specs())}**",
        "",
    ]
    if missing:
        lines += ["## Not yet covered", "", *(f"- `{n}`" for n in missing), ""]
    lines += ["## Covered", "", ", ".join(f"`{n}`" for n in covered), "",
              "## Left out, and why", "", "| torch.nn class | reason |", "|---|---|"]
    lines += [f"| `{n}` | {why} |" for n, why in sorted(left.items())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - writes the docs page
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "layers.md"
    page.write_text(coverage_markdown(), encoding="utf-8")
    print(f"wrote {page}")
