"""A week calendar of schedules, painted with QPainter: days across, hours down.

Each schedule is a block at its time in the operator's zone, coloured by status, labelled with
its channel; schedules close together share the slot side by side, and more than
:data:`MAX_LANES` at once fold into a "+N" block. The layout is plain data
(:meth:`WeekTimeline.items`), so tests and tooltips read what is drawn without looking at pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Sequence

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QHelpEvent, QMouseEvent, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ui import theme
from ui.models.schedules_model import (
    WEEKDAYS,
    ScheduleRow,
    operator_zone,
    status_fill,
    status_text,
    tooltip_html,
    zone_name,
)

GUTTER = 52  # the hour labels on the left
HEADER = 40  # the day names on top
MIN_HOUR_HEIGHT = 15
BLOCK_MINUTES = 40  # how much of the day a block covers (schedules are instants)
MIN_BLOCK_HEIGHT = 16
MAX_LANES = 6  # side by side in one day; more fold into a "+N" block


@dataclass
class TimelineItem:
    """One drawn block: a schedule, or ``kind == "more"`` folding several."""

    kind: str  # "schedule" or "more"
    schedule_ids: list[str]
    day: date
    at: datetime  # the (first) schedule's time, in the operator's zone
    rect: QRectF
    status: str
    label: str
    tooltip: list[str] = field(default_factory=list)

    @property
    def schedule_id(self) -> str:
        return self.schedule_ids[0]


class WeekTimeline(QWidget):
    """The week calendar.

    Signals:
        scheduleClicked(id): a block was clicked (the "+N" block: its first schedule).
        scheduleActivated(id): a block was double-clicked.
    """

    scheduleClicked = Signal(str)
    scheduleActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, zone: tzinfo | None = None):
        super().__init__(parent)
        self.setObjectName("weekTimeline")
        self.zone = zone or operator_zone()
        self._start = self._today() - timedelta(days=self._today().weekday())
        self._rows: list[ScheduleRow] = []
        self._items: list[TimelineItem] = []
        self._selected: set[str] = set()
        self._hover: TimelineItem | None = None
        self._dirty = True
        self.setMouseTracking(True)
        self.setMinimumSize(QSize(GUTTER + 7 * 70, HEADER + 24 * MIN_HOUR_HEIGHT))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, False)
        # the "now" line moves; a repaint a minute is plenty
        self._tick = QTimer(self)
        self._tick.setInterval(60_000)
        self._tick.timeout.connect(self.update)
        self._tick.start()

    # -- what it shows ----------------------------------------------------------------------------

    def _today(self) -> date:
        return datetime.now(self.zone).date()

    @property
    def week_start(self) -> date:
        return self._start

    def week_bounds(self) -> tuple[datetime, datetime]:
        """The week shown, as aware datetimes in the operator's zone (Monday 00:00 to next Monday 00:00)."""
        lo = datetime.combine(self._start, time(0), tzinfo=self.zone)
        hi = datetime.combine(self._start + timedelta(days=7), time(0), tzinfo=self.zone)
        return lo, hi

    def set_week(self, any_day: date) -> None:
        self._start = any_day - timedelta(days=any_day.weekday())
        self._relayout()

    def set_zone(self, zone: tzinfo) -> None:
        self.zone = zone
        self._relayout()

    def set_schedules(self, rows: Sequence[ScheduleRow]) -> None:
        """The schedules to draw (already filtered); those outside the week are left out."""
        self._rows = list(rows)
        self._relayout()

    def set_selected(self, ids: Sequence[str]) -> None:
        self._selected = set(ids)
        self.update()

    def week_label(self) -> str:
        end = self._start + timedelta(days=6)
        same_year = self._start.year == end.year
        first = self._start.strftime("%d %b" if same_year else "%d %b %Y")
        return f"{first} – {end.strftime('%d %b %Y')}  ({zone_name(self.zone)})"

    def items(self) -> list[TimelineItem]:
        """What is drawn, laid out for the current size."""
        if self._dirty:
            self._layout()
        return list(self._items)

    def item_at(self, pos: QPointF | QPoint) -> TimelineItem | None:
        p = QPointF(pos)
        for item in reversed(self.items()):
            if item.rect.contains(p):
                return item
        return None

    # -- geometry -------------------------------------------------------------------------------------

    def _hour_height(self) -> float:
        return max(MIN_HOUR_HEIGHT, (self.height() - HEADER - 1) / 24)

    def _day_width(self) -> float:
        return max(40.0, (self.width() - GUTTER - 1) / 7)

    def _y(self, local: datetime) -> float:
        return HEADER + (local.hour + local.minute / 60 + local.second / 3600) * self._hour_height()

    def focus_y(self) -> float:
        """Where to scroll to: the "now" line in the current week, else the week's first schedule."""
        lo, hi = self.week_bounds()
        now = datetime.now(self.zone)
        if lo <= now < hi:
            return self._y(now)
        items = self.items()
        return min((i.rect.top() for i in items), default=float(HEADER))

    def _relayout(self) -> None:
        self._dirty = True
        self._hover = None
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802
        self._dirty = True
        super().resizeEvent(event)

    def _layout(self) -> None:
        self._dirty = False
        lo, hi = self.week_bounds()
        hour_h, day_w = self._hour_height(), self._day_width()
        block_h = max(MIN_BLOCK_HEIGHT, hour_h * BLOCK_MINUTES / 60)
        by_day: dict[int, list[tuple[float, datetime, ScheduleRow]]] = {}
        for r in self._rows:
            local = r.scheduled_at.astimezone(self.zone)
            if not lo <= local < hi:
                continue
            day = (local.date() - self._start).days
            top = min(self._y(local), HEADER + 24 * hour_h - block_h)  # 23:50 still fits inside the day
            by_day.setdefault(day, []).append((top, local, r))
        items: list[TimelineItem] = []
        for day, entries in sorted(by_day.items()):
            entries.sort(key=lambda e: (e[0], e[2].channel_name.lower(), e[2].id))
            for cluster in _clusters(entries, block_h):
                items += self._place(day, cluster, block_h, day_w)
        self._items = items

    def _place(self, day: int, cluster: list[tuple[float, datetime, ScheduleRow]], block_h: float,
               day_w: float) -> list[TimelineItem]:
        # greedy lanes: each block takes the first lane free at its top
        lanes: list[float] = []
        placed: list[tuple[int, float, datetime, ScheduleRow]] = []
        for top, local, r in cluster:
            for n, bottom in enumerate(lanes):
                if bottom <= top + 0.5:
                    lanes[n] = top + block_h
                    break
            else:
                n = len(lanes)
                lanes.append(top + block_h)
            placed.append((n, top, local, r))
        shown_lanes = min(len(lanes), MAX_LANES)
        x0 = GUTTER + day * day_w + 2
        width = (day_w - 4) / shown_lanes
        d = self._start + timedelta(days=day)
        out: list[TimelineItem] = []
        folded = [p for p in placed if p[0] >= shown_lanes - 1] if len(lanes) > MAX_LANES else []
        for n, top, local, r in placed:
            if folded and n >= shown_lanes - 1:
                continue
            rect = QRectF(x0 + n * width, top + 1, width - 2, block_h - 2)
            out.append(TimelineItem("schedule", [r.id], d, local, rect, r.status, r.channel_name,
                                    r.describe(self.zone)))
        if folded:
            top = min(p[1] for p in folded)
            bottom = max(p[1] for p in folded) + block_h
            rect = QRectF(x0 + (shown_lanes - 1) * width, top + 1, width - 2, bottom - top - 2)
            rows = sorted(folded, key=lambda p: (p[2], p[3].channel_name.lower()))
            tip = [f"{len(rows)} more schedules:"] + [
                f"{p[2]:%H:%M}  {p[3].channel_name} — {p[3].video_label} ({status_text(p[3].status)})"
                for p in rows[:25]]
            if len(rows) > 25:
                tip.append(f"… and {len(rows) - 25} more")
            worst = _worst([p[3].status for p in rows])
            out.append(TimelineItem("more", [p[3].id for p in rows], d, rows[0][2], rect, worst, f"+{len(rows)}",
                                    tip))
        return out

    # -- painting -------------------------------------------------------------------------------------

    def paintEvent(self, _event) -> None:  # noqa: N802
        items = self.items()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pal = self.palette()
        base = pal.color(QPalette.ColorRole.Base)
        text = pal.color(QPalette.ColorRole.Text)
        grid = pal.color(QPalette.ColorRole.Mid)
        grid.setAlpha(110)
        faint = QColor(grid)
        faint.setAlpha(45)
        p.fillRect(self.rect(), base)
        hour_h, day_w = self._hour_height(), self._day_width()
        bottom = HEADER + 24 * hour_h
        today = self._today()

        # weekend and today backgrounds
        for day in range(7):
            d = self._start + timedelta(days=day)
            x = GUTTER + day * day_w
            if d == today:
                shade = theme.accent("info", pal)
                shade.setAlpha(28)
                p.fillRect(QRectF(x, 0, day_w, bottom), shade)
            elif day >= 5:
                shade = pal.color(QPalette.ColorRole.AlternateBase)
                p.fillRect(QRectF(x, HEADER, day_w, bottom - HEADER), shade)

        # hour lines and labels
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        p.setFont(small)
        muted = theme.accent("muted", pal)
        for hour in range(25):
            y = HEADER + hour * hour_h
            p.setPen(QPen(grid if hour % 6 == 0 else faint, 1))
            p.drawLine(QPointF(GUTTER, y), QPointF(GUTTER + 7 * day_w, y))
            if hour < 24 and (hour_h >= 16 or hour % 2 == 0):
                p.setPen(muted)
                p.drawText(QRectF(0, y - 1, GUTTER - 6, hour_h),
                           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, f"{hour:02d}:00")
        # day columns and names
        bold = QFont(self.font())
        bold.setBold(True)
        for day in range(8):
            x = GUTTER + day * day_w
            p.setPen(QPen(grid, 1))
            p.drawLine(QPointF(x, 0 if day in (0, 7) else HEADER - 6), QPointF(x, bottom))
            if day == 7:
                break
            d = self._start + timedelta(days=day)
            p.setFont(bold)
            p.setPen(theme.accent("info", pal) if d == today else text)
            p.drawText(QRectF(x, 3, day_w, HEADER / 2), Qt.AlignmentFlag.AlignCenter, WEEKDAYS[day])
            p.setFont(small)
            p.setPen(muted)
            p.drawText(QRectF(x, HEADER / 2 - 1, day_w, HEADER / 2), Qt.AlignmentFlag.AlignCenter,
                       d.strftime("%d %b") + ("  · today" if d == today and day_w > 90 else ""))
        p.setPen(QPen(grid, 1))
        p.drawLine(QPointF(GUTTER, HEADER), QPointF(GUTTER + 7 * day_w, HEADER))

        # the schedules
        p.setFont(small)
        fm = QFontMetrics(small)
        for item in items:
            fill = status_fill(item.status, pal)
            selected = bool(self._selected.intersection(item.schedule_ids))
            hovered = self._hover is not None and self._hover.rect == item.rect
            path = QPainterPath()
            path.addRoundedRect(item.rect, 3, 3)
            body = QColor(fill)
            if item.status == "cancelled":
                body.setAlpha(150)
            p.fillPath(path, body.lighter(112) if hovered else body)
            if selected:
                p.setPen(QPen(text, 2))
            else:
                p.setPen(QPen(fill.darker(135), 1))
            p.drawPath(path)
            ink = QColor("#111111") if fill.lightness() > 150 else QColor("#ffffff")
            p.setPen(ink)
            inner = item.rect.adjusted(4, 0, -3, 0)
            if inner.width() > 8:
                label = item.label if item.kind == "more" else f"{item.at:%H:%M} {item.label}"
                if fm.horizontalAdvance(label) > inner.width() and item.kind != "more":
                    label = fm.elidedText(item.label, Qt.TextElideMode.ElideRight, int(inner.width()))
                else:
                    label = fm.elidedText(label, Qt.TextElideMode.ElideRight, int(inner.width()))
                p.drawText(inner, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label)
            if item.status == "cancelled":
                p.setPen(QPen(ink, 1))
                mid = item.rect.center().y()
                p.drawLine(QPointF(item.rect.left() + 2, mid), QPointF(item.rect.right() - 2, mid))

        # now
        now = datetime.now(self.zone)
        if 0 <= (now.date() - self._start).days < 7:
            x = GUTTER + (now.date() - self._start).days * day_w
            y = self._y(now)
            red = theme.accent("error", pal)
            p.setPen(QPen(red, 2))
            p.drawLine(QPointF(x, y), QPointF(x + day_w, y))
            p.setBrush(red)
            p.drawEllipse(QPointF(x, y), 3.5, 3.5)
        p.end()

    # -- interaction -----------------------------------------------------------------------------------

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            help_event = event if isinstance(event, QHelpEvent) else None
            item = self.item_at(help_event.pos()) if help_event is not None else None
            if item is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(help_event.globalPos(), tooltip_html(item.tooltip), self)
            return True
        return super().event(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        item = self.item_at(event.position())
        if item is not self._hover:
            self._hover = item
            self.setCursor(Qt.CursorShape.PointingHandCursor if item else Qt.CursorShape.ArrowCursor)
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        if self._hover is not None:
            self._hover = None
            self.update()
        super().leaveEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        item = self.item_at(event.position())
        if item is not None and event.button() == Qt.MouseButton.LeftButton:
            self.scheduleClicked.emit(item.schedule_id)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        item = self.item_at(event.position())
        if item is not None and event.button() == Qt.MouseButton.LeftButton:
            self.scheduleActivated.emit(item.schedule_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(GUTTER + 7 * 150, HEADER + 24 * 26)


def _clusters(entries: list[tuple[float, datetime, ScheduleRow]], block_h: float):
    """Runs of blocks that overlap (directly or through each other)."""
    cluster: list[tuple[float, datetime, ScheduleRow]] = []
    reach = -1.0
    for e in entries:
        if cluster and e[0] >= reach - 0.5:
            yield cluster
            cluster = []
        cluster.append(e)
        reach = max(reach, e[0] + block_h) if len(cluster) > 1 else e[0] + block_h
    if cluster:
        yield cluster


_SEVERITY = ("missed", "failed", "executing", "paused", "pending", "scheduled", "completed", "cancelled")


def _worst(statuses: Sequence[str]) -> str:
    return min(statuses, key=lambda s: _SEVERITY.index(s) if s in _SEVERITY else len(_SEVERITY))
