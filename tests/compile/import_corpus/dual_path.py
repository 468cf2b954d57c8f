"""Blocks that pass several tensors on. A dual-path network the way timm's DPN writes it:
blocks of a Sequential pass a tuple (residual path, dense path) to the next, which tests
``isinstance(x, tuple)``; the last stage concatenates the tuple. An HRNet the way timm writes
it: a stage passes a list of resolutions through modules that change the list they get."""
from __future__ import annotations

import torch
from torch import nn


class CatBnAct(nn.Module):
    def __init__(self, in_chs):
        super().__init__()
        self.bn = nn.BatchNorm2d(in_chs, eps=0.001)
        self.act = nn.ReLU()

    def forward(self, x):
        if isinstance(x, tuple):
            x = torch.cat(x, dim=1)
        return self.act(self.bn(x))


class DualPathBlock(nn.Module):
    def __init__(self, in_chs, width, out_chs, inc, has_proj):
        super().__init__()
        self.num_1x1_c = out_chs
        self.c1x1_w = nn.Conv2d(in_chs, out_chs + 2 * inc, 1) if has_proj else None
        self.c1x1_a = nn.Conv2d(in_chs, width, 1)
        self.c3x3_b = nn.Conv2d(width, width, 3, padding=1)
        self.c1x1_c = nn.Conv2d(width, out_chs + inc, 1)

    def forward(self, x):
        if isinstance(x, tuple):
            x_in = torch.cat(x, dim=1)
        else:
            x_in = x
        if self.c1x1_w is None:
            x_s1, x_s2 = x[0], x[1]
        else:
            x_s = self.c1x1_w(x_in)
            x_s1 = x_s[:, :self.num_1x1_c, :, :]
            x_s2 = x_s[:, self.num_1x1_c:, :, :]
        x_in = self.c3x3_b(torch.relu(self.c1x1_a(x_in)))
        x_in = self.c1x1_c(x_in)
        out1 = x_in[:, :self.num_1x1_c, :, :]
        out2 = x_in[:, self.num_1x1_c:, :, :]
        resid = x_s1 + out1
        dense = torch.cat([x_s2, out2], dim=1)
        return resid, dense


class DPN(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            DualPathBlock(8, 8, 8, 4, has_proj=True),
            DualPathBlock(20, 8, 8, 4, has_proj=False),
            CatBnAct(24))
        self.classifier = nn.Conv2d(24, num_classes, 1)

    def forward(self, x):
        x = self.features(x)
        x = self.classifier(x.mean((2, 3), keepdim=True))
        return x.flatten(1)


class HighResolutionModule(nn.Module):
    """timm's HRNet module: changes the list it is given, returns a new one."""

    def __init__(self, chs=(4, 8)):
        super().__init__()
        self.branches = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for c in chs)
        self.fuse_layers = nn.ModuleList([
            nn.ModuleList([nn.Identity(), nn.Sequential(nn.Conv2d(chs[1], chs[0], 1),
                                                        nn.Upsample(scale_factor=2.0))]),
            nn.ModuleList([nn.Conv2d(chs[0], chs[1], 3, stride=2, padding=1), nn.Identity()])])
        self.fuse_act = nn.ReLU(False)

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        for i, branch in enumerate(self.branches):
            x[i] = branch(x[i])
        x_fuse = []
        for fuse_outer in self.fuse_layers:
            y = None
            for j, f in enumerate(fuse_outer):
                if y is None:
                    y = f(x[j])
                else:
                    y = y + f(x[j])
            x_fuse.append(self.fuse_act(y))
        return x_fuse


class SequentialList(nn.Sequential):
    def forward(self, x) -> list[torch.Tensor]:
        for module in self:
            x = module(x)
        return x


class HRNet(nn.Module):
    """Two resolutions passed along as a list through a stage of two modules."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.transition = nn.ModuleList([nn.Identity(), nn.Conv2d(4, 8, 3, stride=2, padding=1)])
        self.stage = SequentialList(HighResolutionModule(), HighResolutionModule())
        self.head = nn.Linear(12, num_classes)

    def forward(self, x):
        x = self.stem(x)
        xl = [t(x) for t in self.transition]
        yl = self.stage(xl)
        return self.head(torch.cat([yl[0].mean((2, 3)), yl[1].mean((2, 3))], 1))
