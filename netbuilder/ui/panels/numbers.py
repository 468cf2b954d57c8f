"""How the panels and the status bar write counts, MACs and bytes."""
from __future__ import annotations


def fmt_count(n: int | None) -> str:
    """``61,706``; an em dash when unknown."""
    return "—" if n is None else f"{n:,}"


def fmt_si(n: float | None, unit: str = "") -> str:
    """``429.1 K``, ``1.23 M``, ``4.56 G`` (for MACs and parameter totals)."""
    if n is None:
        return "—"
    for prefix, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g} {prefix}{unit}".rstrip()
    return f"{int(n)} {unit}".rstrip()


def trainable_text(analysis) -> str:
    """``trainable 1.2 K / frozen 60 K`` (only ``trainable 1.2 K`` when nothing is frozen)."""
    trainable = analysis.total_trainable
    frozen = analysis.total_params - trainable
    text = f"trainable {fmt_si(trainable)}"
    return f"{text} / frozen {fmt_si(frozen)}" if frozen else text


def fmt_bytes(n: int | None) -> str:
    """``1.2 MB`` (powers of 1024, the way memory is counted)."""
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    return f"{n} B"
