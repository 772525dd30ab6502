"""The distribution decision log: one row per assignment, with its reason in words.

Rows hold ids; the video titles and channel names they show come from two look-up maps, so a
renamed channel repaints one column instead of touching every row. The refresh asks only for
distributions whose ``rev`` (or whose schedule's) is newer than the registry's change counter at
the last refresh (:func:`fetch_distributions`), and the model applies them as a diff (see
:class:`~ui.models.channels_model.KeyedTableModel`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from ui import theme
from ui.models.channels_model import KeyedTableModel, plain_tooltip
from ui.models.rows import RowsModel
from ui.models.videos_model import PLATFORM_ICONS, format_time

METHOD_TEXT = {"auto_filter": "🔍 By filters", "auto_schedule": "🗓 By schedule", "manual": "✋ Manual"}
STATUS_TEXT = {"assigned": "● Assigned", "scheduled": "🗓 Scheduled", "published": "✔ Published",
               "failed": "✖ Failed", "cancelled": "⊘ Cancelled"}
STATUS_ACCENT = {"published": "success", "failed": "error", "scheduled": "busy", "cancelled": "muted"}
METHOD_FILTERS = (("Any method", None), ("🔍 By filters", "auto_filter"), ("🗓 By schedule", "auto_schedule"),
                  ("✋ Manual", "manual"), ("⚡ Forced", "forced"))
STATUS_FILTERS = (("Any status", None), ("● Assigned", "assigned"), ("🗓 Scheduled", "scheduled"),
                  ("✔ Published", "published"), ("✖ Failed", "failed"), ("⊘ Cancelled", "cancelled"))

(COL_WHEN, COL_VIDEO, COL_CHANNEL, COL_METHOD, COL_REASON, COL_STATUS, COL_RETRIES, COL_ERROR) = range(8)


@dataclass(frozen=True)
class DistRow:
    """One distribution as the log shows it (built on the worker thread)."""

    key: str
    created_at: str
    updated_at: str
    video_id: str
    channel_id: str
    method: str
    forced: bool
    reason: str  # in words: VideoDistribution.reason_text
    details: str  # the reason's parts, one per line (the tool tip)
    status: str
    retry_count: int
    max_retries: int
    error: str | None
    scheduled_at: str | None

    @property
    def id(self) -> str:
        return self.key

    @property
    def can_retry(self) -> bool:
        return self.status == "failed" and self.retry_count < self.max_retries


@dataclass
class DistChanges:
    """What a refresh read (on the worker thread)."""

    full: bool
    rows: list[DistRow]
    count: int
    rev: int  # the registry's change counter (meta 'rev') the rows are as of
    titles: dict[str, str]
    channels: dict[str, tuple[str, str]]  # id -> (name, platform)
    status_counts: dict[str, int] = field(default_factory=dict)


_ROW_SQL = """
SELECT d.id, d.video_id, d.channel_id, d.method, d.reason, d.status, d.retry_count, d.max_retries,
       d.error_message, d.forced, d.created_at, d.updated_at,
       (SELECT s.scheduled_at FROM schedules s WHERE s.distribution_id = d.id
        ORDER BY s.created_at DESC LIMIT 1) AS scheduled_at
