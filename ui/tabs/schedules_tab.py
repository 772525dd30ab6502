"""The 📅 Schedules tab: a week timeline and a table of every schedule, filtered by channel, wave
and status; creating schedules and waves (conflicts shown before saving); pause, resume and
cancel for one schedule, a selection or a whole channel; and the missed-schedule choices
(publish now, shift the wave, skip).

Everything that touches the registry runs through the window's :class:`~ui.worker.Worker`;
every question goes through :func:`ui.dialogs.ask`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any, Callable, Sequence

from PySide6.QtCore import QItemSelectionModel, QObject, QPoint, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import dialogs, theme
from ui.models.schedules_model import (
    COL_CHANNEL,
    COL_ATTEMPTS,
    COL_CHANNEL_TIME,
    COL_NOTE,
    COL_STATUS,
    COL_TIME,
    COL_TYPE,
    COL_VIDEO,
    COL_WAVE,
    NO_WAVE,
    STATUS_FILTERS,
    ChannelInfo,
    ScheduleRow,
    SchedulesModel,
    Snapshot,
    default_since,
    fetch_if_changed,
    fmt_time,
    operator_zone,
    zone_name,
)
from ui.notifications import Notifier
from ui.schedule_dialogs import ScheduleDialog, StartTimeDialog, fetch_choices
from ui.timeline import WeekTimeline
from ui.widgets.basics import timer
from ui.worker import Refresher, Task, Worker

log = logging.getLogger("asfs.ui.schedules")

REFRESH_INTERVAL_MS = 5000
PUBLISH_NOW = "Publish now"
SHIFT_WAVE = "Shift the wave…"
MARK_SKIPPED = "Mark as skipped"
KEEP_WAITING = "Keep waiting"
CHOOSE_TIME = "Choose a time…"
SHIFT_PRESETS = ("In 10 minutes", "In 1 hour", "Tomorrow, same time", CHOOSE_TIME)
PAUSABLE = ("pending", "scheduled")
CANCELLABLE = ("pending", "scheduled", "paused", "failed", "missed")


# -- background work (worker threads; plain Python) ---------------------------------------------------------


def _scheduling(db):
    from orchestration.scheduling import SchedulingService

    return SchedulingService(db)


def apply_to_schedules(db, ids: Sequence[str], action: str) -> dict[str, Any]:
    """Pause, resume or cancel each schedule; returns ``{"done": [ids], "failed": [(id, message)]}``."""
    from database import ASFSError

    svc = _scheduling(db)
    fn = {"pause": svc.pause_schedule, "resume": svc.resume_schedule, "cancel": svc.cancel_schedule}[action]
    done, failed = [], []
    for sid in ids:
        try:
            fn(sid)
            done.append(sid)
        except ASFSError as exc:
            failed.append((sid, str(exc)))
    return {"done": done, "failed": failed}


def channel_action(db, channel_id: str, action: str) -> int:
    """Pause, resume or cancel every schedule of a channel that can be; returns how many changed."""
    svc = _scheduling(db)
    if action == "pause":
        return svc.pause_channel_schedules(channel_id)
    if action == "resume":
        return svc.resume_channel_schedules(channel_id)
    ids = [s.id for status in CANCELLABLE for s in svc.get_schedules_by_channel(channel_id, status)]
    return len(apply_to_schedules(db, ids, "cancel")["done"])


def publish_missed(task: Task, db, schedule_id: str) -> dict[str, Any]:
    return _scheduling(db).publish_missed_now(schedule_id, cancel_event=task.cancel_event)


def skip_missed(db, schedule_ids: Sequence[str]) -> dict[str, Any]:
    from database import ASFSError

    svc = _scheduling(db)
    done, failed = [], []
    for sid in schedule_ids:
        try:
            svc.skip_missed(sid, reason="operator chose to skip it")
            done.append(sid)
        except ASFSError as exc:
            failed.append((sid, str(exc)))
    return {"done": done, "failed": failed}


def shift_missed(db, schedule_id: str, new_start: datetime) -> dict[str, Any]:
    """Shift the schedule's wave (or coordination group) to ``new_start``, keeping the stagger; a
    schedule in neither is simply moved. Returns ``{"moved": n, "what": text}``."""
    svc = _scheduling(db)
    s = svc.get_schedule(schedule_id)
    key = s.wave_id or s.coordination_group_id
    if key:
        moved = svc.shift_wave(key, new_start)
        what = f"wave {s.wave_id}" if s.wave_id else "its group"
        return {"moved": len(moved), "what": what}
    s.scheduled_at = new_start
    s.status = "pending"
    svc.schedule_repo.update(s)
    return {"moved": 1, "what": "the schedule"}


def new_start_for(choice: str, scheduled_at: datetime, zone: tzinfo, now: datetime | None = None) -> datetime | None:
    """The new start a preset of the "shift" question means (None for "Choose a time…")."""
    now = now or datetime.now(timezone.utc)
    if choice == "In 10 minutes":
        return (now + timedelta(minutes=10)).replace(second=0, microsecond=0)
    if choice == "In 1 hour":
        return (now + timedelta(hours=1)).replace(second=0, microsecond=0)
    if choice == "Tomorrow, same time":
        local = scheduled_at.astimezone(zone)
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        return datetime.combine(tomorrow, local.time().replace(second=0, microsecond=0), tzinfo=zone)
    return None


def _summary(result: dict[str, Any], verb: str) -> tuple[str, str]:
    done, failed = len(result["done"]), result["failed"]
    text = f"{verb.capitalize()} {done} schedule{'s' if done != 1 else ''}."
    if failed:
        text += f" {len(failed)} could not be {verb}:\n" + "\n".join(msg for _sid, msg in failed[:3])
    return text, ("error" if failed else "success")


# -- the missed-schedule choices (shared with the dashboard) ------------------------------------------------


class MissedActions(QObject):
    """Publish now, shift the wave or skip a missed schedule, asking through :func:`ui.dialogs.ask`.

    Signals:
        changed(): something was done; whoever shows schedules should refresh.
    """

    changed = Signal()

    def __init__(self, worker: Worker, notifier: Notifier, host: QWidget, zone: tzinfo):
        super().__init__(host)
        self.worker = worker
        self.notifier = notifier
        self.host = host
        self.zone = zone
        self.db = None
        self.running: dict[str, Task] = {}
        self.start_dialog: StartTimeDialog | None = None

    def _describe(self, label: str, scheduled_at: datetime) -> str:
        return f"{label}\nwas due {fmt_time(scheduled_at, self.zone)} ({_ago(scheduled_at)})."

    def decide(self, schedule_id: str, label: str, scheduled_at: datetime) -> None:
        """Ask what to do with one missed schedule, then do it."""
        answer = dialogs.ask(
            "question", "Missed schedule",
            self._describe(label, scheduled_at) + "\n\nNothing runs it until you decide: publish it now, shift its "
            "wave to a new start (keeping the stagger), or mark it skipped.",
            [PUBLISH_NOW, SHIFT_WAVE, MARK_SKIPPED, KEEP_WAITING], parent=self.host, default=KEEP_WAITING)
        if answer == PUBLISH_NOW:
            self.publish_now([schedule_id], confirmed=True)
        elif answer == SHIFT_WAVE:
            self.shift(schedule_id, label, scheduled_at)
        elif answer == MARK_SKIPPED:
            self.skip([schedule_id], confirmed=True)

    def publish_now(self, schedule_ids: Sequence[str], *, confirmed: bool = False,
                    labels: Sequence[str] = ()) -> list[Task]:
        if self.db is None or not schedule_ids:
            return []
        if not confirmed:
            n = len(schedule_ids)
            what = labels[0] if n == 1 and labels else f"{n} missed schedules"
            answer = dialogs.ask("question", "Publish now", f"Publish {what} now?", [PUBLISH_NOW, KEEP_WAITING],
                                 parent=self.host)
            if answer != PUBLISH_NOW:
                return []
        tasks = []
        for sid in schedule_ids:
            if sid in self.running:
                continue
            task = self.worker.run(publish_missed, self.db, sid, name="Publishing a missed schedule", kind="upload",
                                   long=True, with_task=True, on_result=self._published,
                                   on_error=lambda exc: self.notifier.notify(f"Could not publish it: {exc}", "error"),
                                   on_done=lambda _t, sid=sid: self._done(sid))
            self.running[sid] = task
            tasks.append(task)
        self.changed.emit()
        return tasks

    def _published(self, result: dict[str, Any]) -> None:
        if result.get("status") == "completed":
            self.notifier.notify("The missed schedule was published.", "success")
        else:
            self.notifier.notify(f"The missed schedule did not publish: {result.get('error') or result.get('status')}",
                                 "error")

    def _done(self, sid: str) -> None:
        self.running.pop(sid, None)
        self.changed.emit()

    def shift(self, schedule_id: str, label: str, scheduled_at: datetime) -> Task | None:
        """Ask for the new start of the schedule's wave, then shift it (keeping the stagger)."""
        if self.db is None:
            return None
        choice = dialogs.ask("menu", "New start for the wave", self._describe(label, scheduled_at),
                             list(SHIFT_PRESETS), parent=self.host)
        if choice is None:
            return None
        start = new_start_for(choice, scheduled_at, self.zone)
        if start is None:
            dialog = StartTimeDialog("Shift the wave", self._describe(label, scheduled_at)
                                     + "\n\nNew start (the rest of the wave keeps its spacing):", self.zone, self.host)
            dialog.chosen.connect(lambda when: self.shift_to(schedule_id, when))
            self.start_dialog = dialog
            dialog.open()
            return None
        return self.shift_to(schedule_id, start)

    def shift_to(self, schedule_id: str, start: datetime) -> Task | None:
        if self.db is None:
            return None

        def shifted(result: dict[str, Any]) -> None:
            self.notifier.notify(f"Shifted {result['what']}: {result['moved']} schedule(s) now start at "
                                 f"{fmt_time(start, self.zone)}.", "success")

        def failed(exc: BaseException) -> None:
            conflicts = getattr(exc, "conflicts", None)
            why = "\n".join(c.message for c in conflicts[:4]) if conflicts else str(exc)
            self.notifier.notify(f"Could not shift it; nothing moved:\n{why}", "error")

        return self.worker.run(shift_missed, self.db, schedule_id, start.astimezone(timezone.utc),
                               name="Shifting a wave", kind="write", on_result=shifted, on_error=failed,
                               on_done=lambda _t: self.changed.emit())

    def skip(self, schedule_ids: Sequence[str], *, confirmed: bool = False, labels: Sequence[str] = ()) -> Task | None:
        if self.db is None or not schedule_ids:
            return None
        if not confirmed:
            n = len(schedule_ids)
            what = labels[0] if n == 1 and labels else f"these {n} missed schedules"
            answer = dialogs.ask("question", "Skip missed schedules",
                                 f"Skip {what}? They are cancelled and never published.",
                                 [MARK_SKIPPED, KEEP_WAITING], parent=self.host, default=KEEP_WAITING)
            if answer != MARK_SKIPPED:
                return None

        def done(result: dict[str, Any]) -> None:
            text, kind = _summary(result, "skipped")
            self.notifier.notify(text, kind)

        return self.worker.run(skip_missed, self.db, list(schedule_ids), name="Skipping missed schedules",
                               kind="write", on_result=done,
                               on_error=lambda exc: self.notifier.notify(f"Could not skip: {exc}", "error"),
                               on_done=lambda _t: self.changed.emit())


