"""Axis ranges for live curves that move rarely (tick text is what a live plot costs most).

The x axis grows in "nice" steps ahead of the data (never past the run's end), and the y range
only moves when the data leave it or shrink to a third of it.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg


def _nice(x: float, factors: tuple[float, ...]) -> float:
    """The smallest of ``factors`` times a power of ten that is at least ``x``."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    exp = math.floor(math.log10(x))
    for m in factors:
        if m * 10.0 ** exp >= x:
            return m * 10.0 ** exp
    return 10.0 ** (exp + 1)


def nice_step(x: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``x``."""
    return _nice(x, (1.0, 2.0, 5.0, 10.0))


def nice_ceil(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 or 10 times a power of ten that is at least ``x``."""
    return _nice(x, (1.0, 2.0, 2.5, 5.0, 10.0))


def fit_ranges(plot: pg.PlotWidget, end: float | None, force: bool = False) -> None:
    """Keep ``plot``'s view on its data (``end``: the run's end on the x axis, if known)."""
    item = plot.getPlotItem()
    xs, ys = [], []
    log_y = bool(item.ctrl.logYCheck.isChecked())
    for it in item.listDataItems():
        x, y = it.getOriginalDataset()  # all points, not only the visible ones
        if x is None or not len(x):
            continue
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        ok = np.isfinite(y) & ((y > 0) if log_y else True)
        xs.append(x[ok])
        ys.append(np.log10(y[ok]) if log_y else y[ok])
    vb = item.getViewBox()
    vb.disableAutoRange()
    (x0, x1), (y0, y1) = vb.viewRange()
    data_end = max((float(x.max()) for x in xs if len(x)), default=1.0)
    # room to grow in nice steps (so the axis moves rarely), never beyond the run's end
    want_x1 = nice_ceil(data_end * 1.2)
    if end:
        want_x1 = min(want_x1, end)
    want_x1 = max(want_x1, data_end)
    stale = data_end > x1 or (end and x1 > end * 1.05) or x0 < -0.05 * x1
    if force or stale or x1 <= 0:
        vb.setXRange(0.0, want_x1, padding=0.02)
    values = np.concatenate(ys) if ys else np.array([])
    if not len(values):
        return
    lo, hi = float(values.min()), float(values.max())
    nonneg = lo >= 0 and not log_y  # a loss or an accuracy never goes below 0
    span = hi - lo
    if span <= 1e-12 * max(abs(hi), 1e-30):
        span = abs(hi) * 0.5 or 1.0
        lo, hi = lo - span, hi + span
        span = hi - lo
    inside = y0 <= lo and hi <= y1
    too_wide = (y1 - y0) > 3.0 * span
    if force or not inside or too_wide:
        step = nice_step(span / 4)
        bottom = np.floor((lo - 0.05 * span) / step) * step
        top = np.ceil((hi + 0.05 * span) / step) * step
        if nonneg:
            bottom = max(bottom, 0.0)
        # a little room above, so that a curve at the bound (accuracy 1.0) is not on the
        # frame; none below a zero floor
        pad = 0.02 * (top - bottom)
        vb.setYRange(bottom if nonneg and bottom == 0 else bottom - pad, top + pad, padding=0)