FROM distributions d
"""


def _details(reason: dict[str, Any]) -> str:
    """The parts of a reason, for a person: filters and their verdicts, what was forced and why, the slot."""
    lines = []
    if reason.get("summary"):
        lines.append(str(reason["summary"]))
    if reason.get("forced") or reason.get("note"):
        by = reason.get("by") or "operator"
        lines.append(f"Forced by {by}" if reason.get("forced") else f"By {by}")
        if reason.get("note"):
            lines.append(f"Note: {reason['note']}")
        for o in reason.get("overrode") or ():
            lines.append(f"Overrode {o.get('rule', '')}: {o.get('reason', '')}")
    filters = reason.get("filters")
    if isinstance(filters, dict):
        active = [(n, v) for n, v in filters.items() if isinstance(v, dict) and v.get("active", True)]
        if active:
            lines.append("Filters:")
            for name, v in active:
                lines.append(f"  {'✔' if v.get('passed') else '✖'} {name.replace('_', ' ')}: {v.get('reason', '')}")
    if reason.get("failed_filters"):
        lines.append("Does not match: " + ", ".join(reason["failed_filters"]))
    sched = reason.get("schedule") if isinstance(reason.get("schedule"), dict) else None
    if sched and sched.get("local_time"):
        lines.append(f"Slot: {sched['local_time']} ({sched.get('timezone', '')})".rstrip(" ()"))
    return "\n".join(lines)


def _row(r) -> DistRow:
    try:
        reason = json.loads(r["reason"] or "{}")
    except ValueError:
        reason = {"summary": r["reason"]}
    if not isinstance(reason, dict):
        reason = {"summary": str(reason)}
    return DistRow(
        key=r["id"], created_at=r["created_at"], updated_at=r["updated_at"], video_id=r["video_id"],
        channel_id=r["channel_id"], method=r["method"], forced=bool(r["forced"]),
        # the same words as VideoDistribution.reason_text, without building the record for every row
        reason=str(reason.get("summary") or ""), details=_details(reason), status=r["status"],
        retry_count=int(r["retry_count"]), max_retries=int(r["max_retries"]), error=r["error_message"],
        scheduled_at=r["scheduled_at"],
    )


def fetch_distributions(db, since: int | None = None) -> DistChanges:
    """Every distribution (``since`` None), or those changed since that rev (the last call's ``rev``)."""
    with db.snapshot() as conn:
        rev = conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0]
        if since is None:
            rows = [_row(r) for r in conn.execute(_ROW_SQL)]
        else:  # both through their rev index: a refresh with nothing new reads nothing
            rows = [_row(r) for r in conn.execute(
                _ROW_SQL + " WHERE d.rev > ?1 OR d.id IN (SELECT distribution_id FROM schedules"
                " WHERE rev > ?1 AND distribution_id IS NOT NULL)", (since,))]
        count = conn.execute("SELECT COUNT(*) FROM distributions").fetchone()[0]
        titles: dict[str, str] = {}
        ids = sorted({r.video_id for r in rows})
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            for vid, title in conn.execute(
                    f"SELECT id, title FROM videos WHERE id IN ({','.join('?' * len(part))})", part):
                titles[vid] = title or vid
        if since is not None:  # renamed videos
            for vid, title in conn.execute("SELECT id, title FROM videos WHERE rev > ?", (since,)):
                titles[vid] = title or vid
        channels = {cid: (name, platform) for cid, name, platform in conn.execute(
            "SELECT id, name, platform FROM channels")}
        status_counts = {s: n for s, n in conn.execute("SELECT status, COUNT(*) FROM distributions GROUP BY status")}
    return DistChanges(since is None, rows, count, rev, titles, channels, status_counts)


def fetch_statistics(db, channel_id: str | None, start, end) -> dict[str, Any]:
    """``VideoDistributionService.get_distribution_statistics`` over a period (worker thread)."""
    from orchestration.distribution import VideoDistributionService

    return VideoDistributionService(db).get_distribution_statistics(channel_id=channel_id, start_date=start,
                                                                    end_date=end)


