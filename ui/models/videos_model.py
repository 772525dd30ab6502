"""The Videos table: one row per video, one status column per platform.

The model holds, for each video, one compact tuple (id, title, duration, path, allow
duplicates, thumbnail path, created, file state, uploads by channel) and a list of which of
them are visible in which order. Sorting and filtering work on that list in place, so the
view never goes through a proxy model calling back into Python for every comparison.

The data comes from the worker thread: :func:`fetch_snapshot` (the first load, handed over
with one model reset) and :func:`fetch_changes` (the 5-second refresh: only rows whose
registry ``rev`` moved, applied with ``dataChanged`` for exactly those rows).
"""

from __future__ import annotations

import csv
import html
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QBrush

from ui import theme

# -- what the columns show ---------------------------------------------------------------------

PLATFORMS_SHOWN = ("Instagram", "TikTok", "YouTube")  # seed 003's column order
PLATFORM_ICONS = {"Instagram": "📷", "TikTok": "🎵", "YouTube": "▶"}

STATUS_EMOJI = {
    None: "⚪",
    "PENDING": "🕒",
    "IN_PROGRESS": "⏳",
    "SUCCESS": "✔",
    "FAILED": "✖",
    "FAILED_FINAL": "✖",
    "BLOCKED": "❌",
    "RATE_LIMITED": "🔁",
    "UNKNOWN": "❓",
    "LOGIN_REQUIRED": "🔑",
}
STATUS_LABEL = {
    None: "Not uploaded",
    "PENDING": "Pending",
    "IN_PROGRESS": "Uploading",
    "SUCCESS": "Published",
    "FAILED": "Failed",
    "FAILED_FINAL": "Failed (final)",
    "BLOCKED": "Blocked",
    "RATE_LIMITED": "Rate limited",
    "UNKNOWN": "Outcome unknown",
    "LOGIN_REQUIRED": "Login required",
}
# What needs the operator's eye first, for the multi-channel summary ("✔ 2/3 ⏳1 ✖1").
ATTENTION = ("IN_PROGRESS", "FAILED_FINAL", "FAILED", "BLOCKED", "LOGIN_REQUIRED", "UNKNOWN",
             "RATE_LIMITED", "PENDING")
# Sort order of a status (further along = larger).
_RANK = {None: 0, "PENDING": 1, "BLOCKED": 2, "FAILED_FINAL": 3, "FAILED": 4, "RATE_LIMITED": 5,
         "LOGIN_REQUIRED": 6, "UNKNOWN": 7, "IN_PROGRESS": 8, "SUCCESS": 9}

# Filter choices: (label, set of statuses; None inside the set means "not uploaded").
STATUS_FILTERS: tuple[tuple[str, frozenset | None], ...] = (
    ("Any status", None),
    ("⚪ Not uploaded", frozenset({None})),
    ("🕒 Pending", frozenset({"PENDING"})),
    ("⏳ Uploading", frozenset({"IN_PROGRESS"})),
    ("✔ Published", frozenset({"SUCCESS"})),
    ("✖ Failed", frozenset({"FAILED", "FAILED_FINAL"})),
    ("❌ Blocked", frozenset({"BLOCKED"})),
    ("🔁 Rate limited", frozenset({"RATE_LIMITED"})),
    ("❓ Outcome unknown", frozenset({"UNKNOWN"})),
    ("🔑 Login required", frozenset({"LOGIN_REQUIRED"})),
)

COL_THUMB, COL_TITLE, COL_DURATION = 0, 1, 2
PLATFORM_COLUMNS = {p: 3 + i for i, p in enumerate(PLATFORMS_SHOWN)}
COL_DUP = 3 + len(PLATFORMS_SHOWN)
COL_ACTIONS = COL_DUP + 1
COL_PATH = COL_ACTIONS + 1
COLUMN_COUNT = COL_PATH + 1
HEADERS = (["", "Title", "Duration"] + [f"{PLATFORM_ICONS[p]} {p}" for p in PLATFORMS_SHOWN]
           + ["Allow Duplicates", "Upload", "File Path"])

