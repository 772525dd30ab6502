"""The 🔀 Distribution tab: which video went to which channel, and why.

The decision log lists every distribution (video, channel, method, the reason in words,
status, retries, error), filterable by channel, method, status and text. Buttons run
``VideoDistributionService``: distribute by content filters or by posting schedule, a manual
distribution (with Force and a note), and retry the selected failed ones. Below, statistics
over a chosen date range with bar charts painted by :mod:`ui.widgets.bar_chart`.

Everything that touches the registry runs through the window's :class:`~ui.worker.Worker`;
every question goes through :func:`ui.dialogs.ask`.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any, Sequence

from PySide6.QtCore import QDate, QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui import dialogs
from ui.models.distribution_model import (
    COL_CHANNEL,
    COL_ERROR,
    COL_METHOD,
    COL_REASON,
    COL_RETRIES,
    COL_STATUS,
    COL_VIDEO,
    COL_WHEN,
    METHOD_FILTERS,
    STATUS_FILTERS,
    ChannelStatsModel,
    DistChanges,
    DistributionModel,
    fetch_distributions,
    fetch_statistics,
)
from ui.models.videos_model import PLATFORM_ICONS
from ui.notifications import Notifier
from ui.widgets.basics import centered_label, timer
from ui.widgets.bar_chart import Bar, BarChart
from ui.widgets.manual_distribution import ManualDistributionDialog
from ui.worker import Refresher, Task, Worker

log = logging.getLogger("asfs.ui.distribution")

REFRESH_INTERVAL_MS = 5000
FULL_EVERY = 60  # a full re-read every this many refreshes, for writers that stamp odd times
RANGES = (("All time", None), ("Today", 0), ("Last 7 days", 6), ("Last 30 days", 29), ("Custom range", "custom"))
STATUS_ACCENTS = {"assigned": "info", "scheduled": "busy", "published": "success", "failed": "error",
                  "cancelled": "muted"}
SKIP_WORDS = {"no_match": "matched no filter", "channel_unavailable": "channel unavailable",
              "video_not_ready": "video not ready", "over_limit": "over the per-video limit",
              "no_free_slot": "no free slot", "no_video": "no video for a slot"}

# -- background work (worker threads) -------------------------------------------------------------------


def run_auto(db, how: str):
    from orchestration.distribution import VideoDistributionService

    svc = VideoDistributionService(db)
    if how == "filters":
        return svc.auto_distribute_by_filters(actor="operator")
    return svc.auto_distribute_by_schedule(actor="operator")


def manual_choices(db) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """Ready videos (newest first) and every channel with why it is unavailable (for the dialog)."""
    from orchestration.channels import ChannelService

    videos = [(r[0], r[1] or r[0]) for r in db.query(
        "SELECT id, title FROM videos WHERE status = 'ready' ORDER BY created_at DESC, id")]
    channels = []
    for ch in ChannelService(db).list_channels():
        ok, why = ch.availability()
        channels.append({"id": ch.id, "name": ch.name, "platform": ch.platform, "status": ch.status,
                         "unavailable": "" if ok else why})
    return videos, channels


def run_manual(db, request: dict[str, Any]) -> dict[str, list]:
    """``manual_distribute`` for each chosen video; collects what was made and what was refused."""
    from database.errors import ASFSError
    from orchestration.distribution import VideoDistributionService

    svc = VideoDistributionService(db)
    out: dict[str, list] = {"made": [], "skipped": [], "errors": []}
    for vid in request["video_ids"]:
        try:
            made = svc.manual_distribute(vid, request["channel_ids"], scheduled_at=request["scheduled_at"],
                                         force=request["force"], actor="operator", note=request["note"])
        except ASFSError as exc:
            out["errors"].append((vid, str(exc)))
            continue
        out["made"] += list(made)
        out["skipped"] += made.skipped
    return out


def run_retries(task: Task, db, ids: Sequence[str]) -> dict[str, list]:
    """Retry failed distributions one by one (each publishes again); refusals are reported."""
    from database.errors import ASFSError
    from orchestration.distribution import VideoDistributionService

    svc = VideoDistributionService(db)
    out: dict[str, list] = {"published": [], "failed": [], "refused": []}
    for n, did in enumerate(ids):
        task.check()
        task.report((n, len(ids)))
        try:
            d = svc.retry_failed_distribution(did, actor="operator")
        except ASFSError as exc:
            out["refused"].append((did, str(exc)))
            continue
        (out["published"] if d.status == "published" else out["failed"]).append(d)
    return out


def day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The operator's local days as UTC instants: from the start of ``first`` through the end of ``last``."""
    start = datetime.combine(first, time(0)).astimezone() if first else None
    end = (datetime.combine(last + timedelta(days=1), time(0)).astimezone() - timedelta(microseconds=1)
           if last else None)
    return start, end


