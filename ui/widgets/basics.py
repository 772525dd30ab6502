"""Small things the tabs and the window build: timers, centred "Loading…" / "Nothing here" pages, and
a label that shortens a long path in the middle."""

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


class ElidedLabel(QLabel):
    """A one-line plain-text label that shortens its text in the middle ("…") to the width it is
    given, instead of making the window at least as wide as the text; the whole text is its
    tooltip and :meth:`full_text`."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._full = ""
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = max(self.contentsRect().width(), 0)
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, room)
                     if room else self._full)


__all__ = ["ElidedLabel", "centered_label", "timer"]
