"""Looking inside a trained network: attributions, embeddings, dreams, adversarial examples and
style transfer. No Qt; torch and a built model.

The functions take a plain ``nn.Module`` and tensors, so they work on any model; ``RunModel``
gives them a run folder's model (normalisation folded in, so inputs, gradients and ε are in the
picture's own units), its nodes by name and its validation samples. ``images`` renders results
to PNG with Pillow.

>>> run = RunModel("runs/lenet5-20260101")
>>> x, y = run.validation(limit=1)
>>> heat = explain(run.net, x, "gradcam", layer=run.node("conv2"))
>>> overlay_png(x[0], heat, "map.png")
"""
from importlib import import_module

# The choices, here and torch-free, so the command line can offer them without loading torch.
METHODS = ("saliency", "integrated_gradients", "smoothgrad", "gradcam", "occlusion")
PROJECTIONS = ("pca", "tsne")
ATTACKS = ("fgsm", "pgd")

# NOTE: everything else imports torch (seconds on a cold start): it loads on first use.
_LAZY = {
    **dict.fromkeys(("accuracy", "fgsm", "pgd", "robustness_curve"), ".adversarial"),
    "explain": ".attribution",
    **dict.fromkeys(("deep_dream", "maximize_activation"), ".dream"),
    **dict.fromkeys(("embed_run", "node_features", "project", "warm_up",
                     "yield_to_training"), ".embedding"),
    **dict.fromkeys(("Verdict", "select", "verdicts"), ".gallery"),
    **dict.fromkeys(("grid_png", "overlay_image", "overlay_png", "scatter_png"), ".images"),
    **dict.fromkeys(("RunModel", "capture"), ".model"),
    **dict.fromkeys(("gram_matrix", "style_transfer", "stylise"), ".style"),
    "StyleJob": ".style_job",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ATTACKS", "METHODS", "PROJECTIONS", *_LAZY]
