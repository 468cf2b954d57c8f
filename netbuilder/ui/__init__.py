"""The desktop editor (PySide6 + pyqtgraph). The only package that imports Qt.

Data flows one way: a gesture makes a ``QUndoCommand`` (``commands``) that mutates the
``Document``'s graph; the canvas scene and the panels follow the graph's signals and the
document's ``analysis_updated``.
"""
from __future__ import annotations

import ctypes
import sys


def _guard_none_refcount() -> bool:
    """Keep a PySide6 reference bug from aborting the interpreter; True when it was needed.

    NOTE: PySide6 6.12 returns ``None`` from every void method (``setPen``, ``setPos``,
    ``resize`` ...) without taking a reference, as if ``None`` were immortal, which it is only
    from Python 3.12 on. On 3.10/3.11 each call drops one reference to ``None``; after a few
    thousand paints the count reaches zero and Python aborts with "deallocating None". The
    probe below detects the leak and, only then, gives ``None`` the practically unbounded
    count that Python 3.12 gives it (``ob_refcnt`` is a ``PyObject``'s first field).
    """
    if sys.version_info >= (3, 12):
        return False
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(16):
        probe.setObjectName("probe")
    leaked = before - sys.getrefcount(None)
    if leaked < 8:
        return False
    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
    return True


NONE_GUARD_APPLIED = _guard_none_refcount()
