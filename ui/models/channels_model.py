"""The Channels table: one row per channel with its health, and the keyed-rows model it is built on.

:class:`KeyedTableModel` holds rows by key (Anki's browser keeps ids the same way) and applies
a fresh list of rows as a diff: changed rows get ``dataChanged``, new ones are inserted where
the sort order puts them, vanished ones are removed. A refresh in which nothing changed emits
nothing, so the view keeps its selection, scroll position and current row. Sorting and
filtering work on the model's own list of visible keys, without a proxy model.

The data comes from a worker thread: :func:`fetch_channels` reads the channels, their health
(``CentralOrchestrationService.monitor_channels``) and returns ``None`` when a cheap
fingerprint of the tables it depends on has not moved since the last call.
"""

from __future__ import annotations

import html
import time
from datetime import datetime, timedelta
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ui import theme
from ui.models.videos_model import PLATFORM_ICONS, format_time

KeyRole = Qt.ItemDataRole.UserRole + 1
RowRole = Qt.ItemDataRole.UserRole + 2

# Above this many single-row operations in one refresh, one reset is cheaper for the view.
_MAX_INCREMENTAL_OPS = 400


def plain_tooltip(text: str) -> str:
    """A tool tip that shows ``text`` as typed (Qt would render markup in a bare string)."""
    return "<p style='white-space:pre-wrap'>" + html.escape(text or "") + "</p>"


def runs(sorted_rows: Iterable[int]) -> list[tuple[int, int]]:
    """[1,2,3,7,8] -> [(1,3),(7,8)]."""
    out: list[tuple[int, int]] = []
    for r in sorted_rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        elif not out or r != out[-1][1]:
            out.append((r, r))
    return out


@dataclass
class ApplyResult:
    """What applying rows did to the model."""

    changed: int = 0
    inserted: int = 0
    removed: int = 0
    reset: bool = False

    @property
    def anything(self) -> bool:
        return bool(self.changed or self.inserted or self.removed or self.reset)


