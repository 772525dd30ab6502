"""Two small things every tab builds: its timers and its centred "Loading…" / "Nothing here" pages."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


def timer(parent: QObject, interval_ms: int, slot: Callable[[], object], *, single_shot: bool = False) -> QTimer:
    """A stopped QTimer owned by ``parent`` that calls ``slot``.

    The interval is at least 1 ms: a tab built with auto-refresh off (0) never starts its timer,
    and one started by hand must not fire on every pass of the event loop.
    """
    t = QTimer(parent)
    t.setSingleShot(single_shot)
    t.setInterval(max(int(interval_ms), 1))
    t.timeout.connect(slot)
    return t


def centered_label(text: str, parent: QWidget) -> QLabel:
    """A plain-text, word-wrapped, centred label that takes the space it is given (a stack page)."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    return label


__all__ = ["centered_label", "timer"]
