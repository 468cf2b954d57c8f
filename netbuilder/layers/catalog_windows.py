"""Attention inside windows of an image (Swin, MaxViT): relative-position bias tables indexed by
a fixed index buffer, shifted windows. Each layer keeps its tensors under the library's own
names (``qkv.weight``, ``relative_position_bias_table``, ``relative_position_index``), so a
checkpoint of the original loads by its keys."""
from __future__ import annotations

from .define import P, RankRule, layer
from .spec import call


def _swin(m) -> dict:
    """``from_module`` of torchvision's ShiftedWindowAttention (and ours)."""
    return {"window_size": tuple(m.window_size), "shift_size": tuple(m.shift_size),
            "num_heads": m.num_heads, "qkv_bias": m.qkv.bias is not None,
            "proj_bias": m.proj.bias is not None,
            "attention_dropout": float(m.attention_dropout), "dropout": float(m.dropout)}


def _swin_check(params: dict, shapes: list) -> str | None:
    c = (shapes[0] or (None,))[-1]
    if c is not None and c % params["num_heads"]:
        return f"has {params['num_heads']} heads, which do not divide the {c} channels"
    return None


layer("ShiftedWindowAttention", "Attention",
      "Swin's window attention over (N, H, W, C) maps: self-attention within windows, the "
      "windows cyclically shifted (torch.roll) with a mask between regions the shift joined, "
      "plus a learned bias per head and relative position inside a window.",
      (P("window_size", "ints", (7, 7), "Window height and width in tokens", min=1, max=1024,
         length=2),
       P("shift_size", "ints", (0, 0), "Cyclic shift of the windows (0: none; Swin "
         "alternates 0 and half a window)", min=0, max=1024, length=2),
       P("num_heads", "int", 3, "Heads (must divide the channels)", min=1, max=1024),
       P("qkv_bias", "bool", True, "Learn the query/key/value projection's bias"),
       P("proj_bias", "bool", True, "Learn the output projection's bias"),
       P("attention_dropout", "float", 0.0, "Dropout on attention weights", min=0.0, max=1.0),
       P("dropout", "float", 0.0, "Dropout on the output", min=0.0, max=1.0)),
      init=lambda c: call("ShiftedWindowAttention", (
          c.shape[-1], _pair(c.params["window_size"]), _pair(c.params["shift_size"]),
          c.params["num_heads"]), {k: c.params[k] for k in (
              "qkv_bias", "proj_bias", "attention_dropout", "dropout")},
          {"qkv_bias": True, "proj_bias": True, "attention_dropout": 0.0, "dropout": 0.0}),
      helpers=("ShiftedWindowAttention",),
      aliases=("swin", "window attention", "shifted window", "w-msa", "sw-msa",
               "relative position bias"),
      short="attn", rank=RankRule((3,), "(N, H, W, C)"), same_shape=True,
      shape_check=_swin_check,
      subtitle=lambda p: f"{p['num_heads']} heads, win {_pair(p['window_size'])}"
                         f"{', shifted' if any(_pair(p['shift_size'])) else ''}",
      torch_class="netbuilder.layers.modules.ShiftedWindowAttention",
      import_classes=("torchvision.models.swin_transformer.ShiftedWindowAttention",),
      from_module=_swin)


def _pair(v) -> tuple[int, int]:
    return tuple(v) if isinstance(v, tuple) else (v, v)


def _maxvit_check(params: dict, shapes: list) -> str | None:
    shape = shapes[0]
    if shape and shape[-1] % params["head_dim"]:
        return f"has heads of {params['head_dim']} channels, which do not divide {shape[-1]}"
    if shape and shape[-2] != params["size"] ** 2:
        return (f"attends within groups of {params['size']}×{params['size']} tokens, but its "
                f"input has {shape[-2]} tokens per group")
    return None


