"""A small horizontal bar chart painted with QPainter (QtCharts is not in PySide6-Essentials).

Each bar has a label, a value, the text shown at its end and an accent name from
:mod:`ui.theme`, so it follows the light or dark palette. Labels are drawn as plain text
(a channel named ``<b>x</b>`` shows as typed).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QHelpEvent, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ui import theme


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str = ""  # drawn after the bar; default: the value
    accent: str = "info"  # a ui.theme accent name
    tooltip: str = ""


class BarChart(QWidget):
    """Horizontal bars with a title; ``maximum`` fixes the scale (e.g. 100 for percentages)."""

    ROW = 22
    GAP = 4

    def __init__(self, title: str = "", parent: QWidget | None = None, *, maximum: float | None = None,
                 empty_text: str = "No data for this period"):
        super().__init__(parent)
        self.title = title
        self.maximum = maximum
        self.empty_text = empty_text
        self.bars: list[Bar] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(220)
        self.setMouseTracking(True)

    def set_bars(self, bars: Sequence[Bar]) -> None:
        bars = list(bars)
        if bars != self.bars:
            self.bars = bars
            self.updateGeometry()
            self.update()

    def _title_height(self) -> int:
        return QFontMetrics(self.font()).height() + 6 if self.title else 0

    def sizeHint(self) -> QSize:  # noqa: N802
        rows = max(1, len(self.bars))
        return QSize(320, self._title_height() + rows * (self.ROW + self.GAP) + 6)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, self._title_height() + min(3, max(1, len(self.bars))) * (self.ROW + self.GAP))

    def _geometry(self) -> tuple[float, float, float]:
        """(label column width, bar area left, bar area width)."""
        fm = QFontMetrics(self.font())
        w = self.width()
        label_w = min(max((fm.horizontalAdvance(b.label) for b in self.bars), default=0) + 10, w * 0.38)
        text_w = min(max((fm.horizontalAdvance(b.text or _num(b.value)) for b in self.bars), default=0) + 10,
                     w * 0.3)
        return label_w, label_w + 4, max(10.0, w - label_w - 4 - text_w)

    def bar_rect(self, i: int) -> QRectF:
        """Where bar ``i`` is drawn (tests and tool tips)."""
        _label_w, left, area = self._geometry()
        top = self._title_height() + i * (self.ROW + self.GAP)
        scale = self._scale()
        width = area * (self.bars[i].value / scale) if scale > 0 else 0.0
        return QRectF(left, top + 3, max(0.0, width), self.ROW - 6)

    def _scale(self) -> float:
        if self.maximum is not None:
            return float(self.maximum)
        return max((b.value for b in self.bars), default=0.0)

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pal = self.palette()
        text_color = pal.color(QPalette.ColorRole.WindowText)
        fm = QFontMetrics(self.font())
        y = 0
        if self.title:
            font = self.font()
            font.setBold(True)
            p.setFont(font)
            p.setPen(text_color)
            p.drawText(QRectF(0, 0, self.width(), self._title_height()),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.title)
            p.setFont(self.font())
            y = self._title_height()
        if not self.bars:
            muted = theme.accent("muted", pal)
            p.setPen(muted)
            p.drawText(QRectF(0, y, self.width(), self.ROW * 2), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       self.empty_text)
            p.end()
            return
        label_w, left, area = self._geometry()
        track = QColor(pal.color(QPalette.ColorRole.Mid))
        track.setAlpha(60)
        for i, bar in enumerate(self.bars):
            top = y + i * (self.ROW + self.GAP)
            p.setPen(text_color)
            label = fm.elidedText(bar.label, Qt.TextElideMode.ElideRight, int(label_w - 6))
            p.drawText(QRectF(0, top, label_w - 6, self.ROW), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       label)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(track)
            p.drawRoundedRect(QRectF(left, top + 3, area, self.ROW - 6), 3, 3)
            rect = self.bar_rect(i)
            if rect.width() > 0:
                p.setBrush(theme.accent(bar.accent, pal))
                p.drawRoundedRect(rect, 3, 3)
            p.setPen(text_color)
            p.drawText(QRectF(left + area + 6, top, self.width() - left - area - 6, self.ROW),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, bar.text or _num(bar.value))
        p.end()

    def bar_at(self, y: float) -> int:
        i = int((y - self._title_height()) // (self.ROW + self.GAP))
        return i if 0 <= i < len(self.bars) and y >= self._title_height() else -1

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip and isinstance(e, QHelpEvent):
            i = self.bar_at(e.pos().y())
            if i >= 0:
                bar = self.bars[i]
                text = bar.tooltip or f"{bar.label}: {bar.text or _num(bar.value)}"
                QToolTip.showText(e.globalPos(), "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>", self)
            else:
                QToolTip.hideText()
                e.ignore()
            return True
        return super().event(e)


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
