"""Write the generative example graphs (netbuilder/resources/examples/*.json) from Python code.

    python scripts/make_gen_examples.py            # (re)write these example files
    python scripts/make_gen_examples.py --check    # exit 1 if a file differs from what this writes

Autoencoders, a VAE, two DCGANs, an RBM and a deep belief network, each drawn with the public
API (the templates of ``netbuilder.graph.templates``) and saved with its training setup
(``TrainingConfig.to_dict()``) and a description.
"""
from __future__ import annotations

import sys

# Run as a script, this folder is on sys.path: the layout and the command line are shared.
from make_examples import arrange, write_or_check

import netbuilder as nb
from netbuilder.graph import to_json
from netbuilder.graph.templates import make_autoencoder, make_dbn, make_gan, make_rbm, make_vae
from netbuilder.train.config import TrainingConfig

# --- the examples -----------------------------------------------------------------------------


def autoencoder_dense() -> nb.Graph:
    return make_autoencoder("dense", (1, 8, 8), code=16, hidden=(128,), name="autoencoder-dense")


def autoencoder_denoising() -> nb.Graph:
    return make_autoencoder("dense", (1, 28, 28), code=32, hidden=(256,),
                            name="autoencoder-denoising")


def vae_conv() -> nb.Graph:
    return make_vae("conv", (1, 28, 28), latent=16, hidden=128, channels=(16, 32),
                    name="vae-conv")


def dcgan_digits() -> nb.Graph:
    return make_gan("conv", (1, 28, 28), latent=64, ngf=16, ndf=16, name="dcgan-digits")


def dcgan_64() -> nb.Graph:
    """The DCGAN of the PyTorch examples: nz=100, ngf=ndf=64, 3×64×64 images."""
    return make_gan("conv", (3, 64, 64), latent=100, ngf=64, ndf=64, name="dcgan-64")


def rbm_digits() -> nb.Graph:
    return make_rbm(64, 100, cd_k=1, name="rbm-digits")


def dbn_digits() -> nb.Graph:
    return make_dbn(64, (256, 128), 10, name="dbn-digits")


def _training(**settings) -> dict:
    return TrainingConfig(**settings).validate().to_dict()


EXAMPLES: dict[str, dict] = {
    "autoencoder_dense": {
        "build": autoencoder_dense,
        "title": "Autoencoder (dense)",
        "description": "A dense autoencoder: the Encoder squeezes an 8×8 digit into 16 numbers, "
                       "the Decoder rebuilds the 64 pixels from them.",
        "training": _training(dataset="digits", task="autoencode", lr=2e-3, batch_size=32,
                              epochs=30),
    },
    "autoencoder_denoising": {
        "build": autoencoder_denoising,
        "title": "Denoising autoencoder",
        "description": "A denoising autoencoder: 30% of the pixels are masked out of each input "
                       "and the network learns to restore the clean digit.",
        "training": _training(dataset="digits", dataset_options={"size": 28},
                              task="autoencode", task_options={"denoise": "masking",
                                                               "strength": 0.3},
                              lr=1e-3, batch_size=32, epochs=20),
    },
    "vae_conv": {
        "build": vae_conv,
        "title": "Variational autoencoder (conv)",
        "description": "A convolutional VAE: the Encoder gives a mean and a log-variance, "
                       "Reparameterize draws the code z, the Decoder rebuilds the digit; "
                       "decoding z drawn from N(0, I) makes new digits.",
        "training": _training(dataset="digits", dataset_options={"size": 28}, task="vae",
                              task_options={"beta": 1.0}, lr=2e-3, batch_size=64, epochs=20),
    },
    "dcgan_digits": {
        "build": dcgan_digits,
        "title": "DCGAN (digits)",
        "description": "A DCGAN on digits upsampled to 28×28: the Generator turns noise into "
                       "digits, the Discriminator tells them from real ones (its 'real' port), "
                       "and each learns from the other.",
        "training": _training(dataset="digits", dataset_options={"size": 28}, task="gan",
                              task_options={"lr_g": 1e-3, "lr_d": 2e-4}, batch_size=32,
                              epochs=20),
    },
    "dcgan_64": {
        "build": dcgan_64,
        "title": "DCGAN 64×64 (PyTorch examples)",
        "description": "The DCGAN of the PyTorch examples (Radford et al. 2015): nz=100, "
                       "ngf=ndf=64, 3×64×64 images; generator 3,576,704 and discriminator "
                       "2,765,568 parameters. Trains on CIFAR-10 scaled to 64×64, or point the "
                       "dataset at a folder of pictures (faces, bedrooms).",
        "training": _training(dataset="cifar10", task="gan",
                              task_options={"lr_g": 2e-4, "lr_d": 2e-4}, batch_size=128,
                              epochs=25, val_split=0.02),
    },
    "rbm_digits": {
        "build": rbm_digits,
        "title": "Restricted Boltzmann machine",
        "description": "A restricted Boltzmann machine learns binarized digits by contrastive "
                       "divergence; its dreams (Gibbs chains started from noise) show what it "
                       "has learned.",
        "training": _training(dataset="digits", dataset_options={"binarize": True,
                                                                 "flatten": True},
                              task="rbm", lr=1e-2, batch_size=32, epochs=20),
    },
    "dbn_digits": {
        "build": dbn_digits,
        "title": "Deep belief network",
        "description": "A deep belief network: two RBMs are pretrained one after the other "
                       "without labels, then the whole stack and a Linear head are fine-tuned "
                       "as a digit classifier.",
        "training": _training(dataset="digits", dataset_options={"flatten": True}, task="dbn",
                              task_options={"pretrain_epochs": 10, "pretrain_lr": 1e-2},
                              lr=1e-2, batch_size=32, epochs=15),
    },
}


def make(stem: str) -> nb.Graph:
    """The example ``stem`` as a graph, laid out, with its training setup and description."""
    entry = EXAMPLES[stem]
    g = entry["build"]()
    arrange(g)
    g.meta = {"title": entry["title"], "description": entry["description"]}
    g.training = dict(entry["training"])
    return g


def render_all() -> dict[str, str]:
    """``{file name: file text}`` for every generative example."""
    return {f"{stem}.json": to_json(make(stem)) for stem in EXAMPLES}


def main(argv: list[str] | None = None) -> int:
    return write_or_check(__doc__, render_all, "scripts/make_gen_examples.py", argv)


if __name__ == "__main__":
    sys.exit(main())
