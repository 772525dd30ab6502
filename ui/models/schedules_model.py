"""The Schedules table: one row per schedule, in the operator's zone with the channel's own beside it.

The model holds one immutable :class:`ScheduleRow` per schedule and a list of which are visible,
in which order; filtering (channel, wave, status) and sorting work on that list in place, as in
the Videos table. The data comes from the worker thread: :func:`fetch_snapshot` reads every
schedule that still matters (anything not finished, and everything since a given time) and
:func:`fetch_if_changed` answers the 5-second refresh with None unless the registry's schedules,
channels or video titles moved. :meth:`SchedulesModel.load` then applies only the difference
(rows removed, changed and added), so the selection and the scroll position survive a refresh.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QPalette

from ui import theme

PLATFORM_ICONS = {"Instagram": "📷", "TikTok": "🎵", "YouTube": "▶"}

STATUSES = ("pending", "scheduled", "paused", "executing", "completed", "failed", "cancelled", "missed")
STATUS_EMOJI = {
    "pending": "🕒", "scheduled": "📅", "paused": "⏸", "executing": "⏳", "completed": "✔", "failed": "✖",
    "cancelled": "⊘", "missed": "⏰",
}
STATUS_LABEL = {
    "pending": "Pending", "scheduled": "Scheduled", "paused": "Paused", "executing": "Publishing",
    "completed": "Published", "failed": "Failed", "cancelled": "Cancelled", "missed": "Missed",
}
# Block fills on the timeline and the status column's text colour: (light palette, dark palette).
STATUS_FILL = {
    "pending": ("#3b7ddd", "#4f8fec"),
    "scheduled": ("#5b5bd6", "#7474e8"),
    "paused": ("#9aa0a6", "#6b7075"),
    "executing": ("#0e9fbf", "#22b8d8"),
    "completed": ("#2e8b47", "#3fa35a"),
    "failed": ("#c0392b", "#d9534f"),
    "cancelled": ("#c9ccd1", "#4a4d52"),
    "missed": ("#e08a00", "#f0a020"),
}
_STATUS_ACCENT = {"completed": "success", "failed": "error", "missed": "warning", "executing": "busy",
                  "paused": "muted", "cancelled": "muted"}

# Which statuses the status filter offers (label, statuses; None = every status).
STATUS_FILTERS: tuple[tuple[str, frozenset | None], ...] = (
    ("Any status", None),
    ("🕒 Waiting (pending, scheduled, paused)", frozenset({"pending", "scheduled", "paused"})),
    ("⏰ Missed", frozenset({"missed"})),
    ("✖ Failed", frozenset({"failed"})),
    ("⏸ Paused", frozenset({"paused"})),
    ("⏳ Publishing", frozenset({"executing"})),
    ("✔ Published", frozenset({"completed"})),
    ("⊘ Cancelled", frozenset({"cancelled"})),
)
NOT_FINISHED = ("pending", "scheduled", "paused", "executing", "missed", "failed")
TYPE_LABEL = {"simultaneous": "Simultaneous", "staggered": "Staggered", "independent": "Independent"}
NO_WAVE = "\x00none"  # the wave filter's "not in a wave"

COL_TIME, COL_CHANNEL, COL_CHANNEL_TIME, COL_VIDEO, COL_TYPE, COL_WAVE, COL_STATUS, COL_ATTEMPTS, COL_NOTE = range(9)
HEADERS = ("Time", "Channel", "Channel's time", "Video", "Type", "Wave", "Status", "Attempts", "Note")
COLUMN_COUNT = len(HEADERS)

ScheduleIdRole = Qt.ItemDataRole.UserRole + 1
StatusRole = Qt.ItemDataRole.UserRole + 2

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
RECENT_DAYS = 35  # finished schedules older than this are only read when the timeline goes back there


# -- zones and times --------------------------------------------------------------------------------------


def operator_zone() -> tzinfo:
    """The operator's time zone (the system's IANA zone, so a week across a DST change is right)."""
    try:
        from PySide6.QtCore import QTimeZone

        name = bytes(QTimeZone.systemTimeZoneId().data()).decode()
        if name:
            return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, ImportError):
        pass
    return datetime.now().astimezone().tzinfo or timezone.utc


def zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or datetime.now(zone).tzname() or "local"


def channel_zone(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return timezone.utc


def parse_utc(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def fmt_time(dt: datetime | None, zone: tzinfo, *, weekday: bool = True, seconds: bool = False) -> str:
    """``Mon 2026-03-23 09:00`` in ``zone``."""
    if dt is None:
        return ""
    local = dt.astimezone(zone)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{WEEKDAYS[local.weekday()]} {text}" if weekday else text


def fmt_short(dt: datetime | None, zone: tzinfo, now: datetime | None = None) -> str:
    """``17:15`` today, ``Thu 17:15`` within a week either way, else the full date."""
    if dt is None:
        return ""
    local = dt.astimezone(zone)
    today = (now or datetime.now(timezone.utc)).astimezone(zone).date()
    if local.date() == today:
        return f"{local:%H:%M}"
    if abs((local.date() - today).days) < 7:
        return f"{WEEKDAYS[local.weekday()]} {local:%H:%M}"
    return fmt_time(dt, zone)


def fmt_channel_time(dt: datetime, zone_text: str | None, operator: tzinfo) -> str:
    """``09:00 Europe/Berlin`` (with the day when it differs from the operator's)."""
    zone = channel_zone(zone_text)
    local = dt.astimezone(zone)
    mine = dt.astimezone(operator)
    day = "" if local.date() == mine.date() else f"{WEEKDAYS[local.weekday()]} {local:%m-%d} "
    return f"{day}{local:%H:%M} {zone_text or 'UTC'}"


def status_text(status: str) -> str:
    return f"{STATUS_EMOJI.get(status, '•')} {STATUS_LABEL.get(status, status)}"


def status_fill(status: str, palette: QPalette | None = None) -> QColor:
    light, dark = STATUS_FILL.get(status, STATUS_FILL["paused"])
    return QColor(dark if theme.is_dark(palette) else light)


def status_color(status: str, palette: QPalette | None = None) -> QColor | None:
    name = _STATUS_ACCENT.get(status)
    return theme.accent(name, palette) if name else None


def tooltip_html(lines: Iterable[str]) -> str:
    """Plain lines as a tooltip: escaped, so user data never renders as markup."""
    return "<p style='white-space:pre'>" + "<br>".join(html.escape(line) for line in lines) + "</p>"


# -- the rows ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """One schedule as the tab shows it (times are aware UTC datetimes)."""

    id: str
    video_id: str | None
    video_title: str | None
    channel_id: str
    channel_name: str
    platform: str
    channel_tz: str
    scheduled_at: datetime
    schedule_type: str
    status: str
    attempts: int
    error_message: str | None
    wave_id: str | None
    group_id: str | None
    next_attempt_at: datetime | None
    executed_at: datetime | None

    @property
    def wave_key(self) -> str | None:
        """What "shift the wave" moves: the wave, else the coordination group, else nothing."""
        return self.wave_id or self.group_id

    @property
    def video_label(self) -> str:
        if self.video_id is None:
            return "(empty slot — filled when it runs)"
        return self.video_title or self.video_id

    @property
    def channel_label(self) -> str:
        return f"{PLATFORM_ICONS.get(self.platform, '•')} {self.channel_name}"

    def describe(self, operator: tzinfo) -> list[str]:
        """Plain lines about the schedule (tooltips, questions)."""
        lines = [f"{self.video_label} → {self.channel_name} ({self.platform})",
                 f"{fmt_time(self.scheduled_at, operator)} {zone_name(operator)} (your time)",
                 f"{fmt_time(self.scheduled_at, channel_zone(self.channel_tz))} {self.channel_tz} (channel's time)",
                 f"{status_text(self.status)} · {TYPE_LABEL.get(self.schedule_type, self.schedule_type)}"
                 + (f" · wave {self.wave_id}" if self.wave_id else "")]
        if self.attempts:
            lines.append(f"Attempts: {self.attempts}")
        if self.next_attempt_at is not None:
            lines.append(f"Next attempt: {fmt_time(self.next_attempt_at, operator)}")
        if self.error_message:
            lines.append(self.error_message)
        return lines


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    name: str
    platform: str
    timezone: str
    status: str

    @property
    def label(self) -> str:
        paused = "" if self.status == "active" else f" ({self.status})"
        return f"{PLATFORM_ICONS.get(self.platform, '•')} {self.name}{paused}"


@dataclass
class Snapshot:
    """What a load hands to the tab (built on the worker thread)."""

    rows: list[ScheduleRow]
    channels: list[ChannelInfo]
    waves: list[str]
    counts: dict[str, int]
    signature: tuple
    since: datetime


_ROW_SQL = (
    "SELECT s.id, s.video_id, v.title, s.channel_id, c.name AS channel_name, c.platform, c.timezone,"
    " s.scheduled_at, s.schedule_type, s.status, s.attempts, s.error_message, s.wave_id, s.coordination_group_id,"
    " s.next_attempt_at, s.executed_at FROM schedules s LEFT JOIN channels c ON c.id = s.channel_id"
    " LEFT JOIN videos v ON v.id = s.video_id"
)


def _row(r) -> ScheduleRow:
    return ScheduleRow(
        id=r[0], video_id=r[1], video_title=r[2], channel_id=r[3], channel_name=r[4] or r[3], platform=r[5] or "",
        channel_tz=r[6] or "UTC", scheduled_at=parse_utc(r[7]) or datetime.min.replace(tzinfo=timezone.utc),
        schedule_type=r[8], status=r[9], attempts=int(r[10] or 0), error_message=r[11], wave_id=r[12],
        group_id=r[13], next_attempt_at=parse_utc(r[14]), executed_at=parse_utc(r[15]),
    )


def signature(conn) -> tuple:
    """A cheap fingerprint of what the tab shows: it changes whenever a schedule, a channel or a title does."""
    s = conn.execute("SELECT COUNT(*), MAX(rev) FROM schedules").fetchone()
    c = conn.execute("SELECT COUNT(*), MAX(updated_at) FROM channels").fetchone()
    v = conn.execute("SELECT MAX(rev) FROM videos").fetchone()
    return tuple(s) + tuple(c) + tuple(v)


def default_since(now: datetime | None = None) -> datetime:
    now = now or datetime.now(timezone.utc)
    return (now - timedelta(days=RECENT_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)


def fetch_snapshot(db, since: datetime | None = None) -> Snapshot:
    """Every schedule not finished yet, plus every one scheduled since ``since``; channels and counts."""
    since = since or default_since()
    from database import to_iso

    with db.snapshot() as conn:
        marks = ",".join("?" * len(NOT_FINISHED))
        rows = [_row(r) for r in conn.execute(
            _ROW_SQL + f" WHERE s.status IN ({marks}) OR s.scheduled_at >= ? ORDER BY s.scheduled_at, s.id",
            (*NOT_FINISHED, to_iso(since)))]
        channels = [ChannelInfo(r[0], r[1], r[2], r[3] or "UTC", r[4]) for r in conn.execute(
            "SELECT id, name, platform, timezone, status FROM channels ORDER BY name COLLATE NOCASE, id")]
        counts = dict.fromkeys(STATUSES, 0)
        for status, n in conn.execute("SELECT status, COUNT(*) FROM schedules GROUP BY status"):
            counts[status] = n
        sig = signature(conn)
    waves = sorted({r.wave_id for r in rows if r.wave_id})
    return Snapshot(rows, channels, waves, counts, sig, since)


def fetch_if_changed(db, last_signature: tuple | None, since: datetime | None = None) -> Snapshot | None:
    """None when nothing the tab shows changed since ``last_signature``; else a fresh snapshot."""
    with db.snapshot() as conn:
        if last_signature is not None and signature(conn) == last_signature:
            return None
    return fetch_snapshot(db, since)


# -- the model -----------------------------------------------------------------------------------------


def _sort_key(column: int):
    keys = {
        COL_TIME: lambda r: (r.scheduled_at, r.channel_name.lower()),
        COL_CHANNEL: lambda r: (r.channel_name.lower(), r.scheduled_at),
        COL_CHANNEL_TIME: lambda r: (r.scheduled_at.astimezone(channel_zone(r.channel_tz)).time(), r.scheduled_at),
        COL_VIDEO: lambda r: (r.video_label.lower(), r.scheduled_at),
        COL_TYPE: lambda r: (r.schedule_type, r.scheduled_at),
        COL_WAVE: lambda r: (r.wave_id or "", r.scheduled_at),
        COL_STATUS: lambda r: (STATUSES.index(r.status) if r.status in STATUSES else 99, r.scheduled_at),
        COL_ATTEMPTS: lambda r: (r.attempts, r.scheduled_at),
        COL_NOTE: lambda r: (r.error_message or "", r.scheduled_at),
    }
    return keys.get(column, keys[COL_TIME])


class SchedulesModel(QAbstractTableModel):
    """The schedules table (read-only); filter with :meth:`set_filter`, sort with :meth:`sort`."""

    def __init__(self, parent=None, *, zone: tzinfo | None = None):
        super().__init__(parent)
        self.zone = zone or operator_zone()
        self._rows: dict[str, ScheduleRow] = {}
        self._visible: list[str] = []
        self._pos: dict[str, int] = {}
        self._channel: str | None = None
        self._wave: str | None = None
        self._statuses: frozenset | None = None
        self._sort = (COL_TIME, Qt.SortOrder.AscendingOrder)
        self.loaded = False

    # -- Qt's side ------------------------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else COLUMN_COUNT

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and 0 <= section < COLUMN_COUNT:
            if role == Qt.ItemDataRole.DisplayRole:
                return HEADERS[section]
            if role == Qt.ItemDataRole.ToolTipRole and section == COL_TIME:
                return f"In your time zone ({zone_name(self.zone)})"
            if role == Qt.ItemDataRole.ToolTipRole and section == COL_CHANNEL_TIME:
                return "The same moment in the channel's own time zone"
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._visible):
            return None
        r = self._rows[self._visible[index.row()]]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(r, col)
        if role == ScheduleIdRole:
            return r.id
        if role == StatusRole:
            return r.status
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip_html(r.describe(self.zone))
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_STATUS:
            return status_color(r.status)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_ATTEMPTS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, r: ScheduleRow, col: int) -> str:
        if col == COL_TIME:
            return fmt_time(r.scheduled_at, self.zone)
        if col == COL_CHANNEL:
            return r.channel_label
        if col == COL_CHANNEL_TIME:
            return fmt_channel_time(r.scheduled_at, r.channel_tz, self.zone)
        if col == COL_VIDEO:
            return r.video_label
        if col == COL_TYPE:
            return TYPE_LABEL.get(r.schedule_type, r.schedule_type)
        if col == COL_WAVE:
            return r.wave_id or ""
        if col == COL_STATUS:
            return status_text(r.status)
        if col == COL_ATTEMPTS:
            return str(r.attempts) if r.attempts else ""
        if col == COL_NOTE:
            if r.next_attempt_at is not None and r.status == "failed":
                return f"retry at {fmt_time(r.next_attempt_at, self.zone, weekday=False)}: {r.error_message or ''}"
            return (r.error_message or "").replace("\n", " ")
        return ""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        old_ids = [self._visible[i.row()] if 0 <= i.row() < len(self._visible) else None for i in old]
        self._sort_visible()
        self.changePersistentIndexList(old, [self.index(self._pos[i], p.column()) if i in self._pos else QModelIndex()
                                             for i, p in zip(old_ids, old)])
        self.layoutChanged.emit()

    # -- our side --------------------------------------------------------------------------------------

    def _sort_visible(self) -> None:
        column, order = self._sort
        key = _sort_key(column)
        self._visible.sort(key=lambda i: key(self._rows[i]), reverse=order == Qt.SortOrder.DescendingOrder)
        self._pos = {sid: n for n, sid in enumerate(self._visible)}

    def _accepts(self, r: ScheduleRow) -> bool:
        if self._channel is not None and r.channel_id != self._channel:
            return False
        if self._wave is not None:
            if self._wave == NO_WAVE:
                if r.wave_id:
                    return False
            elif r.wave_id != self._wave:
                return False
        return self._statuses is None or r.status in self._statuses

    @property
    def filtering(self) -> bool:
        return self._channel is not None or self._wave is not None or self._statuses is not None

    def set_filter(self, *, channel_id: str | None = None, wave: str | None = None,
                   statuses: Iterable[str] | None = None) -> None:
        """Show only one channel's, one wave's (``NO_WAVE``: none) and these statuses' schedules."""
        self.beginResetModel()
        self._channel, self._wave = channel_id, wave
        self._statuses = frozenset(statuses) if statuses is not None else None
        self._visible = [sid for sid, r in self._rows.items() if self._accepts(r)]
        self._sort_visible()
        self.endResetModel()

    def set_zone(self, zone: tzinfo) -> None:
        self.zone = zone
        if self._visible:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._visible) - 1, COLUMN_COUNT - 1))

    def load(self, rows: Sequence[ScheduleRow]) -> None:
        """Take a fresh read: remove what is gone, update what changed, add what is new (then sort)."""
        new = {r.id: r for r in rows}
        first = not self.loaded
        self.loaded = True
        if first:
            self.beginResetModel()
            self._rows = new
            self._visible = [sid for sid, r in new.items() if self._accepts(r)]
            self._sort_visible()
            self.endResetModel()
            return
        # 1. rows that left the visible set (gone, or changed so the filter drops them)
        leaving = sorted((self._pos[sid] for sid in self._visible if sid not in new or not self._accepts(new[sid])),
                         reverse=True)
        for first_row, last_row in _runs_descending(leaving):
            self.beginRemoveRows(QModelIndex(), first_row, last_row)
            del self._visible[first_row:last_row + 1]
            self.endRemoveRows()
        self._pos = {sid: n for n, sid in enumerate(self._visible)}
        # 2. rows that changed in place
        changed = [self._pos[sid] for sid in self._visible if new[sid] != self._rows.get(sid)]
        self._rows = new
        for first_row, last_row in _runs_descending(sorted(changed, reverse=True)):
            self.dataChanged.emit(self.index(first_row, 0), self.index(last_row, COLUMN_COUNT - 1))
        # 3. rows that arrived (appended, then sorted into place)
        shown = set(self._visible)
        arriving = [sid for sid, r in new.items() if sid not in shown and self._accepts(r)]
        if arriving:
            start = len(self._visible)
            self.beginInsertRows(QModelIndex(), start, start + len(arriving) - 1)
            self._visible.extend(arriving)
            self._pos = {sid: n for n, sid in enumerate(self._visible)}
            self.endInsertRows()
        if arriving or changed:
            self.sort(*self._sort)

    # -- lookups --------------------------------------------------------------------------------------

    def total_count(self) -> int:
        return len(self._rows)

    def all_rows(self) -> list[ScheduleRow]:
        return list(self._rows.values())

    def visible_rows(self) -> list[ScheduleRow]:
        return [self._rows[sid] for sid in self._visible]

    def row_at(self, row: int) -> ScheduleRow | None:
        return self._rows[self._visible[row]] if 0 <= row < len(self._visible) else None

    def row_of(self, schedule_id: str) -> int:
        return self._pos.get(schedule_id, -1)

    def schedule(self, schedule_id: str) -> ScheduleRow | None:
        return self._rows.get(schedule_id)

    def accepts(self, r: ScheduleRow) -> bool:
        return self._accepts(r)


def _runs_descending(rows: Sequence[int]) -> list[tuple[int, int]]:
    """Row numbers sorted high to low, as (first, last) runs of consecutive rows, highest run first."""
    runs: list[tuple[int, int]] = []
    for r in rows:
        if runs and runs[-1][0] == r + 1:
            runs[-1] = (r, runs[-1][1])
        else:
            runs.append((r, r))
    return runs


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())