# -- the tab ------------------------------------------------------------------------------------------


class DistributionTab(QWidget):
    """The Distribution tab; see the module docstring.

    Signals:
        loaded(): the first load is in the model.
        refreshed(result): a refresh was applied (an ``ApplyResult``).
        statsChanged(stats): new statistics are shown.
        countsChanged(), activityChanged(): for the window's status bar.
    """

    TITLE = "🔀 Distribution"
    NAME = "distribution"

    loaded = Signal()
    refreshed = Signal(object)
    statsChanged = Signal(object)
    countsChanged = Signal()
    activityChanged = Signal()

    def __init__(self, worker: Worker, notifier: Notifier, parent: QWidget | None = None, *,
                 refresh_interval_ms: int = REFRESH_INTERVAL_MS):
        super().__init__(parent)
        self.setObjectName("distributionTab")
        self.worker = worker
        self.notifier = notifier
        self.db = None
        self._closed = False
        alive = lambda: self.db is not None and not self._closed  # noqa: E731
        self._refresher = Refresher(
            worker, lambda full: (fetch_distributions, self.db,
                                  None if (full or not self.model.loaded) else self.model.rev),
            name="Reading the decision log", on_result=self._apply, on_error=self._refresh_failed, alive=alive)
        self._ticks = 0
        self._stats_asked: dict[str, Any] | None = None  # the query of the count under way
        self._stats = Refresher(worker, lambda _full: self._stats_read(), name="Counting distributions",
                                on_result=self._stats_read_back, on_error=self._stats_failed, alive=alive)
        self._busy: dict[str, Task] = {}
        self._retry_progress = (0, 0)
        self._counts: dict[str, int] = {}
        self.stats: dict[str, Any] | None = None
        self.manual_dialog: ManualDistributionDialog | None = None
        self.model = DistributionModel(self)
        self.channel_stats = ChannelStatsModel(self)
        self._build()

        self.timer = timer(self, refresh_interval_ms, self._tick)
        self._auto_refresh = refresh_interval_ms > 0
        self._search_timer = timer(self, 200, self._apply_filter, single_shot=True)

    # -- building ----------------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 4)
        outer.setSpacing(6)

        bar = QHBoxLayout()
        self.by_filters_button = QPushButton("🔍 Auto-distribute by filters", self)
        self.by_filters_button.setToolTip("Assign every ready video to the available channels whose content filters "
                                          "it matches (best matches first)")
        self.by_filters_button.clicked.connect(lambda: self.auto_distribute("filters"))
        bar.addWidget(self.by_filters_button)
        self.by_schedule_button = QPushButton("🗓 By schedule", self)
        self.by_schedule_button.setToolTip("Auto-distribute by schedule: fill each channel's next free posting "
                                           "slot with a video")
        self.by_schedule_button.clicked.connect(lambda: self.auto_distribute("schedule"))
        bar.addWidget(self.by_schedule_button)
        self.manual_button = QPushButton("✋ Manual distribution…", self)
        self.manual_button.setToolTip("Choose videos and channels yourself (with Force to override the rules)")
        self.manual_button.clicked.connect(lambda: self.open_manual_dialog())
        bar.addWidget(self.manual_button)
        self.retry_button = QPushButton("🔁 Retry failed", self)
        self.retry_button.setToolTip("Publish the selected failed distributions again")
        self.retry_button.clicked.connect(lambda: self.retry(self.selected_ids()))
        bar.addWidget(self.retry_button)
        self.refresh_button = QPushButton("🔄", self)
        self.refresh_button.setToolTip("Read the log again now (it also refreshes every 5 seconds)")
        self.refresh_button.clicked.connect(lambda: self.refresh(full=True))
        bar.addWidget(self.refresh_button)
        bar.addSpacing(8)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("🔍 Search video, channel, reason, error…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        bar.addWidget(self.search, 1)
        self.channel_filter = QComboBox(self)
        self.channel_filter.addItem("All channels", None)
        self.channel_filter.setMinimumContentsLength(12)
        self.channel_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.channel_filter.currentIndexChanged.connect(self._apply_filter)
        bar.addWidget(self.channel_filter)
        self.method_filter = QComboBox(self)
        for label, value in METHOD_FILTERS:
            self.method_filter.addItem(label, value)
        self.method_filter.currentIndexChanged.connect(self._apply_filter)
        bar.addWidget(self.method_filter)
        self.status_filter = QComboBox(self)
        for label, value in STATUS_FILTERS:
            self.status_filter.addItem(label, value)
        self.status_filter.currentIndexChanged.connect(self._apply_filter)
        bar.addWidget(self.status_filter)
        outer.addLayout(bar)

        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setChildrenCollapsible(False)
        top = QWidget(self.splitter)
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget(top)
        self.loading_page = centered_label("Loading the decision log…", top)
        self.empty_page = centered_label(
            "No distributions yet.\n\nClick “🔍 Auto-distribute by filters” to assign the ready videos to the "
            "channels whose filters they match, “🗓 By schedule” to fill each channel's next posting slot, or "
            "“✋ Manual distribution…” to choose yourself.", top)
        self.no_match_page = centered_label("No distribution matches the search and filters.", top)
        self.table = QTableView(top)
        self.table.setObjectName("distributionTable")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(COL_WHEN, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        for col, width in ((COL_WHEN, 118), (COL_VIDEO, 170), (COL_CHANNEL, 125), (COL_METHOD, 135),
                           (COL_REASON, 280), (COL_STATUS, 190), (COL_RETRIES, 56), (COL_ERROR, 160)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        for page in (self.loading_page, self.empty_page, self.no_match_page, self.table):
            self.stack.addWidget(page)
        tl.addWidget(self.stack, 1)
        self.footer = QLabel(top)
        self.footer.setTextFormat(Qt.TextFormat.PlainText)
        tl.addWidget(self.footer)
        self.splitter.addWidget(top)
        stats = QScrollArea(self.splitter)
        stats.setWidgetResizable(True)
        stats.setFrameShape(QFrame.Shape.NoFrame)
        stats.setWidget(self._stats_panel())
        self.splitter.addWidget(stats)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([520, 240])
        outer.addWidget(self.splitter, 1)

        self.model.modelReset.connect(self._update_view_state)
        self.model.rowsInserted.connect(self._update_view_state)
        self.model.rowsRemoved.connect(self._update_view_state)
        self._update_buttons()

    def _stats_panel(self) -> QWidget:
        panel = QFrame(self)
        panel.setObjectName("distributionStats")
        panel.setFrameShape(QFrame.Shape.StyledPanel)
        row = QHBoxLayout(panel)
        row.setContentsMargins(10, 8, 10, 8)
        row.setSpacing(18)

        left = QVBoxLayout()
        heading = QLabel("📊 Statistics", panel)
        font = heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        heading.setFont(font)
        left.addWidget(heading)
        ranges = QHBoxLayout()
        self.range_choice = QComboBox(panel)
        for label, value in RANGES:
            self.range_choice.addItem(label, value)
        self.range_choice.setCurrentIndex(3)  # the last 30 days
        self.range_choice.currentIndexChanged.connect(self._range_chosen)
        ranges.addWidget(self.range_choice)
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-29), panel)
        self.date_to = QDateEdit(today, panel)
        for edit, tip in ((self.date_from, "First day (your local time)"), (self.date_to, "Last day, included")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setToolTip(tip)
            edit.dateChanged.connect(self._dates_edited)
        ranges.addWidget(self.date_from)
        ranges.addWidget(QLabel("–", panel))
        ranges.addWidget(self.date_to)
        ranges.addStretch(1)
        left.addLayout(ranges)
        self.totals = QLabel(panel)
        self.totals.setTextFormat(Qt.TextFormat.PlainText)
        self.totals.setWordWrap(True)
        self.totals.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        left.addWidget(self.totals, 1)
        row.addLayout(left, 3)

        self.status_chart = BarChart("By status", panel)
        row.addWidget(self.status_chart, 3)
        self.method_chart = BarChart("By method", panel)
        row.addWidget(self.method_chart, 3)
        self.channel_chart = BarChart("Success rate per channel", panel, maximum=100.0)
        row.addWidget(self.channel_chart, 4)
        self._dates_enabled()
        return panel

    # -- loading and refreshing --------------------------------------------------------------------

    def attach(self, db) -> None:
        """Use this registry; loads the log and the statistics in the background."""
        self.db = db
        self.refresh(full=True)

    @property
    def refreshing(self) -> bool:
        return self._refresher.running

    def is_ready(self) -> bool:
        return (self.model.loaded and not self._refresher.running and not self._stats.running
                and self.stats is not None and not self._busy)

    def _tick(self) -> None:
        self._ticks += 1
        self.refresh(full=self._ticks % FULL_EVERY == 0)

    def refresh(self, full: bool = False) -> Task | None:
        """Fetch what changed since the last refresh (or everything, ``full``)."""
        return self._refresher.request(full)

    def _apply(self, changes: DistChanges) -> None:
        if self._closed:
            return
        first = not self.model.loaded
        result = self.model.apply(changes)
        self._update_channel_filter()
        self._set_counts(changes.status_counts, changes.count)
        if not changes.full and self.model.total_count() != changes.count:
            self._refresher.again(full=True)  # rows vanished (a channel or video was deleted): read everything once
        self._update_view_state()
        self._update_buttons()
        if first or result.anything:
            self.refresh_stats()
        if first:
            if self._auto_refresh and not self.timer.isActive():
                self.timer.start()
            self.loaded.emit()
        self.refreshed.emit(result)

    def _refresh_failed(self, exc: BaseException) -> None:
        log.warning("reading the decision log failed: %s", exc)
        if not self.model.loaded:
            self.loading_page.setText(f"Could not read the decision log: {exc}")
        if self.notifier.status_bar is not None:
            self.notifier.status_bar.showMessage(f"Reading the decision log failed: {exc}", 5000)

    def _set_counts(self, by_status: dict[str, int], total: int) -> None:
        counts = {"total": total, **by_status}
        if counts != self._counts:
            self._counts = counts
            self.countsChanged.emit()

    def counts_text(self) -> str:
        c = self._counts
        if not c or not c.get("total"):
            return ""
        text = f"🔀 {c['total']:,} assignment{'s' if c['total'] != 1 else ''}"
        if c.get("failed"):
            text += f", {c['failed']:,} failed"
        return text

    def activity_text(self) -> str:
        parts = []
        if "filters" in self._busy:
            parts.append("distributing by filters")
        if "schedule" in self._busy:
            parts.append("distributing by schedule")
        if "manual" in self._busy:
            parts.append("manual distribution")
        if "retry" in self._busy:
            done, total = self._retry_progress
            parts.append(f"🔁 retrying {done}/{total}")
        return " · ".join(parts)

    def _start(self, key: str, task: Task) -> Task:
        self._busy[key] = task
        self.activityChanged.emit()
        self._update_buttons()
        return task

    def _finish(self, key: str) -> None:
        self._busy.pop(key, None)
        if not self._closed:
            self.activityChanged.emit()
            self._update_buttons()
            self.refresh()

    def _update_view_state(self, *_args) -> None:
        if not self.model.loaded:
            self.stack.setCurrentWidget(self.loading_page)
            return
        total, shown = self.model.total_count(), self.model.rowCount()
        if total == 0:
            self.stack.setCurrentWidget(self.empty_page)
        else:
            self.stack.setCurrentWidget(self.table if shown else self.no_match_page)
        self.footer.setText(f"{shown:,} of {total:,} distributions match the search and filters"
                            if self.model.filtering and total else "")
        self.footer.setVisible(self.model.filtering and total > 0)

    def _update_channel_filter(self) -> None:
        wanted = sorted(self.model.channels.items(), key=lambda kv: (kv[1][1], kv[1][0].casefold()))
        have = [(self.channel_filter.itemData(i), self.channel_filter.itemText(i))
                for i in range(1, self.channel_filter.count())]
        labels = [(cid, f"{PLATFORM_ICONS.get(p, '')} {name}".strip()) for cid, (name, p) in wanted]
        if labels == have:
            return
        current = self.channel_filter.currentData()
        self.channel_filter.blockSignals(True)
        while self.channel_filter.count() > 1:
            self.channel_filter.removeItem(1)
        for cid, label in labels:
            self.channel_filter.addItem(label, cid)
        index = self.channel_filter.findData(current) if current else 0
        self.channel_filter.setCurrentIndex(max(0, index))
        self.channel_filter.blockSignals(False)
        if current and index < 0:
            self._apply_filter()

    # -- filtering and selection ---------------------------------------------------------------------

    def _apply_filter(self, *_args) -> None:
        self._search_timer.stop()
        self.model.set_filter(channel=self.channel_filter.currentData(), method=self.method_filter.currentData(),
                              status=self.status_filter.currentData(), text=self.search.text())
        self._update_view_state()
        self._update_buttons()

    def set_search(self, text: str) -> None:
        self.search.setText(text)
        self._apply_filter()

    def selected_ids(self) -> list[str]:
        sm = self.table.selectionModel()
        rows = sorted({i.row() for i in sm.selectedRows()}) if sm is not None else []
        return [k for k in (self.model.key_at(r) for r in rows) if k is not None]

    def select(self, ids: Sequence[str]) -> int:
        from PySide6.QtCore import QItemSelection, QItemSelectionModel

        selection = QItemSelection()
        for key in ids:
            row = self.model.row_of(key)
            if row >= 0:
                selection.select(self.model.index(row, 0), self.model.index(row, self.model.columnCount() - 1))
        self.table.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        return len(selection.indexes()) // max(1, self.model.columnCount())

    def _update_buttons(self) -> None:
        failed = [r for r in (self.model.get(k) for k in self.selected_ids()) if r is not None and r.status == "failed"]
        self.retry_button.setEnabled(bool(failed) and "retry" not in self._busy)
        self.retry_button.setText(f"🔁 Retry failed ({len(failed)})" if failed else "🔁 Retry failed")
        for key, button in (("filters", self.by_filters_button), ("schedule", self.by_schedule_button),
                            ("manual", self.manual_button)):
            button.setEnabled(key not in self._busy and self.db is not None)

    # -- actions -----------------------------------------------------------------------------------------

    def auto_distribute(self, how: str) -> Task | None:
        """Run distribution by content filters (``"filters"``) or by posting schedule (``"schedule"``)."""
        if self.db is None or how in self._busy:
            return None
        what = "by filters" if how == "filters" else "by schedule"
        task = self.worker.run(run_auto, self.db, how, name=f"Distributing {what}", kind="distribute",
                               on_result=lambda made: self._auto_done(what, made),
                               on_error=lambda exc: self.notifier.notify(f"Distribution {what} failed: {exc}",
                                                                         "error"),
                               on_done=lambda _t: self._finish(how))
        return self._start(how, task)

    def _auto_done(self, what: str, made) -> None:
        skipped = getattr(made, "skipped", [])
        codes = Counter(s.get("code") for s in skipped)
        text = f"Distribution {what}: {len(made)} new assignment{'s' if len(made) != 1 else ''}"
        if skipped:
            dup = sum(n for c, n in codes.items() if c and (c.startswith("already") or c.startswith("same")
                                                             or c.startswith("previously") or c == "in_progress"))
            parts = [f"{n} {SKIP_WORDS.get(c, (c or '').replace('_', ' '))}" for c, n in codes.most_common()
                     if c in SKIP_WORDS]
            if dup:
                parts.append(f"{dup} already there")
            text += " (not assigned: " + ", ".join(parts) + ")" if parts else ""
        self.notifier.notify(text + ".", "success" if made else "info")

    def open_manual_dialog(self, preselect: Sequence[str] | None = None) -> Task | None:
        """Read the ready videos and the channels, then show the manual distribution dialog."""
        if self.db is None or "manual" in self._busy:
            return None
        if preselect is None:
            preselect = [r.video_id for r in (self.model.get(k) for k in self.selected_ids()) if r is not None]
        return self.worker.run(manual_choices, self.db, name="Reading videos and channels", kind="read",
                               quiet=True, on_result=lambda choices: self._show_manual(choices, preselect),
                               on_error=lambda exc: self.notifier.notify(f"Could not read the videos: {exc}",
                                                                         "error"))

    def _show_manual(self, choices, preselect: Sequence[str]) -> None:
        if self._closed:
            return
        videos, channels = choices
        if not videos:
            dialogs.ask("info", "Manual distribution", "There is no ready video to distribute. Add videos in the "
                        "Videos tab first.", ["OK"], parent=self)
            return
        if self.manual_dialog is not None:
            self.manual_dialog.close()
        dialog = ManualDistributionDialog(videos, channels, self, preselect=preselect)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.accepted.connect(lambda: self.distribute_manually(dialog.request()))
        dialog.destroyed.connect(lambda *_: setattr(self, "manual_dialog", None))
        self.manual_dialog = dialog
        dialog.open()

    def distribute_manually(self, request: dict[str, Any]) -> Task | None:
        """Run ``manual_distribute`` for the dialog's request in the background."""
        if self.db is None:
            return None
        task = self.worker.run(run_manual, self.db, request, name="Manual distribution", kind="distribute",
                               on_result=lambda out: self._manual_done(out, request),
                               on_error=lambda exc: self.notifier.notify(f"Manual distribution failed: {exc}",
                                                                         "error"),
                               on_done=lambda _t: self._finish("manual"))
        return self._start("manual", task)

    def _manual_done(self, out: dict[str, list], request: dict[str, Any]) -> None:
        made, skipped, errors = out["made"], out["skipped"], out["errors"]
        text = (f"Manual distribution: {len(made)} assignment{'s' if len(made) != 1 else ''}"
                + (" (forced)" if request["force"] and made else "") + ".")
        problems = [f"{self.model.title(s.get('video_id') or '')} → {self.model.channel_name(s.get('channel_id') or '')}: "
                    f"{s.get('reason')}" for s in skipped] + [f"{self.model.title(v)}: {why}" for v, why in errors]
        if problems:
            text += f"\nNot assigned ({len(problems)}):\n" + "\n".join(problems[:3])
            if len(problems) > 3:
                text += f"\n… and {len(problems) - 3} more"
        self.notifier.notify(text, "error" if problems and not made else ("info" if problems else "success"))

    def retry(self, ids: Sequence[str]) -> Task | None:
        """Publish the selected failed distributions again (asks first)."""
        rows = [r for r in (self.model.get(k) for k in ids) if r is not None and r.status == "failed"]
        if self.db is None or "retry" in self._busy:
            return None
        if not rows:
            self.notifier.notify("Select failed distributions in the log to retry them.")
            return None
        used_up = [r for r in rows if not r.can_retry]
        text = (f"Publish {len(rows)} failed distribution{'s' if len(rows) != 1 else ''} again now? Each one goes "
                "through its channel's uploader; a retry that fails again counts against its retries.")
        if used_up:
            text += (f"\n\n{len(used_up)} of them used every retry already and will be refused; distribute those "
                     "again by hand with Force.")
        answer = dialogs.ask("question", "Retry failed distributions", text, ["Retry", "Cancel"], parent=self)
        if answer != "Retry":
            return None
        self._retry_progress = (0, len(rows))
        task = self.worker.run(run_retries, self.db, [r.key for r in rows], name="Retrying distributions",
                               kind="retry", long=True, with_task=True, on_progress=self._retry_step,
                               on_result=self._retried,
                               on_error=lambda exc: self.notifier.notify(f"Retrying failed: {exc}", "error"),
                               on_done=lambda _t: self._finish("retry"))
        return self._start("retry", task)

    def _retry_step(self, value) -> None:
        self._retry_progress = value
        self.activityChanged.emit()

    def _retried(self, out: dict[str, list]) -> None:
        ok, bad, refused = out["published"], out["failed"], out["refused"]
        text = f"Retry: {len(ok)} published, {len(bad)} failed again, {len(refused)} refused."
        for d in bad[:2]:
            text += f"\n{self.model.title(d.video_id)} → {d.channel_name or d.channel_id}: {d.error_message}"
        for _did, why in refused[:2]:
            text += f"\n{why}"
        self.notifier.notify(text, "success" if ok and not (bad or refused) else "error")

    # -- statistics ----------------------------------------------------------------------------------------

    def _range_chosen(self, *_args) -> None:
        value = self.range_choice.currentData()
        if isinstance(value, int):
            today = QDate.currentDate()
            for edit, day in ((self.date_from, today.addDays(-value)), (self.date_to, today)):
                edit.blockSignals(True)
                edit.setDate(day)
                edit.blockSignals(False)
        self._dates_enabled()
        self.refresh_stats()

    def _dates_edited(self, *_args) -> None:
        custom = self.range_choice.findData("custom")
        if self.range_choice.currentIndex() != custom:
            self.range_choice.blockSignals(True)
            self.range_choice.setCurrentIndex(custom)
            self.range_choice.blockSignals(False)
        self._dates_enabled()
        self.refresh_stats()

    def _dates_enabled(self) -> None:
        on = self.range_choice.currentData() is not None
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)

    def set_range(self, first: date | None, last: date | None) -> None:
        """Statistics over these local days (None, None: all time)."""
        if first is None and last is None:
            self.range_choice.setCurrentIndex(self.range_choice.findData(None))
            return
        for edit, day in ((self.date_from, first), (self.date_to, last)):
            if day is not None:
                edit.blockSignals(True)
                edit.setDate(QDate(day.year, day.month, day.day))
                edit.blockSignals(False)
        self._dates_edited()

    def stats_query(self) -> dict[str, Any]:
        """The arguments of ``get_distribution_statistics`` for the range shown."""
        if self.range_choice.currentData() is None:
            return {"channel_id": None, "start_date": None, "end_date": None}
        first, last = self.date_from.date().toPython(), self.date_to.date().toPython()
        start, end = day_bounds(first, last)
        return {"channel_id": None, "start_date": start, "end_date": end}

    def refresh_stats(self) -> Task | None:
        return self._stats.request()

    def _stats_read(self) -> tuple | None:
        q = self.stats_query()
        if q["start_date"] and q["end_date"] and q["start_date"] > q["end_date"]:
            self.totals.setText("The first day is after the last day.")
            self.stats = {}
            return None
        self._stats_asked = q
        return fetch_statistics, self.db, q["channel_id"], q["start_date"], q["end_date"]

    def _stats_read_back(self, stats: dict[str, Any]) -> None:
        if self._stats_asked == self.stats_query():
            self._show_stats(stats)
        else:  # the range changed meanwhile: count again
            self._stats.again()

    def _stats_failed(self, exc: BaseException) -> None:
        self.stats = {}
        self.totals.setText(f"Could not count the distributions: {exc}")

    def _show_stats(self, stats: dict[str, Any]) -> None:
        if self._closed:
            return
        self.stats = stats
        self.channel_stats.set_stats(stats)
        total = stats["total"]
        m = stats["by_method"]
        lines = [f"{total:,} assignment{'s' if total != 1 else ''} in this period",
                 f"✔ {stats['published_count']:,} published · ✖ {stats['failed_count']:,} failed · "
                 f"⚡ {stats['forced_count']:,} forced",
                 f"Success rate {stats['success_rate']:.1f}% · error rate {stats['error_rate']:.1f}%",
                 f"By filters {m.get('auto_filter', 0):,} · by schedule {m.get('auto_schedule', 0):,} · "
                 f"manual {m.get('manual', 0):,}"]
        self.totals.setText("\n".join(lines))
        self.status_chart.set_bars([Bar(s.capitalize(), n, f"{n:,}", STATUS_ACCENTS.get(s, "info"))
                                    for s, n in stats["by_status"].items()] if total else [])
        self.method_chart.set_bars([Bar(label, m.get(key, 0), f"{m.get(key, 0):,}", "info")
                                    for key, label in (("auto_filter", "By filters"), ("auto_schedule", "By schedule"),
                                                       ("manual", "Manual"))] if total else [])
        bars = []
        for c in self.channel_stats.rows():
            rate = float(c.get("success_rate") or 0.0)
            name = c.get("name") or c["channel_id"]
            bars.append(Bar(name, rate, f"{rate:.0f}% · {c.get('published') or 0}/{c.get('total') or 0}",
                            "success" if rate >= 50 else ("warning" if rate > 0 else "muted"),
                            tooltip=f"{name}: {c.get('published') or 0} published, {c.get('failed') or 0} failed "
                                    f"of {c.get('total') or 0} assignments ({rate:.1f}%)"))
        self.channel_chart.set_bars(bars)
        self.statsChanged.emit(stats)

    # -- settings and shutdown -----------------------------------------------------------------------------

    def save_state(self, settings: QSettings) -> None:
        settings.setValue("distribution/header", self.table.horizontalHeader().saveState())
        settings.setValue("distribution/splitter", self.splitter.saveState())
        settings.setValue("distribution/range", self.range_choice.currentIndex())

    def restore_state(self, settings: QSettings) -> None:
        for key, target in (("distribution/header", self.table.horizontalHeader()),
                            ("distribution/splitter", self.splitter)):
            state = settings.value(key)
            if state is not None:
                target.restoreState(state)
        index = settings.value("distribution/range")
        try:
            index = int(index) if index is not None else -1
        except (TypeError, ValueError):
            index = -1
        if 0 <= index < self.range_choice.count() and self.range_choice.itemData(index) != "custom":
            self.range_choice.setCurrentIndex(index)

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.timer.stop()
        self._search_timer.stop()
        if self.manual_dialog is not None:
            self.manual_dialog.close()
        for task in list(self._busy.values()):
            task.cancel()