def _ago(when: datetime) -> str:
    seconds = (datetime.now(timezone.utc) - when).total_seconds()
    if seconds < 0:
        return "in the future"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


# -- the tab -------------------------------------------------------------------------------------------------


class SchedulesTab(QWidget):
    """The Schedules tab. Give it a registry with :meth:`attach`; it loads in the background.

    Signals:
        loaded(): a load or refresh is in the model and on the timeline.
        countsChanged(), activityChanged(): for the status bar.
    """

    TITLE = "📅 Schedules"
    NAME = "schedules"

    loaded = Signal()
    countsChanged = Signal()
    activityChanged = Signal()

    def __init__(self, worker: Worker, notifier: Notifier, parent: QWidget | None = None, *,
                 refresh_interval_ms: int = REFRESH_INTERVAL_MS, zone: tzinfo | None = None):
        super().__init__(parent)
        self.setObjectName("schedulesTab")
        self.worker = worker
        self.notifier = notifier
        self.db = None
        self.zone = zone or operator_zone()
        self.channels: list[ChannelInfo] = []
        self.waves: list[str] = []
        self.counts: dict[str, int] = {}
        self.signature: tuple | None = None
        self.since: datetime = default_since()
        self.dialog: ScheduleDialog | None = None
        self._refresher = Refresher(
            worker, lambda force: (fetch_if_changed, self.db,
                                   None if force or not self.model.loaded else self.signature, self.since),
            name="Loading schedules", on_result=self._loaded, on_error=self._load_failed,
            alive=lambda: self.db is not None and not self._closed)
        self._writes = 0
        self._closed = False
        self._scrolled_week: date | None = None
        self._table_scroll_pending = False
        self.model = SchedulesModel(self, zone=self.zone)
        self.missed = MissedActions(worker, notifier, self, self.zone)
        self.missed.changed.connect(self._after_write)
        self._build()
        self.timer = timer(self, refresh_interval_ms, self.refresh)
        self._auto_refresh = refresh_interval_ms > 0
        self._soon = timer(self, 150, lambda: self.refresh(force=True), single_shot=True)

    # -- building ---------------------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 4)
        outer.setSpacing(6)

        bar = QHBoxLayout()
        self.new_button = QToolButton(self)
        self.new_button.setText("➕ New schedule")
        self.new_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.new_button.setToolTip("Schedule a video on channels, or a whole wave; conflicts show before saving")
        new_menu = QMenu(self.new_button)
        for kind, label in (("simultaneous", "Simultaneous (same moment)…"),
                            ("staggered", "Staggered (one after another)…"),
                            ("independent", "Independent (one channel)…"), ("wave", "Wave (many videos)…")):
            new_menu.addAction(label, lambda k=kind: self.new_schedule(k))
        self.new_button.setMenu(new_menu)
        self.new_button.clicked.connect(lambda: self.new_schedule())
        bar.addWidget(self.new_button)

        self.refresh_button = QPushButton("🔄", self)
        self.refresh_button.setToolTip("Refresh now (the tab also refreshes every 5 seconds)")
        self.refresh_button.setFixedWidth(36)
        self.refresh_button.clicked.connect(lambda: self.refresh(force=True))
        bar.addWidget(self.refresh_button)
        bar.addWidget(_separator(self))

        self.pause_button = QPushButton("⏸ Pause", self)
        self.pause_button.setToolTip("Hold the selected schedules until they are resumed")
        self.pause_button.clicked.connect(self.pause_selected)
        self.resume_button = QPushButton("▶ Resume", self)
        self.resume_button.setToolTip("Release the selected paused schedules")
        self.resume_button.clicked.connect(self.resume_selected)
        self.cancel_button = QPushButton("⊘ Cancel…", self)
        self.cancel_button.setToolTip("Cancel the selected schedules (they never run)")
        self.cancel_button.clicked.connect(self.cancel_selected)
        for b in (self.pause_button, self.resume_button, self.cancel_button):
            bar.addWidget(b)

        self.channel_button = QToolButton(self)
        self.channel_button.setText("📺 Whole channel")
        self.channel_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.channel_button.setToolTip("Pause, resume or cancel every schedule of one channel")
        channel_menu = QMenu(self.channel_button)
        channel_menu.addAction("⏸ Pause all its schedules…", lambda: self.channel_command("pause"))
        channel_menu.addAction("▶ Resume all its schedules…", lambda: self.channel_command("resume"))
        channel_menu.addAction("⊘ Cancel all its schedules…", lambda: self.channel_command("cancel"))
        self.channel_button.setMenu(channel_menu)
        bar.addWidget(self.channel_button)
        bar.addWidget(_separator(self))

        self.publish_now_button = QPushButton("⏰ Publish now", self)
        self.publish_now_button.setToolTip("Publish the selected missed schedules now")
        self.publish_now_button.clicked.connect(self.publish_now_selected)
        self.shift_button = QPushButton("⏩ Shift wave…", self)
        self.shift_button.setToolTip("Move what is left of the selected missed schedule's wave to a new start, "
                                     "keeping its stagger")
        self.shift_button.clicked.connect(self.shift_selected)
        self.skip_button = QPushButton("⏭ Skip…", self)
        self.skip_button.setToolTip("Never publish the selected missed schedules")
        self.skip_button.clicked.connect(self.skip_selected)
        for b in (self.publish_now_button, self.shift_button, self.skip_button):
            bar.addWidget(b)
        bar.addStretch(1)

        self.channel_filter = QComboBox(self)
        self.channel_filter.setToolTip("Show one channel's schedules")
        self.channel_filter.setMinimumContentsLength(14)
        self.channel_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.channel_filter.addItem("All channels", None)
        self.wave_filter = QComboBox(self)
        self.wave_filter.setToolTip("Show one wave's schedules")
        self.wave_filter.setMinimumContentsLength(10)
        self.wave_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.wave_filter.addItem("All waves", None)
        self.wave_filter.addItem("Not in a wave", NO_WAVE)
        self.status_filter = QComboBox(self)
        self.status_filter.setToolTip("Show schedules with this status")
        for label, statuses in STATUS_FILTERS:
            self.status_filter.addItem(label, statuses)
        for combo in (self.channel_filter, self.wave_filter, self.status_filter):
            combo.currentIndexChanged.connect(self._apply_filter)
        outer.addLayout(bar)

        self.banner = QFrame(self)
        self.banner.setObjectName("missedBanner")
        warn = theme.accent("warning", self.palette())
        self.banner.setStyleSheet(f"#missedBanner {{ border: 1px solid {warn.name()}; border-left: 5px solid "
                                  f"{warn.name()}; border-radius: 4px; }}")
        bl = QHBoxLayout(self.banner)
        bl.setContentsMargins(10, 4, 6, 4)
        self.banner_label = QLabel(self.banner)
        self.banner_label.setTextFormat(Qt.TextFormat.PlainText)
        bl.addWidget(self.banner_label, 1)
        self.banner_button = QPushButton("Show them", self.banner)
        self.banner_button.clicked.connect(lambda: self.focus_on("missed"))
        bl.addWidget(self.banner_button)
        self.banner.hide()
        outer.addWidget(self.banner)

        self.split = QSplitter(Qt.Orientation.Vertical, self)
        top = QWidget(self.split)
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(4)
        nav = QHBoxLayout()
        self.prev_button = QToolButton(top)
        self.prev_button.setText("◀")
        self.prev_button.setToolTip("Previous week")
        self.prev_button.clicked.connect(lambda: self.go_to_week(self.timeline.week_start - timedelta(days=7)))
        self.today_button = QPushButton("This week", top)
        self.today_button.clicked.connect(lambda: self.go_to_week(datetime.now(self.zone).date()))
        self.next_button = QToolButton(top)
        self.next_button.setText("▶")
        self.next_button.setToolTip("Next week")
        self.next_button.clicked.connect(lambda: self.go_to_week(self.timeline.week_start + timedelta(days=7)))
        self.week_label = QLabel(top)
        self.week_label.setTextFormat(Qt.TextFormat.PlainText)
        font = self.week_label.font()
        font.setBold(True)
        self.week_label.setFont(font)
        self.legend = QLabel(self)
        self.legend.setTextFormat(Qt.TextFormat.RichText)  # our own fixed markup, no user data
        self.legend.setText(self._legend_html())
        for w in (self.prev_button, self.today_button, self.next_button):
            nav.addWidget(w)
        nav.addSpacing(8)
        nav.addWidget(self.week_label)
        nav.addStretch(1)
        for combo in (self.channel_filter, self.wave_filter, self.status_filter):
            nav.addWidget(combo)
        tl.addLayout(nav)
        self.timeline = WeekTimeline(top, zone=self.zone)
        self.timeline.scheduleClicked.connect(self.select_schedule)
        self.timeline.scheduleActivated.connect(self._activated_id)
        self.scroll = QScrollArea(top)
        self.scroll.setWidget(self.timeline)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.StyledPanel)
        tl.addWidget(self.scroll, 1)
        self.split.addWidget(top)

        self.table = QTableView(self.split)
        self.table.setObjectName("schedulesTable")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(COL_TIME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.doubleClicked.connect(lambda index: self._activated_row(index.row()))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        for col, width in {COL_TIME: 140, COL_CHANNEL: 140, COL_CHANNEL_TIME: 195, COL_VIDEO: 200, COL_TYPE: 92,
                           COL_WAVE: 100, COL_STATUS: 100, COL_ATTEMPTS: 64, COL_NOTE: 200}.items():
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.split.addWidget(self.table)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        outer.addWidget(self.split, 1)

        foot = QHBoxLayout()
        self.footer = QLabel(self)
        self.footer.setTextFormat(Qt.TextFormat.PlainText)
        foot.addWidget(self.footer, 1)
        foot.addWidget(self.legend)
        outer.addLayout(foot)
        self.week_label.setText(self.timeline.week_label())
        self._update_buttons()

    def _legend_html(self) -> str:
        from ui.models.schedules_model import STATUS_LABEL, status_fill

        parts = []
        for status in ("pending", "paused", "executing", "completed", "failed", "missed", "cancelled"):
            colour = status_fill(status, self.palette()).name()
            parts.append(f"<span style='color:{colour}'>■</span>&nbsp;{STATUS_LABEL[status]}")
        return "&nbsp;&nbsp;".join(parts)

    # -- loading -----------------------------------------------------------------------------------------

    def attach(self, db) -> None:
        """Use this registry and load it (in the background)."""
        self.db = db
        self.missed.db = db
        self.refresh(force=True)

    def is_ready(self) -> bool:
        return self.model.loaded and not self._refresher.running and self._writes == 0

    def refresh(self, *, force: bool = False) -> Task | None:
        """Reload when the registry's schedules changed (``force``: reload whatever)."""
        return self._refresher.request(force)

    def _loaded(self, snap: Snapshot | None) -> None:
        if self._closed or snap is None:
            return
        self.signature = snap.signature
        self.channels = snap.channels
        self.waves = snap.waves
        selected = self.selected_ids()
        first = not self.model.loaded
        self._fill_filters()
        self.model.load(snap.rows)
        self._restore_selection(selected)
        if first:
            self._table_scroll_pending = True
            if self.isVisible():
                QTimer.singleShot(0, self._scroll_table_to_upcoming)
        self._update_timeline()
        if snap.counts != self.counts:
            self.counts = dict(snap.counts)
            self.countsChanged.emit()
        self._update_banner()
        self._update_footer()
        self._update_buttons()
        if self._auto_refresh and not self.timer.isActive():
            self.timer.start()
        self.loaded.emit()

    def _scroll_table_to_upcoming(self) -> None:
        """Start the table at what comes next, not at last month (once, when first shown)."""
        if self._closed or not self._table_scroll_pending:
            return
        self._table_scroll_pending = False
        soon = datetime.now(timezone.utc) - timedelta(hours=1)
        upcoming = next((n for n, r in enumerate(self.model.visible_rows()) if r.scheduled_at >= soon), None)
        if upcoming is not None:
            self.table.scrollTo(self.model.index(upcoming, COL_TIME), QAbstractItemView.ScrollHint.PositionAtTop)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._table_scroll_pending:
            QTimer.singleShot(0, self._scroll_table_to_upcoming)

    def _load_failed(self, exc: BaseException) -> None:
        log.warning("loading schedules failed: %s", exc)
        if self.notifier.status_bar is not None:
            self.notifier.status_bar.showMessage(f"Could not read the schedules: {exc}", 5000)

    def _after_write(self) -> None:
        if not self._closed:
            self._soon.start()
            self.activityChanged.emit()

    def _write(self, fn: Callable, *args, name: str, on_result: Callable | None = None) -> Task | None:
        """Run a change in the background, then refresh."""
        if self.db is None:
            return None
        self._writes += 1
        self.activityChanged.emit()

        def done(_t: Task) -> None:
            self._writes -= 1
            self._after_write()

        return self.worker.run(fn, self.db, *args, name=name, kind="write", on_result=on_result,
                               on_error=lambda exc: self.notifier.notify(f"{name} failed: {exc}", "error"),
                               on_done=done)

    # -- filters -----------------------------------------------------------------------------------------

    def _fill_filters(self) -> None:
        def refill(combo: QComboBox, fixed: int, entries: list[tuple[str, Any]]) -> None:
            current = combo.currentData()
            wanted = [(combo.itemText(i), combo.itemData(i)) for i in range(fixed)] + entries
            if [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())] == wanted:
                return
            combo.blockSignals(True)
            while combo.count() > fixed:
                combo.removeItem(combo.count() - 1)
            for text, data in entries:
                combo.addItem(text, data)
            idx = combo.findData(current) if current is not None else 0
            combo.setCurrentIndex(idx if idx >= 0 else 0)
            combo.blockSignals(False)
            if idx < 0:
                self._apply_filter()

        refill(self.channel_filter, 1, [(c.label, c.id) for c in self.channels])
        refill(self.wave_filter, 2, [(f"🌊 {w}", w) for w in self.waves])

    def _apply_filter(self, *_args) -> None:
        self.model.set_filter(channel_id=self.channel_filter.currentData(), wave=self.wave_filter.currentData(),
                              statuses=self.status_filter.currentData())
        self._update_timeline()
        self._update_footer()
        self._update_buttons()

    def set_filters(self, *, channel_id: str | None = None, wave: str | None = None,
                    status: str | None = None) -> None:
        """Filter by channel id, wave id and one status (None: all)."""
        for combo, value in ((self.channel_filter, channel_id), (self.wave_filter, wave)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(0, combo.findData(value)) if value is not None else 0)
            combo.blockSignals(False)
        self.status_filter.blockSignals(True)
        idx = 0
        if status is not None:
            idx = next((i for i, (_l, s) in enumerate(STATUS_FILTERS) if s == frozenset({status})), 0)
        self.status_filter.setCurrentIndex(idx)
        self.status_filter.blockSignals(False)
        self._apply_filter()

    def focus_on(self, what: str) -> None:
        """Show what the dashboard points at: ``missed``, ``failed``, a status, or ``channel=<id>``."""
        if what.startswith("channel="):
            self.set_filters(channel_id=what.split("=", 1)[1])
        elif what in ("missed", "failed", "paused", "pending", "completed", "cancelled", "executing"):
            self.set_filters(status=what)
        rows = self.model.visible_rows()
        if rows and what in ("missed", "failed"):
            self.go_to_week(rows[0].scheduled_at.astimezone(self.zone).date())

    # -- the timeline ----------------------------------------------------------------------------------------

    def go_to_week(self, day: date) -> None:
        self.timeline.set_week(day)
        self.week_label.setText(self.timeline.week_label())
        lo, _hi = self.timeline.week_bounds()
        if lo.astimezone(timezone.utc) < self.since:  # older than what was read: read back to there
            self.since = lo.astimezone(timezone.utc)
            self.refresh(force=True)
        self._update_timeline()

    def _update_timeline(self) -> None:
        self.timeline.set_schedules(self.model.visible_rows())
        self.timeline.set_selected(self.selected_ids())
        if self._scrolled_week != self.timeline.week_start:  # a new week: show its interesting part once
            self._scrolled_week = self.timeline.week_start
            QTimer.singleShot(0, self._scroll_timeline)

    def _scroll_timeline(self) -> None:
        if self._closed:
            return
        bar = self.scroll.verticalScrollBar()
        bar.setValue(max(0, int(self.timeline.focus_y() - self.scroll.viewport().height() / 3)))

    def timeline_items(self):
        return self.timeline.items()

    # -- selection -------------------------------------------------------------------------------------------

    def selected_rows(self) -> list[ScheduleRow]:
        sm = self.table.selectionModel()
        rows = sorted({i.row() for i in sm.selectedRows()}) if sm else []
        return [r for r in (self.model.row_at(n) for n in rows) if r is not None]

    def selected_ids(self) -> list[str]:
        return [r.id for r in self.selected_rows()]

    def select_schedule(self, schedule_id: str) -> bool:
        row = self.model.row_of(schedule_id)
        if row < 0:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, COL_TIME))
        return True

    def select_schedules(self, ids: Sequence[str]) -> None:
        self._restore_selection(ids)

    def _restore_selection(self, ids: Sequence[str]) -> None:
        sm = self.table.selectionModel()
        sm.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for sid in ids:
            row = self.model.row_of(sid)
            if row >= 0:
                sm.select(self.model.index(row, 0), flags)

    def _selection_changed(self, *_args) -> None:
        self.timeline.set_selected(self.selected_ids())
        self._update_buttons()

    def _update_buttons(self) -> None:
        rows = self.selected_rows()
        statuses = {r.status for r in rows}
        has_db = self.db is not None
        self.pause_button.setEnabled(has_db and bool(statuses & set(PAUSABLE)))
        self.resume_button.setEnabled(has_db and "paused" in statuses)
        self.cancel_button.setEnabled(has_db and bool(statuses & set(CANCELLABLE)))
        missed = [r for r in rows if r.status == "missed"]
        for b in (self.publish_now_button, self.skip_button):
            b.setEnabled(has_db and bool(missed))
        self.shift_button.setEnabled(has_db and len(missed) >= 1)
        self.channel_button.setEnabled(has_db and bool(self.channels))
        self.new_button.setEnabled(has_db)

    def _update_footer(self) -> None:
        total, shown = self.model.total_count(), self.model.rowCount()
        week = sum(len(i.schedule_ids) for i in self.timeline.items())
        text = f"{shown:,} of {total:,} schedules shown" if self.model.filtering else f"{total:,} schedules"
        self.footer.setText(f"{text} · {week:,} in the week on the timeline · times in {zone_name(self.zone)}, "
                            "each channel's own time beside it")

    def _update_banner(self) -> None:
        n = self.counts.get("missed", 0)
        self.banner.setVisible(n > 0)
        if n:
            self.banner_label.setText(f"⏰ {n} missed schedule{'s' if n != 1 else ''} wait{'s' if n == 1 else ''} for "
                                      "your decision: publish now, shift the wave, or skip.")

    # -- status bar --------------------------------------------------------------------------------------------

    def counts_text(self) -> str:
        c = self.counts
        if not c:
            return ""
        waiting = c.get("pending", 0) + c.get("scheduled", 0) + c.get("paused", 0)
        parts = [f"📅 {waiting:,} scheduled"]
        if c.get("missed"):
            parts.append(f"⏰ {c['missed']:,} missed")
        return " · ".join(parts)

    def activity_text(self) -> str:
        n = len(self.missed.running)
        return f"publishing {n} missed schedule{'s' if n != 1 else ''}" if n else ""

    # -- creating ----------------------------------------------------------------------------------------------

    def new_schedule(self, kind: str | None = None, **preset) -> Task | None:
        """Open the create dialog (after reading the videos and channels in the background)."""
        if self.db is None:
            return None
        if kind is None:
            kind = "simultaneous"
        channel = self.channel_filter.currentData()
        if channel is not None and "channel_ids" not in preset:
            preset["channel_ids"] = [channel]
        return self.worker.run(fetch_choices, self.db, name="Reading videos and channels", kind="read", quiet=True,
                               on_result=lambda choices: self._open_dialog(choices, kind, preset),
                               on_error=lambda exc: self.notifier.notify(f"Could not read the videos: {exc}", "error"))

    def _open_dialog(self, choices, kind: str, preset: dict[str, Any]) -> None:
        if self._closed:
            return
        if not choices.channels:
            self.notifier.notify("There is no channel to schedule on yet.", "error")
            return
        if self.dialog is not None:
            self.dialog.close()
        dialog = ScheduleDialog(self.worker, self.db, choices, self, zone=self.zone, kind=kind, **preset)
        dialog.saved.connect(self._created)
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None) if self.dialog is dialog else None)
        self.dialog = dialog
        dialog.open()

    def _created(self, ids: list[str]) -> None:
        self.notifier.notify(f"Created {len(ids)} schedule{'s' if len(ids) != 1 else ''}.", "success")
        self._pending_select = list(ids)
        self.loaded.connect(self._select_created)
        self.refresh(force=True)

    def _select_created(self) -> None:
        ids = getattr(self, "_pending_select", [])
        rows = [self.model.schedule(i) for i in ids if self.model.schedule(i) is not None]
        if len(rows) < len(ids) and self._refresher.pending:
            return  # this read started before the save; the next one has them
        self.loaded.disconnect(self._select_created)
        if rows:
            self.go_to_week(min(r.scheduled_at for r in rows).astimezone(self.zone).date())
        self._restore_selection(ids)
        if ids and self.model.row_of(ids[0]) >= 0:
            self.table.scrollTo(self.model.index(self.model.row_of(ids[0]), COL_TIME))

    # -- pause, resume, cancel ------------------------------------------------------------------------------------

    def pause_selected(self) -> Task | None:
        ids = [r.id for r in self.selected_rows() if r.status in PAUSABLE]
        return self._apply(ids, "pause", "paused") if ids else None

    def resume_selected(self) -> Task | None:
        ids = [r.id for r in self.selected_rows() if r.status == "paused"]
        return self._apply(ids, "resume", "resumed") if ids else None

    def cancel_selected(self) -> Task | None:
        rows = [r for r in self.selected_rows() if r.status in CANCELLABLE]
        if not rows:
            return None
        what = (f"“{rows[0].video_label}” on {rows[0].channel_name} at {fmt_time(rows[0].scheduled_at, self.zone)}"
                if len(rows) == 1 else f"these {len(rows)} schedules")
        answer = dialogs.ask("question", "Cancel schedules", f"Cancel {what}? A cancelled schedule never runs.",
                             ["Yes, cancel", "Keep them"], parent=self, default="Keep them")
        if answer != "Yes, cancel":
            return None
        return self._apply([r.id for r in rows], "cancel", "cancelled")

    def _apply(self, ids: list[str], action: str, verb: str) -> Task | None:
        def done(result: dict[str, Any]) -> None:
            text, kind = _summary(result, verb)
            self.notifier.notify(text, kind)

        return self._write(apply_to_schedules, ids, action, name=f"{verb.capitalize()} schedules", on_result=done)

    def channel_command(self, action: str, channel_id: str | None = None) -> Task | None:
        """Pause, resume or cancel every schedule of a channel (the filtered one, or asked for)."""
        if self.db is None or not self.channels:
            return None
        verbs = {"pause": "Pause", "resume": "Resume", "cancel": "Cancel"}
        channel_id = channel_id or self.channel_filter.currentData()
        if channel_id is None:
            labels = [c.label for c in self.channels]
            choice = dialogs.ask("menu", f"{verbs[action]} every schedule of which channel?", "", labels, parent=self)
            if choice is None:
                return None
            channel_id = self.channels[labels.index(choice)].id
        name = next((c.name for c in self.channels if c.id == channel_id), channel_id)
        if action == "cancel":
            answer = dialogs.ask("warning", "Cancel a channel's schedules",
                                 f"Cancel every schedule of {name} that has not run? They never run.",
                                 ["Yes, cancel all", "Keep them"], parent=self, default="Keep them")
            if answer != "Yes, cancel all":
                return None
        return self.channel_action(action, channel_id)

    def channel_action(self, action: str, channel_id: str) -> Task | None:
        """Without asking: pause, resume or cancel every schedule of ``channel_id``."""
        name = next((c.name for c in self.channels if c.id == channel_id), channel_id)
        verb = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action]

        def done(n: int) -> None:
            extra = " (schedules whose time passed while paused are now missed)" if action == "resume" else ""
            self.notifier.notify(f"{name}: {n} schedule{'s' if n != 1 else ''} {verb}{extra if n else ''}.",
                                 "success")

        return self._write(channel_action, channel_id, action, name=f"{verb.capitalize()} {name}'s schedules",
                           on_result=done)

    def pause_channel(self, channel_id: str) -> Task | None:
        return self.channel_action("pause", channel_id)

    def resume_channel(self, channel_id: str) -> Task | None:
        return self.channel_action("resume", channel_id)

    # -- missed -------------------------------------------------------------------------------------------------

    def _missed_selected(self) -> list[ScheduleRow]:
        return [r for r in self.selected_rows() if r.status == "missed"]

    def publish_now_selected(self) -> list[Task]:
        rows = self._missed_selected()
        return self.missed.publish_now([r.id for r in rows], labels=[_label(r) for r in rows])

    def shift_selected(self) -> Task | None:
        rows = self._missed_selected()
        if not rows:
            return None
        r = rows[0]
        return self.missed.shift(r.id, _label(r), r.scheduled_at)

    def skip_selected(self) -> Task | None:
        rows = self._missed_selected()
        return self.missed.skip([r.id for r in rows], labels=[_label(r) for r in rows])

    def _activated_id(self, schedule_id: str) -> None:
        self.select_schedule(schedule_id)
        r = self.model.schedule(schedule_id)
        if r is not None and r.status == "missed":
            self.missed.decide(r.id, _label(r), r.scheduled_at)

    def _activated_row(self, row: int) -> None:
        r = self.model.row_at(row)
        if r is not None and r.status == "missed":
            self.missed.decide(r.id, _label(r), r.scheduled_at)

    # -- context menu ----------------------------------------------------------------------------------------------

    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        menu = self.build_context_menu()
        menu.exec(self.table.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def build_context_menu(self) -> QMenu:
        rows = self.selected_rows()
        statuses = {r.status for r in rows}
        menu = QMenu(self)
        for text, slot, enabled in (
                ("⏸ Pause", self.pause_selected, bool(statuses & set(PAUSABLE))),
                ("▶ Resume", self.resume_selected, "paused" in statuses),
                ("⊘ Cancel…", self.cancel_selected, bool(statuses & set(CANCELLABLE)))):
            menu.addAction(text, slot).setEnabled(enabled)
        if "missed" in statuses:
            menu.addSeparator()
            menu.addAction("⏰ Publish now…", self.publish_now_selected)
            menu.addAction("⏩ Shift the wave…", self.shift_selected)
            menu.addAction("⏭ Skip…", self.skip_selected)
        if rows:
            menu.addSeparator()
            first = rows[0]
            menu.addAction("📅 Show on the timeline",
                           lambda: self.go_to_week(first.scheduled_at.astimezone(self.zone).date()))
            if first.wave_id:
                menu.addAction(f"🌊 Only wave {first.wave_id}", lambda: self.set_filters(wave=first.wave_id))
            menu.addAction(f"📺 Only {first.channel_name}", lambda: self.set_filters(channel_id=first.channel_id))
        return menu

    # -- settings and shutdown ---------------------------------------------------------------------------------------

    def save_state(self, settings: QSettings) -> None:
        settings.setValue("schedules/header", self.table.horizontalHeader().saveState())
        settings.setValue("schedules/split", self.split.saveState())

    def restore_state(self, settings: QSettings) -> None:
        header = settings.value("schedules/header")
        if header is not None:
            self.table.horizontalHeader().restoreState(header)
        split = settings.value("schedules/split")
        if split is not None:
            self.split.restoreState(split)

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.timer.stop()
        self._soon.stop()
        for task in list(self.missed.running.values()):
            task.cancel()
        if self.dialog is not None:
            self.dialog.close()


def _label(r: ScheduleRow) -> str:
    return f"“{r.video_label}” on {r.channel_name}"


def _separator(parent: QWidget) -> QFrame:
    line = QFrame(parent)
    line.setFrameShape(QFrame.Shape.VLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    return line


__all__ = ["MissedActions", "SchedulesTab", "apply_to_schedules", "channel_action", "new_start_for",
           "publish_missed", "shift_missed", "skip_missed"]
