"""Write the pretrained body of the transfer-learning example (finetune_digits.safetensors).

    python scripts/make_pretrained.py

The example's body (``backbone``) is trained with its head on the digits by netbuilder's own
trainer (CPU, one thread, seed 0: the same numbers on every run on one machine), and only the
body's tensors are kept: the example's head is new, so it starts freshly initialised, and
the body is frozen. The file is a few kilobytes.
"""
from __future__ import annotations

import sys

import torch
from make_examples import BACKBONE_WEIGHTS, EXAMPLES_DIR, finetune_digits

from netbuilder.graph.fileformat import atomic_replace
from netbuilder.train.config import TrainingConfig
from netbuilder.train.trainer import train

EPOCHS = 20


def pretrained_body() -> dict[str, torch.Tensor]:
    """The body's tensors after training the whole network on the digits."""
    torch.set_num_threads(1)
    g = finetune_digits(weights=False)
    g.set_trainable(g.find("backbone"), True)  # pretraining trains the body too
    config = TrainingConfig.from_graph(g).replace(
        dataset="digits", task="classify", epochs=EPOCHS, lr=0.01, batch_size=64, seed=0,
        device="cpu", normalization="none", val_split=0.2)
    result = train(g, config)
    print(f"pretrained: {result.history[-1]}")
    state = result.model.state_dict()
    return {k: v.detach().cpu().contiguous() for k, v in sorted(state.items())
            if k.startswith("backbone.")}


def main() -> int:
    from safetensors.torch import save_file

    tensors = pretrained_body()
    path = EXAMPLES_DIR / BACKBONE_WEIGHTS
    atomic_replace(path, lambda tmp: save_file(tensors, str(tmp), metadata={
        "producer": "netbuilder scripts/make_pretrained.py", "trained_on": "digits"}))
    print(f"wrote {path} ({path.stat().st_size:,} bytes, {len(tensors)} tensors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
