"""The 📺 Channels tab: every channel with its health, and an editor for its settings.

The list shows whether each account is logged in, its cool-down, recent errors and last
publication (``CentralOrchestrationService.monitor_channels``), filterable by platform and
status. The editor beside it changes every setting through ``ChannelService``; pause,
resume, delete, "Log in…" and import/export of channel configuration files (TOML or JSON,
the format of ``orchestration.channel_configs``) are here too.

Everything that touches the registry, the disk or a browser runs through the window's
:class:`~ui.worker.Worker`; every question goes through :func:`ui.dialogs.ask`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import QItemSelectionModel, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from database.errors import ASFSError, ConflictError, ValidationError
from ui import dialogs
from ui.models.channels_model import (
    COL_ERRORS,
    COL_HEALTH,
    COL_NAME,
    STATUS_FILTERS,
    ChannelsModel,
    ChannelsSnapshot,
    fetch_channels,
)
from ui.models.videos_model import PLATFORM_ICONS, PLATFORMS_SHOWN
from ui.notifications import Notifier
from ui.widgets.basics import centered_label, timer
from ui.widgets.channel_editor import ChannelEditor
from ui.worker import Refresher, Task, Worker

log = logging.getLogger("asfs.ui.channels")

REFRESH_INTERVAL_MS = 5000
CONFIG_FILTER = "Channel configuration (*.toml *.json);;TOML (*.toml);;JSON (*.json);;All files (*)"
LOGIN_TIMEOUT_SECONDS = 300.0

# -- background work (worker threads; plain Python, no widgets) ---------------------------------------


def save_channel(db, channel_id: str | None, values: dict[str, Any]):
    """Create or update a channel from the editor's values; a status change goes through pause/resume."""
    from orchestration.channels import ChannelService

    svc = ChannelService(db)
    values = dict(values)
    status = values.pop("status", None)
    if channel_id is None:
        name, platform = values.pop("name"), values.pop("platform")
        ch = svc.create_channel(name, platform, content_filters=values.pop("content_filters"),
                                posting_schedule=values.pop("posting_schedule"), timezone=values.pop("timezone"),
                                actor="operator", **values)
    else:
        ch = svc.update_channel(channel_id, actor="operator", **values)
    if status and status != ch.status:
        ch = _set_status(svc, ch.id, status)
    return ch


def _set_status(svc, channel_id: str, status: str):
    if status == "active":
        return svc.resume_channel(channel_id, actor="operator")
    if status == "paused":
        return svc.pause_channel(channel_id, "paused by the operator", actor="operator")
    return svc.deactivate_channel(channel_id, "deactivated by the operator", actor="operator")


def set_status_many(db, channel_ids: Sequence[str], status: str):
    from orchestration.channels import ChannelService

    svc = ChannelService(db)
    return [_set_status(svc, cid, status) for cid in channel_ids]


def live_schedule_counts(db, channel_ids: Sequence[str]) -> dict[str, int]:
    from orchestration.channels import ChannelService

    svc = ChannelService(db)
    return {cid: svc.live_schedule_count(cid) for cid in channel_ids}


def delete_many(db, channel_ids: Sequence[str], cancel_schedules: bool) -> dict[str, list]:
    """Delete channels; each refusal is reported, the others still go."""
    from orchestration.channels import ChannelService

    svc = ChannelService(db)
    out: dict[str, list] = {"deleted": [], "refused": []}
    for cid in channel_ids:
        name = svc.get_channel(cid).name
        try:
            svc.delete_channel(cid, cancel_schedules=cancel_schedules, actor="operator")
        except ConflictError as exc:
            out["refused"].append((name, str(exc)))
        else:
            out["deleted"].append(name)
    return out