VideoIdRole = Qt.ItemDataRole.UserRole + 1
RowRole = Qt.ItemDataRole.UserRole + 2

# -- the compact rows ---------------------------------------------------------------------------

R_ID, R_TITLE, R_DURATION, R_PATH, R_DUP, R_THUMB, R_CREATED, R_STATE, R_UPLOADS = range(9)
U_STATUS, U_RETRIES, U_ERROR, U_NEXT, U_URL, U_POST, U_TIME, U_PLATFORM = range(8)

EMPTY_UPLOADS: Mapping[str, tuple] = MappingProxyType({})

_VIDEO_SQL = ("SELECT id, title, duration, file_path, duplicate_allowed, thumbnail_path, created_at, status"
              " FROM videos ORDER BY created_at DESC, id DESC")
_UPLOAD_SQL = ("SELECT video_id, channel_id, upload_status, retry_count, error_message, next_attempt_at,"
               " post_url, platform_post_id, upload_timestamp, platform FROM video_uploads")

# channels by platform: {platform: ((id, name, status), ...)}
Channels = dict[str, tuple[tuple[str, str, str], ...]]


@dataclass
class Snapshot:
    """Everything the first load hands to the model (built on the worker thread)."""

    rev: int
    rows: list[tuple]
    index: dict[str, int]
    channels: Channels
    counts: dict[str, int]


@dataclass
class Changes:
    """What changed since a rev (built on the worker thread)."""

    rev: int
    videos: list[tuple]  # rows without their uploads (8 fields)
    uploads: list[tuple[str, str, tuple]]  # (video_id, channel_id, cell)
    count: int
    channels: Channels
    counts: dict[str, int]


@dataclass
class ApplyResult:
    changed_rows: int = 0
    inserted: int = 0
    removed: int = 0
    reset: bool = False
    reload_needed: bool = False
    ids: list[str] = field(default_factory=list)


def _plain_cursor(conn):
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples: a third of the memory and time of sqlite3.Row
    return cur


def fetch_channels(conn) -> Channels:
    out: dict[str, list[tuple[str, str, str]]] = {p: [] for p in PLATFORMS_SHOWN}
    for cid, name, platform, status in _plain_cursor(conn).execute(
            "SELECT id, name, platform, status FROM channels ORDER BY is_default DESC, name COLLATE NOCASE"):
        out.setdefault(platform, []).append((cid, name, status))
    return {p: tuple(v) for p, v in out.items()}


def fetch_counts(conn) -> dict[str, int]:
    counts = {"videos": _plain_cursor(conn).execute("SELECT COUNT(*) FROM videos").fetchone()[0]}
    for status, n in _plain_cursor(conn).execute(
            "SELECT upload_status, COUNT(*) FROM video_uploads GROUP BY upload_status"):
        counts[status] = n
    return counts


def _cell(status, retries, error, nxt, url, post, when, platform) -> tuple:
    return (status, retries or 0, error, nxt, url, post, when, platform)


def fetch_snapshot(db) -> Snapshot:
    """Read every video's display row and upload cells in one consistent snapshot."""
    with db.snapshot() as conn:
        rev = conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0]
        rows = [(vid, title, dur, path, bool(dup), thumb, created, state, EMPTY_UPLOADS)
                for vid, title, dur, path, dup, thumb, created, state in _plain_cursor(conn).execute(_VIDEO_SQL)]
        index = {r[R_ID]: i for i, r in enumerate(rows)}
        uploads: dict[str, dict[str, tuple]] = {}
        for vid, cid, *rest in _plain_cursor(conn).execute(_UPLOAD_SQL):
            uploads.setdefault(vid, {})[cid] = _cell(*rest)
        for vid, cells in uploads.items():
            pos = index.get(vid)
            if pos is not None:
                rows[pos] = rows[pos][:R_UPLOADS] + (cells,)
        channels = fetch_channels(conn)
        counts = fetch_counts(conn)
    return Snapshot(rev, rows, index, channels, counts)


