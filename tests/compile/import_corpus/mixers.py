"""Sequential-style mixers (MLP-Mixer, ConvMixer), a generator upsampling with
``ConvTranspose2d`` and ``PixelShuffle``, and a Keras port that keeps its layers in an
``nn.ModuleDict``, a scale in an ``nn.ParameterList`` and constants in buffers."""
from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x) + x


def ConvMixer(dim=16, depth=2, kernel_size=5, patch_size=4, n_classes=10):
    return nn.Sequential(
        nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size), nn.GELU(),
        nn.BatchNorm2d(dim),
        *[nn.Sequential(
            Residual(nn.Sequential(
                nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same"),
                nn.GELU(), nn.BatchNorm2d(dim))),
            nn.Conv2d(dim, dim, kernel_size=1), nn.GELU(), nn.BatchNorm2d(dim))
          for _ in range(depth)],
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(dim, n_classes))


class PreNormResidual(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.fn = fn
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.fn(self.norm(x)) + x


class Rearrange(nn.Module):
    """einops' ``b c (h p1) (w p2) -> b (h w) (p1 p2 c)`` for one patch size."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        b, c, h, w = x.shape
        p = self.p
        x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, (h // p) * (w // p), p * p * c)


class Transpose(nn.Module):
    def forward(self, x):
        return x.transpose(1, 2)


def FeedForward(dim, expansion_factor, dense=nn.Linear):
    inner = int(dim * expansion_factor)
    return nn.Sequential(dense(dim, inner), nn.GELU(), nn.Dropout(0.0), dense(inner, dim),
                         nn.Dropout(0.0))


def MLPMixer(image_size=16, channels=3, patch_size=4, dim=16, depth=2, num_classes=10):
    num_patches = (image_size // patch_size) ** 2
    return nn.Sequential(
        Rearrange(patch_size),
        nn.Linear(patch_size * patch_size * channels, dim),
        *[nn.Sequential(
            PreNormResidual(dim, nn.Sequential(Transpose(), FeedForward(num_patches, 4),
                                               Transpose())),
            PreNormResidual(dim, FeedForward(dim, 0.5)))
          for _ in range(depth)],
        nn.LayerNorm(dim),
        Mean1(),
        nn.Linear(dim, num_classes))


class Mean1(nn.Module):
    def forward(self, x):
        return x.mean(dim=1)


class PixelShuffleGenerator(nn.Module):
    """A DCGAN generator whose last stage is a sub-pixel convolution."""

    def __init__(self, nz=16, ngf=8, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.Conv2d(ngf * 2, ngf * 4, 3, padding=1), nn.PixelShuffle(2), nn.LeakyReLU(0.2),
            nn.Conv2d(ngf, nc, 3, padding=1), nn.Tanh())

    def forward(self, input):
        return self.main(input)


class KerasPort(nn.Module):
    """Layers by Keras name in a ModuleDict, a learned scale in a ParameterList, the input's
    mean and std as buffers."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.layers = nn.ModuleDict({
            "conv2d": nn.Conv2d(3, 8, 3, padding=1),
            "batch_normalization": nn.BatchNorm2d(8, eps=1e-3, momentum=0.01),
            "conv2d_1": nn.Conv2d(8, 16, 3, stride=2, padding=1),
            "dense": nn.Linear(16, num_classes),
        })
        self.scales = nn.ParameterList([nn.Parameter(torch.full((1, 8, 1, 1), 0.5)),
                                        nn.Parameter(torch.ones(1, 16, 1, 1))])

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = torch.relu(self.layers["batch_normalization"](self.layers["conv2d"](x)))
        x = x * self.scales[0]
        x = torch.relu(self.layers["conv2d_1"](x)) * self.scales[1]
        x = torch.mean(x, dim=(2, 3))
        return self.layers["dense"](x)
