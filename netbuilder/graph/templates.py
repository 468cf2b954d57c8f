"""Palette templates for generative networks: Encoder, Decoder, Generator and Discriminator
blocks (dense and convolutional), and whole example graphs (autoencoder, VAE, GAN, RBM, DBN).

Block functions return the *inner* graph of a block (``g.add("Generator", inner=...)``); the
``make_*`` functions return complete graphs. The convolutional generator and discriminator follow
DCGAN (Radford et al. 2015, as in the PyTorch examples): the generator is ConvTranspose2d +
BatchNorm2d + ReLU with a Tanh output, the discriminator strided Conv2d + BatchNorm2d +
LeakyReLU(0.2) with a Sigmoid output and no BatchNorm on its first layer.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .layout import auto_layout
from .model import Graph

__all__ = [
    "DCGAN_INIT",
    "TEMPLATES",
    "Template",
    "conv_decoder",
    "conv_discriminator",
    "conv_encoder",
    "conv_generator",
    "dcgan_levels",
    "dense_decoder",
    "dense_discriminator",
    "dense_encoder",
    "dense_generator",
    "make_autoencoder",
    "make_dbn",
    "make_gan",
    "make_rbm",
    "make_vae",
    "template",
]


class _Chain:
    """Appends layers one after another (``chain.then("ReLU")``) and lays them out."""

    def __init__(self, graph: Graph, start: str):
        self.graph = graph
        self.last = start

    def then(self, type_: str, name: str | None = None, **params) -> _Chain:
        node = self.graph.add(type_, name, **params)
        self.graph.connect(self.last, node)
        self.last = node
        return self

    def end(self, name: str = "y") -> Graph:
        self.graph.connect(self.last, self.graph.add("Output", name))
        auto_layout(self.graph)
        return self.graph


def _start(name: str, shape: tuple, input_name: str = "x") -> _Chain:
    g = Graph(name)
    return _Chain(g, g.add("Input", input_name, shape=tuple(shape)))


def _activation(chain: _Chain, kind: str) -> None:
    if kind == "LeakyReLU":
        chain.then("LeakyReLU", negative_slope=0.2)
    elif kind != "none":
        chain.then(kind)


# DCGAN's weights_init: convolution weights drawn from N(0, 0.02), in the graph (and the export).
DCGAN_INIT = {"init": "normal", "init_value": 0.02}


def dcgan_levels(size: int) -> tuple[int, int]:
    """``(base, k)``: an image side of ``size`` is ``base · 2**k`` with ``base >= 4``
    (64 → (4, 4), 32 → (4, 3), 28 → (7, 2)); DCGAN up/downsamples k times."""
    if size < 4:
        raise ValueError(f"a DCGAN image side must be at least 4 pixels, not {size}")
    base, k = size, 0
    while base % 2 == 0 and base // 2 >= 4:
        base //= 2
        k += 1
    return base, k


# --- Encoders and decoders --------------------------------------------------------------------


def dense_encoder(in_shape: tuple = (1, 28, 28), hidden: tuple = (256,), code: int | None = 32,
                  activation: str = "ReLU", name: str = "encoder") -> Graph:
    """Flatten → (Linear → activation) per hidden size → Linear(code); ``code=None`` ends on
    the last hidden layer (a VAE adds its mu and logvar layers outside the block)."""
    c = _start(name, in_shape)
    if len(in_shape) > 1:
        c.then("Flatten", "flatten")
    for i, h in enumerate(hidden, 1):
        c.then("Linear", f"fc{i}", out_features=h)
        _activation(c, activation)
    if code is not None:
        c.then("Linear", "code", out_features=code)
    return c.end("code" if code is None else "h")


def dense_decoder(code: int = 32, hidden: tuple = (256,), out_shape: tuple = (1, 28, 28),
                  activation: str = "ReLU", out_activation: str = "Sigmoid",
                  name: str = "decoder") -> Graph:
    """(Linear → activation) per hidden size → Linear(pixels) → out_activation → Unflatten."""
    c = _start(name, (code,), "z")
    for i, h in enumerate(hidden, 1):
        c.then("Linear", f"fc{i}", out_features=h)
        _activation(c, activation)
    c.then("Linear", "pixels", out_features=math.prod(out_shape))
    _activation(c, out_activation)
    if len(out_shape) > 1:
        c.then("Unflatten", "to_image", shape=tuple(out_shape))
    return c.end("x_hat")


def conv_encoder(in_shape: tuple = (1, 28, 28), channels: tuple = (32, 64), hidden: int = 256,
                 code: int | None = None, name: str = "encoder") -> Graph:
    """Conv2d(4, stride 2, padding 1) + ReLU per channel count (each halves the image) →
    Flatten → Linear(hidden) + ReLU [→ Linear(code)]."""
    c = _start(name, in_shape)
    for i, ch in enumerate(channels, 1):
        c.then("Conv2d", f"conv{i}", out_channels=ch, kernel_size=4, stride=2, padding=1)
        c.then("ReLU")
    c.then("Flatten", "flatten")
    c.then("Linear", "fc", out_features=hidden)
    c.then("ReLU")
    if code is not None:
        c.then("Linear", "code", out_features=code)
    return c.end("h")


def conv_decoder(code: int = 16, out_shape: tuple = (1, 28, 28), channels: tuple = (64, 32),
                 hidden: int = 256, out_activation: str = "Sigmoid",
                 name: str = "decoder") -> Graph:
    """The mirror of ``conv_encoder``: Linear → Unflatten to a small map → ConvTranspose2d(4,
    stride 2, padding 1) + ReLU per channel count, the last one to the image's channels."""
    n = len(channels)
    side = [s // 2 ** n for s in out_shape[1:]]
    if any(s * 2 ** n != o for s, o in zip(side, out_shape[1:])):
        raise ValueError(f"the image sides {out_shape[1:]} must be divisible by {2 ** n}")
    c = _start(name, (code,), "z")
    c.then("Linear", "fc", out_features=hidden)
    c.then("ReLU")
    c.then("Linear", "expand", out_features=channels[0] * side[0] * side[1])
    c.then("ReLU")
    c.then("Unflatten", "to_map", shape=(channels[0], *side))
    outs = list(channels[1:]) + [out_shape[0]]
    for i, ch in enumerate(outs, 1):
        c.then("ConvTranspose2d", f"deconv{i}", out_channels=ch, kernel_size=4, stride=2,
               padding=1)
        if i < len(outs):
            c.then("ReLU")
    _activation(c, out_activation)
    return c.end("x_hat")


# --- Generators and discriminators ------------------------------------------------------------


def dense_generator(latent: int = 100, hidden: tuple = (256, 512),
                    out_shape: tuple = (1, 28, 28), out_activation: str = "Tanh",
                    name: str = "generator") -> Graph:
    """z → (Linear → BatchNorm1d → LeakyReLU(0.2)) per hidden size → Linear → Tanh → image."""
    c = _start(name, (latent,), "z")
    for i, h in enumerate(hidden, 1):
        c.then("Linear", f"fc{i}", out_features=h)
        if i > 1:
            c.then("BatchNorm1d", f"bn{i}")
        c.then("LeakyReLU", negative_slope=0.2)
    c.then("Linear", "pixels", out_features=math.prod(out_shape))
    _activation(c, out_activation)
    if len(out_shape) > 1:
        c.then("Unflatten", "to_image", shape=tuple(out_shape))
    return c.end("fake")


def dense_discriminator(in_shape: tuple = (1, 28, 28), hidden: tuple = (512, 256),
                        name: str = "discriminator") -> Graph:
    """Flatten → (Linear → LeakyReLU(0.2)) per hidden size → Linear(1) → Sigmoid."""
    c = _start(name, in_shape)
    if len(in_shape) > 1:
        c.then("Flatten", "flatten")
    for i, h in enumerate(hidden, 1):
        c.then("Linear", f"fc{i}", out_features=h)
        c.then("LeakyReLU", negative_slope=0.2)
    c.then("Linear", "score", out_features=1)
    c.then("Sigmoid", "prob")
    return c.end("p_real")


def conv_generator(latent: int = 100, out_shape: tuple = (3, 64, 64), ngf: int = 64,
                   name: str = "generator") -> Graph:
    """DCGAN generator on z of shape (latent, 1, 1): ConvTranspose2d(base, stride 1) to a
    base×base map with ngf·2^(k-1) channels, then k stride-2 ConvTranspose2d(4) layers halving
    the channels (BatchNorm2d + ReLU) and a last one to the image's channels with Tanh."""
    channels, height, width = out_shape
    if height != width:
        raise ValueError(f"DCGAN makes square images, not {height}×{width}")
    base, k = dcgan_levels(height)
    if k < 1:
        raise ValueError(f"a DCGAN image side of {height} leaves nothing to upsample")
    c = _start(name, (latent, 1, 1), "z")
    mult = 2 ** (k - 1)
    c.then("ConvTranspose2d", "deconv1", out_channels=ngf * mult, kernel_size=base, stride=1,
           padding=0, bias=False, **DCGAN_INIT)
    c.then("BatchNorm2d", "bn1")
    c.then("ReLU", "relu1")
    for i in range(2, k + 1):
        mult //= 2
        c.then("ConvTranspose2d", f"deconv{i}", out_channels=ngf * mult, kernel_size=4,
               stride=2, padding=1, bias=False, **DCGAN_INIT)
        c.then("BatchNorm2d", f"bn{i}")
        c.then("ReLU", f"relu{i}")
    c.then("ConvTranspose2d", f"deconv{k + 1}", out_channels=channels, kernel_size=4, stride=2,
           padding=1, bias=False, **DCGAN_INIT)
    c.then("Tanh", "tanh")
    return c.end("fake")


def conv_discriminator(in_shape: tuple = (3, 64, 64), ndf: int = 64,
                       name: str = "discriminator") -> Graph:
    """DCGAN discriminator: k stride-2 Conv2d(4) layers doubling the channels from ndf
    (BatchNorm2d after all but the first, LeakyReLU(0.2)), a last Conv2d(base) to one value,
    Sigmoid, then Flatten to one score per sample."""
    _, height, width = in_shape
    if height != width:
        raise ValueError(f"DCGAN scores square images, not {height}×{width}")
    base, k = dcgan_levels(height)
    c = _start(name, in_shape)
    for i in range(1, k + 1):
        c.then("Conv2d", f"conv{i}", out_channels=ndf * 2 ** (i - 1), kernel_size=4, stride=2,
               padding=1, bias=False, **DCGAN_INIT)
        if i > 1:
            c.then("BatchNorm2d", f"bn{i}")
        c.then("LeakyReLU", f"lrelu{i}", negative_slope=0.2)
    c.then("Conv2d", f"conv{k + 1}", out_channels=1, kernel_size=base, stride=1, padding=0,
           bias=False, **DCGAN_INIT)
    c.then("Sigmoid", "prob")
    c.then("Flatten", "flatten")
    return c.end("p_real")


# --- Whole graphs -----------------------------------------------------------------------------


def make_autoencoder(kind: str = "dense", image_shape: tuple = (1, 28, 28), code: int = 32,
                     hidden: tuple = (256,), name: str = "autoencoder") -> Graph:
    """Input 'image' → Encoder → Decoder → Output 'reconstruction' (dense or conv)."""
    g = Graph(name)
    x = g.add("Input", "image", shape=tuple(image_shape))
    if kind == "dense":
        enc = dense_encoder(image_shape, hidden, code)
        dec = dense_decoder(code, tuple(reversed(hidden)), image_shape)
    elif kind == "conv":
        enc = conv_encoder(image_shape, hidden=hidden[0], code=code)
        dec = conv_decoder(code, image_shape, hidden=hidden[0])
    else:
        raise ValueError(f"kind must be 'dense' or 'conv', not {kind!r}")
    e = g.add("Encoder", "encoder", inner=enc)
    d = g.add("Decoder", "decoder", inner=dec)
    out = g.add("Output", "reconstruction")
    g.connect(x, e)
    g.connect(e, d)
    g.connect(d, out)
    auto_layout(g)
    return g


def make_vae(kind: str = "conv", image_shape: tuple = (1, 28, 28), latent: int = 16,
             hidden: int = 256, channels: tuple = (32, 64), name: str = "vae") -> Graph:
    """Input 'image' → Encoder → Linear 'mu' and Linear 'logvar' → Reparameterize 'z' →
    Decoder (Sigmoid output, for the BCE reconstruction loss) → Output 'reconstruction'."""
    g = Graph(name)
    x = g.add("Input", "image", shape=tuple(image_shape))
    if kind == "conv":
        enc = conv_encoder(image_shape, channels, hidden)
        dec = conv_decoder(latent, image_shape, tuple(reversed(channels)), hidden)
    elif kind == "dense":
        enc = dense_encoder(image_shape, (hidden,), None)
        dec = dense_decoder(latent, (hidden,), image_shape)
    else:
        raise ValueError(f"kind must be 'dense' or 'conv', not {kind!r}")
    e = g.add("Encoder", "encoder", inner=enc)
    mu = g.add("Linear", "mu", out_features=latent)
    logvar = g.add("Linear", "logvar", out_features=latent)
    z = g.add("Reparameterize", "z")
    d = g.add("Decoder", "decoder", inner=dec)
    out = g.add("Output", "reconstruction")
    g.connect(x, e)
    g.connect(e, mu)
    g.connect(e, logvar)
    g.connect(mu, z, dst_port="mu")
    g.connect(logvar, z, dst_port="logvar")
    g.connect(z, d)
    g.connect(d, out)
    auto_layout(g)
    return g


def make_gan(kind: str = "conv", image_shape: tuple = (1, 32, 32), latent: int = 100,
             ngf: int = 64, ndf: int = 64, hidden: tuple = (256, 512),
             distribution: str = "normal", name: str = "gan") -> Graph:
    """Noise 'z' → Generator → Discriminator, with Input 'image' (the real data) on the
    Discriminator's 'real' port. Outputs: 'fake' (samples), 'p_fake' = D(G(z)) and
    'p_real' = D(image), the two probabilities the GAN loss compares."""
    g = Graph(name)
    if kind == "conv":
        gen = conv_generator(latent, image_shape, ngf)
        disc = conv_discriminator(image_shape, ndf)
    elif kind == "dense":
        gen = dense_generator(latent, hidden, image_shape)
        disc = dense_discriminator(image_shape, tuple(reversed(hidden)))
    else:
        raise ValueError(f"kind must be 'dense' or 'conv', not {kind!r}")
    z = g.add("Noise", "z", latent_size=latent, distribution=distribution,
              spatial=kind == "conv")
    x = g.add("Input", "image", shape=tuple(image_shape))
    gid = g.add("Generator", "generator", inner=gen)
    did = g.add("Discriminator", "discriminator", inner=disc)
    fake = g.add("Output", "fake")
    p_fake = g.add("Output", "p_fake")
    p_real = g.add("Output", "p_real")
    g.connect(z, gid)
    g.connect(gid, did)
    g.connect(x, did, dst_port="real")
    g.connect(gid, fake)
    g.connect(did, p_fake)
    g.connect(did, p_real, src_port="real_score")
    auto_layout(g)
    return g


def make_rbm(n_visible: int = 64, n_hidden: int = 64, cd_k: int = 1,
             name: str = "rbm") -> Graph:
    """Input 'pixels' (flattened, binary) → RBM → Output 'hidden' (p(h|v))."""
    c = _start(name, (n_visible,), "pixels")
    c.then("RBM", "rbm", n_hidden=n_hidden, cd_k=cd_k)
    return c.end("hidden")


def make_dbn(n_visible: int = 64, hidden: tuple = (256, 128), classes: int = 10,
             name: str = "dbn") -> Graph:
    """Input 'pixels' → RBM per hidden size (pretrained greedily) → Linear head → 'logits'."""
    c = _start(name, (n_visible,), "pixels")
    for i, h in enumerate(hidden, 1):
        c.then("RBM", f"rbm{i}", n_hidden=h)
    c.then("Linear", "head", out_features=classes)
    return c.end("logits")


# --- The palette's list -----------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A palette entry: ``make()`` returns a block's inner graph (``block`` is its type) or,
    for ``block=None``, a whole graph."""

    name: str
    description: str
    make: Callable[[], Graph]
    block: str | None = None


TEMPLATES: list[Template] = [
    Template("Dense encoder", "Flatten → Linear 256 → ReLU → Linear 32 (a code)", dense_encoder,
             "Encoder"),
    Template("Conv encoder", "Two stride-2 Conv2d + ReLU → Flatten → Linear 256 + ReLU",
             conv_encoder, "Encoder"),
    Template("Dense decoder", "Linear 256 → ReLU → Linear → Sigmoid → Unflatten to 1×28×28",
             dense_decoder, "Decoder"),
    Template("Conv decoder", "Linear → Unflatten 64×7×7 → two stride-2 ConvTranspose2d → "
             "Sigmoid (1×28×28)", conv_decoder, "Decoder"),
    Template("Dense generator", "z(100) → Linear 256/512 + LeakyReLU → Linear → Tanh → "
             "1×28×28", dense_generator, "Generator"),
    Template("DCGAN generator", "z(100×1×1) → ConvTranspose2d + BatchNorm2d + ReLU ×4 → "
             "ConvTranspose2d → Tanh (3×64×64)", conv_generator, "Generator"),
    Template("Dense discriminator", "Flatten → Linear 512/256 + LeakyReLU(0.2) → Linear 1 → "
             "Sigmoid", dense_discriminator, "Discriminator"),
    Template("DCGAN discriminator", "Conv2d stride 2 + BatchNorm2d + LeakyReLU(0.2) ×4 → "
             "Conv2d → Sigmoid (3×64×64)", conv_discriminator, "Discriminator"),
    Template("Autoencoder", "Input → Encoder → Decoder → reconstruction", make_autoencoder),
    Template("Variational autoencoder", "Input → Encoder → mu, logvar → Reparameterize → "
             "Decoder", make_vae),
    Template("GAN (DCGAN)", "Noise → Generator → Discriminator ← real data (Input)", make_gan),
    Template("RBM", "Input (binary pixels) → restricted Boltzmann machine", make_rbm),
    Template("Deep belief network", "Input → RBM → RBM → Linear classifier head", make_dbn),
]


def template(name: str) -> Template:
    """The template called ``name`` (case-insensitive)."""
    for t in TEMPLATES:
        if t.name.lower() == name.lower():
            return t
    raise KeyError(f"no template {name!r}; templates: {', '.join(t.name for t in TEMPLATES)}")