def login_channel(db, channel_id: str, timeout: float = LOGIN_TIMEOUT_SECONDS) -> dict[str, Any]:
    """Open the account's browser profile on the sign-in page; once signed in, put the channel back to work.

    After a successful login the channel's login state is ok, a channel paused because its
    login expired is resumed, and its LOGIN_REQUIRED uploads go back to PENDING.
    """
    from database.uploads import UploadRepository
    from orchestration.channels import ChannelService
    from uploaders import browser

    svc = ChannelService(db)
    ch = svc.get_channel(channel_id)
    ok = browser.login(ch.as_row(), db.paths, timeout=timeout)
    if not ok:
        return {"ok": False, "channel": svc.get_channel(channel_id), "resumed": False, "requeued": 0}
    ch = svc.get_channel(channel_id)
    resumed = False
    if ch.status == "paused" and (ch.login_state == "required" or "login" in (ch.status_reason or "").lower()):
        svc.resume_channel(channel_id, actor="operator")
        resumed = True
    ch = svc.update_channel(channel_id, login_state="ok", actor="operator")
    requeued = UploadRepository(db).requeue_login_required(channel_id)
    return {"ok": True, "channel": ch, "resumed": resumed, "requeued": requeued}


def export_configs(db, channel_ids: Sequence[str], target: str) -> list[str]:
    """Write channel configuration files: one file, or ``<id>.toml`` each into a folder."""
    from orchestration.channel_configs import CONFIG_KEYS, file_name, registry_config, render

    target_path = Path(target)
    written = []
    for cid in channel_ids:
        row = db.query_one("SELECT * FROM channels WHERE id = ?", (cid,))
        if row is None:
            continue
        cfg = registry_config(row)
        path = target_path / file_name(cid) if target_path.is_dir() else target_path
        if path.suffix.lower() == ".json":
            text = json.dumps({k: cfg[k] for k in CONFIG_KEYS if cfg[k] is not None}, indent=2,
                              ensure_ascii=False) + "\n"
        else:
            text = render(cfg)
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(str(path))
    return written


def read_configs(db, paths: Sequence[str]) -> list[dict[str, Any]]:
    """Read and validate configuration files; each says whether its channel exists already."""
    from orchestration.channel_configs import read_file

    out = []
    for p in paths:
        item: dict[str, Any] = {"path": p, "config": None, "error": None, "exists": None}
        try:
            cfg = read_file(Path(p))
        except ValidationError as exc:
            item["error"] = str(exc)
        else:
            item["config"] = cfg
            row = db.query_one("SELECT name FROM channels WHERE id = ?", (cfg["id"],))
            item["exists"] = row["name"] if row else None
        out.append(item)
    return out


_IMPORT_KEYS = ("account", "daily_cap", "min_spacing_seconds", "priority", "metadata_template",
                "transformation_profile", "github_repo_url", "base_url")


def import_configs(db, items: Sequence[dict[str, Any]], replace: bool) -> dict[str, list]:
    """Create (or, with ``replace``, update) the channels of validated configurations."""
    from orchestration.channels import ChannelService

    svc = ChannelService(db)
    out: dict[str, list] = {"created": [], "updated": [], "skipped": [], "errors": []}
    for item in items:
        cfg = item.get("config")
        if cfg is None:
            out["errors"].append((Path(item["path"]).name, item.get("error") or "unreadable"))
            continue
        extra = {k: cfg[k] for k in _IMPORT_KEYS}
        try:
            if item.get("exists"):
                if not replace:
                    out["skipped"].append(cfg["name"])
                    continue
                svc.update_channel(cfg["id"], name=cfg["name"], platform=cfg["platform"],
                                   content_filters=cfg["content_filters"], posting_schedule=cfg["posting_schedule"],
                                   timezone=cfg["timezone"], actor="operator", **extra)
                out["updated"].append(cfg["name"])
            else:
                svc.create_channel(cfg["name"], cfg["platform"], content_filters=cfg["content_filters"],
                                   posting_schedule=cfg["posting_schedule"], timezone=cfg["timezone"], id=cfg["id"],
                                   actor="operator", **extra)
                out["created"].append(cfg["name"])
        except ASFSError as exc:
            out["errors"].append((Path(item["path"]).name, str(exc)))
    return out


# -- the tab -----------------------------------------------------------------------------------------


