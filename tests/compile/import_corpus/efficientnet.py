"""An EfficientNet-style network the way timm and torchvision write it: MBConv with
squeeze-and-excitation (``x * scale``), SiLU, and stochastic depth: timm's ``DropPath``, the
identity in eval, or torchvision's ``StochasticDepth`` (``drop=``), a layer of its own."""
from __future__ import annotations

import torch
from torch import nn


def drop_path(x, drop_prob: float = 0.0, training: bool = False):
    """Per-sample stochastic depth (timm's ``drop_path``)."""
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
    return x * random_tensor / keep_prob


class DropPath(nn.Module):
    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)


class SqueezeExcitation(nn.Module):
    def __init__(self, input_channels, squeeze_channels):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = nn.SiLU()
        self.scale_activation = nn.Sigmoid()

    def _scale(self, x):
        scale = self.avgpool(x)
        scale = self.fc1(scale)
        scale = self.activation(scale)
        scale = self.fc2(scale)
        return self.scale_activation(scale)

    def forward(self, x):
        scale = self._scale(x)
        return scale * x


class Conv2dNormActivation(nn.Sequential):
    def __init__(self, cin, cout, kernel_size=3, stride=1, groups=1, activation=True):
        layers = [nn.Conv2d(cin, cout, kernel_size, stride, (kernel_size - 1) // 2,
                            groups=groups, bias=False),
                  nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)]
        if activation:
            layers.append(nn.SiLU(inplace=True))
        super().__init__(*layers)


class MBConv(nn.Module):
    def __init__(self, cin, cout, expand_ratio, kernel_size, stride, stochastic_depth_prob,
                 drop=DropPath):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        expanded = cin * expand_ratio
        layers: list[nn.Module] = []
        if expanded != cin:
            layers.append(Conv2dNormActivation(cin, expanded, kernel_size=1))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel_size, stride,
                                           groups=expanded))
        layers.append(SqueezeExcitation(expanded, max(1, cin // 4)))
        layers.append(Conv2dNormActivation(expanded, cout, kernel_size=1, activation=False))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = drop(stochastic_depth_prob)

    def forward(self, x):
        result = self.block(x)
        if self.use_res_connect:
            result = self.stochastic_depth(result)
            result += x
        return result


class TinyEfficientNet(nn.Module):
    def __init__(self, num_classes=10, drop_path_rate=0.2, drop=DropPath):
        super().__init__()
        settings = [(1, 16, 1, 3, 1), (4, 24, 2, 3, 2), (4, 32, 2, 5, 2)]
        total = sum(s[2] for s in settings)
        self.stem = Conv2dNormActivation(3, 16, stride=2)
        blocks, cin, i = [], 16, 0
        for expand, cout, n, k, s in settings:
            for j in range(n):
                blocks.append(MBConv(cin, cout, expand, k, s if j == 0 else 1,
                                     drop_path_rate * i / total, drop))
                cin, i = cout, i + 1
        self.blocks = nn.Sequential(*blocks)
        self.head = Conv2dNormActivation(cin, 64, kernel_size=1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2, inplace=True), nn.Linear(64, num_classes))

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return self.classifier(x)