layer("RelativePositionAttention", "Attention",
      "MaxViT's attention over (N, groups, tokens, C): self-attention among the size × size "
      "tokens of each window or grid, plus a learned bias per head and relative position "
      "(a table indexed by a fixed index buffer).",
      (P("head_dim", "int", 32, "Channels per head (must divide the channels)", min=1,
         max=65536),
       P("size", "int", 7, "Side of the window or grid: each group holds size² tokens",
         min=1, max=1024)),
      init=lambda c: call("RelativePositionAttention",
                          (c.shape[-1], c.params["head_dim"], c.params["size"])),
      helpers=("RelativePositionAttention",),
      aliases=("maxvit", "relative position bias", "window attention", "grid attention",
               "block attention"),
      short="attn", rank=RankRule((3,), "(N, groups, tokens, C)"), same_shape=True,
      shape_check=_maxvit_check,
      subtitle=lambda p: f"heads of {p['head_dim']}, {p['size']}×{p['size']}",
      torch_class="netbuilder.layers.modules.RelativePositionAttention",
      import_classes=("torchvision.models.maxvit.RelativePositionalMultiHeadAttention",),
      from_module=lambda m: {"head_dim": m.head_dim, "size": m.size})


def _merge_lines(c) -> list[str]:
    x, o = c.x, c.out
    return [f"{o} = F.pad({x}, (0, 0, 0, {x}.shape[-2] % 2, 0, {x}.shape[-3] % 2))",
            f"{o} = torch.cat([{o}[..., 0::2, 0::2, :], {o}[..., 1::2, 0::2, :], "
            f"{o}[..., 0::2, 1::2, :], {o}[..., 1::2, 1::2, :]], -1)"]


def _merge_shape(params: dict, shapes: list):
    h, w, ch = shapes[0][-3:]
    return (*shapes[0][:-3], (h + 1) // 2, (w + 1) // 2, 4 * ch), 0


layer("SpaceToChannels", "Reshape",
      "Swin's patch merging before its Linear: (…, H, W, C) maps, padded to even sizes, "
      "become (…, H/2, W/2, 4C), each 2×2 patch's four pixels side by side in the channels.",
      forward=_merge_lines, functional=True,
      aliases=("patch merging", "space to depth", "swin", "pixel unshuffle channels last"),
      short="merge", rank=RankRule((3, 4, 5), "(N, ..., H, W, C)"), no_macs=True,
      passes_values=True, shape_rule=_merge_shape, probe="never",
      functions=("torchvision.models.swin_transformer._patch_merging_pad",),
      from_call=lambda b: ({}, [b["input"]]))


layer("FourierPositionEncoding", "Attention",
      "A position encoding computed from the input's sizes only (EdgeNeXt's, after DETR): "
      "each pixel's normalised row and column as sines and cosines, projected by a 1×1 "
      "convolution. (N, C, H, W) in, (N, dim, H, W) out; the input's values are not used.",
      (P("hidden_dim", "int", 32, "Sines and cosines per axis", min=2, max=65536),
       P("dim", "int", 64, "Output channels", min=1, max=65536),
       P("temperature", "float", 10000.0, "Base of the wavelengths", min=1.0, max=1e9)),
      init=lambda c: call("FourierPositionEncoding", (c.params["hidden_dim"], c.params["dim"]),
                          {"temperature": c.params["temperature"]}, {"temperature": 10000.0}),
      helpers=("FourierPositionEncoding",),
      aliases=("positional encoding", "fourier features", "sine position", "edgenext", "detr"),
      short="pos", rank=RankRule((3,), "(N, C, H, W)"),
      subtitle=lambda p: f"{p['hidden_dim']}→{p['dim']}",
      torch_class="netbuilder.layers.modules.FourierPositionEncoding",
      import_classes=("timm.models.edgenext.PositionalEncodingFourier",),
      torch_call="sizes",
      from_module=lambda m: {"hidden_dim": m.hidden_dim, "dim": m.token_projection.out_channels,
                             "temperature": float(m.temperature)})
