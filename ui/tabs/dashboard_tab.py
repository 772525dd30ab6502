"""The 📊 Dashboard tab: first what the operator must act on — missed schedules, outcomes
unknown, logins needed, channels cooling down, failures by kind — each with its action or a
link to the tab that resolves it; then today's and the week's publications, the success rate
and the on-time rate (published within a minute of the schedule), and what comes next.

The numbers are :meth:`CentralOrchestrationService.get_dashboard_data`, read on the worker
thread. Links are the ``navigate(target)`` signal: ``target`` is a tab's ``NAME``, optionally
with what to show there after a colon (``"schedules:missed"``); :func:`navigate_in` does that
for a ``QTabWidget``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.models.rows import RowsModel
from ui.models.schedules_model import fmt_time, operator_zone, parse_utc, tooltip_html
from ui.notifications import Notifier
from ui.tabs.schedules_tab import MissedActions
from ui.widgets.basics import timer
from ui.worker import Refresher, Task, Worker

log = logging.getLogger("asfs.ui.dashboard")

REFRESH_INTERVAL_MS = 5000
# kind -> (what, details with {n})
FAILURE_KINDS = {
    "transient": ("✖ Temporary errors", "{n} upload(s) failed on a passing error; retried automatically"),
    "rate_limited": ("✖ Rate limited", "{n} upload(s) refused for now by the platform's rate limit"),
    "login_required": ("✖ Login required", "{n} upload(s) stopped because the account's login expired"),
    "permanent": ("✖ Refused (final)", "{n} upload(s) refused by the platform; they are not retried"),
    "duplicate": ("✖ Duplicates", "{n} upload(s) blocked by the duplicate rules"),
    "unknown": ("✖ Other failures", "{n} upload(s) failed without a known kind"),
    "schedule_failed": ("✖ Failed schedules", "{n} schedule(s) failed with no retry left"),
}


def fetch_dashboard(db) -> dict[str, Any]:
    """The dashboard's data (``get_dashboard_data``) plus the titles of the videos it names."""
    from orchestration.orchestrator import CentralOrchestrationService

    data = CentralOrchestrationService(db).get_dashboard_data()
    att = data["attention"]
    ids = {m["video_id"] for m in att["missed_schedules"] if m.get("video_id")}
    ids |= {u["video_id"] for u in att["unknown_outcomes"] if u.get("video_id")}
    ids |= {n["video_id"] for n in data["schedules"]["next"] if n.get("video_id")}
    titles: dict[str, str] = {}
    ids_list = sorted(ids)
    for i in range(0, len(ids_list), 500):
        part = ids_list[i:i + 500]
        for vid, title in db.query(f"SELECT id, title FROM videos WHERE id IN ({','.join('?' * len(part))})", part):
            titles[vid] = title or vid
    data["titles"] = titles
    return data


def navigate_in(tabs: QTabWidget, target: str) -> bool:
    """Go to the tab ``target`` names (``"schedules"`` or ``"schedules:missed"``); the part after the
    colon goes to the tab's ``focus_on(what)`` when it has one. False when no tab has that name."""
    name, _, what = target.partition(":")
    for i in range(tabs.count()):
        widget = tabs.widget(i)
        if getattr(widget, "NAME", None) == name or tabs.tabText(i).lower().endswith(name):
            tabs.setCurrentIndex(i)
            if what and hasattr(widget, "focus_on"):
                widget.focus_on(what)
            return True
    return False


# -- the attention list ----------------------------------------------------------------------------------------


@dataclass
class AttentionItem:
    kind: str  # missed, more_missed, unknown, login, cooling, failure
    what: str
    channel: str
    when: str
    details: str
    action: str  # the button's text
    target: str | None = None  # navigate() target, when the action is a link
    payload: dict[str, Any] = field(default_factory=dict)