class KeyedTableModel(QAbstractTableModel):
    """Rows with a unique ``key`` attribute, shown filtered and sorted; see the module docstring.

    Subclasses set ``HEADERS`` and implement :meth:`display`; they may override
    :meth:`tooltip`, :meth:`foreground`, :meth:`alignment`, :meth:`sort_value` and
    :meth:`accepts` (the filter).
    """

    HEADERS: tuple[str, ...] = ()
    HEADER_TIPS: dict[int, str] = {}
    DEFAULT_SORT: tuple[int, bool] = (-1, False)  # (column, descending) before the operator sorts

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loaded = False
        self._rows: dict[str, Any] = {}
        self._visible: list[str] = []
        self._pos: dict[str, int] | None = None
        self._sort_col, self._sort_desc = self.DEFAULT_SORT

    # -- for subclasses ------------------------------------------------------------------------

    def display(self, row: Any, col: int) -> str | None:
        raise NotImplementedError

    def tooltip(self, row: Any, col: int) -> str | None:
        text = self.display(row, col)
        return plain_tooltip(text) if text else None

    def foreground(self, row: Any, col: int) -> QColor | None:
        return None

    def alignment(self, col: int):
        return None

    def sort_value(self, row: Any, col: int) -> Any:
        """A comparable value for sorting by ``col`` (col -1: the default order)."""
        text = self.display(row, col) if col >= 0 else ""
        return (text or "").casefold()

    def accepts(self, row: Any) -> bool:
        return True

    # -- Qt's model interface ------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.HEADER_TIPS.get(section)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, col = index.row(), index.column()
        if not (0 <= r < len(self._visible) and 0 <= col < len(self.HEADERS)):
            return None
        row = self._rows[self._visible[r]]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            color = self.foreground(row, col)
            return QBrush(color) if color is not None else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self.alignment(col)
        if role == KeyRole:
            return row.key
        if role == RowRole:
            return row
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        desc = order == Qt.SortOrder.DescendingOrder
        if (column, desc) == (self._sort_col, self._sort_desc):
            return  # rows are kept in this order as they come and go
        self._sort_col, self._sort_desc = column, desc
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        keys = [self._visible[i.row()] if 0 <= i.row() < len(self._visible) else None for i in old]
        self._visible.sort(key=self._key_fn(), reverse=desc)
        self._pos = None
        pos = self._positions()
        new = [self.index(pos[k], i.column()) if k in pos else QModelIndex() for k, i in zip(keys, old)]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    # -- reading -----------------------------------------------------------------------------------

    def keys(self) -> list[str]:
        """Visible keys, in display order."""
        return list(self._visible)

    def rows(self) -> list[Any]:
        """Visible rows, in display order."""
        return [self._rows[k] for k in self._visible]

    def all_rows(self) -> list[Any]:
        return list(self._rows.values())

    def total_count(self) -> int:
        return len(self._rows)

    def get(self, key: str) -> Any:
        return self._rows.get(key)

    def key_at(self, row: int) -> str | None:
        return self._visible[row] if 0 <= row < len(self._visible) else None

    def row_at(self, row: int) -> Any:
        key = self.key_at(row)
        return self._rows[key] if key is not None else None

    def row_of(self, key: str) -> int:
        """The visible row of a key, or -1."""
        return self._positions().get(key, -1)

    # -- changing ----------------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[Any], *, complete: bool = True) -> ApplyResult:
        """Apply rows as a diff; ``complete`` means keys not in ``rows`` are gone."""
        result = ApplyResult()
        incoming = {r.key: r for r in rows}
        if not self.loaded:
            self.loaded = True
            self.beginResetModel()
            self._rows = dict(incoming)
            self._visible = self._compute_visible()
            self._pos = None
            self.endResetModel()
            result.reset, result.inserted = True, len(self._visible)
            return result
        removed = [k for k in self._rows if k not in incoming] if complete else []
        added = [k for k in incoming if k not in self._rows]
        changed = [k for k, r in incoming.items() if k in self._rows and self._rows[k] != r]
        if not (removed or added or changed):
            return result
        if len(removed) + len(added) + len(changed) > max(_MAX_INCREMENTAL_OPS, len(self._rows) // 2):
            self.beginResetModel()
            for k in removed:
                del self._rows[k]
            self._rows.update(incoming)
            self._visible = self._compute_visible()
            self._pos = None
            self.endResetModel()
            result.reset = True
            result.changed, result.inserted, result.removed = len(changed), len(added), len(removed)
            return result

        pos = self._positions()
        key_fn = self._key_fn()
        to_remove: set[str] = {k for k in removed if k in pos}
        to_insert: list[str] = []
        in_place: list[str] = []
        for k in changed:
            new = incoming[k]
            visible = k in pos
            ok = self.accepts(new)
            if visible and not ok:
                to_remove.add(k)
            elif visible:
                old_key = key_fn(k)
                self._rows[k] = new
                if key_fn(k) != old_key:
                    to_remove.add(k)
                    to_insert.append(k)
                else:
                    in_place.append(k)
                continue
            elif ok:
                to_insert.append(k)
            self._rows[k] = new
        for k in added:
            self._rows[k] = incoming[k]
            if self.accepts(incoming[k]):
                to_insert.append(k)

        for lo, hi in reversed(runs(sorted(pos[k] for k in to_remove))):
            self.beginRemoveRows(QModelIndex(), lo, hi)
            del self._visible[lo:hi + 1]
            self.endRemoveRows()
        self._pos = None
        for k in removed:
            del self._rows[k]
        for k in sorted(to_insert, key=key_fn, reverse=self._sort_desc):
            at = self._insert_point(key_fn(k), key_fn)
            self.beginInsertRows(QModelIndex(), at, at)
            self._visible.insert(at, k)
            self.endInsertRows()
        if to_insert:
            self._pos = None
        pos = self._positions()
        last = len(self.HEADERS) - 1
        for lo, hi in runs(sorted(pos[k] for k in in_place if k in pos)):
            self.dataChanged.emit(self.index(lo, 0), self.index(hi, last))
        result.changed = len(in_place)
        result.inserted = len([k for k in to_insert if k not in to_remove])
        result.removed = len([k for k in to_remove if k not in to_insert])
        return result

    def refilter(self) -> None:
        """Apply a changed filter (subclasses call this from their ``set_filter``)."""
        self.beginResetModel()
        self._visible = self._compute_visible()
        self._pos = None
        self.endResetModel()

    def columns_changed(self, *cols: int) -> None:
        """Looked-up text (a channel's name, a video's title) changed: repaint these columns."""
        if not self._visible:
            return
        for col in cols:
            self.dataChanged.emit(self.index(0, col), self.index(len(self._visible) - 1, col))

    # -- internals ---------------------------------------------------------------------------------

    def _key_fn(self) -> Callable[[str], Any]:
        rows, col = self._rows, self._sort_col
        return lambda k: (self.sort_value(rows[k], col), k)

    def _compute_visible(self) -> list[str]:
        visible = [k for k, r in self._rows.items() if self.accepts(r)]
        visible.sort(key=self._key_fn(), reverse=self._sort_desc)
        return visible

    def _insert_point(self, k: Any, key_fn: Callable[[str], Any]) -> int:
        visible, desc = self._visible, self._sort_desc
        lo, hi = 0, len(visible)
        while lo < hi:
            mid = (lo + hi) // 2
            km = key_fn(visible[mid])
            if (km < k) if desc else (k < km):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _positions(self) -> dict[str, int]:
        if self._pos is None:
            self._pos = {k: i for i, k in enumerate(self._visible)}
        return self._pos


# -- the channels' rows ---------------------------------------------------------------------------

LOGIN_TEXT = {"ok": "✔ Logged in", "required": "🔑 Required", "unknown": "? Not checked"}
STATUS_TEXT = {"active": "● Active", "paused": "⏸ Paused", "inactive": "○ Inactive"}
HEALTH_TEXT = {"ok": "✔ OK", "warning": "⚠ Warning", "critical": "⛔ Critical"}


@dataclass(frozen=True)
class ChannelRow:
    """One channel as the list shows it (built on the worker thread)."""

    key: str
    name: str
    platform: str
    status: str
    status_reason: str | None
    is_default: bool
    login_state: str
    health: str
    issues: tuple[str, ...]
    cooling_until: str | None
    recent_errors: tuple[tuple[str, str], ...]  # (when, what), newest first
    recent_error_count: int
    last_published_at: str | None
    last_post_url: str | None
    priority: int
    daily_cap: int | None
    timezone: str
    account: str | None
    slots_per_week: int
    filters: str
    pending_schedules: int
    updated_at: str
    channel: Any = field(compare=False, default=None)  # the Channel record, for the editor

    @property
    def id(self) -> str:
        return self.key


@dataclass
class ChannelsSnapshot:
    fingerprint: tuple
    rows: list[ChannelRow]


def channels_fingerprint(db) -> tuple:
    """What the list depends on, cheaply: a change in any of these means fetch again."""
    with db.snapshot() as conn:
        # The change counter moves with every write to videos, uploads, schedules and distributions;
        # the counts catch deletions (through an index each, not a scan of the table).
        parts = [tuple(conn.execute("SELECT COUNT(*), MAX(updated_at) FROM channels").fetchone()),
                 conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0],
                 conn.execute("SELECT COUNT(*) FROM schedules").fetchone()[0],
                 conn.execute("SELECT COUNT(*) FROM distributions").fetchone()[0]]
    # Cool-downs end and errors age out of "the last 24 hours" as time passes, not by a write.
    return (*parts, int(time.time() // 60))


def short_time(iso: str | None) -> str:
    """A registry UTC time in local time, compactly: "today 14:05", "yesterday 09:00", "03-28 18:30"."""
    if not iso:
        return ""
    try:
        dt = datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return iso
    today = datetime.now().astimezone().date()
    if dt.date() == today:
        return f"today {dt:%H:%M}"
    if dt.date() == today - timedelta(days=1):
        return f"yesterday {dt:%H:%M}"
    if dt.date() == today + timedelta(days=1):
        return f"tomorrow {dt:%H:%M}"
    return f"{dt:%Y-%m-%d %H:%M}" if dt.year != today.year else f"{dt:%m-%d %H:%M}"


def _filters_text(filters: dict[str, Any]) -> str:
    if not filters:
        return "accepts every video"
    parts = []
    for k, v in filters.items():
        if isinstance(v, list):
            v = ", ".join(f"#{t}" for t in v)
        parts.append(f"{k.replace('_', ' ')}: {v}")
    return "; ".join(parts)


def fetch_channels(db, fingerprint: tuple | None = None) -> ChannelsSnapshot | None:
    """Every channel with its health; None when nothing it depends on changed since ``fingerprint``."""
    from orchestration.channels import ChannelService
    from orchestration.orchestrator import CentralOrchestrationService
    from orchestration.settings import Settings, load_settings

    fp = channels_fingerprint(db)
    if fingerprint is not None and fp == fingerprint:
        return None
    try:
        settings = load_settings(db.paths)
    except Exception:  # noqa: BLE001 - a bad settings file must not hide the channel list
        settings = Settings()
    health = {h["channel_id"]: h for h in CentralOrchestrationService(db, settings=settings).monitor_channels()}
    rows = []
    for ch in ChannelService(db).list_channels():
        h = health.get(ch.id, {})
        hh = h.get("health", {})
        stats = h.get("statistics", {})
        last = h.get("last_publication") or {}
        errors = tuple((str(e.get("at") or ""), str(e.get("error") or e.get("status") or ""))
                       for e in hh.get("recent_errors", ()))
        rows.append(ChannelRow(
            key=ch.id, name=ch.name, platform=ch.platform, status=ch.status, status_reason=ch.status_reason,
            is_default=ch.is_default, login_state=ch.login_state, health=hh.get("state", "ok"),
            issues=tuple(hh.get("issues", ())),
            cooling_until=hh.get("rate_limited_until") if hh.get("cooling_down") else None,
            recent_errors=errors, recent_error_count=int(hh.get("recent_error_count", 0)),
            last_published_at=last.get("at"), last_post_url=last.get("post_url"),
            priority=ch.priority, daily_cap=ch.daily_cap, timezone=ch.timezone, account=ch.account,
            slots_per_week=sum(len(v) for v in ch.posting_schedule.slots.values()),
            filters=_filters_text(ch.content_filters.to_dict()),
            pending_schedules=int(stats.get("pending_schedules", 0)),
            updated_at=ch.updated_at.isoformat(), channel=ch,
        ))
    return ChannelsSnapshot(fp, rows)


# -- the model ----------------------------------------------------------------------------------------

(COL_NAME, COL_PLATFORM, COL_STATUS, COL_LOGIN, COL_HEALTH, COL_COOLDOWN, COL_ERRORS, COL_LAST,
 COL_SLOTS, COL_PRIORITY, COL_CAP, COL_ZONE) = range(12)

STATUS_FILTERS = (("Any status", None), ("● Active", "active"), ("⏸ Paused", "paused"),
                  ("○ Inactive", "inactive"), ("🔑 Login required", "login"), ("⚠ Needs attention", "attention"))


class ChannelsModel(KeyedTableModel):
    """The channel list, filterable by platform, status and name."""

    HEADERS = ("Name", "Platform", "Status", "Login", "Health", "Cool-down until", "Recent errors",
               "Last publication", "Slots / week", "Priority", "Daily cap", "Time zone")
    HEADER_TIPS = {
        COL_LOGIN: "Whether this account's browser profile is signed in (checked at each upload)",
        COL_HEALTH: "OK, warning or critical, from login, cool-down, recent errors and configuration",
        COL_COOLDOWN: "After a rate limit the channel rests until this time (your local time)",
        COL_ERRORS: "Errors in the last 24 hours",
        COL_SLOTS: "Posting slots per week (in the channel's own time zone)",
        COL_PRIORITY: "Higher priority channels are preferred when a video matches several",
    }
    DEFAULT_SORT = (-1, False)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._platform: str | None = None
        self._status: str | None = None
        self._text = ""

    def set_filter(self, *, platform: str | None | bool = False, status: str | None | bool = False,
                   text: str | None = None) -> None:
        """Filter by platform, status ("login" and "attention" too) and name (False: leave as is)."""
        if platform is not False:
            self._platform = platform or None  # type: ignore[assignment]
        if status is not False:
            self._status = status or None  # type: ignore[assignment]
        if text is not None:
            self._text = text.strip().casefold()
        self.refilter()

    @property
    def filtering(self) -> bool:
        return bool(self._platform or self._status or self._text)

    def accepts(self, row: ChannelRow) -> bool:
        if self._platform and row.platform != self._platform:
            return False
        if self._status == "login":
            if row.login_state != "required":
                return False
        elif self._status == "attention":
            if row.health == "ok":
                return False
        elif self._status and row.status != self._status:
            return False
        if self._text and self._text not in row.name.casefold() and self._text not in row.key.casefold():
            return False
        return True

    def sort_value(self, row: ChannelRow, col: int) -> Any:
        if col < 0:  # platform, then defaults first, then by name
            return (row.platform, not row.is_default, row.name.casefold())
        if col == COL_PRIORITY:
            return (row.priority,)
        if col == COL_CAP:
            return (row.daily_cap is not None, row.daily_cap or 0)
        if col == COL_ERRORS:
            return (row.recent_error_count,)
        if col == COL_SLOTS:
            return (row.slots_per_week,)
        if col == COL_LAST:
            return (row.last_published_at or "",)
        if col == COL_COOLDOWN:
            return (row.cooling_until or "",)
        if col == COL_HEALTH:
            return ({"ok": 0, "warning": 1, "critical": 2}.get(row.health, 0), len(row.issues))
        return ((self.display(row, col) or "").casefold(),)

    def display(self, row: ChannelRow, col: int) -> str | None:
        if col == COL_NAME:
            return row.name
        if col == COL_PLATFORM:
            return f"{PLATFORM_ICONS.get(row.platform, '')} {row.platform}".strip()
        if col == COL_STATUS:
            return STATUS_TEXT.get(row.status, row.status)
        if col == COL_LOGIN:
            return LOGIN_TEXT.get(row.login_state, row.login_state)
        if col == COL_HEALTH:  # the issues themselves are in the tool tip and the other columns
            text = HEALTH_TEXT.get(row.health, row.health)
            return f"{text} ({len(row.issues)})" if len(row.issues) > 1 else text
        if col == COL_COOLDOWN:
            return short_time(row.cooling_until) if row.cooling_until else ""
        if col == COL_ERRORS:
            if not row.recent_error_count:
                return "—"
            last = row.recent_errors[0][1] if row.recent_errors else "errors"
            return f"{row.recent_error_count}× {last}"
        if col == COL_LAST:
            return short_time(row.last_published_at) if row.last_published_at else "never"
        if col == COL_SLOTS:
            return str(row.slots_per_week) if row.slots_per_week else "—"
        if col == COL_PRIORITY:
            return str(row.priority)
        if col == COL_CAP:
            return "no cap" if row.daily_cap is None else f"{row.daily_cap}/day"
        if col == COL_ZONE:
            return row.timezone
        return None

    def tooltip(self, row: ChannelRow, col: int) -> str | None:
        if col == COL_NAME:
            lines = [row.name, f"id: {row.key}", f"account: {row.account or '(default profile)'}",
                     f"filters: {row.filters}"]
            if row.is_default:
                lines.append(f"The default {row.platform} channel")
            return plain_tooltip("\n".join(lines))
        if col == COL_STATUS and row.status_reason:
            return plain_tooltip(f"{row.status}: {row.status_reason}")
        if col == COL_HEALTH:
            return plain_tooltip("\n".join(row.issues) if row.issues else "Nothing needs attention")
        if col == COL_COOLDOWN and row.cooling_until:
            return plain_tooltip(f"Rate limited: no uploads until {format_time(row.cooling_until, seconds=True)}")
        if col == COL_ERRORS and row.recent_errors:
            return plain_tooltip("\n".join(f"{format_time(at)}  {what}" for at, what in row.recent_errors))
        if col == COL_LAST and row.last_post_url:
            return plain_tooltip(f"{format_time(row.last_published_at)}\n{row.last_post_url}")
        if col == COL_LOGIN:
            return plain_tooltip({"ok": "The last upload found this account signed in",
                                  "required": "The session expired: click “Log in…” in the editor",
                                  }.get(row.login_state, "Not checked yet; the next upload checks it"))
        return super().tooltip(row, col)

    def foreground(self, row: ChannelRow, col: int) -> QColor | None:
        if col == COL_STATUS:
            return {"paused": theme.accent("warning"), "inactive": theme.accent("muted")}.get(row.status)
        if col == COL_LOGIN:
            return {"ok": theme.accent("success"), "required": theme.accent("error")}.get(row.login_state)
        if col == COL_HEALTH:
            return {"ok": theme.accent("success"), "warning": theme.accent("warning"),
                    "critical": theme.accent("error")}.get(row.health)
        if col == COL_ERRORS and row.recent_error_count:
            return theme.accent("error")
        if col == COL_COOLDOWN and row.cooling_until:
            return theme.accent("warning")
        if row.status == "inactive":
            return theme.accent("muted")
        return None

    def alignment(self, col: int):
        if col in (COL_PRIORITY, COL_CAP, COL_SLOTS):
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def counts(self) -> dict[str, int]:
        rows = self._rows.values()
        return {"channels": len(self._rows), "paused": sum(r.status == "paused" for r in rows),
                "login": sum(r.login_state == "required" for r in rows),
                "attention": sum(r.health != "ok" for r in rows)}
