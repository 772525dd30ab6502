"""Success and failure notices that never block the operator.

A notice appears in the window's bottom-right corner for a few seconds (click it to dismiss),
and its text goes to the status bar too. Text is always plain: a title like ``<b>x</b>`` is
shown as typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QStatusBar, QToolButton, QWidget

from ui import theme

MAX_VISIBLE = 4
MARGIN = 14


@dataclass
class Notice:
    kind: str  # info, success, error
    text: str
    time: datetime = field(default_factory=datetime.now)


class _Toast(QFrame):
    def __init__(self, notice: Notice, parent: QWidget):
        super().__init__(parent)
        self.notice = notice
        self.setObjectName("toast")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        accent = theme.notice_color(notice.kind, self.palette())
        self.setStyleSheet(
            "#toast { background: palette(tool-tip-base); border: 1px solid palette(mid);"
            f" border-left: 5px solid {accent.name()}; border-radius: 4px; }}"
            "#toast QLabel { color: palette(tool-tip-text); }"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 8, 6, 8)
        icon = {"success": "✔", "error": "✖"}.get(notice.kind, "ℹ")
        mark = QLabel(icon, self)
        mark.setStyleSheet(f"color: {accent.name()}; font-weight: bold;")
        layout.addWidget(mark, 0, Qt.AlignmentFlag.AlignTop)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setText(notice.text)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1, Qt.AlignmentFlag.AlignTop)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.close)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.setFixedWidth(420)
        self.setFixedHeight(max(40, layout.totalHeightForWidth(420)))


class Notifier(QObject):
    """Shows notices over ``host``; ``history`` keeps every notice of this session.

    Signals:
        posted(kind, text) for each notice.
    """

    posted = Signal(str, str)

    def __init__(self, host: QWidget, status_bar: QStatusBar | None = None, *, timeout_ms: int = 7000,
                 floor: Callable[[], int | None] | None = None):
        super().__init__(host)
        self.host = host
        # floor() -> the y (in host coordinates) notices stay above, e.g. a progress panel's top
        self.floor = floor
        self.status_bar = status_bar
        self.timeout_ms = timeout_ms
        self.history: list[Notice] = []
        self._toasts: list[_Toast] = []
        self._closed = False
        host.installEventFilter(self)

    def notify(self, text: str, kind: str = "info", *, timeout_ms: int | None = None) -> Notice:
        """Show a notice; returns it. ``kind`` is info, success or error."""
        notice = Notice(kind, text)
        self.history.append(notice)
        if self.status_bar is not None:
            self.status_bar.showMessage(text.splitlines()[0] if text else "", 10_000)
        if self._closed:
            return notice
        toast = _Toast(notice, self.host)
        toast.destroyed.connect(lambda *_: self._forget(toast))
        self._toasts.append(toast)
        while len(self._toasts) > MAX_VISIBLE:
            self._toasts.pop(0).close()
        toast.show()
        toast.raise_()
        ms = timeout_ms if timeout_ms is not None else self.timeout_ms * (2 if kind == "error" else 1)
        QTimer.singleShot(ms, toast, toast.close)
        toast.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self._place()
        self.posted.emit(kind, text)
        return notice

    def visible(self) -> list[str]:
        return [t.notice.text for t in self._toasts if t.isVisible()]

    def clear(self) -> None:
        """Close every notice and show no more (the window is closing)."""
        self._closed = True
        for toast in list(self._toasts):
            try:
                toast.destroyed.disconnect()
                toast.close()
            except RuntimeError:  # already deleted with its window
                pass
        self._toasts.clear()

    def _forget(self, toast: _Toast) -> None:
        if toast in self._toasts:
            self._toasts.remove(toast)
        if not self._closed:
            try:
                self._place()
            except RuntimeError:  # the window itself is being destroyed
                self._closed = True

    def place(self) -> None:
        """Lay the notices out again (call when what they must stay above moved)."""
        if not self._closed:
            self._place()

    def _place(self) -> None:
        bottom = self.host.height()
        if self.status_bar is not None and self.status_bar.isVisible():
            bottom -= self.status_bar.height()
        if self.floor is not None:
            limit = self.floor()
            if limit is not None:
                bottom = min(bottom, limit)
        bottom -= MARGIN
        for toast in reversed(self._toasts):
            try:
                h = toast.height()
            except RuntimeError:  # already deleted by Qt
                continue
            toast.setGeometry(self.host.width() - toast.width() - MARGIN, bottom - h, toast.width(), h)
            bottom -= h + 8

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if obj is self.host and event.type() == QEvent.Type.Resize:
            self._place()
        return False
