"""Blocks the way timm writes them. Layer scales: ConvNeXt's (C,) gamma reshaped to
(1, C, 1, 1), MetaFormer's ``Scale`` module viewing its (C,) scale as (C, 1, 1), ViT's
``LayerScale`` module (x * gamma over the last dim), EdgeNeXt's ``self.gamma * x``; timm's
channels-first ``LayerNorm2d`` in the stem; ViT's attention, whose qkv permutation moves the
batch before it is unbound into q, k and v; a forward with a mask argument left None."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm2d(nn.LayerNorm):
    """timm.layers.norm.LayerNorm2d."""

    def __init__(self, num_channels, eps=1e-6, affine=True):
        super().__init__(num_channels, eps=eps, elementwise_affine=affine)
        self._fast_norm = False

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        if self._fast_norm:
            raise NotImplementedError
        else:
            x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        x = x.permute(0, 3, 1, 2)
        return x


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class ConvNeXtBlock(nn.Module):
    """timm's: the gamma is (C,), reshaped where it multiplies."""

    def __init__(self, dim, ls_init_value=1e-6):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)
        self.gamma = nn.Parameter(ls_init_value * torch.ones(dim))
        self.drop_path = nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.conv_dw(x)
        x = x.permute(0, 2, 3, 1)
        x = self.norm(x)
        x = self.mlp(x)
        x = x.permute(0, 3, 1, 2)
        if self.gamma is not None:
            x = x.mul(self.gamma.reshape(1, -1, 1, 1))
        return self.drop_path(x) + shortcut


class Scale(nn.Module):
    """timm.models.metaformer.Scale."""

    def __init__(self, dim, init_value=1.0, use_nchw=True):
        super().__init__()
        self.shape = (dim, 1, 1) if use_nchw else (dim,)
        self.scale = nn.Parameter(init_value * torch.ones(dim))

    def forward(self, x):
        return x * self.scale.view(self.shape)


class Pooling(nn.Module):
    def __init__(self, pool_size=3):
        super().__init__()
        self.pool = nn.AvgPool2d(pool_size, stride=1, padding=pool_size // 2,
                                 count_include_pad=True)

    def forward(self, x):
        return self.pool(x) - x


class MetaFormerBlock(nn.Module):
    def __init__(self, dim, layer_scale_init_value=1e-5):
        super().__init__()
        self.norm1 = nn.GroupNorm(1, dim)
        self.token_mixer = Pooling()
        self.layer_scale1 = Scale(dim, layer_scale_init_value)

    def forward(self, x):
        return x + self.layer_scale1(self.token_mixer(self.norm1(x)))


class LayerScale(nn.Module):
    """timm.layers.LayerScale: over the last dimension."""

    def __init__(self, dim, init_values=1e-5, inplace=False):
        super().__init__()
        self.inplace = inplace
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        return x.mul_(self.gamma) if self.inplace else x * self.gamma


class Attention(nn.Module):
    """timm.layers.Attention (fused)."""

    def __init__(self, dim, num_heads=2, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.q_norm = nn.Identity()
        self.k_norm = nn.Identity()
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, attn_mask=None):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=0.0)
        x = x.transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class TokenBlock(nn.Module):
    """A ViT block with LayerScale, and EdgeNeXt's bare gamma on the left."""

    def __init__(self, dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim)
        self.ls1 = LayerScale(dim, init_values=0.2)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 2 * dim)
        self.ls2 = LayerScale(dim, init_values=0.1)
        self.gamma = nn.Parameter(0.5 * torch.ones(dim))

    def forward(self, x, attn_mask=None):
        x = x + self.ls1(self.attn(self.norm1(x), attn_mask=attn_mask))
        x = x + self.ls2(self.mlp(self.norm2(x)))
        return x + self.gamma * x


class TimmStyleNet(nn.Module):
    def __init__(self, dim=16, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dim, 4, stride=4), LayerNorm2d(dim))
        self.convnext = ConvNeXtBlock(dim, ls_init_value=0.5)
        self.metaformer = MetaFormerBlock(dim, layer_scale_init_value=0.5)
        self.tokens = TokenBlock(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x, attn_mask=None):
        x = self.metaformer(self.convnext(self.stem(x)))
        x = x.flatten(2).transpose(1, 2)
        x = self.tokens(x, attn_mask=attn_mask)
        return self.head(x.mean(1))