def fetch_changes(db, rev: int) -> Changes:
    """Only what changed since ``rev``, through ``VideoRegistry.changed_since``."""
    from database import VideoRegistry

    registry = VideoRegistry(db)
    with db.snapshot() as conn:
        changed = registry.changed_since(rev)
        videos = [(v["id"], v["title"], v["duration"], v["file_path"], bool(v["duplicate_allowed"]),
                   v["thumbnail_path"], v["created_at"], v["status"]) for v in changed["videos"]]
        uploads = [(u.video_id, u.channel_id,
                    _cell(u.upload_status, u.retry_count, u.error_message, u.next_attempt_at, u.post_url,
                          u.platform_post_id, u.upload_timestamp, u.platform))
                   for u in changed["uploads"]]
        counts = fetch_counts(conn)
        channels = fetch_channels(conn)
    return Changes(changed["rev"], videos, uploads, counts["videos"], channels, counts)


# -- formatting ---------------------------------------------------------------------------------


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    total = int(round(seconds))
    if total < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{total} s"
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_time(iso: str | None, *, seconds: bool = False) -> str:
    """A registry UTC timestamp in the operator's local time."""
    if not iso:
        return ""
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return dt.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def status_text(status: str | None) -> str:
    return f"{STATUS_EMOJI.get(status, '•')} {STATUS_LABEL.get(status, status or '')}"


def platform_summary(uploads: Mapping[str, tuple], channel_ids: Sequence[str]) -> tuple[str, str | None, tuple]:
    """(cell text, status that colours it, sort key) for one platform's channels."""
    n = len(channel_ids)
    if n == 0:
        return "—", None, (-1.0, -1)
    if n == 1:
        cell = uploads.get(channel_ids[0])
        st = cell[U_STATUS] if cell else None
        return status_text(st), st, (1.0 if st == "SUCCESS" else 0.0, _RANK.get(st, 0))
    counts = Counter((uploads[c][U_STATUS] if c in uploads else None) for c in channel_ids)
    done = counts.get("SUCCESS", 0)
    parts = [f"✔ {done}/{n}" if done else f"⚪ 0/{n}"]
    parts += [f"{STATUS_EMOJI[s]}{counts[s]}" for s in ATTENTION if counts.get(s)]
    # colour by what needs attention (not PENDING, which is just waiting), else by progress
    primary = next((s for s in ATTENTION[:-1] if counts.get(s)), "SUCCESS" if done else None)
    return " ".join(parts), primary, (done / n, _RANK.get(primary, 0))


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _plain_tooltip(text: str) -> str:
    # Wrapped in HTML with the content escaped, so Qt never renders a title's own markup.
    return f"<p style='white-space:pre-wrap'>{_esc(text)}</p>"


# -- the model ----------------------------------------------------------------------------------


