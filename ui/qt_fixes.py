"""Work-arounds for defects in the Qt binding, each applied only where it is measured.

PySide6 6.12.0 returns ``None`` from every void method (``update()``, ``setText()``, ...) and
``True`` from ``SignalInstance.emit()`` without taking a reference to them. Each such call
from Python takes one reference away from ``None`` / ``True``. On CPython 3.12+ these
objects are immortal and nothing happens; on 3.11 a window that paints and refreshes runs
their counts down within minutes and the interpreter aborts ("Fatal Python error:
none_dealloc" / "bool_dealloc"). 6.11.x is not affected.

:func:`apply` measures both leaks with a few harmless calls. Only when one shows does it
give ``None``, ``True`` and ``False`` the effectively endless reference count CPython 3.12
gives them by design (they are static singletons that are never freed anyway). The real fix
is to avoid PySide6 6.12.0 (a dependency pin); this keeps the window alive meanwhile.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

_PROBES = 64
# Far more references than any process can drop, far below Py_ssize_t's limit.
_ENDLESS = 1 << 48

_applied = False


class _Probe(QObject):
    fired = Signal()


def measure_leaks() -> dict[str, int]:
    """References lost to ``None`` (by void calls) and ``True`` (by ``emit``) over a few probes."""
    probe = _Probe()
    lost = {}
    before = sys.getrefcount(None)
    for _ in range(_PROBES):
        probe.setObjectName("probe")  # a void method
    lost["None"] = before - sys.getrefcount(None)
    before = sys.getrefcount(True)
    for _ in range(_PROBES):
        probe.fired.emit()
    lost["True"] = before - sys.getrefcount(True)
    return lost


def _can_pin_refcounts() -> bool:
    # CPython < 3.12 only: from 3.12 these objects are immortal and their count is not ours to touch.
    return sys.implementation.name == "cpython" and sys.version_info < (3, 12)


def _add_references(obj: object, n: int) -> None:
    ref = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is the first field of every object
    ref.value += n


def apply() -> bool:
    """Apply the work-arounds this binding needs; True when one was applied."""
    global _applied
    if _applied:
        return True
    lost = measure_leaks()
    leaking = [name for name, n in lost.items() if n >= _PROBES // 2]
    if not leaking or not _can_pin_refcounts():
        return False
    for obj in (None, True, False):
        _add_references(obj, _ENDLESS)
    _applied = True
    return True
