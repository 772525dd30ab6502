"""The 🎬 Videos tab (seed 003, "UI - Videos Tab"): every video, its state on each platform,
per-platform upload buttons, Allow Duplicates, Upload All Pending, live refresh.

Everything that touches the registry, the disk or an uploader runs through the window's
:class:`~ui.worker.Worker`; every question goes through :func:`ui.dialogs.ask`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import QPoint, QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import dialogs
from ui.delegates import CheckBoxDelegate, ThumbnailDelegate, UploadButtonsDelegate
from ui.models.videos_model import (
    COL_ACTIONS,
    COL_DUP,
    COL_DURATION,
    COL_THUMB,
    COL_TITLE,
    PLATFORM_COLUMNS,
    PLATFORM_ICONS,
    PLATFORMS_SHOWN,
    R_PATH,
    R_UPLOADS,
    STATUS_FILTERS,
    U_URL,
    Changes,
    Snapshot,
    VideosModel,
    fetch_changes,
    fetch_snapshot,
    format_time,
    write_export,
)
from ui.notifications import Notifier
from ui.progress import ProgressPanel
from ui.thumbnails import Thumbnails
from ui.widgets.basics import centered_label, timer
from ui.worker import Refresher, Task, Worker

log = logging.getLogger("asfs.ui.videos")

REFRESH_INTERVAL_MS = 5000
DUPLICATE_CODES = {"duplicate", "duplicate_content", "duplicate_source"}
RETRY_WITH_DUPLICATES = "Allow duplicates and retry"
VIDEO_FILTER = "Videos (*.mp4 *.mov *.m4v *.mkv *.webm *.avi);;All files (*)"

# -- background work (runs on worker threads; plain Python, no widgets) -------------------------


def publish_one(task: Task, db, video_id: str, channel_id: str):
    """One manual upload; its progress goes to the task."""
    from orchestration.publishing import Publisher

    return Publisher(db).publish(
        video_id, channel_id, manual=True, actor="operator", cancel_event=task.cancel_event,
        progress=lambda fraction, stage: task.report((fraction, stage)),
    )


def find_pending(db) -> list[tuple[str, str]]:
    from orchestration.publishing import Publisher

    return Publisher(db).pending_pairs()


def run_bulk(task: Task, registry_path: str, pairs: list[tuple[str, str]], max_parallel: int):
    """Upload All Pending on its own Database: its pool threads come and go with this call."""
    from database import Database
    from orchestration.publishing import Publisher

    db = Database.open(registry_path)
    try:
        return Publisher(db).upload_all_pending(pairs=pairs, max_parallel=max_parallel, progress=task.report,
                                                cancel_event=task.cancel_event)
    finally:
        db.close()


def set_duplicate_allowed(db, video_id: str, allowed: bool, reason: str) -> bool:
    from database import VideoRegistry

    VideoRegistry(db).set_duplicate_allowed(video_id, allowed, actor="operator", reason=reason)
    return allowed


def ingest_paths(task: Task, db, paths: list[str]):
    """Register files and folders (pipeline.ingest), reporting each file and hashing progress."""
    from database import VideoRegistry
    from pipeline import ingest

    last = [0.0]

    def progress(event: str, path: str, done: int, total: int) -> None:
        task.check()
        now = time.monotonic()
        if event == "file" or now - last[0] > 0.1:
            last[0] = now
            task.report((event, path, done, total))

    return ingest(paths, VideoRegistry(db), progress=progress)


def video_history(db, video_id: str, channel_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The audit trail of one video: upload state changes and decisions, oldest first."""
    audit = db.audit
    rows = []
    for e in audit.upload_events(video_id=video_id):
        details = e.get("error_message") or ""
        if e.get("upload_id"):
            details = f"post {e['upload_id']}" + (f"; {details}" if details else "")
        if e.get("retry_count"):
            details += f"{'; ' if details else ''}retries {e['retry_count']}"
        rows.append({"ts": e["timestamp"], "what": "upload", "channel": e.get("channel_id") or e.get("platform"),
                     "status": e["status"], "by": "", "details": details})
    subjects = [video_id] + [f"{video_id}@{cid}" for cid in channel_ids]
    for subject in subjects:
        for e in audit.events(subject_id=subject):
            channel = subject.split("@", 1)[1] if "@" in subject else ""
            rows.append({"ts": e["timestamp"], "what": e["kind"], "channel": channel, "status": "",
                         "by": e.get("actor") or "", "details": e.get("message") or ""})
    rows.sort(key=lambda r: r["ts"])
    for r in rows:
        r["time"] = format_time(r["ts"], seconds=True)
    return rows


# -- the tab ------------------------------------------------------------------------------------


