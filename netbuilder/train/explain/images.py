"""Rendering inspection results to PNG with Pillow: heat-map overlays with a colour scale,
image grids, and class-coloured scatter plots."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

# A perceptually ordered dark-to-bright scale (inferno's stops): low is dark, high is bright.
_STOPS = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]],
                  dtype=np.float32)
# Class colours (Tableau 10): distinct, readable on white.
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def colormap(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] → uint8 RGB (…, 3) on the dark-to-bright scale."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float32)), 0, 1) * (len(_STOPS) - 1)
    i = np.minimum(v.astype(int), len(_STOPS) - 2)
    t = (v - i)[..., None]
    return np.round(_STOPS[i] * (1 - t) + _STOPS[i + 1] * t).astype(np.uint8)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """A picture (C, H, W), (H, W) or a square flat vector → uint8 (H, W, 3), stretched to
    its own range."""
    x = np.asarray(image, dtype=np.float32)
    if x.ndim == 1:
        side = round(float(np.sqrt(x.size)))
        x = x.reshape(side, side)
    if x.ndim == 3:
        x = x[0] if x.shape[0] == 1 else x[:3].transpose(1, 2, 0)
    lo, hi = float(x.min()), float(x.max())
    x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    x = np.round(x * 255).astype(np.uint8)
    return np.repeat(x[:, :, None], 3, axis=2) if x.ndim == 2 else x


def _scale_up(img: Image.Image, side: int) -> Image.Image:
    k = max(1, side // max(img.width, img.height))
    return img.resize((img.width * k, img.height * k), Image.Resampling.NEAREST)


def overlay_png(image: np.ndarray, heat: np.ndarray, path: str | Path, alpha: float = 0.55,
                side: int = 256) -> Path:
    """``overlay_image`` written to ``path`` as PNG."""
    return _save(overlay_image(image, heat, alpha, side), path)


def overlay_image(image: np.ndarray, heat: np.ndarray, alpha: float = 0.55, side: int = 256
                  ) -> Image.Image:
    """|heat| (H, W) drawn over ``image`` on the colour scale, with the scale bar and its range
    to the right; small pictures are enlarged to about ``side`` pixels."""
    h = np.abs(np.asarray(heat, dtype=np.float32))
    if h.ndim == 1:
        side_ = round(float(np.sqrt(h.size)))
        h = h.reshape(side_, side_)
    peak = float(h.max()) if h.size else 0.0
    base = to_rgb(image).astype(np.float32)
    if base.shape[:2] != h.shape:
        raise ValueError(f"the map {h.shape} does not match the picture {base.shape[:2]}")
    mixed = (1 - alpha) * base + alpha * colormap(h / peak if peak > 0 else h)
    picture = _scale_up(Image.fromarray(np.round(mixed).astype(np.uint8)), side)
    bar_w, pad = 16, 8
    canvas = Image.new("RGB", (picture.width + bar_w + 70, max(picture.height, 64)), "white")
    canvas.paste(picture, (0, 0))
    ramp = colormap(np.linspace(1, 0, picture.height))[:, None].repeat(bar_w, axis=1)
    canvas.paste(Image.fromarray(ramp), (picture.width + pad, 0))
    draw = ImageDraw.Draw(canvas)
    x_text = picture.width + pad + bar_w + 4
    draw.text((x_text, 0), f"{peak:.3g}", fill="black")
    draw.text((x_text, picture.height - 12), "0", fill="black")
    return canvas


def grid_png(images: Sequence[np.ndarray], path: str | Path, labels: Sequence[str] = (),
             columns: int | None = None, side: int = 96) -> Path:
    """Pictures side by side in a grid (each stretched to its own range), with a caption
    under each when ``labels`` are given."""
    if not len(images):
        raise ValueError("no pictures to draw")
    tiles = [_scale_up(Image.fromarray(to_rgb(im)), side) for im in images]
    w = max(t.width for t in tiles)
    h = max(t.height for t in tiles) + (14 if labels else 0)
    cols = columns or min(len(tiles), 8)
    rows = -(-len(tiles) // cols)
    canvas = Image.new("RGB", (cols * (w + 4) + 4, rows * (h + 4) + 4), "white")
    draw = ImageDraw.Draw(canvas)
    for i, tile in enumerate(tiles):
        x, y = 4 + (i % cols) * (w + 4), 4 + (i // cols) * (h + 4)
        canvas.paste(tile, (x, y))
        if i < len(labels):
            draw.text((x, y + tile.height + 1), str(labels[i]), fill="black")
    return _save(canvas, path)


def scatter_png(points: np.ndarray, labels: np.ndarray | None, path: str | Path,
                classes: Sequence[str] | None = None, title: str = "", size: int = 640) -> Path:
    """2-D points as dots coloured by class, with a legend."""
    p = np.asarray(points, dtype=np.float64)
    lo, hi = p.min(axis=0), p.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    margin, legend_w = 24, 110
    xy = margin + (p - lo) / span * (size - 2 * margin)
    canvas = Image.new("RGB", (size + legend_w, size), "white")
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([margin // 2, margin // 2, size - margin // 2, size - margin // 2],
                   outline=(200, 200, 200))
    ids = np.zeros(len(p), dtype=int) if labels is None else np.asarray(labels).astype(int)
    for (x, y), k in zip(xy, ids):
        colour = PALETTE[k % len(PALETTE)]
        draw.ellipse([x - 3, size - y - 3, x + 3, size - y + 3], fill=colour)
    if title:
        draw.text((margin, 4), title, fill="black")
    for row, k in enumerate(np.unique(ids)):
        name = classes[k] if classes is not None and k < len(classes) else str(k)
        y = margin + row * 16
        draw.ellipse([size + 4, y + 2, size + 12, y + 10], fill=PALETTE[k % len(PALETTE)])
        draw.text((size + 18, y), str(name)[:14], fill="black")
    return _save(canvas, path)


def _save(img: Image.Image, path: str | Path) -> Path:
    out = Path(path)
    if out.parent and not out.parent.exists():
        raise FileNotFoundError(2, "the folder to write into does not exist", str(out.parent))
    img.save(out, format="PNG")
    return out