class ChannelsTab(QWidget):
    """The Channels tab. Give it a registry with :meth:`attach`; it loads in the background.

    Signals:
        loaded(): the first load is in the model.
        refreshed(result): a refresh was applied (an ``ApplyResult``, or None when nothing changed).
        saved(channel): the editor's channel was saved.
        countsChanged(), activityChanged(): for the window's status bar.
    """

    TITLE = "📺 Channels"
    NAME = "channels"

    loaded = Signal()
    refreshed = Signal(object)
    saved = Signal(object)
    countsChanged = Signal()
    activityChanged = Signal()

    def __init__(self, worker: Worker, notifier: Notifier, parent: QWidget | None = None, *,
                 refresh_interval_ms: int = REFRESH_INTERVAL_MS):
        super().__init__(parent)
        self.setObjectName("channelsTab")
        self.worker = worker
        self.notifier = notifier
        self.db = None
        self._closed = False
        self._fingerprint: tuple | None = None
        self._refresher = Refresher(
            worker, lambda force: (fetch_channels, self.db,
                                   None if (force or not self.model.loaded) else self._fingerprint),
            name="Reading channels", on_result=self._apply, on_error=self._refresh_failed,
            alive=lambda: self.db is not None and not self._closed)
        self._busy: dict[str, Task] = {}  # what runs: "save", "login:<id>", "import", ...
        self._counts: dict[str, int] = {}
        self._selecting = False
        self._pending_select: str | None = None
        self.model = ChannelsModel(self)
        self._build()

        self.timer = timer(self, refresh_interval_ms, self.refresh)
        self._auto_refresh = refresh_interval_ms > 0
        self._search_timer = timer(self, 200, self._apply_filter, single_shot=True)

    # -- building ----------------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 4)
        outer.setSpacing(6)

        bar = QHBoxLayout()
        self.new_button = QPushButton("➕ New channel", self)
        self.new_button.setToolTip("Fill in the editor for a new channel")
        self.new_button.clicked.connect(self.new_channel)
        bar.addWidget(self.new_button)
        self.pause_button = QPushButton("⏸ Pause", self)
        self.pause_button.setToolTip("Stop distributing and publishing to the selected channels")
        self.pause_button.clicked.connect(lambda: self.set_status(self.selected_ids(), "paused"))
        bar.addWidget(self.pause_button)
        self.resume_button = QPushButton("▶ Resume", self)
        self.resume_button.setToolTip("Make the selected channels active again")
        self.resume_button.clicked.connect(lambda: self.set_status(self.selected_ids(), "active"))
        bar.addWidget(self.resume_button)
        self.delete_button = QPushButton("🗑 Delete…", self)
        self.delete_button.setToolTip("Delete the selected channels (asks first)")
        self.delete_button.clicked.connect(lambda: self.delete_channels(self.selected_ids()))
        bar.addWidget(self.delete_button)
        bar.addSpacing(8)
        self.import_button = QPushButton("📥 Import…", self)
        self.import_button.setToolTip("Create or update channels from configuration files (TOML or JSON)")
        self.import_button.clicked.connect(lambda: self.import_files())
        bar.addWidget(self.import_button)
        self.export_button = QPushButton("📤 Export…", self)
        self.export_button.setToolTip("Save the selected channels' configuration as TOML or JSON")
        self.export_button.clicked.connect(lambda: self.export_files(self.selected_ids()))
        bar.addWidget(self.export_button)
        self.refresh_button = QPushButton("🔄", self)
        self.refresh_button.setToolTip("Refresh now (the list also refreshes every 5 seconds)")
        self.refresh_button.clicked.connect(lambda: self.refresh(force=True))
        bar.addWidget(self.refresh_button)
        bar.addSpacing(8)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("🔍 Find a channel…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        bar.addWidget(self.search, 1)
        self.platform_filter = QComboBox(self)
        self.platform_filter.addItem("All platforms", None)
        for p in PLATFORMS_SHOWN:
            self.platform_filter.addItem(f"{PLATFORM_ICONS[p]} {p}", p)
        self.platform_filter.currentIndexChanged.connect(self._apply_filter)
        bar.addWidget(self.platform_filter)
        self.status_filter = QComboBox(self)
        for label, value in STATUS_FILTERS:
            self.status_filter.addItem(label, value)
        self.status_filter.currentIndexChanged.connect(self._apply_filter)
        bar.addWidget(self.status_filter)
        outer.addLayout(bar)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        left = QWidget(self.splitter)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget(left)
        self.loading_page = centered_label("Loading the channels…", left)
        self.empty_page = centered_label("No channel matches the search and filters.", left)
        self.table = QTableView(left)
        self.table.setObjectName("channelsTable")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        for col, width in ((COL_NAME, 118), (1, 92), (2, 76), (3, 100), (COL_HEALTH, 96), (5, 100),
                           (COL_ERRORS, 150), (7, 112), (8, 74), (9, 60), (10, 74)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        for page in (self.loading_page, self.empty_page, self.table):
            self.stack.addWidget(page)
        ll.addWidget(self.stack, 1)
        self.footer = QLabel(left)
        self.footer.setTextFormat(Qt.TextFormat.PlainText)
        ll.addWidget(self.footer)

        self.editor = ChannelEditor(self.splitter)
        self.editor.saveRequested.connect(self.save)
        self.editor.loginRequested.connect(lambda: self.log_in(self.editor.channel.id) if self.editor.channel else None)
        self.editor.setMinimumWidth(400)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.editor)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([800, 450])
        outer.addWidget(self.splitter, 1)

        self.model.modelReset.connect(self._update_view_state)
        self.model.rowsInserted.connect(self._update_view_state)
        self.model.rowsRemoved.connect(self._update_view_state)
        self._update_buttons()

    # -- loading and refreshing --------------------------------------------------------------------

    def attach(self, db) -> None:
        """Use this registry; loads the list in the background."""
        self.db = db
        self.refresh(force=True)

    @property
    def refreshing(self) -> bool:
        return self._refresher.running

    def is_ready(self) -> bool:
        return self.model.loaded and not self._refresher.running and not self._busy

    def refresh(self, force: bool = False) -> Task | None:
        """Fetch the channels again when anything they show changed (every 5 seconds, 🔄)."""
        return self._refresher.request(force)

    def _apply(self, snap: ChannelsSnapshot | None) -> None:
        if self._closed:
            return
        if snap is None:
            self.refreshed.emit(None)
            return
        first = not self.model.loaded
        self._fingerprint = snap.fingerprint
        result = self.model.set_rows(snap.rows)
        if self._pending_select is not None and self.model.row_of(self._pending_select) >= 0:
            self.select(self._pending_select, load=False)
            self._pending_select = None
        self._sync_editor()
        self._set_counts(self.model.counts())
        self._update_view_state()
        self._update_buttons()
        if first:
            if self._auto_refresh and not self.timer.isActive():
                self.timer.start()
            if self.model.rowCount():
                self.select(self.model.key_at(0))
            self.loaded.emit()
        self.refreshed.emit(result)

    def _refresh_failed(self, exc: BaseException) -> None:
        log.warning("reading the channels failed: %s", exc)
        if not self.model.loaded:
            self.loading_page.setText(f"Could not read the channels: {exc}")
        if self.notifier.status_bar is not None:
            self.notifier.status_bar.showMessage(f"Reading the channels failed: {exc}", 5000)

    def _refresh_soon(self) -> None:
        if not self._closed:
            QTimer.singleShot(0, self, lambda: self.refresh(force=True))

    def _sync_editor(self) -> None:
        """Keep the editor's channel current without losing the operator's edits."""
        ch = self.editor.channel
        if ch is None:
            return
        row = self.model.get(ch.id)
        if row is None:
            if not self.editor.dirty:
                self.editor.load(None)
            return
        if self.editor.dirty:
            self.editor.update_runtime(row.channel)
        elif row.channel.updated_at != ch.updated_at:
            self.editor.load(row.channel)

    def _set_counts(self, counts: dict[str, int]) -> None:
        if counts != self._counts:
            self._counts = dict(counts)
            self.countsChanged.emit()

    def counts_text(self) -> str:
        """"📺 6 channels" (and how many need a login) for the status bar."""
        c = self._counts
        if not c:
            return ""
        n = c.get("channels", 0)
        text = f"📺 {n} channel{'s' if n != 1 else ''}"
        if c.get("login"):
            text += f", {c['login']} need{'s' if c['login'] == 1 else ''} login"
        return text

    def activity_text(self) -> str:
        parts = []
        for key in self._busy:
            if key.startswith("login:"):
                row = self.model.get(key.split(":", 1)[1])
                parts.append(f"🔑 logging in {row.name if row else ''}".strip())
            elif key == "import":
                parts.append("importing channels")
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

    def _update_view_state(self, *_args) -> None:
        if not self.model.loaded:
            self.stack.setCurrentWidget(self.loading_page)
            return
        total, shown = self.model.total_count(), self.model.rowCount()
        self.stack.setCurrentWidget(self.table if shown else self.empty_page)
        self.footer.setText(f"{shown} of {total} channels match the search and filters"
                            if self.model.filtering else "")
        self.footer.setVisible(self.model.filtering)

    # -- filtering and selection -------------------------------------------------------------------

    def _apply_filter(self, *_args) -> None:
        self._search_timer.stop()
        current = self.editor.channel.id if self.editor.channel is not None else None
        self.model.set_filter(platform=self.platform_filter.currentData(), status=self.status_filter.currentData(),
                              text=self.search.text())
        self._update_view_state()
        if current is not None and self.model.row_of(current) >= 0:
            self.select(current, load=False)

    def set_search(self, text: str) -> None:
        self.search.setText(text)
        self._apply_filter()

    def selected_ids(self) -> list[str]:
        sm = self.table.selectionModel()
        rows = sorted({i.row() for i in sm.selectedRows()}) if sm is not None else []
        ids = [self.model.key_at(r) for r in rows]
        return [i for i in ids if i is not None]

    def select(self, channel_id: str | None, *, load: bool = True) -> bool:
        """Select a channel's row (and show it in the editor)."""
        row = self.model.row_of(channel_id) if channel_id else -1
        if row < 0:
            return False
        self._selecting = not load
        try:
            index = self.model.index(row, 0)
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            self.table.scrollTo(index)
        finally:
            self._selecting = False
        return True

    def _selection_changed(self, *_args) -> None:
        self._update_buttons()
        if self._selecting:
            return
        ids = self.selected_ids()
        if len(ids) != 1:
            return
        row = self.model.get(ids[0])
        current = self.editor.channel
        if row is None or (current is not None and current.id == row.key):
            return
        if self.editor.dirty:
            answer = dialogs.ask("question", "Unsaved changes",
                                 f"The changes to {self.editor.name.text() or 'the new channel'} are not saved. "
                                 "Discard them?", ["Discard changes", "Keep editing"], parent=self,
                                 default="Keep editing")
            if answer != "Discard changes":
                back = current.id if current is not None else None
                QTimer.singleShot(0, self, lambda: self._reselect(back))
                return
        self.editor.load(row.channel)

    def _reselect(self, channel_id: str | None) -> None:
        if channel_id is None:
            self.table.selectionModel().clearSelection()
        else:
            self.select(channel_id, load=False)

    def _update_buttons(self) -> None:
        ids = self.selected_ids() if self.table.selectionModel() is not None else []
        rows = [self.model.get(i) for i in ids]
        rows = [r for r in rows if r is not None]
        self.pause_button.setEnabled(any(r.status == "active" for r in rows))
        self.resume_button.setEnabled(any(r.status != "active" for r in rows))
        self.delete_button.setEnabled(any(not r.is_default for r in rows))
        self.export_button.setEnabled(bool(rows))
        self.import_button.setEnabled("import" not in self._busy)
        self.editor.busy("save" in self._busy)
        channel = self.editor.channel
        logging_in = channel is not None and f"login:{channel.id}" in self._busy
        self.editor.login_button.setEnabled(channel is not None and not logging_in)
        self.editor.login_button.setText("⏳ Waiting for the sign-in…" if logging_in else "🔑 Log in…")

    def _context_menu(self, pos) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        ids = self.selected_ids()
        menu = QMenu(self)
        menu.addAction("⏸ Pause", lambda: self.set_status(ids, "paused"))
        menu.addAction("▶ Resume", lambda: self.set_status(ids, "active"))
        menu.addAction("○ Deactivate", lambda: self.set_status(ids, "inactive"))
        menu.addSeparator()
        if len(ids) == 1:
            menu.addAction("🔑 Log in…", lambda: self.log_in(ids[0]))
        menu.addAction("📤 Export…", lambda: self.export_files(ids))
        menu.addAction("🗑 Delete…", lambda: self.delete_channels(ids))
        menu.exec(self.table.viewport().mapToGlobal(pos))
        menu.deleteLater()

    # -- editing -----------------------------------------------------------------------------------

    def new_channel(self) -> None:
        """An empty editor for a new channel."""
        if self.editor.dirty:
            answer = dialogs.ask("question", "Unsaved changes", "Discard the changes in the editor?",
                                 ["Discard changes", "Keep editing"], parent=self, default="Keep editing")
            if answer != "Discard changes":
                return
        self._selecting = True
        try:
            self.table.selectionModel().clearSelection()
        finally:
            self._selecting = False
        self.editor.load(None)
        self.editor.name.setFocus()

    def save(self) -> Task | None:
        """Save the editor through ChannelService, off the GUI thread; refusals go next to their field."""
        if self.db is None or "save" in self._busy:
            return None
        values, errors = self.editor.collect()
        if errors:
            self.editor.validate()
            return None
        channel_id = self.editor.channel.id if self.editor.channel is not None else None
        if self.editor.channel is not None and values.get("status") == self.editor.channel.status:
            # untouched: a pause from the toolbar meanwhile must not be undone by this save
            values.pop("status")
        task = self.worker.run(save_channel, self.db, channel_id, values, name="Saving the channel", kind="save",
                               on_result=self._saved, on_error=self._save_refused,
                               on_done=lambda _t: self._finish("save"))
        self.editor.busy(True, "Saving…")
        return self._start("save", task)

    def _saved(self, channel) -> None:
        if self._closed:
            return
        was_new = self.editor.channel is None
        self.editor.load(channel)
        self.notifier.notify(f"{'Created' if was_new else 'Saved'} the channel {channel.name}.", "success")
        self.saved.emit(channel)
        self._pending_select = channel.id
        self._refresh_soon()

    def _save_refused(self, exc: BaseException) -> None:
        if self._closed:
            return
        field = getattr(exc, "field", None)
        if isinstance(exc, ConflictError) and field is None:
            field = "name" if "named" in str(exc) else None
        key = self.editor.show_error(field, str(exc))
        self.notifier.notify(f"Not saved: {exc}", "error")
        log.info("saving the channel was refused (%s): %s", key, exc)

    # -- pause, resume, delete -----------------------------------------------------------------------

    def set_status(self, channel_ids: Sequence[str], status: str) -> Task | None:
        """Pause, resume or deactivate channels in the background."""
        ids = list(channel_ids)
        if not ids or self.db is None:
            return None
        verb = {"paused": "Paused", "active": "Resumed", "inactive": "Deactivated"}[status]

        def done(channels) -> None:
            names = ", ".join(c.name for c in channels)
            self.notifier.notify(f"{verb} {names}.", "success")
            self._refresh_soon()

        return self.worker.run(set_status_many, self.db, ids, status, name=f"{verb} channels", kind="channels",
                               on_result=done, on_error=lambda exc: self.notifier.notify(
                                   f"Could not change the channel: {exc}", "error"))

    def delete_channels(self, channel_ids: Sequence[str]) -> Task | None:
        """Ask first; a channel with live schedules is deleted only if the operator cancels them too."""
        rows = [self.model.get(c) for c in channel_ids]
        rows = [r for r in rows if r is not None]
        defaults = [r for r in rows if r.is_default]
        rows = [r for r in rows if not r.is_default]
        if defaults and not rows:
            dialogs.ask("info", "Default channels stay",
                        f"{', '.join(r.name for r in defaults)} is the default channel of its platform and cannot "
                        "be deleted; pause or deactivate it instead.", ["OK"], parent=self)
            return None
        if not rows or self.db is None:
            return None
        ids = [r.key for r in rows]
        return self.worker.run(live_schedule_counts, self.db, ids, name="Checking schedules", kind="channels",
                               on_result=lambda counts: self._confirm_delete(rows, counts),
                               on_error=lambda exc: self.notifier.notify(f"Could not delete: {exc}", "error"))

    def _confirm_delete(self, rows, counts: dict[str, int]) -> None:
        if self._closed:
            return
        names = ", ".join(f"“{r.name}”" for r in rows)
        live = sum(counts.values())
        text = (f"Delete {names}? Its uploads, distributions and schedules go with it; the audit trail keeps "
                "the history." if len(rows) == 1 else
                f"Delete {len(rows)} channels ({names})? Their uploads, distributions and schedules go with them; "
                "the audit trail keeps the history.")
        if live:
            busy = ", ".join(f"{r.name}: {counts[r.key]}" for r in rows if counts.get(r.key))
            text += (f"\n\n{live} live schedule(s) are still waiting to publish ({busy}). Deleting cancels them; "
                     "or keep the channel and cancel or move them first.")
            buttons = [f"Delete and cancel {live} schedule(s)", "Keep the channel"]
        else:
            buttons = ["Delete", "Keep the channel"]
        answer = dialogs.ask("warning", "Delete channel" + ("s" if len(rows) > 1 else ""), text, buttons,
                             parent=self, default=buttons[-1])
        if answer != buttons[0]:
            return
        self.worker.run(delete_many, self.db, [r.key for r in rows], bool(live), name="Deleting channels",
                        kind="channels", on_result=self._deleted,
                        on_error=lambda exc: self.notifier.notify(f"Could not delete: {exc}", "error"))

    def _deleted(self, out: dict[str, list]) -> None:
        if out["deleted"]:
            self.notifier.notify(f"Deleted {', '.join(out['deleted'])}.", "success")
        for name, why in out["refused"]:
            self.notifier.notify(f"{name} was not deleted: {why}", "error")
        self._refresh_soon()

    # -- login ---------------------------------------------------------------------------------------

    def log_in(self, channel_id: str) -> Task | None:
        """Open the account's browser profile on the sign-in page (in the background)."""
        row = self.model.get(channel_id)
        key = f"login:{channel_id}"
        if self.db is None or row is None or key in self._busy:
            return None
        self.notifier.notify(f"A browser opens on the {row.platform} sign-in page for {row.name}; sign in there. "
                             f"Waiting up to {int(LOGIN_TIMEOUT_SECONDS // 60)} minutes.")
        task = self.worker.run(login_channel, self.db, channel_id, name=f"Log in {row.name}", kind="login", long=True,
                               on_result=self._logged_in,
                               on_error=lambda exc: self.notifier.notify(f"Log in to {row.name} failed: {exc}",
                                                                         "error"),
                               on_done=lambda _t: (self._finish(key), self._refresh_soon()))
        return self._start(key, task)

    def _logged_in(self, out: dict[str, Any]) -> None:
        ch = out["channel"]
        if not out["ok"]:
            self.notifier.notify(f"No sign-in to {ch.name} was seen; the channel is unchanged.", "error")
            return
        text = f"Logged in to {ch.name}."
        if out["resumed"]:
            text += " The channel is active again."
        if out["requeued"]:
            text += f" {out['requeued']} upload(s) waiting for the login are pending again."
        self.notifier.notify(text, "success")
        if self.editor.channel is not None and self.editor.channel.id == ch.id and not self.editor.dirty:
            self.editor.load(ch)

    # -- import and export -------------------------------------------------------------------------------

    def export_files(self, channel_ids: Sequence[str]) -> Task | None:
        """Save channel configuration files (one channel: a file; several: a folder of files)."""
        ids = [c for c in channel_ids if self.model.get(c) is not None]
        if not ids or self.db is None:
            return None
        if len(ids) == 1:
            row = self.model.get(ids[0])
            target = dialogs.ask("save_file", "Export channel configuration", "", parent=self, filter=CONFIG_FILTER,
                                 directory=str(Path.home() / f"{ids[0].replace(':', '_')}.toml"))
            if target and not Path(target).suffix:
                target += ".toml"
            label = row.name
        else:
            target = dialogs.ask("open_folder", "Export channel configurations into a folder", "", parent=self)
            label = f"{len(ids)} channels"
        if not target:
            return None
        return self.worker.run(export_configs, self.db, ids, target, name="Exporting channels", kind="export",
                               on_result=lambda files: self.notifier.notify(
                                   f"Exported {label} to {files[0] if len(files) == 1 else target}.", "success"),
                               on_error=lambda exc: self.notifier.notify(f"Could not export: {exc}", "error"))

    def import_files(self, paths: Sequence[str] | None = None) -> Task | None:
        """Read configuration files, ask before replacing existing channels, then create or update them."""
        if self.db is None or "import" in self._busy:
            return None
        if paths is None:
            paths = dialogs.ask("open_files", "Import channel configurations", "", parent=self,
                                filter=CONFIG_FILTER)
        if not paths:
            return None
        task = self.worker.run(read_configs, self.db, list(paths), name="Reading channel files", kind="import",
                               on_result=self._confirm_import,
                               on_error=lambda exc: (self._finish("import"),
                                                     self.notifier.notify(f"Could not import: {exc}", "error")))
        return self._start("import", task)

    def _confirm_import(self, items: list[dict[str, Any]]) -> None:
        if self._closed:
            return
        existing = [i for i in items if i.get("exists")]
        replace = False
        if existing:
            names = ", ".join(f"“{i['exists']}”" for i in existing)
            answer = dialogs.ask(
                "question", "Replace existing channels?",
                f"{len(existing)} of the {len(items)} file(s) describe channels that exist already ({names}). "
                "Replace their settings with the files' (status, login and history stay)?",
                ["Replace", "Import only new channels", "Cancel"], parent=self, default="Import only new channels")
            if answer is None or answer == "Cancel":
                self._finish("import")
                return
            replace = answer == "Replace"
        self.worker.run(import_configs, self.db, items, replace, name="Importing channels", kind="import",
                        on_result=self._imported,
                        on_error=lambda exc: self.notifier.notify(f"Could not import: {exc}", "error"),
                        on_done=lambda _t: (self._finish("import"), self._refresh_soon()))

    def _imported(self, out: dict[str, list]) -> None:
        parts = []
        for key, verb in (("created", "created"), ("updated", "updated"), ("skipped", "left as they were")):
            if out[key]:
                parts.append(f"{verb} {', '.join(out[key])}")
        text = "Import: " + ("; ".join(parts) if parts else "nothing imported") + "."
        for name, why in out["errors"][:3]:
            text += f"\n{name}: {why}"
        if len(out["errors"]) > 3:
            text += f"\n… and {len(out['errors']) - 3} more"
        self.notifier.notify(text, "error" if out["errors"] else "success")

    # -- settings and shutdown -------------------------------------------------------------------------

    def save_state(self, settings: QSettings) -> None:
        settings.setValue("channels/header", self.table.horizontalHeader().saveState())
        settings.setValue("channels/splitter", self.splitter.saveState())

    def restore_state(self, settings: QSettings) -> None:
        for key, target in (("channels/header", self.table.horizontalHeader()), ("channels/splitter", self.splitter)):
            state = settings.value(key)
            if state is not None:
                target.restoreState(state)

    def shutdown(self) -> None:
        """Stop the timers (the window's worker joins running work)."""
        if self._closed:
            return
        self._closed = True
        self.timer.stop()
        self._search_timer.stop()



__all__ = ["ChannelsTab"]