class VideosTab(QWidget):
    """The Videos tab. Give it a registry with :meth:`attach`; it loads in the background.

    Signals:
        loaded(): the first load (or a reload) is in the model.
        refreshed(result): a refresh was applied (an :class:`ApplyResult`).
        countsChanged(): :meth:`counts_text` changed.
        activityChanged(): :meth:`activity_text` changed.
    """

    TITLE = "🎬 Videos"
    NAME = "videos"

    loaded = Signal()
    refreshed = Signal(object)
    countsChanged = Signal()
    activityChanged = Signal()

    def __init__(self, worker: Worker, notifier: Notifier, parent: QWidget | None = None, *,
                 refresh_interval_ms: int = REFRESH_INTERVAL_MS, max_parallel: int = 4):
        super().__init__(parent)
        self.setObjectName("videosTab")
        self.worker = worker
        self.notifier = notifier
        self.db = None
        self.max_parallel = max_parallel
        self.counts: dict[str, int] = {}
        self._refresher = Refresher(
            worker, lambda _full: (fetch_changes, self.db, self.model.rev) if self._can_refresh() else None,
            # looked up per call: bench/videos_tab.py times _apply_changes by wrapping it
            name="Refreshing videos", on_result=lambda changes: self._apply_changes(changes),
            on_error=self._refresh_failed,
            alive=lambda: self.db is not None and not self._closed)
        self._load_task: Task | None = None
        self._uploads: dict[tuple[str, str], Task] = {}
        self._bulk: Task | None = None
        self._bulk_counts = (0, 0)
        self._ingest: Task | None = None
        self._ingest_text = ""
        self._closed = False
        self.setAcceptDrops(True)

        self.thumbnails = Thumbnails(worker, dpr=self.devicePixelRatioF(), parent=self)
        self.model = VideosModel(self.thumbnails, self)
        self.model.duplicateToggled.connect(self._write_duplicate)

        self._build()

        self.timer = timer(self, refresh_interval_ms, self.refresh)
        self._auto_refresh = refresh_interval_ms > 0
        # a refresh shortly after an upload finishes, coalesced
        self._soon = timer(self, 250, self.refresh, single_shot=True)
        self._search_timer = timer(self, 200, self._apply_filter, single_shot=True)

    # -- building -------------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 4)
        outer.setSpacing(6)

        bar = QHBoxLayout()
        self.add_button = QToolButton(self)
        self.add_button.setText("➕ Add videos")
        self.add_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.add_button.setToolTip("Register video files (Ctrl+O); you can also drop files or folders here")
        add_menu = QMenu(self.add_button)
        add_menu.addAction("Add files…", self.add_videos)
        add_menu.addAction("Add a folder…", self.add_folder)
        self.add_button.setMenu(add_menu)
        self.add_button.clicked.connect(self.add_videos)
        bar.addWidget(self.add_button)

        self.refresh_button = QPushButton("🔄 Refresh", self)
        self.refresh_button.setToolTip("Fetch what changed now (F5); the table also refreshes every 5 seconds")
        self.refresh_button.clicked.connect(self.refresh)
        bar.addWidget(self.refresh_button)

        self.upload_all_button = QPushButton("⬆ Upload All Pending", self)
        self.upload_all_button.setToolTip("Upload every video to every channel where it is not uploaded yet "
                                          "(Ctrl+Shift+U)")
        self.upload_all_button.clicked.connect(self.upload_all_pending)
        bar.addWidget(self.upload_all_button)

        self.cancel_button = QPushButton("⏹ Cancel uploads", self)
        self.cancel_button.setToolTip("Stop running uploads before they publish (Ctrl+Shift+X)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_uploads)
        bar.addWidget(self.cancel_button)
        bar.addSpacing(12)

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("🔍 Search titles…  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(200)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        bar.addWidget(self.search, 1)

        self.status_filter = QComboBox(self)
        for label, statuses in STATUS_FILTERS:
            self.status_filter.addItem(label, statuses)
        self.status_filter.setToolTip("Show only videos with this state (on the chosen platform)")
        self.status_filter.currentIndexChanged.connect(self._apply_filter)
        bar.addWidget(self.status_filter)

        self.platform_filter = QComboBox(self)
        self.platform_filter.addItem("All platforms", None)
        for p in PLATFORMS_SHOWN:
            self.platform_filter.addItem(f"{PLATFORM_ICONS[p]} {p}", p)
        self.platform_filter.setToolTip("Look at one platform's channels only")
        self.platform_filter.currentIndexChanged.connect(self._apply_filter)
        bar.addWidget(self.platform_filter)

        self.export_button = QPushButton("Export", self)
        self.export_button.setToolTip("Save the rows shown to a CSV or JSON file (Ctrl+E)")
        export_menu = QMenu(self.export_button)
        export_menu.addAction("Export as CSV…", lambda: self.export(fmt="csv"))
        export_menu.addAction("Export as JSON…", lambda: self.export(fmt="json"))
        self.export_button.setMenu(export_menu)
        bar.addWidget(self.export_button)
        outer.addLayout(bar)

        self.stack = QStackedWidget(self)
        self.loading_page = centered_label("Loading the registry…", self)
        self.empty_page = self._empty_page()
        self.table = QTableView(self)
        self.table.setObjectName("videosTable")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        vheader = self.table.verticalHeader()
        vheader.setVisible(False)
        vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vheader.setDefaultSectionSize(46)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        widths = {COL_THUMB: 64, COL_TITLE: 260, COL_DURATION: 76, COL_DUP: 128, COL_ACTIONS: 156}
        for col, width in widths.items():
            self.table.setColumnWidth(col, width)
        for col in PLATFORM_COLUMNS.values():
            self.table.setColumnWidth(col, 132)
        self.buttons = UploadButtonsDelegate(lambda p: len(self.model.channels_for(p)), self.table)
        self.buttons.clicked.connect(self._platform_clicked)
        self.table.setItemDelegateForColumn(COL_ACTIONS, self.buttons)
        self.table.setItemDelegateForColumn(COL_THUMB, ThumbnailDelegate(self.table))
        self.table.setItemDelegateForColumn(COL_DUP, CheckBoxDelegate(self.table))
        self.table.setMouseTracking(True)
        for page in (self.loading_page, self.empty_page, self.table):
            self.stack.addWidget(page)
        self.stack.setCurrentWidget(self.loading_page)
        outer.addWidget(self.stack, 1)

        self.progress = ProgressPanel(self)
        outer.addWidget(self.progress)

        self.footer = QLabel(self)
        self.footer.setTextFormat(Qt.TextFormat.PlainText)
        outer.addWidget(self.footer)

        self.model.modelReset.connect(self._update_view_state)
        self.model.rowsInserted.connect(self._update_view_state)
        self.model.rowsRemoved.connect(self._update_view_state)

    def _empty_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        heading = QLabel("🎬 No videos yet", page)
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        heading.setFont(font)
        heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(heading)
        text = QLabel(page)
        text.setTextFormat(Qt.TextFormat.PlainText)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)
        text.setText(
            "Add your first video:\n"
            "• click “➕ Add videos” below (or press Ctrl+O) and pick video files,\n"
            "• or drop video files or whole folders onto this window,\n"
            "• or, from a terminal:  python pipeline.py my_video.mp4\n\n"
            "Each video is probed, hashed and given a thumbnail; then its 📷 🎵 ▶ buttons upload it."
        )
        text.setObjectName("emptyStateText")
        layout.addWidget(text)
        button = QPushButton("➕ Add videos…", page)
        button.clicked.connect(self.add_videos)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
        self.empty_text = text
        self.empty_add_button = button
        return page

    # -- attaching, loading, refreshing ---------------------------------------------------------------

    def attach(self, db) -> None:
        """Use this registry; loads the table in the background."""
        self.db = db
        self.reload()

    def reload(self) -> None:
        """Load everything again (first load, or after rows vanished from the registry)."""
        if self.db is None or self._closed or self._load_task is not None:
            return
        self._load_task = self.worker.run(fetch_snapshot, self.db, name="Loading videos", kind="load",
                                          quiet=True, on_result=self._loaded, on_error=self._load_failed,
                                          on_done=self._load_done)

    def _loaded(self, snap: Snapshot) -> None:
        if self._closed:
            return
        self.model.load(snap)
        self._set_counts(snap.counts)
        self._update_view_state()
        if self._auto_refresh and not self.timer.isActive():
            self.timer.start()
        self.loaded.emit()

    def _load_failed(self, exc: BaseException) -> None:
        self.loading_page.setText(f"Could not read the registry: {exc}")
        self.notifier.notify(f"Could not read the registry: {exc}", "error")

    def _load_done(self, _task: Task) -> None:
        self._load_task = None

    @property
    def refreshing(self) -> bool:
        return self._refresher.running

    def is_ready(self) -> bool:
        """Loaded, with no refresh in flight (what a screenshot waits for)."""
        return self.model.loaded and not self._refresher.running and self._load_task is None

    def _can_refresh(self) -> bool:
        """A refresh reads changes since the last load: none before it or while one runs."""
        return self.model.loaded and self._load_task is None

    def refresh(self) -> Task | None:
        """Fetch only what changed since the last refresh (🔄, F5, every 5 seconds)."""
        return self._refresher.request()

    def schedule_refresh(self) -> None:
        if not self._closed:
            self._soon.start()

    def _apply_changes(self, changes: Changes) -> None:
        if self._closed:
            return
        result = self.model.apply(changes)
        self._set_counts(changes.counts)
        if result.reload_needed:
            self.reload()
        self._update_view_state()
        self.refreshed.emit(result)

    def _refresh_failed(self, exc: BaseException) -> None:
        # A locked or briefly unavailable registry: say so once in the status bar, try next tick.
        log.warning("refresh failed: %s", exc)
        if self.notifier.status_bar is not None:
            self.notifier.status_bar.showMessage(f"Refresh failed: {exc}", 5000)

    def _set_counts(self, counts: dict[str, int]) -> None:
        if counts != self.counts:
            self.counts = dict(counts)
            self.countsChanged.emit()

    def counts_text(self) -> str:
        """"12 videos · ✔ 20 published · ✖ 2 failed · ⏳ 1 uploading" for the status bar."""
        c = self.counts
        if not c:
            return ""
        parts = [f"{c.get('videos', 0):,} video{'s' if c.get('videos', 0) != 1 else ''}"]
        for label, keys in (("✔ {} published", ("SUCCESS",)), ("⏳ {} uploading", ("IN_PROGRESS",)),
                            ("✖ {} failed", ("FAILED", "FAILED_FINAL")), ("❌ {} blocked", ("BLOCKED",)),
                            ("🔁 {} rate limited", ("RATE_LIMITED",)), ("❓ {} unknown", ("UNKNOWN",)),
                            ("🔑 {} need login", ("LOGIN_REQUIRED",))):
            n = sum(c.get(k, 0) for k in keys)
            if n:
                parts.append(label.format(f"{n:,}"))
        return " · ".join(parts)

    def activity_text(self) -> str:
        """What this tab is running, for the status bar ("" when idle)."""
        parts = []
        if self._uploads:
            parts.append(f"⬆ {len(self._uploads)} upload{'s' if len(self._uploads) != 1 else ''}")
        if self._bulk is not None:
            done, total = self._bulk_counts
            parts.append(f"Upload All Pending {done}/{total}")
        if self._ingest is not None:
            parts.append(self._ingest_text or "adding videos")
        if self._load_task is not None and not self.model.loaded:
            parts.append("loading the registry")
        return " · ".join(parts)

    def _activity(self) -> None:
        running = bool(self._uploads or self._bulk is not None)
        self.cancel_button.setEnabled(running)
        self.activityChanged.emit()

    def _update_view_state(self, *_args) -> None:
        if not self.model.loaded:
            self.stack.setCurrentWidget(self.loading_page)
            self.footer.setText("")
            return
        total, shown = self.model.total_count(), self.model.rowCount()
        self.stack.setCurrentWidget(self.empty_page if total == 0 else self.table)
        # The status bar counts every video; the footer only speaks up while a filter hides some.
        filtering = total > 0 and self.model.filtering
        self.footer.setText(f"{shown:,} of {total:,} videos match the search and filters" if filtering else "")
        self.footer.setVisible(filtering)

    # -- searching and filtering ---------------------------------------------------------------------

    def set_search(self, text: str) -> None:
        """Filter by title now (the search box waits 200 ms after typing)."""
        self.search.blockSignals(True)
        self.search.setText(text)
        self.search.blockSignals(False)
        self._apply_filter()

    def _apply_filter(self, *_args) -> None:
        self._search_timer.stop()
        self.model.set_filter(text=self.search.text(), statuses=self.status_filter.currentData(),
                              platform=self.platform_filter.currentData())
        self._update_view_state()

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # -- selection ---------------------------------------------------------------------------------

    def selected_video_id(self) -> str | None:
        index = self.table.currentIndex()
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if rows:
            index = rows[0]
        return self.model.video_id_at(index.row()) if index.isValid() else None

    def select_video(self, video_id: str) -> bool:
        row = self.model.row_of(video_id)
        if row < 0:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, COL_TITLE))
        return True

    def toggle_duplicates_selected(self) -> None:
        vid = self.selected_video_id()
        if vid is None:
            return
        row = self.model.row_of(vid)
        index = self.model.index(row, COL_DUP)
        checked = self.model.data(index, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
        self.model.setData(index, Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked,
                           Qt.ItemDataRole.CheckStateRole)

    # -- Allow Duplicates ------------------------------------------------------------------------------

    def _write_duplicate(self, video_id: str, allowed: bool) -> None:
        if self.db is None:
            return
        reason = "Allow Duplicates checkbox in the Videos tab"

        def failed(exc: BaseException) -> None:
            self.model.set_duplicate_allowed_local(video_id, not allowed)
            self.notifier.notify(f"Could not change Allow Duplicates for “{self.model.title_of(video_id)}”: {exc}",
                                 "error")

        self.worker.run(set_duplicate_allowed, self.db, video_id, allowed, reason, name="Allow duplicates",
                        kind="write", quiet=True, on_error=failed, on_done=lambda _t: self.schedule_refresh())

    # -- single uploads ----------------------------------------------------------------------------------

    def _platform_clicked(self, video_id: str, platform: str, where: QPoint) -> None:
        self.request_upload(video_id, platform, pos=where)

    def request_upload(self, video_id: str, platform: str, *, pos: QPoint | None = None) -> None:
        """The 📷 / 🎵 / ▶ button: pick a channel when there are several, confirm, upload."""
        channels = self.model.channels_for(platform)
        if not channels:
            self.notifier.notify(f"There is no {platform} channel to upload to.", "error")
            return
        targets = channels
        if len(channels) > 1:
            labels = [self._channel_label(c) for c in channels]
            every = f"All {len(channels)} {platform} channels"
            choice = dialogs.ask("menu", f"Upload to {platform}", "Which channel?", labels + [every],
                                 parent=self, pos=pos)
            if choice is None:
                return
            if choice != every:
                targets = [channels[labels.index(choice)]]
        self.confirm_and_upload(video_id, targets)

    @staticmethod
    def _channel_label(channel: dict[str, str]) -> str:
        paused = "" if channel["status"] == "active" else f" ({channel['status']})"
        return f"{channel['name']}{paused}"

    def confirm_and_upload(self, video_id: str, channels: list[dict[str, str]]) -> bool:
        """Ask "Upload …?" and start one upload per channel; False when the operator declined."""
        title = self.model.title_of(video_id)
        if len(channels) == 1:
            where = f"{channels[0]['name']} ({channels[0]['platform']})"
        else:
            where = f"{len(channels)} channels: " + ", ".join(c["name"] for c in channels)
        answer = dialogs.ask("question", "Upload video", f"Upload “{title}” to {where} now?",
                             ["Upload", "Cancel"], parent=self)
        if answer != "Upload":
            return False
        for channel in channels:
            self.start_upload(video_id, channel)
        return True

    def start_upload(self, video_id: str, channel: dict[str, str]) -> Task | None:
        """Upload now, without asking (the confirmation already happened)."""
        if self.db is None:
            return None
        key = (video_id, channel["id"])
        if key in self._uploads:
            self.notifier.notify(f"“{self.model.title_of(video_id)}” is already uploading to {channel['name']}.")
            return self._uploads[key]
        label = f"{self.model.title_of(video_id)} → {channel['name']}"
        row = self.progress.add(("upload",) + key, label, cancellable=True)
        task = self.worker.run(
            publish_one, self.db, video_id, channel["id"], name=f"Upload {label}", kind="upload", long=True,
            with_task=True,
            on_progress=lambda value: row.set_fraction(value[0], f"{value[1] or 'uploading'} %p%"),
            on_result=lambda outcome: self._upload_finished(video_id, channel, outcome),
            on_error=lambda exc: self.notifier.notify(f"Upload of “{self.model.title_of(video_id)}” to "
                                                      f"{channel['name']} failed: {exc}", "error"),
            on_done=lambda _t: self._upload_done(key),
        )
        row.cancelRequested.connect(task.cancel)
        self._uploads[key] = task
        self._activity()
        self.schedule_refresh()  # shows ⏳ while it runs
        return task

    def _upload_done(self, key: tuple[str, str]) -> None:
        self._uploads.pop(key, None)
        self.progress.remove(("upload",) + key)
        self._activity()
        self.schedule_refresh()

    def _upload_finished(self, video_id: str, channel: dict[str, str], outcome) -> None:
        title = self.model.title_of(video_id)
        if outcome.success:
            post = f" ({outcome.post_url or outcome.post_id})" if (outcome.post_url or outcome.post_id) else ""
            self.notifier.notify(f"Published “{title}” on {channel['name']}{post}.", "success")
        elif outcome.code in DUPLICATE_CODES:
            self._offer_duplicate_retry(video_id, channel, outcome.reason)
        elif outcome.code == "cancelled":
            self.notifier.notify(f"Upload of “{title}” to {channel['name']} cancelled; nothing was published.")
        else:
            self.notifier.notify(f"Upload of “{title}” to {channel['name']} failed: {outcome.reason}", "error")

    def _offer_duplicate_retry(self, video_id: str, channel: dict[str, str], reason: str) -> None:
        """The blocking duplicate dialog; "Allow duplicates and retry" turns it on and uploads again."""
        if self._closed:
            return
        answer = dialogs.ask(
            "warning", "Duplicate upload blocked",
            f"{reason}\n\nAllow duplicates for “{self.model.title_of(video_id)}” and upload it to "
            f"{channel['name']} again?",
            [RETRY_WITH_DUPLICATES, "Cancel"], parent=self, default="Cancel",
        )
        if answer != RETRY_WITH_DUPLICATES:
            return
        self.model.set_duplicate_allowed_local(video_id, True)
        self.worker.run(
            set_duplicate_allowed, self.db, video_id, True, f"duplicate dialog: retry on {channel['name']}",
            name="Allow duplicates", kind="write", quiet=True,
            on_result=lambda _r: self.start_upload(video_id, channel),
            on_error=lambda exc: self.notifier.notify(f"Could not allow duplicates: {exc}", "error"),
        )

    # -- Upload All Pending --------------------------------------------------------------------------------

    def upload_all_pending(self) -> None:
        """⬆ Find what is pending (in the background), confirm with the numbers, upload."""
        if self.db is None:
            return
        if self._bulk is not None:
            self.notifier.notify("Upload All Pending is already running.")
            return
        self.upload_all_button.setEnabled(False)
        self.worker.run(find_pending, self.db, name="Finding pending uploads", kind="pending",
                        on_result=self._confirm_bulk,
                        on_error=lambda exc: self.notifier.notify(f"Could not list pending uploads: {exc}", "error"),
                        on_done=lambda _t: self.upload_all_button.setEnabled(self._bulk is None))

    def bulk_summary(self, pairs: Sequence[tuple[str, str]]) -> str:
        per_channel = Counter(cid for _vid, cid in pairs)
        platform_of = {c[0]: p for p, chans in self.model.channels().items() for c in chans}
        videos = len({vid for vid, _cid in pairs})
        lines = [f"Upload {len(pairs)} pending upload{'s' if len(pairs) != 1 else ''} "
                 f"({videos} video{'s' if videos != 1 else ''}) now?", ""]
        for cid, n in sorted(per_channel.items(), key=lambda kv: (-kv[1], kv[0])):
            name = self.model.channel_name(cid)
            platform = platform_of.get(cid, "")
            suffix = f" ({platform})" if platform and platform != name else ""
            lines.append(f"  • {n} to {name}{suffix}")
        lines += ["", "Each channel publishes one video at a time; channels run in parallel. "
                      "Duplicate rules, daily caps and spacing still apply."]
        return "\n".join(lines)

    def _confirm_bulk(self, pairs: list[tuple[str, str]]) -> None:
        if self._closed:
            return
        if not pairs:
            self.notifier.notify("Nothing is pending: every video is on every channel, or waiting for its retry.")
            return
        answer = dialogs.ask("question", "Upload All Pending", self.bulk_summary(pairs),
                             ["Upload all", "Cancel"], parent=self)
        if answer != "Upload all":
            return
        self.start_bulk(pairs)

    def start_bulk(self, pairs: list[tuple[str, str]]) -> Task:
        overall = self.progress.add("overall", "⬆ Upload All Pending", cancellable=True)
        overall.set_counts(0, len(pairs))
        self._bulk_counts = (0, len(pairs))
        self._bulk_failures: list[str] = []
        task = self.worker.run(run_bulk, str(self.db.path), pairs, self.max_parallel, name="Upload All Pending",
                               kind="bulk", long=True, with_task=True, on_progress=self._bulk_progress,
                               on_result=self._bulk_finished,
                               on_error=lambda exc: self.notifier.notify(f"Upload All Pending failed: {exc}", "error"),
                               on_done=lambda _t: self._bulk_done())
        overall.cancelRequested.connect(task.cancel)
        self._bulk = task
        self.upload_all_button.setEnabled(False)
        self._activity()
        return task

    def _bulk_progress(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        key = ("bulk", event.get("video_id"), event.get("channel_id"))
        if kind == "start":
            label = f"{self.model.title_of(event['video_id'])} → {self.model.channel_name(event['channel_id'])}"
            self.progress.add(key, label)
            self.schedule_refresh()
        elif kind == "upload":
            row = self.progress.get(key)
            if row is not None:
                row.set_fraction(event.get("fraction"), f"{event.get('stage') or 'uploading'} %p%")
        elif kind == "done":
            self.progress.remove(key)
            outcome = event.get("outcome")
            if outcome is not None and not outcome.success and not event.get("skipped"):
                self._bulk_failures.append(f"{self.model.title_of(outcome.video_id)} → "
                                           f"{self.model.channel_name(outcome.channel_id)}: {outcome.reason}")
            self.schedule_refresh()
        elif kind == "overall":
            self._bulk_counts = (event["done"], event["total"])
            row = self.progress.get("overall")
            if row is not None:
                row.set_counts(event["done"], event["total"])
            self._activity()

    def _bulk_finished(self, report) -> None:
        text = (f"Upload All Pending: {report.succeeded} published, {report.failed} failed, "
                f"{len(report.skipped)} skipped" + (" (cancelled)" if report.cancelled else "") + ".")
        if self._bulk_failures:
            text += "\n" + "\n".join(self._bulk_failures[:3])
            if len(self._bulk_failures) > 3:
                text += f"\n… and {len(self._bulk_failures) - 3} more"
        self.notifier.notify(text, "error" if report.failed else "success")

    def _bulk_done(self) -> None:
        self._bulk = None
        for key in [k for k in self.progress.rows if isinstance(k, tuple) and k[0] == "bulk"]:
            self.progress.remove(key)
        self.progress.remove("overall")
        self.upload_all_button.setEnabled(True)
        self._activity()
        self.schedule_refresh()

    def cancel_uploads(self) -> None:
        """Stop every running upload of this tab before it publishes."""
        for task in list(self._uploads.values()):
            task.cancel()
        if self._bulk is not None:
            self._bulk.cancel()
        for row in self.progress.rows.values():
            if row.cancel_button.isVisible():
                row.cancel_button.setEnabled(False)
                row.cancel_button.setText("Cancelling…")

    def uploads_running(self) -> int:
        return len(self._uploads) + (1 if self._bulk is not None else 0)

    # -- adding videos ---------------------------------------------------------------------------------

    def add_videos(self) -> None:
        """➕ Pick files and register them in the background."""
        files = dialogs.ask("open_files", "Add videos", "", parent=self, filter=VIDEO_FILTER)
        if files:
            self.add_paths(files)

    def add_folder(self) -> None:
        folder = dialogs.ask("open_folder", "Add a folder of videos", "", parent=self)
        if folder:
            self.add_paths([folder])

    def add_paths(self, paths: Sequence[str]) -> Task | None:
        """Register files and folders (searched recursively) in the background, with progress."""
        paths = [str(p) for p in paths]
        if not paths or self.db is None:
            return None
        if self._ingest is not None:
            self.notifier.notify("Videos are already being added; drop these again when it finishes.")
            return None
        row = self.progress.add("ingest", "➕ Adding videos…", cancellable=True)
        self._ingest_text = "adding videos"
        task = self.worker.run(ingest_paths, self.db, paths, name="Adding videos", kind="ingest", long=True,
                               with_task=True, on_progress=self._ingest_progress, on_result=self._ingest_finished,
                               on_error=lambda exc: self.notifier.notify(f"Adding videos failed: {exc}", "error"),
                               on_done=lambda t: self._ingest_done(t))
        row.cancelRequested.connect(task.cancel)
        self._ingest = task
        self._activity()
        return task

    def _ingest_progress(self, value: tuple[str, str, int, int]) -> None:
        event, path, done, total = value
        row = self.progress.get("ingest")
        if row is None:
            return
        name = Path(path).name
        if event == "file":
            self._current_file = (done, total)
            row.set_counts(done - 1, total, f"{done}/{total}")
            row.label.setText(f"➕ Adding {name}")
            self._ingest_text = f"adding videos {done}/{total}"
            self._activity()
        else:
            pct = 100 * done // total if total else 100
            n, t = getattr(self, "_current_file", (1, 1))
            row.bar.setFormat(f"{n}/{t} · hashing {pct}%")

    def _ingest_finished(self, report) -> None:
        failed = [i for i in report.items if i.outcome == "failed"]
        if not report.items:
            self.notifier.notify("No video files were found there.", "error")
            return
        text = f"Added videos: {report.summary()}."
        if failed:
            text += "\n" + "\n".join(f"{Path(i.path).name}: {i.reason}" for i in failed[:3])
            if len(failed) > 3:
                text += f"\n… and {len(failed) - 3} more"
        self.notifier.notify(text, "error" if failed else "success")

    def _ingest_done(self, task: Task) -> None:
        if task.state == "cancelled":
            self.notifier.notify("Adding videos stopped; the files finished so far are registered.")
        self._ingest = None
        self._ingest_text = ""
        self.progress.remove("ingest")
        self._activity()
        self.schedule_refresh()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    # -- export --------------------------------------------------------------------------------------

    def export(self, path: str | None = None, fmt: str | None = None) -> Task | None:
        """Save the rows shown (filtered and sorted as on screen) to CSV or JSON."""
        if path is None:
            suffix = fmt or "csv"
            filt = "CSV (*.csv)" if suffix == "csv" else "JSON (*.json)"
            path = dialogs.ask("save_file", "Export videos", "", parent=self, filter=filt,
                               directory=str(Path.home() / f"asfs-videos.{suffix}"))
            if not path:
                return None
            if not Path(path).suffix:
                path += f".{suffix}"
        rows = self.model.visible_rows()
        channels = self.model.channels()
        return self.worker.run(
            write_export, path, rows, channels, fmt, name="Exporting videos", kind="export",
            on_result=lambda out: self.notifier.notify(f"Exported {len(rows):,} videos to {out}.", "success"),
            on_error=lambda exc: self.notifier.notify(f"Could not export to {path}: {exc}", "error"),
        )

    # -- context menu ----------------------------------------------------------------------------------

    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        video_id = self.model.video_id_at(index.row())
        if video_id is None:
            return
        menu = self.build_context_menu(video_id)
        menu.exec(self.table.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def build_context_menu(self, video_id: str) -> QMenu:
        """The row's menu: folder, post links, history, upload to a channel."""
        row = self.model.row_tuple(video_id)
        menu = QMenu(self)
        menu.addAction("📂 Open containing folder", lambda: self.open_folder(video_id))
        menu.addAction("📋 Copy file path", lambda: _copy(row[R_PATH]))
        links = [(cid, cell[U_URL]) for cid, cell in sorted(row[R_UPLOADS].items()) if cell[U_URL]]
        menu.addSeparator()
        if not links:
            none = menu.addAction("🔗 No post link yet")
            none.setEnabled(False)
        for cid, url in links:
            name = self.model.channel_name(cid)
            menu.addAction(f"🔗 Copy post link — {name}", lambda u=url: _copy(u))
            menu.addAction(f"🌐 Open post link — {name}", lambda u=url: self.open_url(u))
        menu.addSeparator()
        menu.addAction("📜 Show history…", lambda: self.show_history(video_id))
        upload = menu.addMenu("⬆ Upload to")
        for platform in PLATFORMS_SHOWN:
            for channel in self.model.channels_for(platform):
                upload.addAction(f"{PLATFORM_ICONS[platform]} {self._channel_label(channel)}",
                                 lambda c=channel: self.confirm_and_upload(video_id, [c]))
        return menu

    def open_folder(self, video_id: str) -> bool:
        row = self.model.row_tuple(video_id)
        folder = Path(row[R_PATH]).parent if row else None
        if folder is None or not folder.is_dir():
            self.notifier.notify(f"The folder {folder} does not exist any more.", "error")
            return False
        return self.open_url(QUrl.fromLocalFile(str(folder)))

    def open_url(self, url: str | QUrl) -> bool:
        ok = QDesktopServices.openUrl(url if isinstance(url, QUrl) else QUrl(url))
        if not ok:
            self.notifier.notify(f"Could not open {url if isinstance(url, str) else url.toString()}.", "error")
        return ok

    def show_history(self, video_id: str) -> Task | None:
        """Fetch the video's audit trail in the background, then show it (non-modal)."""
        if self.db is None:
            return None
        row = self.model.row_tuple(video_id)
        channel_ids = sorted(row[R_UPLOADS]) if row else []
        title = self.model.title_of(video_id)

        def show(events: list[dict[str, Any]]) -> None:
            if self._closed:
                return
            for e in events:
                if e["channel"]:
                    e["channel"] = self.model.channel_name(e["channel"])
            dialog = dialogs.HistoryDialog(title, video_id, events, self)
            self.history_dialog = dialog
            dialog.show()

        return self.worker.run(video_history, self.db, video_id, channel_ids, name="Reading history",
                               kind="history", on_result=show,
                               on_error=lambda exc: self.notifier.notify(f"Could not read the history: {exc}",
                                                                         "error"))

    # -- settings and shutdown ---------------------------------------------------------------------------

    def save_state(self, settings: QSettings) -> None:
        settings.setValue("videos/header", self.table.horizontalHeader().saveState())

    def restore_state(self, settings: QSettings) -> None:
        state = settings.value("videos/header")
        if state is not None:
            self.table.horizontalHeader().restoreState(state)

    def shutdown(self) -> None:
        """Stop timers and ask running work to stop (the window's worker joins the threads)."""
        if self._closed:
            return
        self._closed = True
        self.timer.stop()
        self._soon.stop()
        self._search_timer.stop()
        self.thumbnails.stop()
        self.cancel_uploads()
        if self._ingest is not None:
            self._ingest.cancel()


def local_paths(mime) -> list[str]:
    """Local files and folders in a drag's data."""
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


def _copy(text: str) -> None:
    QGuiApplication.clipboard().setText(text)

