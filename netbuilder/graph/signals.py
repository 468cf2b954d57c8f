"""A minimal observer: the headless graph announces changes; the Qt scene subscribes."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Signal:
    """A list of callbacks, called in connection order with the emitted arguments."""

    __slots__ = ("_blocked", "_slots")

    def __init__(self) -> None:
        self._slots: list[Callable[..., Any]] = []
        self._blocked = False

    def connect(self, slot: Callable[..., Any]) -> None:
        self._slots.append(slot)

    def disconnect(self, slot: Callable[..., Any]) -> None:
        self._slots.remove(slot)

    def emit(self, *args: Any) -> None:
        if self._blocked:
            return
        for slot in list(self._slots):
            slot(*args)