class VideosModel(QAbstractTableModel):
    """Videos as rows; see the module docstring.

    Signals:
        duplicateToggled(video_id, allowed): the operator ticked or cleared Allow Duplicates;
            the change is already shown, the tab writes it to the registry.
    """

    duplicateToggled = Signal(str, bool)

    def __init__(self, thumbnails=None, parent=None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)
        self.rev = 0
        self.loaded = False
        self._rows: list[tuple] = []
        self._rows_in_default_order = True  # _rows is newest first (as a snapshot comes)
        self._index: dict[str, int] = {}
        self._visible: list[int] = []
        self._vpos: dict[int, int] | None = None
        self._channels: Channels = {p: () for p in PLATFORMS_SHOWN}
        self._channel_ids: dict[str, tuple[str, ...]] = {p: () for p in PLATFORMS_SHOWN}
        self._channel_names: dict[str, str] = {}
        self._channel_status: dict[str, str] = {}
        self._sort_col = -1
        self._sort_desc = True
        self._text = ""
        self._statuses: frozenset | None = None
        self._platform: str | None = None

    # -- Qt's model interface ------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else COLUMN_COUNT

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < COLUMN_COUNT:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            for platform, col in PLATFORM_COLUMNS.items():
                if col == section:
                    n = len(self._channel_ids.get(platform, ()))
                    return (f"Upload state on {platform} ({n} channel{'s' if n != 1 else ''}); "
                            "with several channels, how many have it published")
            return {COL_THUMB: "Thumbnail", COL_DUP: "Allow this video to be uploaded again where it already is",
                    COL_ACTIONS: "Upload now: 📷 Instagram, 🎵 TikTok, ▶ YouTube"}.get(section)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == COL_DUP:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, col = index.row(), index.column()
        if not (0 <= r < len(self._visible) and 0 <= col < COLUMN_COUNT):
            return None
        row = self._rows[self._visible[r]]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, col)
        if role == Qt.ItemDataRole.CheckStateRole and col == COL_DUP:
            return Qt.CheckState.Checked if row[R_DUP] else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DecorationRole and col == COL_THUMB and self.thumbnails is not None:
            return self.thumbnails.get(row[R_ID], row[R_THUMB])
        if role == Qt.ItemDataRole.ForegroundRole:
            color = None
            platform = self._platform_of(col)
            if platform is not None:
                color = theme.status_color(platform_summary(row[R_UPLOADS], self._channel_ids[platform])[1])
            elif col == COL_PATH and row[R_STATE] != "ready":
                color = theme.accent("error")
            return QBrush(color) if color is not None else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col == COL_DURATION:
                return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            if col == COL_THUMB:
                return Qt.AlignmentFlag.AlignCenter
            return None
        if role == Qt.ItemDataRole.SizeHintRole and col == COL_THUMB:
            return QSize(80, 44)
        if role == VideoIdRole:
            return row[R_ID]
        if role == RowRole:
            return row
        return None

    def setData(self, index: QModelIndex | QPersistentModelIndex, value: Any,  # noqa: N802
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != COL_DUP or role != Qt.ItemDataRole.CheckStateRole:
            return False
        if isinstance(value, Qt.CheckState):
            allowed = value == Qt.CheckState.Checked
        else:
            allowed = int(value) == Qt.CheckState.Checked.value
        vid = self._rows[self._visible[index.row()]][R_ID]
        if not self.set_duplicate_allowed_local(vid, allowed):
            return False
        self.duplicateToggled.emit(vid, allowed)
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        before = [(self._visible[i.row()], i.column()) if i.isValid() and i.row() < len(self._visible) else None
                  for i in persistent]
        self._sort_col = column if 0 <= column < COLUMN_COUNT else -1
        self._sort_desc = order == Qt.SortOrder.DescendingOrder if self._sort_col >= 0 else True
        self._visible.sort(key=self._key_of_pos(), reverse=self._sort_desc)
        self._vpos = None
        vpos = self._vpos_map()
        after = [self.index(vpos[b[0]], b[1]) if b is not None and b[0] in vpos else QModelIndex() for b in before]
        self.changePersistentIndexList(persistent, after)
        self.layoutChanged.emit()

    # -- loading and refreshing ----------------------------------------------------------------

    def load(self, snap: Snapshot) -> None:
        """Replace everything with a snapshot: one model reset."""
        self.beginResetModel()
        self.rev = snap.rev
        self._rows = snap.rows
        self._index = snap.index
        self._rows_in_default_order = True
        self._set_channels(snap.channels)
        self._visible = self._compute_visible()
        self._vpos = None
        self.loaded = True
        self.endResetModel()

    def set_channels(self, channels: Channels) -> bool:
        """Take a new channel list; True when it differs (the platform columns repaint)."""
        if channels == self._channels:
            return False
        self._set_channels(channels)
        if self._platform is not None or self._statuses is not None:
            self._refilter()
        elif self._visible:
            first = min(PLATFORM_COLUMNS.values())
            self.dataChanged.emit(self.index(0, first), self.index(len(self._visible) - 1, COL_ACTIONS))
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, min(PLATFORM_COLUMNS.values()), COL_ACTIONS)
        return True

    def _set_channels(self, channels: Channels) -> None:
        self._channels = {p: tuple(channels.get(p, ())) for p in set(PLATFORMS_SHOWN) | set(channels)}
        self._channel_ids = {p: tuple(c[0] for c in chans) for p, chans in self._channels.items()}
        self._channel_names = {c[0]: c[1] for chans in self._channels.values() for c in chans}
        self._channel_status = {c[0]: c[2] for chans in self._channels.values() for c in chans}

    def apply(self, changes: Changes, *, bulk_threshold: int = 2000) -> ApplyResult:
        """Apply a refresh: ``dataChanged`` for changed rows, inserts/removes where the filter says.

        Returns what it did; ``reload_needed`` when rows disappeared from the registry (the
        caller then loads a fresh snapshot).
        """
        result = ApplyResult()
        self.set_channels(changes.channels)
        rows, index = self._rows, self._index
        updated: dict[int, tuple] = {}
        added: dict[str, tuple] = {}
        for v in changes.videos:
            pos = index.get(v[R_ID])
            if pos is None:
                added[v[R_ID]] = v + (EMPTY_UPLOADS,)
            else:
                updated[pos] = v + (rows[pos][R_UPLOADS],)
        for vid, cid, cell in changes.uploads:
            pos = index.get(vid)
            if pos is not None:
                row = updated.get(pos, rows[pos])
                cells = dict(row[R_UPLOADS])
                cells[cid] = cell
                updated[pos] = row[:R_UPLOADS] + (cells,)
            elif vid in added:
                row = added[vid]
                cells = dict(row[R_UPLOADS])
                cells[cid] = cell
                added[vid] = row[:R_UPLOADS] + (cells,)
        if changes.count != len(rows) + len(added):
            result.reload_needed = True
            return result
        self.rev = changes.rev
        result.ids = [rows[p][R_ID] for p in updated] + list(added)
        if self.thumbnails is not None:
            for pos, row in updated.items():
                if row[R_THUMB] != rows[pos][R_THUMB]:
                    self.thumbnails.invalidate(row[R_ID])
        if not updated and not added:
            return result

        if len(updated) + len(added) > bulk_threshold:
            self.beginResetModel()
            for pos, row in updated.items():
                rows[pos] = row
            for vid, row in added.items():
                index[vid] = len(rows)
                rows.append(row)
            self._rows_in_default_order = self._rows_in_default_order and not added
            self._visible = self._compute_visible()
            self._vpos = None
            self.endResetModel()
            result.reset = True
            result.changed_rows, result.inserted = len(updated), len(added)
            return result

        pred = self._predicate()
        vpos = self._vpos_map()
        removes: list[int] = []
        inserts: list[int] = []
        still: list[int] = []
        for pos, row in updated.items():
            rows[pos] = row
            vis = vpos.get(pos)
            matches = pred is None or pred(row)
            if vis is not None:
                (still if matches else removes).append(pos if matches else vis)
            elif matches:
                inserts.append(pos)
        if added:
            self._rows_in_default_order = False
        for vid, row in added.items():
            index[vid] = len(rows)
            rows.append(row)
            if pred is None or pred(row):
                inserts.append(index[vid])
        for vis in sorted(removes, reverse=True):
            self.beginRemoveRows(QModelIndex(), vis, vis)
            del self._visible[vis]
            self.endRemoveRows()
        if removes or inserts:
            self._vpos = None
        key = self._key_of_pos()
        for pos in sorted(inserts, key=key, reverse=self._sort_desc):
            at = self._insert_point(key(pos), key)
            self.beginInsertRows(QModelIndex(), at, at)
            self._visible.insert(at, pos)
            self.endInsertRows()
        vpos = self._vpos_map()
        for lo, hi in _runs(sorted(vpos[p] for p in still if p in vpos)):
            self.dataChanged.emit(self.index(lo, 0), self.index(hi, COLUMN_COUNT - 1))
        result.changed_rows, result.inserted, result.removed = len(still), len(inserts), len(removes)
        return result

    # -- sorting and filtering ------------------------------------------------------------------

    def set_filter(self, *, text: str | None = None, statuses: frozenset | None | bool = False,
                   platform: str | None | bool = False) -> None:
        """Filter by title text, a set of statuses and/or a platform (False: leave as is)."""
        if text is not None:
            self._text = text.strip().casefold()
        if statuses is not False:
            self._statuses = statuses or None  # type: ignore[assignment]
        if platform is not False:
            self._platform = platform or None  # type: ignore[assignment]
        self._refilter()

    def _refilter(self) -> None:
        self.beginResetModel()
        self._visible = self._compute_visible()
        self._vpos = None
        self.endResetModel()

    @property
    def filtering(self) -> bool:
        return bool(self._text or self._statuses is not None or self._platform is not None)

    def _predicate(self) -> Callable[[tuple], bool] | None:
        text, statuses, platform = self._text, self._statuses, self._platform
        if not text and statuses is None and platform is None:
            return None
        if platform is not None:
            chans = self._channel_ids.get(platform, ())
        else:
            chans = tuple(c for ids in self._channel_ids.values() for c in ids)

        def match(row: tuple) -> bool:
            if text and text not in (row[R_TITLE] or "").casefold() and text not in row[R_ID].casefold():
                return False
            ups = row[R_UPLOADS]
            if statuses is not None:
                return any((ups[c][U_STATUS] if c in ups else None) in statuses for c in chans)
            if platform is not None:
                return any(c in ups for c in chans)
            return True

        return match

    def _compute_visible(self) -> list[int]:
        pred = self._predicate()
        rows = self._rows
        visible = list(range(len(rows))) if pred is None else [i for i, r in enumerate(rows) if pred(r)]
        # A snapshot arrives newest first, which is the default order; rows appended later
        # (new videos) or an explicit sort column need a real sort.
        if self._sort_col >= 0 or not self._rows_in_default_order:
            visible.sort(key=self._key_of_pos(), reverse=self._sort_desc)
        return visible

    def _key_of_pos(self) -> Callable[[int], Any]:
        rows, col = self._rows, self._sort_col
        if col == COL_TITLE or col == COL_ACTIONS:
            return lambda p: ((rows[p][R_TITLE] or rows[p][R_ID]).casefold(), rows[p][R_ID])
        if col == COL_DURATION:
            return lambda p: (rows[p][R_DURATION] is not None, rows[p][R_DURATION] or 0.0, rows[p][R_ID])
        if col == COL_DUP:
            return lambda p: (rows[p][R_DUP], rows[p][R_CREATED] or "", rows[p][R_ID])
        if col == COL_PATH:
            return lambda p: (rows[p][R_PATH].casefold(), rows[p][R_ID])
        platform = self._platform_of(col)
        if platform is not None:
            ids = self._channel_ids.get(platform, ())
            return lambda p: (platform_summary(rows[p][R_UPLOADS], ids)[2], rows[p][R_ID])
        return lambda p: (rows[p][R_CREATED] or "", rows[p][R_ID])  # thumbnail / default: by date

    def _insert_point(self, k: Any, key: Callable[[int], Any]) -> int:
        visible, desc = self._visible, self._sort_desc
        lo, hi = 0, len(visible)
        while lo < hi:
            mid = (lo + hi) // 2
            km = key(visible[mid])
            if (km < k) if desc else (k < km):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _vpos_map(self) -> dict[int, int]:
        if self._vpos is None:
            self._vpos = {p: i for i, p in enumerate(self._visible)}
        return self._vpos

    # -- reading rows ------------------------------------------------------------------------------

    def total_count(self) -> int:
        """Videos in the model, filtered or not."""
        return len(self._rows)

    def video_id_at(self, row: int) -> str | None:
        return self._rows[self._visible[row]][R_ID] if 0 <= row < len(self._visible) else None

    def row_of(self, video_id: str) -> int:
        """The visible row of a video, or -1."""
        pos = self._index.get(video_id)
        if pos is None:
            return -1
        return self._vpos_map().get(pos, -1)

    def row_tuple(self, video_id: str) -> tuple | None:
        pos = self._index.get(video_id)
        return None if pos is None else self._rows[pos]

    def title_of(self, video_id: str) -> str:
        row = self.row_tuple(video_id)
        return (row[R_TITLE] or row[R_ID]) if row else video_id

    def visible_rows(self) -> list[tuple]:
        rows = self._rows
        return [rows[p] for p in self._visible]

    def channels(self) -> Channels:
        return dict(self._channels)

    def channels_for(self, platform: str) -> list[dict[str, str]]:
        return [{"id": c[0], "name": c[1], "status": c[2], "platform": platform}
                for c in self._channels.get(platform, ())]

    def channel_name(self, channel_id: str) -> str:
        return self._channel_names.get(channel_id, channel_id)

    def platform_cell_text(self, video_id: str, platform: str) -> str:
        row = self.row_tuple(video_id)
        return platform_summary(row[R_UPLOADS], self._channel_ids.get(platform, ()))[0] if row else ""

    def set_duplicate_allowed_local(self, video_id: str, allowed: bool) -> bool:
        """Show a new Allow Duplicates value now (the registry write follows)."""
        pos = self._index.get(video_id)
        if pos is None:
            return False
        row = self._rows[pos]
        if row[R_DUP] != allowed:
            self._rows[pos] = row[:R_DUP] + (bool(allowed),) + row[R_DUP + 1:]
            vis = self._vpos_map().get(pos)
            if vis is not None:
                idx = self.index(vis, COL_DUP)
                self.dataChanged.emit(idx, idx)
        return True

    # -- display -----------------------------------------------------------------------------------

    def _platform_of(self, col: int) -> str | None:
        i = col - 3
        return PLATFORMS_SHOWN[i] if 0 <= i < len(PLATFORMS_SHOWN) else None

    def _display(self, row: tuple, col: int) -> str | None:
        if col == COL_TITLE:
            return row[R_TITLE] if row[R_TITLE] is not None else row[R_ID]
        if col == COL_DURATION:
            return format_duration(row[R_DURATION])
        if col == COL_PATH:
            return row[R_PATH]
        platform = self._platform_of(col)
        if platform is not None:
            return platform_summary(row[R_UPLOADS], self._channel_ids[platform])[0]
        return None

    def _tooltip(self, row: tuple, col: int) -> str | None:
        if col == COL_TITLE:
            return _plain_tooltip(f"{row[R_TITLE] or row[R_ID]}\nid: {row[R_ID]}\nadded: {format_time(row[R_CREATED])}")
        if col == COL_PATH:
            note = {"missing": "\n⚠ the file is missing", "invalid": "\n⚠ marked invalid"}.get(row[R_STATE], "")
            return _plain_tooltip(row[R_PATH] + note)
        if col == COL_DUP:
            return ("Duplicates allowed: this video may be uploaded again where it already is"
                    if row[R_DUP] else "Duplicates blocked: a second upload to the same channel is refused")
        if col == COL_ACTIONS:
            return "Upload now: 📷 Instagram, 🎵 TikTok, ▶ YouTube"
        platform = self._platform_of(col)
        if platform is not None:
            return self._status_tooltip(row, platform)
        return None

    def _status_tooltip(self, row: tuple, platform: str) -> str:
        ids = self._channel_ids.get(platform, ())
        if not ids:
            return _plain_tooltip(f"No {platform} channel is set up.")
        parts = [f"<b>{_esc(PLATFORM_ICONS.get(platform, ''))} {_esc(platform)}</b>"]
        for cid in ids:
            cell = row[R_UPLOADS].get(cid)
            st = cell[U_STATUS] if cell else None
            name = self._channel_names.get(cid, cid)
            paused = self._channel_status.get(cid)
            lines = [f"<b>{_esc(name)}</b>{' (' + _esc(paused) + ')' if paused and paused != 'active' else ''}: "
                     f"{_esc(status_text(st))}"]
            if cell:
                if cell[U_ERROR]:
                    lines.append(f"Error: {_esc(cell[U_ERROR])}")
                if cell[U_RETRIES]:
                    lines.append(f"Retries: {cell[U_RETRIES]}")
                if cell[U_NEXT]:
                    lines.append(f"Next attempt: {_esc(format_time(cell[U_NEXT]))}")
                if cell[U_TIME]:
                    lines.append(f"Last attempt: {_esc(format_time(cell[U_TIME]))}")
                if cell[U_URL] or cell[U_POST]:
                    lines.append(f"Post: {_esc(cell[U_URL] or cell[U_POST])}")
            parts.append("<br>".join(lines))
        return "<p style='white-space:pre-wrap'>" + "<br><br>".join(parts) + "</p>"

    def _thumbnail_ready(self, video_id: str) -> None:
        vis = self.row_of(video_id)
        if vis >= 0:
            idx = self.index(vis, COL_THUMB)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])