class AttentionModel(RowsModel):
    """What needs the operator, most urgent first (rows: ``AttentionItem``)."""

    HEADERS = ("What", "Channel", "When", "Details", "Do")

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item: AttentionItem | None = self.cell(index)
        if item is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (item.what, item.channel, item.when, item.details, item.action)[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip_html([item.what, item.channel, item.when, item.details, f"Double-click: {item.action}"])
        if role == Qt.ItemDataRole.ForegroundRole and col in (0, 4):
            accent = {"missed": "warning", "more_missed": "warning", "unknown": "warning", "login": "error",
                      "cooling": "info", "failure": "error"}.get(item.kind, "muted")
            return theme.accent("info" if col == 4 else accent)
        return None


class NextModel(RowsModel):
    """The next schedules to run (rows: tuples of display texts, one per column)."""

    HEADERS = ("Time", "Channel", "Video", "Type", "Wave")

    def __init__(self, zone: tzinfo, parent=None):
        super().__init__(parent)
        self.zone = zone

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.cell(index)
        if row is not None and role == Qt.ItemDataRole.DisplayRole:
            return row[index.column()]
        return None


def attention_items(data: dict[str, Any], zone: tzinfo) -> list[AttentionItem]:
    """The dashboard's attention section as rows: missed, unknown, logins, cooling down, failures."""
    att = data["attention"]
    titles = data.get("titles", {})
    items: list[AttentionItem] = []
    for m in att["missed_schedules"]:
        at = parse_utc(m["scheduled_at"])
        title = titles.get(m.get("video_id"), m.get("video_id")) if m.get("video_id") else "(empty slot)"
        label = f"“{title}” on {m.get('channel_name') or m['channel_id']}"
        items.append(AttentionItem(
            "missed", "⏰ Missed schedule", m.get("channel_name") or m["channel_id"], fmt_time(at, zone),
            f"“{title}”" + (f" · wave {m['wave_id']}" if m.get("wave_id") else "") + " — publish now, shift or skip",
            "Decide…", None, {"schedule_id": m["schedule_id"], "label": label, "scheduled_at": at}))
    more = data["schedules"].get("missed", 0) - len(att["missed_schedules"])
    if more > 0:
        items.append(AttentionItem("more_missed", f"⏰ {more} more missed", "", "", "Shown in the Schedules tab",
                                   "Open Schedules", "schedules:missed"))
    for u in att["unknown_outcomes"]:
        title = titles.get(u["video_id"], u["video_id"])
        items.append(AttentionItem(
            "unknown", "❓ Outcome unknown", u.get("channel_name") or u["channel_id"],
            fmt_time(parse_utc(u.get("updated_at")), zone),
            f"“{title}”: {u.get('error_message') or 'the app stopped during this upload'} — check the channel before "
            "retrying", "Open Videos", "videos", {"video_id": u["video_id"], "channel_id": u["channel_id"]}))
    for c in att["logins_needed"]:
        items.append(AttentionItem(
            "login", "🔑 Login needed", c["name"], "",
            "The account's login expired: log in again, then resume the channel", "Open Channels", "channels",
            {"channel_id": c["channel_id"]}))
    for c in att["cooling_down"]:
        until = parse_utc(c.get("rate_limited_until"))
        items.append(AttentionItem(
            "cooling", "🧊 Cooling down", c["name"], f"until {fmt_time(until, zone)}",
            "Rate limited by the platform; publishing resumes by itself", "Open Channels", "channels",
            {"channel_id": c["channel_id"]}))
    for kind, n in sorted(att["failures_by_kind"].items(), key=lambda kv: -kv[1]):
        what, details = FAILURE_KINDS.get(kind, (f"✖ {kind.replace('_', ' ').capitalize()}", "{n} failure(s)"))
        target = "schedules:failed" if kind == "schedule_failed" else "videos"
        items.append(AttentionItem("failure", what, "", "", details.format(n=n) + " — see the rows and their errors",
                                   "Open Schedules" if kind == "schedule_failed" else "Open Videos", target,
                                   {"kind": kind, "count": n}))
    return items


# -- the stat cards -----------------------------------------------------------------------------------------------


class StatCard(QFrame):
    """A number with a caption; clicking it emits ``clicked`` when it links somewhere."""

    clicked = Signal()

    def __init__(self, caption: str, parent: QWidget | None = None, *, linked: bool = False):
        super().__init__(parent)
        self.setObjectName("statCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#statCard { border: 1px solid palette(mid); border-radius: 6px;"
                           " background: palette(base); }")
        self.linked = linked
        if linked:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(2)
        self.value = QLabel("—", self)
        self.value.setTextFormat(Qt.TextFormat.PlainText)
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.9)
        font.setBold(True)
        self.value.setFont(font)
        layout.addWidget(self.value)
        self.caption = QLabel(caption, self)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.caption.setMinimumHeight(2 * self.caption.fontMetrics().lineSpacing())
        layout.addWidget(self.caption)
        # equal columns, whatever the caption's length
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(110)

    def set_value(self, text: str, accent: str | None = None, tooltip: str | None = None) -> None:
        self.value.setText(text)
        colour = theme.accent(accent, self.palette()).name() if accent else None
        self.value.setStyleSheet(f"color: {colour};" if colour else "")
        if tooltip is not None:
            self.setToolTip(tooltip_html([tooltip]))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.linked and event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
            event.accept()
            return
        super().mousePressEvent(event)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} %"


