"""The strip under a table that shows what is running: one bar per upload, and an overall bar."""

from __future__ import annotations

from typing import Hashable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

MAX_ROWS_SHOWN = 8


class ProgressRow(QWidget):
    """One running job: a label, a bar and (when it can stop) a Cancel button."""

    cancelRequested = Signal()

    def __init__(self, label: str, cancellable: bool, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setText(label)
        self.label.setMinimumWidth(260)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.label, 2)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 0)  # busy until the first progress value
        self.bar.setTextVisible(True)
        layout.addWidget(self.bar, 3)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.clicked.connect(self._cancel)
        layout.addWidget(self.cancel_button)

    def set_fraction(self, fraction: float | None, text: str | None = None) -> None:
        if fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        if text is not None:
            self.bar.setFormat(text)

    def set_counts(self, done: int, total: int, text: str | None = None) -> None:
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(done)
        self.bar.setFormat(text or f"{done}/{total}")

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self.cancelRequested.emit()


class ProgressPanel(QFrame):
    """Rows keyed by anything hashable; hidden while empty."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(8, 6, 8, 6)
        self._layout.setSpacing(4)
        self.overall: ProgressRow | None = None
        self.rows: dict[Hashable, ProgressRow] = {}
        self.more = QLabel(self)
        self.more.setVisible(False)
        self._layout.addWidget(self.more)
        self.setVisible(False)

    def add(self, key: Hashable, label: str, *, cancellable: bool = False) -> ProgressRow:
        row = self.rows.get(key)
        if row is None:
            row = ProgressRow(label, cancellable, self)
            self.rows[key] = row
            self._layout.insertWidget(self._layout.count() - 1, row)
        else:
            row.label.setText(label)
        self._update()
        return row

    def get(self, key: Hashable) -> ProgressRow | None:
        return self.rows.get(key)

    def remove(self, key: Hashable) -> None:
        row = self.rows.pop(key, None)
        if row is not None:
            row.hide()
            row.deleteLater()
        self._update()

    def _update(self) -> None:
        shown = 0
        for key, row in self.rows.items():
            visible = key == "overall" or shown < MAX_ROWS_SHOWN
            row.setVisible(visible)
            if visible and key != "overall":
                shown += 1
        hidden = len(self.rows) - shown - (1 if "overall" in self.rows else 0)
        self.more.setText(f"… and {hidden} more" if hidden > 0 else "")
        self.more.setVisible(hidden > 0)
        self.setVisible(bool(self.rows))