def _runs(sorted_rows: Iterable[int]) -> list[tuple[int, int]]:
    """[1,2,3,7,8] -> [(1,3),(7,8)]: one dataChanged per block of neighbouring rows."""
    out: list[tuple[int, int]] = []
    for r in sorted_rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        elif not out or r != out[-1][1]:
            out.append((r, r))
    return out


# -- export -------------------------------------------------------------------------------------

CSV_FIELDS = ["video_id", "title", "duration_seconds", *PLATFORMS_SHOWN, "allow_duplicates", "file_path",
              "created_at"]


def _platform_plain(uploads: Mapping[str, tuple], ids: Sequence[str]) -> str:
    if not ids:
        return ""
    if len(ids) == 1:
        cell = uploads.get(ids[0])
        return cell[U_STATUS] if cell else ""
    counts = Counter((uploads[c][U_STATUS] if c in uploads else "NOT_UPLOADED") for c in ids)
    return f"SUCCESS {counts.get('SUCCESS', 0)}/{len(ids)}" + "".join(
        f"; {s} {n}" for s, n in sorted(counts.items()) if s != "SUCCESS")


def export_records(rows: Sequence[tuple], channels: Channels) -> list[dict[str, Any]]:
    """The rows as plain dicts (the JSON export)."""
    names = {c[0]: (c[1], p) for p, chans in channels.items() for c in chans}
    out = []
    for row in rows:
        uploads = []
        for cid, cell in sorted(row[R_UPLOADS].items()):
            name, platform = names.get(cid, (cid, cell[U_PLATFORM]))
            uploads.append({
                "channel_id": cid, "channel": name, "platform": platform, "status": cell[U_STATUS],
                "post_id": cell[U_POST], "post_url": cell[U_URL], "error_message": cell[U_ERROR],
                "retry_count": cell[U_RETRIES], "next_attempt_at": cell[U_NEXT], "uploaded_at": cell[U_TIME],
            })
        out.append({
            "video_id": row[R_ID], "title": row[R_TITLE], "duration_seconds": row[R_DURATION],
            "allow_duplicates": bool(row[R_DUP]), "file_path": row[R_PATH], "created_at": row[R_CREATED],
            "platforms": {p: _platform_plain(row[R_UPLOADS], [c[0] for c in channels.get(p, ())])
                          for p in PLATFORMS_SHOWN},
            "uploads": uploads,
        })
    return out