# -- the tab ---------------------------------------------------------------------------------------------------------


class DashboardTab(QWidget):
    """The Dashboard tab. Give it a registry with :meth:`attach`; it reads in the background.

    Signals:
        navigate(target): go to another tab (``NAME``, optionally ``":what"`` to show there).
        loaded(): fresh data is shown.
        countsChanged(): :meth:`counts_text` changed.
    """

    TITLE = "📊 Dashboard"
    NAME = "dashboard"

    navigate = Signal(str)
    loaded = Signal()
    countsChanged = Signal()

    def __init__(self, worker: Worker, notifier: Notifier, parent: QWidget | None = None, *,
                 refresh_interval_ms: int = REFRESH_INTERVAL_MS, zone: tzinfo | None = None):
        super().__init__(parent)
        self.setObjectName("dashboardTab")
        self.worker = worker
        self.notifier = notifier
        self.db = None
        self.zone = zone or operator_zone()
        self.data: dict[str, Any] | None = None
        self._closed = False
        self._refresher = Refresher(worker, lambda _full: (fetch_dashboard, self.db), name="Reading the dashboard",
                                    on_result=self._loaded, on_error=self._failed,
                                    alive=lambda: self.db is not None and not self._closed)
        self._attention_total = 0
        self.missed = MissedActions(worker, notifier, self, self.zone)
        self.missed.changed.connect(lambda: self._soon.start())
        self._build()
        self.timer = timer(self, refresh_interval_ms, self._tick)
        self._auto_refresh = refresh_interval_ms > 0
        self._soon = timer(self, 150, self.refresh, single_shot=True)

    # -- building ------------------------------------------------------------------------------------------------

    def _heading(self, text: str, parent: QWidget) -> QLabel:
        label = QLabel(text, parent)
        label.setTextFormat(Qt.TextFormat.PlainText)
        font = label.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        label.setFont(font)
        return label

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        page = QWidget(scroll)
        scroll.setWidget(page)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)

        top = QHBoxLayout()
        self.attention_heading = self._heading("Needs your attention", page)
        top.addWidget(self.attention_heading)
        top.addStretch(1)
        self.updated_label = QLabel(page)
        self.updated_label.setTextFormat(Qt.TextFormat.PlainText)
        self.updated_label.setStyleSheet(f"color: {theme.accent('muted', self.palette()).name()};")
        top.addWidget(self.updated_label)
        self.refresh_button = QPushButton("🔄 Refresh", page)
        self.refresh_button.clicked.connect(self.refresh)
        top.addWidget(self.refresh_button)
        layout.addLayout(top)

        cards = QGridLayout()
        cards.setHorizontalSpacing(8)
        self.cards: dict[str, StatCard] = {}
        for n, (key, caption, target) in enumerate((
                ("missed", "⏰ Missed schedules", "schedules:missed"),
                ("unknown", "❓ Outcomes unknown", "videos"),
                ("logins", "🔑 Logins needed", "channels"),
                ("cooling", "🧊 Channels cooling down", "channels"),
                ("failures", "✖ Failures", "videos"))):
            card = StatCard(caption, page, linked=True)
            card.clicked.connect(lambda t=target: self.navigate.emit(t))
            card.setToolTip(tooltip_html([f"Open the {t_name(target)} tab"]))
            cards.addWidget(card, 0, n)
            cards.setColumnStretch(n, 1)
            self.cards[key] = card
        layout.addLayout(cards)

        self.all_clear = QLabel("✔ Nothing needs you right now.", page)
        self.all_clear.setTextFormat(Qt.TextFormat.PlainText)
        self.all_clear.setStyleSheet(f"color: {theme.accent('success', self.palette()).name()}; padding: 6px;")
        self.all_clear.hide()
        layout.addWidget(self.all_clear)

        self.attention_model = AttentionModel(self)
        self.attention_view = QTableView(page)
        self.attention_view.setObjectName("attentionTable")
        self.attention_view.setModel(self.attention_model)
        self.attention_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.attention_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.attention_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.attention_view.setAlternatingRowColors(True)
        self.attention_view.setWordWrap(False)
        self.attention_view.verticalHeader().setVisible(False)
        self.attention_view.verticalHeader().setDefaultSectionSize(24)
        self.attention_view.setMinimumHeight(150)
        header = self.attention_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 190), (1, 150), (2, 200), (4, 120)):
            self.attention_view.setColumnWidth(col, width)
        self.attention_view.doubleClicked.connect(lambda index: self.act(index.row()))
        self.attention_view.selectionModel().selectionChanged.connect(self._attention_selected)
        layout.addWidget(self.attention_view, 2)

        acts = QHBoxLayout()
        self.act_button = QPushButton("Select a row", page)
        self.act_button.setEnabled(False)
        self.act_button.clicked.connect(lambda: self.act(self._current_row()))
        acts.addWidget(self.act_button)
        self.open_schedules_button = QPushButton("📅 Show in Schedules", page)
        self.open_schedules_button.setEnabled(False)
        self.open_schedules_button.clicked.connect(lambda: self.navigate.emit("schedules:missed"))
        acts.addWidget(self.open_schedules_button)
        hint = QLabel("Double-click a row to act on it.", page)
        hint.setTextFormat(Qt.TextFormat.PlainText)
        hint.setStyleSheet(f"color: {theme.accent('muted', self.palette()).name()};")
        acts.addWidget(hint)
        acts.addStretch(1)
        layout.addLayout(acts)

        layout.addSpacing(6)
        layout.addWidget(self._heading("Publications", page))
        stats = QGridLayout()
        stats.setHorizontalSpacing(8)
        self.stats: dict[str, StatCard] = {}
        for n, (key, caption, target) in enumerate((
                ("today", "Published today (since 00:00 UTC)", None),
                ("week", "Published in the last 7 days", None),
                ("success", "Success rate of scheduled publications (7 days)", None),
                ("on_time", "On time, within a minute (7 days)", None),
                ("pending", "Schedules waiting to run", "schedules"),
                ("channels", "Active channels", "channels"))):
            card = StatCard(caption, page, linked=target is not None)
            if target:
                card.clicked.connect(lambda t=target: self.navigate.emit(t))
            stats.addWidget(card, 0, n)
            stats.setColumnStretch(n, 1)
            self.stats[key] = card
        layout.addLayout(stats)

        layout.addSpacing(6)
        layout.addWidget(self._heading("Coming up", page))
        self.next_model = NextModel(self.zone, self)
        self.next_view = QTableView(page)
        self.next_view.setObjectName("nextTable")
        self.next_view.setModel(self.next_model)
        self.next_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.next_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.next_view.verticalHeader().setVisible(False)
        self.next_view.verticalHeader().setDefaultSectionSize(24)
        self.next_view.setMinimumHeight(120)
        self.next_view.setWordWrap(False)
        nh = self.next_view.horizontalHeader()
        nh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        nh.setStretchLastSection(True)
        for col, width in ((0, 160), (1, 160), (2, 260), (3, 110)):
            self.next_view.setColumnWidth(col, width)
        self.next_view.doubleClicked.connect(lambda _i: self.navigate.emit("schedules"))
        layout.addWidget(self.next_view, 1)

    # -- loading ---------------------------------------------------------------------------------------------------

    def attach(self, db) -> None:
        self.db = db
        self.missed.db = db
        self.refresh()

    def is_ready(self) -> bool:
        return self.data is not None and not self._refresher.running

    def _tick(self) -> None:
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self.db is not None and self.data is not None:
            self.refresh()

    def refresh(self) -> Task | None:
        """Read the dashboard again (in the background)."""
        return self._refresher.request()

    def _failed(self, exc: BaseException) -> None:
        log.warning("reading the dashboard failed: %s", exc)
        if self.notifier.status_bar is not None:
            self.notifier.status_bar.showMessage(f"Could not read the dashboard: {exc}", 5000)

    def _loaded(self, data: dict[str, Any]) -> None:
        if self._closed:
            return
        self.data = data
        att = data["attention"]
        items = attention_items(data, self.zone)
        selected = self._current_row()
        self.attention_model.set_rows(items)
        if 0 <= selected < len(items):
            self.attention_view.selectRow(selected)
        n_fail = sum(att["failures_by_kind"].values())
        n_missed = data["schedules"].get("missed", len(att["missed_schedules"]))
        for key, n, accent in (("missed", n_missed, "warning"), ("unknown", len(att["unknown_outcomes"]), "warning"),
                               ("logins", len(att["logins_needed"]), "error"),
                               ("cooling", len(att["cooling_down"]), "info"), ("failures", n_fail, "error")):
            self.cards[key].set_value(f"{n:,}", accent if n else "muted")
        total = att["total"]
        self.attention_heading.setText(f"Needs your attention ({total:,})" if total else "Needs your attention")
        self.all_clear.setVisible(not items)
        self.attention_view.setVisible(bool(items))
        pubs = data["statistics"]["publications"]
        self.stats["today"].set_value(f"{pubs['today']:,}")
        self.stats["week"].set_value(f"{pubs['week']:,}")
        finished, on_time = pubs.get("finished_week", 0), pubs.get("on_time", 0)
        self.stats["success"].set_value(_pct(pubs["success_rate"]), _rate_accent(pubs["success_rate"]),
                                        f"{finished} scheduled publication(s) finished in the last 7 days")
        completed = round(finished * (pubs["success_rate"] or 0) / 100)
        self.stats["on_time"].set_value(_pct(pubs["on_time_rate"]), _rate_accent(pubs["on_time_rate"]),
                                        f"{on_time} of {completed} published within a minute of their time")
        self.stats["pending"].set_value(f"{data['schedules']['pending']:,}")
        ch = data["channels"]
        self.stats["channels"].set_value(f"{ch['active']:,} / {ch['total']:,}",
                                         tooltip=f"{ch['active']} active, {ch['paused']} paused, "
                                                 f"{ch['inactive']} inactive")
        titles = data.get("titles", {})
        self.next_model.set_rows([
            (fmt_time(parse_utc(s["scheduled_at"]), self.zone), s.get("channel_name") or s["channel_id"],
             titles.get(s["video_id"], s["video_id"]) if s.get("video_id") else "(empty slot)",
             (s.get("schedule_type") or "").capitalize(), s.get("wave_id") or "")
            for s in data["schedules"]["next"]])
        self.updated_label.setText(f"Updated {datetime.now(self.zone):%H:%M:%S}")
        if total != self._attention_total:
            self._attention_total = total
            self.countsChanged.emit()
        self._attention_selected()
        if self._auto_refresh and not self.timer.isActive():
            self.timer.start()
        self.loaded.emit()

    # -- acting --------------------------------------------------------------------------------------------------------

    def _current_row(self) -> int:
        sm = self.attention_view.selectionModel()
        rows = sm.selectedRows() if sm else []
        return rows[0].row() if rows else -1

    def _attention_selected(self, *_args) -> None:
        item = self.attention_model.row_at(self._current_row())
        self.act_button.setEnabled(item is not None)
        self.act_button.setText(item.action if item is not None else "Select a row")
        self.open_schedules_button.setEnabled(item is not None and item.kind == "missed")

    def act(self, row: int) -> None:
        """Do what the row asks: decide a missed schedule, or go to the tab that resolves it."""
        item = self.attention_model.row_at(row)
        if item is None:
            return
        if item.kind == "missed":
            p = item.payload
            self.missed.decide(p["schedule_id"], p["label"], p["scheduled_at"])
        elif item.target:
            self.navigate.emit(item.target)

    def attention_kinds(self) -> list[str]:
        return [i.kind for i in self.attention_model.rows()]

    # -- status bar and shutdown --------------------------------------------------------------------------------------

    def counts_text(self) -> str:
        n = self._attention_total
        return f"⚠ {n:,} need{'s' if n == 1 else ''} attention" if n else ""

    def shutdown(self) -> None:
        self._closed = True
        self.timer.stop()
        self._soon.stop()
        for task in list(self.missed.running.values()):
            task.cancel()


def _rate_accent(value: float | None) -> str | None:
    if value is None:
        return "muted"
    return "success" if value >= 95 else ("warning" if value >= 80 else "error")


def t_name(target: str) -> str:
    return target.split(":", 1)[0].capitalize()


__all__ = ["AttentionItem", "AttentionModel", "DashboardTab", "NextModel", "StatCard", "attention_items",
           "fetch_dashboard", "navigate_in"]
