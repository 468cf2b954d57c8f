"""An optimizer option as the setup form shows it and as typed into it."""
from __future__ import annotations

BAD = object()  # a text that is not an option value


def parse_option(text: str):
    """An optimizer option typed in a field: None (empty: the default), a number, or a pair of
    numbers ("0.9, 0.999"); ``BAD`` otherwise."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        numbers = [float(p) if any(c in p for c in ".eE") else int(p) for p in parts]
    except ValueError:
        return BAD
    if not numbers:
        return None
    return numbers[0] if len(numbers) == 1 else numbers


def option_text(value) -> str:
    """How a field shows an optimizer option's value."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(f"{v:g}" for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)
