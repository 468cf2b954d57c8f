"""Model definitions written the way public libraries write them (torchvision, timm, the
PyTorch examples), for the import harness (``test_import_corpus.py``).

``CASES`` maps a case name to a factory of the model and one of its example inputs (batch of 2).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from . import (
    convnext,
    densenet,
    diffusion,
    dual_path,
    edgenext,
    efficientnet,
    generative,
    language,
    mixers,
    mobilenet,
    recurrent,
    resnet,
    small,
    squeeze_shuffle,
    timm_style,
    tv_ops,
    unet,
    vgg,
    vit,
    windows,
    word_lm,
)


@dataclass(frozen=True)
class Case:
    """One corpus model: how to make it and what to feed it."""

    make: Callable[[], torch.nn.Module]
    inputs: Callable[[], tuple]


def _images(c: int, h: int, w: int | None = None) -> Callable[[], tuple]:
    return lambda: (torch.randn(2, c, h, w or h, generator=torch.Generator().manual_seed(1)),)


def _tokens_and_hidden(rnn_type: str) -> Callable[[], tuple]:
    def make():
        gen = torch.Generator().manual_seed(1)
        tokens = torch.randint(0, 50, (5, 2), generator=gen)  # (sequence, batch)
        h = torch.randn(2, 2, 16, generator=gen)  # (layers, batch, hidden)
        return (tokens, (h, torch.randn(2, 2, 16, generator=gen)) if rnn_type == "LSTM" else h)
    return make


def _pair(c: int, h: int) -> Callable[[], tuple]:
    def make():
        gen = torch.Generator().manual_seed(1)
        return tuple(torch.randn(2, c, h, h, generator=gen) for _ in range(2))
    return make


def _tokens(*, mask: bool = False) -> Callable[[], tuple]:
    def make():
        gen = torch.Generator().manual_seed(1)
        ids = torch.randint(1, 64, (2, 12), generator=gen)
        if not mask:
            return (ids,)
        attention = torch.ones(2, 12, dtype=torch.long)
        attention[1, 8:] = 0  # the second sequence is padded
        types = torch.zeros(2, 12, dtype=torch.long)
        types[:, 6:] = 1
        return ids, attention, types
    return make


def _image_and_steps() -> tuple:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(2, 3, 16, 16, generator=gen), torch.tensor([3, 250])


CASES: dict[str, Case] = {
    "resnet18": Case(resnet.resnet18, _images(3, 32)),
    "resnet50": Case(lambda: resnet.resnet50(num_classes=10, width=8), _images(3, 32)),
    "vgg11_bn": Case(vgg.VGG, _images(3, 32)),
    "mobilenet_v2": Case(mobilenet.MobileNetV2, _images(3, 32)),
    "efficientnet": Case(efficientnet.TinyEfficientNet, _images(3, 32)),
    "efficientnet_tv": Case(lambda: efficientnet.TinyEfficientNet(
        drop=lambda p: tv_ops.StochasticDepth(p, "row")), _images(3, 32)),
    "densenet": Case(densenet.DenseNet, _images(3, 32)),
    "dual_path": Case(dual_path.DPN, _images(3, 8)),
    "hrnet_lists": Case(dual_path.HRNet, _images(3, 8)),
    "vit": Case(vit.VisionTransformer, _images(3, 32)),
    "vit_tokens": Case(vit.TokenViT, _images(3, 32)),
    "convnext": Case(convnext.ConvNeXt, _images(3, 32)),
    "timm_style": Case(timm_style.TimmStyleNet, _images(3, 16)),
    "word_lm_gru": Case(lambda: word_lm.RNNModel("GRU"), _tokens_and_hidden("GRU")),
    "word_lm_lstm": Case(lambda: word_lm.RNNModel("LSTM"), _tokens_and_hidden("LSTM")),
    "cell_sequence": Case(recurrent.CellSequence,
                          lambda: (torch.randn(2, 3, generator=torch.Generator().manual_seed(1)),)),
    "siamese": Case(recurrent.Siamese, _pair(1, 12)),
    "dcgan_generator": Case(generative.Generator, _images(16, 1)),
    "vae": Case(generative.VAE, _images(1, 28)),
    "mnist": Case(small.MnistNet, _images(1, 28)),
    "mnist_rnn": Case(small.MnistRNN, _images(1, 28)),
    "device_check": Case(small.DeviceCheckNet, _images(3, 16)),
    "squeezenet": Case(squeeze_shuffle.SqueezeNet, _images(3, 32)),
    "shufflenet_v2": Case(squeeze_shuffle.ShuffleNetV2, _images(3, 32)),
    "unet": Case(unet.UNet, _images(3, 32)),
    "swin": Case(windows.Swin, _images(3, 32)),
    "maxvit": Case(windows.MaxViTBlock, _images(3, 32)),
    "edgenext": Case(edgenext.SplitTransposeBlock, _images(3, 32)),
    "nanogpt": Case(language.GPT, _tokens()),
    "nanogpt_flash": Case(lambda: language.GPT(flash=True), _tokens()),
    "bert": Case(language.Bert, _tokens(mask=True)),
    "diffusion_unet": Case(diffusion.DiffusionUNet, _image_and_steps),
    "milesial_unet": Case(diffusion.MilesialUNet, _images(3, 30)),
    "milesial_unet_bilinear": Case(lambda: diffusion.MilesialUNet(bilinear=True),
                                   _images(3, 30)),
    "convmixer": Case(mixers.ConvMixer, _images(3, 16)),
    "mlp_mixer": Case(mixers.MLPMixer, _images(3, 16)),
    "pixelshuffle_generator": Case(mixers.PixelShuffleGenerator, _images(16, 1)),
    "keras_port": Case(mixers.KerasPort, _images(3, 16)),
}