class DistributionModel(KeyedTableModel):
    """The decision log, newest first, filterable by channel, method, status and text."""

    HEADERS = ("Assigned", "Video", "Channel", "Method", "Reason", "Status", "Retries", "Error")
    HEADER_TIPS = {
        COL_WHEN: "When the decision was made (your local time)",
        COL_REASON: "Why this video went to this channel; hover for every filter's verdict",
        COL_RETRIES: "Retries used of the most allowed",
    }
    DEFAULT_SORT = (COL_WHEN, True)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.titles: dict[str, str] = {}
        self.channels: dict[str, tuple[str, str]] = {}
        self.rev: int | None = None  # the registry's change counter its rows are as of
        self._channel: str | None = None
        self._method: str | None = None
        self._status: str | None = None
        self._text = ""

    # -- data in -----------------------------------------------------------------------------------

    def apply(self, changes: DistChanges):
        """Apply a refresh; returns the ``ApplyResult``."""
        renamed_videos = any(self.titles.get(k) != v for k, v in changes.titles.items() if k in self.titles)
        renamed_channels = self.channels != changes.channels and bool(self.channels)
        self.titles.update(changes.titles)
        self.channels = dict(changes.channels)
        self.rev = changes.rev
        result = self.set_rows(changes.rows, complete=changes.full)
        if renamed_videos:
            self.columns_changed(COL_VIDEO)
        if renamed_channels:
            self.columns_changed(COL_CHANNEL)
        return result

    def remove_missing(self, keys: Sequence[str]) -> None:
        """Rows deleted in the registry (with their channel or video)."""
        keep = set(keys)
        self.set_rows([r for k, r in self._rows.items() if k in keep], complete=True)

    # -- filtering ---------------------------------------------------------------------------------

    def set_filter(self, *, channel: str | None | bool = False, method: str | None | bool = False,
                   status: str | None | bool = False, text: str | None = None) -> None:
        if channel is not False:
            self._channel = channel or None  # type: ignore[assignment]
        if method is not False:
            self._method = method or None  # type: ignore[assignment]
        if status is not False:
            self._status = status or None  # type: ignore[assignment]
        if text is not None:
            self._text = text.strip().casefold()
        self.refilter()

    @property
    def filtering(self) -> bool:
        return bool(self._channel or self._method or self._status or self._text)

    def accepts(self, row: DistRow) -> bool:
        if self._channel and row.channel_id != self._channel:
            return False
        if self._method == "forced":
            if not row.forced:
                return False
        elif self._method and row.method != self._method:
            return False
        if self._status and row.status != self._status:
            return False
        if self._text:
            hay = " ".join((self.titles.get(row.video_id, ""), row.video_id, self.channel_name(row.channel_id),
                            row.reason, row.error or "")).casefold()
            if self._text not in hay:
                return False
        return True

    # -- display -----------------------------------------------------------------------------------

    def channel_name(self, channel_id: str) -> str:
        return self.channels.get(channel_id, (channel_id, ""))[0]

    def title(self, video_id: str) -> str:
        return self.titles.get(video_id) or video_id

    def display(self, row: DistRow, col: int) -> str | None:
        if col == COL_WHEN:
            return format_time(row.created_at)
        if col == COL_VIDEO:
            return self.title(row.video_id)
        if col == COL_CHANNEL:
            name, platform = self.channels.get(row.channel_id, (row.channel_id, ""))
            return f"{PLATFORM_ICONS.get(platform, '')} {name}".strip()
        if col == COL_METHOD:
            return METHOD_TEXT.get(row.method, row.method) + ("  ⚡ forced" if row.forced else "")
        if col == COL_REASON:
            return row.reason
        if col == COL_STATUS:
            text = STATUS_TEXT.get(row.status, row.status)
            if row.status == "scheduled" and row.scheduled_at:
                text += f" · {format_time(row.scheduled_at)}"
            return text
        if col == COL_RETRIES:
            return f"{row.retry_count}/{row.max_retries}" if row.retry_count or row.status == "failed" else ""
        if col == COL_ERROR:
            return (row.error or "").splitlines()[0] if row.error else ""
        return None

    def tooltip(self, row: DistRow, col: int) -> str | None:
        if col == COL_REASON:
            return plain_tooltip(row.details or row.reason)
        if col == COL_VIDEO:
            return plain_tooltip(f"{self.title(row.video_id)}\nid: {row.video_id}")
        if col == COL_WHEN:
            return plain_tooltip(f"assigned {format_time(row.created_at, seconds=True)}\n"
                                 f"last change {format_time(row.updated_at, seconds=True)}\nid: {row.key}")
        if col == COL_RETRIES and row.status == "failed":
            return plain_tooltip("Can be retried" if row.can_retry else
                                 "Every retry is used: distribute it again by hand (Force) or leave it")
        return super().tooltip(row, col)

    def foreground(self, row: DistRow, col: int) -> QColor | None:
        if col == COL_STATUS:
            name = STATUS_ACCENT.get(row.status)
            return theme.accent(name) if name else None
        if col == COL_ERROR and row.error:
            return theme.accent("error")
        if col == COL_METHOD and row.forced:
            return theme.accent("warning")
        if row.status == "cancelled":
            return theme.accent("muted")
        return None

    def alignment(self, col: int):
        if col == COL_RETRIES:
            return Qt.AlignmentFlag.AlignCenter
        return None

    def sort_value(self, row: DistRow, col: int) -> Any:
        if col in (COL_WHEN, -1):
            return (row.created_at,)
        if col == COL_RETRIES:
            return (row.retry_count,)
        if col == COL_STATUS:
            return (row.status, row.scheduled_at or "")
        return ((self.display(row, col) or "").casefold(),)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {"total": len(self._rows)}
        for r in self._rows.values():
            out[r.status] = out.get(r.status, 0) + 1
        return out


# -- per-channel statistics (a small model for the table under the chart) ----------------------------------


class ChannelStatsModel(RowsModel):
    """Per channel: assignments, published, failed and success rate, from the statistics dict."""

    HEADERS = ("Channel", "Assignments", "Published", "Failed", "Success rate")

    def set_stats(self, stats: dict[str, Any] | None) -> None:
        rows = sorted((stats or {}).get("by_channel", {}).values(),
                      key=lambda c: (-(c.get("total") or 0), (c.get("name") or "").casefold()))
        if rows != self._rows:
            self.set_rows([dict(r) for r in rows])

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        r = self.cell(index)
        if r is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return f"{PLATFORM_ICONS.get(r.get('platform') or '', '')} {r.get('name') or r['channel_id']}".strip()
            if col == 4:
                return f"{r.get('success_rate') or 0:.1f}%"
            return str(r.get(("total", "published", "failed")[col - 1]) or 0)
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return plain_tooltip(f"{r.get('name')}\nid: {r['channel_id']}\nvideos: {r.get('videos') or 0}")
        return None