def _csv_safe(value: Any) -> Any:
    # A cell starting with = + - @ is a formula to a spreadsheet; a leading ' keeps it text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_export(path: str | Path, rows: Sequence[tuple], channels: Channels, fmt: str | None = None) -> Path:
    """Write the rows as CSV or JSON (chosen by ``fmt`` or the file's suffix); returns the path."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".") or "csv").lower()
    records = export_records(rows, channels)
    tmp = path.with_name(path.name + ".part")
    if fmt == "json":
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump({"exported_at": datetime.now().astimezone().isoformat(timespec="seconds"),
                       "videos": records}, fh, ensure_ascii=False, indent=2)
    elif fmt == "csv":
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
            writer.writeheader()
            for rec in records:
                writer.writerow({
                    "video_id": _csv_safe(rec["video_id"]), "title": _csv_safe(rec["title"]),
                    "duration_seconds": rec["duration_seconds"],
                    **{p: rec["platforms"][p] for p in PLATFORMS_SHOWN},
                    "allow_duplicates": "yes" if rec["allow_duplicates"] else "no",
                    "file_path": _csv_safe(rec["file_path"]), "created_at": rec["created_at"],
                })
    else:
        raise ValueError(f"export format must be csv or json, not {fmt!r}")
    tmp.replace(path)
    return path
