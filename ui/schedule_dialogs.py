"""The Schedules tab's dialogs: create schedules (simultaneous, staggered, independent, a wave)
with the conflicts shown before anything is saved, and pick a new start for a missed wave.

The planning and checking (:func:`preview_request`) and the saving (:func:`save_request`) are
plain Python run on the worker thread; the dialog only edits a :class:`ScheduleRequest` and
draws the :class:`Preview` it gets back. The conflict rule is the services' own
(``orchestration.scheduling.find_conflicts``, and for waves the orchestrator's planning and
daily-cap check), so what the preview shows is what saving would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Sequence

from PySide6.QtCore import (
    QAbstractListModel,
    QDate,
    QDateTime,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTime,
    QTimer,
    QTimeZone,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QCompleter,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.models.rows import RowsModel
from ui.models.schedules_model import (
    PLATFORM_ICONS,
    ChannelInfo,
    fmt_channel_time,
    fmt_time,
    operator_zone,
    tooltip_html,
    zone_name,
)
from ui.worker import Worker

KINDS = ("simultaneous", "staggered", "independent", "wave")
KIND_LABELS = {"simultaneous": "Simultaneous", "staggered": "Staggered", "independent": "Independent",
               "wave": "Wave"}
KIND_HELP = {
    "simultaneous": "One video on several channels at the same moment.",
    "staggered": "One video on several channels, one after another: channel i at start + i × delay (in the "
                 "order listed; use ▲ ▼ to change it).",
    "independent": "One slot on one channel, with a video or empty (an empty slot takes a video assigned to the "
                   "channel when it runs).",
    "wave": "Several videos on several channels as one wave (one wave id): simultaneous — each video on every "
            "channel at once, one video every delay; staggered — one post every delay, channel by channel; "
            "independent — each channel's own next free posting slots.",
}
WAVE_TIMINGS = ("simultaneous", "staggered", "independent")
DEFAULT_DELAY_MINUTES = 60
EMPTY_SLOT = "(empty slot — filled when it runs)"
MAX_LISTED = 5  # conflicts spelled out under the preview


# -- the request, the preview and the work (worker thread; no widgets) -------------------------------------


@dataclass
class ScheduleRequest:
    """What the operator asked for; ``start`` is an aware datetime."""

    kind: str
    video_ids: list[str]
    channel_ids: list[str]
    start: datetime
    delay_seconds: float = DEFAULT_DELAY_MINUTES * 60
    wave_id: str | None = None
    wave_timing: str = "simultaneous"


@dataclass
class PlanItem:
    channel_id: str
    channel_name: str
    channel_tz: str
    platform: str
    video_id: str | None
    video_title: str | None
    at: datetime
    conflicts: list[str] = field(default_factory=list)


@dataclass
class Preview:
    """The schedules a request would create, each with its conflicts, and problems with the request itself."""

    items: list[PlanItem]
    problems: list[str]

    @property
    def conflict_count(self) -> int:
        return sum(len(i.conflicts) for i in self.items)

    @property
    def ok(self) -> bool:
        return bool(self.items) and not self.problems and not self.conflict_count


@dataclass
class Choices:
    """What the dialog offers: ready videos ``[(id, title)]`` and every channel."""

    videos: list[tuple[str, str]]
    channels: list[ChannelInfo]


def fetch_choices(db) -> Choices:
    with db.snapshot() as conn:
        videos = [(r[0], r[1] or r[0]) for r in conn.execute(
            "SELECT id, title FROM videos WHERE status = 'ready' ORDER BY created_at DESC, id DESC")]
        channels = [ChannelInfo(r[0], r[1], r[2], r[3] or "UTC", r[4]) for r in conn.execute(
            "SELECT id, name, platform, timezone, status FROM channels ORDER BY name COLLATE NOCASE, id")]
    return Choices(videos, channels)


def _plan(svc, orch, req: ScheduleRequest, channels: list, vids: list[str | None], start: datetime,
          problems: list[str]) -> list[tuple[Any, str | None, datetime]]:
    from orchestration.scheduling import ScheduleConflictError

    delay = timedelta(seconds=req.delay_seconds)
    if req.kind == "simultaneous":
        return [(ch, vids[0], start) for ch in channels]
    if req.kind == "staggered":
        return [(ch, vids[0], start + i * delay) for i, ch in enumerate(channels)]
    if req.kind == "independent":
        return [(channels[0], vids[0] if vids else None, start)]
    m = len(channels)
    if req.wave_timing == "simultaneous":
        return [(ch, v, start + i * delay) for i, v in enumerate(vids) for ch in channels]
    if req.wave_timing == "staggered":
        return [(ch, v, start + (i * m + j) * delay) for i, v in enumerate(vids) for j, ch in enumerate(channels)]
    try:  # independent wave: the orchestrator's own slot planning
        return orch._independent_plan(channels, vids, start, "wave_config.scheduled_at")
    except ScheduleConflictError as exc:
        problems.extend(c.message for c in exc.conflicts)
        return []


def preview_request(db, req: ScheduleRequest, now: datetime | None = None) -> Preview:
    """Plan ``req`` and check every schedule of it against the registry (nothing is written)."""
    from database import ASFSError, utcnow
    from orchestration.orchestrator import CentralOrchestrationService
    from orchestration.scheduling import MIN_SCHEDULE_GAP_SECONDS, SchedulingService, find_conflicts

    now = now or utcnow()
    problems: list[str] = []
    svc = SchedulingService(db)
    orch = CentralOrchestrationService(db)
    if not req.channel_ids:
        problems.append("Choose at least one channel.")
    if req.kind != "independent" and not req.video_ids:
        problems.append("Choose a video." if req.kind != "wave" else "Choose at least one video.")
    if req.kind == "independent" and len(req.channel_ids) > 1:
        problems.append("An independent schedule is for one channel.")
    if problems:
        return Preview([], problems)
    try:
        channels = svc._channels(req.channel_ids)
        vids = [svc._video(v, required=True) for v in req.video_ids]
    except ASFSError as exc:
        return Preview([], [str(exc)])
    titles = {r[0]: r[1] for r in db.query("SELECT id, title FROM videos")} if vids else {}
    if req.wave_id and db.query_one("SELECT 1 FROM schedules WHERE wave_id = ? LIMIT 1", (req.wave_id,)) \
            and req.kind == "wave":
        problems.append(f"Wave id '{req.wave_id}' is already used; choose another or leave it empty.")
    start = req.start.astimezone(timezone.utc)
    plan = _plan(svc, orch, req, channels, vids or [None], start, problems)
    items: list[PlanItem] = []
    with db.snapshot() as conn:
        for i, (ch, vid, at) in enumerate(plan):
            found = [c.message for c in find_conflicts(conn, ch.id, at, video_id=vid,
                                                       gap_seconds=ch.min_spacing_seconds, now=now,
                                                       channel_name=ch.name)]
            gap = max(ch.min_spacing_seconds, MIN_SCHEDULE_GAP_SECONDS)
            for other_ch, other_vid, other_at in plan[:i]:  # the request against itself
                if other_ch.id != ch.id:
                    continue
                if vid is not None and vid == other_vid:
                    found.append(f"{ch.name}: listed twice for the same video in this request")
                elif abs((at - other_at).total_seconds()) < gap:
                    found.append(f"{ch.name}: within {gap:g} s of another schedule in this request")
            items.append(PlanItem(ch.id, ch.name, ch.timezone, ch.platform, vid, titles.get(vid) if vid else None,
                                  at, found))
        if req.kind == "wave" and plan:
            problems.extend(c.message for c in orch._cap_conflicts(conn, plan))
    return Preview(items, problems)


def save_request(db, req: ScheduleRequest) -> list[str]:
    """Create what ``req`` asks for through the services; returns the new schedule ids.

    Raises:
        ScheduleConflictError (every conflict listed, nothing written), ValidationError, ...
    """
    from orchestration.orchestrator import CentralOrchestrationService
    from orchestration.scheduling import SchedulingService

    start = req.start.astimezone(timezone.utc)
    svc = SchedulingService(db)
    if req.kind == "simultaneous":
        made = svc.create_simultaneous_schedule(req.video_ids[0], req.channel_ids, start, wave_id=req.wave_id)
    elif req.kind == "staggered":
        made = svc.create_staggered_schedule(req.video_ids[0], req.channel_ids, start, req.delay_seconds,
                                             wave_id=req.wave_id)
    elif req.kind == "independent":
        made = [svc.create_independent_schedule(req.channel_ids[0], start,
                                                video_id=req.video_ids[0] if req.video_ids else None,
                                                wave_id=req.wave_id)]
    else:
        config = {"timing": req.wave_timing, "scheduled_at": start, "delay_seconds": req.delay_seconds}
        if req.wave_id:
            config["wave_id"] = req.wave_id
        result = CentralOrchestrationService(db).schedule_wave_publication(req.video_ids, req.channel_ids, config)
        return [s["id"] for s in result["schedules"]]
    return [s.id for s in made]


# -- small models -----------------------------------------------------------------------------------------


class CheckListModel(QAbstractListModel):
    """A list of (key, label) with a check box each; rows can be moved (the order is meaningful)."""

    changed = Signal()

    def __init__(self, items: Sequence[tuple[str, str]] = (), parent=None):
        super().__init__(parent)
        self._items: list[list[Any]] = [[k, label, False] for k, label in items]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        key, label, checked = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return label
        if role == Qt.ItemDataRole.CheckStateRole:
            return Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.UserRole:
            return key
        return None

    def setData(self, index: QModelIndex | QPersistentModelIndex, value: Any,  # noqa: N802
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.CheckStateRole:
            return False
        checked = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) else value
        self._items[index.row()][2] = checked
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        self.changed.emit()
        return True

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable
                | Qt.ItemFlag.ItemNeverHasChildren)

    def keys(self) -> list[str]:
        return [k for k, _l, _c in self._items]

    def checked(self) -> list[str]:
        """Checked keys, in list order."""
        return [k for k, _l, c in self._items if c]

    def set_checked(self, keys: Sequence[str], checked: bool = True) -> None:
        wanted = set(keys)
        for row, item in enumerate(self._items):
            if item[0] in wanted and item[2] != checked:
                item[2] = checked
                idx = self.index(row)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.CheckStateRole])
        self.changed.emit()

    def move(self, row: int, delta: int) -> int:
        """Move a row up (-1) or down (+1); returns its new row."""
        target = row + delta
        if not (0 <= row < len(self._items) and 0 <= target < len(self._items)):
            return row
        dest = target + 1 if delta > 0 else target  # Qt's destination is "before this row"
        self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), dest)
        self._items.insert(target, self._items.pop(row))
        self.endMoveRows()
        self.changed.emit()
        return target


class PlanModel(RowsModel):
    """The preview: one row per schedule the request would create (rows: ``PlanItem``)."""

    HEADERS = ("Channel", "Video", "Your time", "Channel's time", "Conflicts")

    def __init__(self, zone: tzinfo, parent=None):
        super().__init__(parent)
        self.zone = zone

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item: PlanItem | None = self.cell(index)
        if item is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                mark = "✖ " if item.conflicts else ""
                return f"{mark}{PLATFORM_ICONS.get(item.platform, '•')} {item.channel_name}"
            if col == 1:
                return (item.video_title or item.video_id) if item.video_id else EMPTY_SLOT
            if col == 2:
                return fmt_time(item.at, self.zone)
            if col == 3:
                return fmt_channel_time(item.at, item.channel_tz, self.zone)
            if col == 4:
                return "; ".join(item.conflicts) if item.conflicts else "✔ none"
        if role == Qt.ItemDataRole.ForegroundRole and col == 4:
            return theme.accent("error" if item.conflicts else "success")
        if role == Qt.ItemDataRole.BackgroundRole and item.conflicts:
            tint = theme.accent("error")
            tint.setAlpha(40)
            return tint
        if role == Qt.ItemDataRole.ToolTipRole and item.conflicts:
            return tooltip_html(item.conflicts)
        return None


# -- the create dialog ----------------------------------------------------------------------------------


def _utc_zone() -> QTimeZone:
    return QTimeZone.utc() if hasattr(QTimeZone, "utc") else QTimeZone(b"UTC")


def set_wall_time(edit: QDateTimeEdit, when: datetime, zone: tzinfo) -> None:
    """Show ``when`` in ``zone`` as a wall-clock time (the edit itself does no zone arithmetic)."""
    local = when.astimezone(zone)
    edit.setDateTime(QDateTime(QDate(local.year, local.month, local.day), QTime(local.hour, local.minute),
                               _utc_zone()))


def wall_time(edit: QDateTimeEdit, zone: tzinfo) -> datetime:
    """The edit's wall-clock time, read in ``zone``, as an aware UTC datetime."""
    qdt = edit.dateTime()
    d, t = qdt.date(), qdt.time()
    return datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), tzinfo=zone).astimezone(timezone.utc)


def _time_edit(parent: QWidget) -> QDateTimeEdit:
    edit = QDateTimeEdit(parent)
    edit.setTimeZone(_utc_zone())
    edit.setDisplayFormat("ddd yyyy-MM-dd HH:mm")
    edit.setCalendarPopup(True)
    return edit


def _next_hour(now: datetime | None = None) -> datetime:
    now = now or datetime.now(timezone.utc)
    return (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)


class ScheduleDialog(QDialog):
    """Create schedules; the preview (with every conflict) updates as the form changes, and Save
    stays disabled until there is nothing in the way.

    Signals:
        previewed(preview): a fresh preview is shown.
        saved(ids): the schedules were created (the dialog then closes).
    """

    previewed = Signal(object)
    saved = Signal(object)

    def __init__(self, worker: Worker, db, choices: Choices, parent: QWidget | None = None, *,
                 zone: tzinfo | None = None, kind: str = "simultaneous", channel_ids: Sequence[str] = (),
                 video_id: str | None = None, start: datetime | None = None, debounce_ms: int = 200):
        super().__init__(parent)
        self.setObjectName("scheduleDialog")
        self.setWindowTitle("New schedule")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.worker = worker
        self.db = db
        self.choices = choices
        self.zone = zone or operator_zone()
        self.preview: Preview | None = None
        self._generation = 0
        self._pending_preview = False
        self._saving = False
        self._save_error: str | None = None
        self._closed = False
        self.resize(1120, 600)
        self._build()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self.refresh_preview)
        self.set_kind(kind)
        if channel_ids:
            self.set_channels(channel_ids)
        if video_id is not None:
            self.set_video(video_id)
        set_wall_time(self.start_edit, start or _next_hour(), self.zone)
        self._connect_changes()
        self.request_preview()

    # -- building -------------------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        kinds = QHBoxLayout()
        kinds.addWidget(QLabel("Kind:", self))
        self.kind_group = QButtonGroup(self)
        self.kind_buttons: dict[str, QRadioButton] = {}
        for n, kind in enumerate(KINDS):
            button = QRadioButton(KIND_LABELS[kind], self)
            button.setToolTip(KIND_HELP[kind])
            self.kind_group.addButton(button, n)
            self.kind_buttons[kind] = button
            kinds.addWidget(button)
        kinds.addStretch(1)
        outer.addLayout(kinds)
        self.help = QLabel(self)
        self.help.setTextFormat(Qt.TextFormat.PlainText)
        self.help.setWordWrap(True)
        self.help.setStyleSheet(f"color: {theme.accent('muted', self.palette()).name()};")
        outer.addWidget(self.help)

        split = QSplitter(Qt.Orientation.Horizontal, self)
        form_host = QWidget(split)
        form = QFormLayout(form_host)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.video_combo = QComboBox(form_host)
        self.video_combo.setEditable(True)
        self.video_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.video_combo.completer().setFilterMode(Qt.MatchFlag.MatchContains)
        self.video_combo.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.video_combo.setMinimumWidth(260)
        form.addRow("Video:", self.video_combo)

        self.video_list_host = QWidget(form_host)
        vl = QVBoxLayout(self.video_list_host)
        vl.setContentsMargins(0, 0, 0, 0)
        self.video_search = QLineEdit(self.video_list_host)
        self.video_search.setPlaceholderText("🔍 Filter videos…")
        self.video_search.setClearButtonEnabled(True)
        vl.addWidget(self.video_search)
        self.videos_model = CheckListModel(self.choices.videos, self)
        self.videos_proxy = QSortFilterProxyModel(self)
        self.videos_proxy.setSourceModel(self.videos_model)
        self.videos_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.video_list = QListView(self.video_list_host)
        self.video_list.setModel(self.videos_proxy)
        self.video_list.setUniformItemSizes(True)
        vl.addWidget(self.video_list)
        form.addRow("Videos:", self.video_list_host)

        self.channel_combo = QComboBox(form_host)
        for ch in self.choices.channels:
            self.channel_combo.addItem(ch.label, ch.id)
        form.addRow("Channel:", self.channel_combo)

        self.channel_list_host = QWidget(form_host)
        cl = QHBoxLayout(self.channel_list_host)
        cl.setContentsMargins(0, 0, 0, 0)
        self.channels_model = CheckListModel([(c.id, f"{c.label} · {c.timezone}") for c in self.choices.channels],
                                             self)
        self.channel_list = QListView(self.channel_list_host)
        self.channel_list.setModel(self.channels_model)
        self.channel_list.setUniformItemSizes(True)
        cl.addWidget(self.channel_list, 1)
        moves = QVBoxLayout()
        self.up_button = QToolButton(self.channel_list_host)
        self.up_button.setText("▲")
        self.up_button.setToolTip("Move the channel up (staggered: earlier)")
        self.up_button.clicked.connect(lambda: self._move_channel(-1))
        self.down_button = QToolButton(self.channel_list_host)
        self.down_button.setText("▼")
        self.down_button.setToolTip("Move the channel down (staggered: later)")
        self.down_button.clicked.connect(lambda: self._move_channel(1))
        moves.addWidget(self.up_button)
        moves.addWidget(self.down_button)
        moves.addStretch(1)
        cl.addLayout(moves)
        form.addRow("Channels:", self.channel_list_host)

        start_row = QHBoxLayout()
        self.start_edit = _time_edit(form_host)
        start_row.addWidget(self.start_edit, 1)
        zone_label = QLabel(zone_name(self.zone), form_host)
        zone_label.setTextFormat(Qt.TextFormat.PlainText)
        zone_label.setToolTip("Times are in your zone; the preview shows each channel's own time too")
        start_row.addWidget(zone_label)
        form.addRow("Start:", start_row)

        self.delay_spin = QSpinBox(form_host)
        self.delay_spin.setRange(0, 366 * 24 * 60)
        self.delay_spin.setValue(DEFAULT_DELAY_MINUTES)
        self.delay_spin.setSuffix(" min")
        form.addRow("Delay:", self.delay_spin)

        self.timing_combo = QComboBox(form_host)
        for timing in WAVE_TIMINGS:
            self.timing_combo.addItem(KIND_LABELS[timing], timing)
        form.addRow("Wave timing:", self.timing_combo)

        self.wave_edit = QLineEdit(form_host)
        self.wave_edit.setPlaceholderText("optional, e.g. launch-week")
        self.wave_edit.setMaxLength(200)
        form.addRow("Wave id:", self.wave_edit)
        self.form = form
        split.addWidget(form_host)

        right = QWidget(split)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("Preview — what will be created", right)
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)
        rl.addWidget(heading)
        self.plan_model = PlanModel(self.zone, self)
        self.plan_view = QTableView(right)
        self.plan_view.setModel(self.plan_model)
        self.plan_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.plan_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.plan_view.verticalHeader().setVisible(False)
        self.plan_view.setWordWrap(False)
        self.plan_view.verticalHeader().setDefaultSectionSize(24)
        self.plan_view.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.plan_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((140, 130, 150, 170)):
            self.plan_view.setColumnWidth(col, width)
        rl.addWidget(self.plan_view, 1)
        self.status_label = QLabel(right)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setWordWrap(True)
        rl.addWidget(self.status_label)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([420, 700])
        outer.addWidget(split, 1)

        self.buttons = QDialogButtonBox(self)
        self.save_button = QPushButton("Save", self)
        self.save_button.setDefault(True)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.save_button.clicked.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)
        self._fill_video_combo(empty_slot=False)

    def _fill_video_combo(self, *, empty_slot: bool) -> None:
        current = self.video_combo.currentData()
        self.video_combo.blockSignals(True)
        self.video_combo.clear()
        if empty_slot:
            self.video_combo.addItem(EMPTY_SLOT, None)
        for vid, title in self.choices.videos:
            self.video_combo.addItem(title if title == vid else f"{title}  ·  {vid}", vid)
        idx = self.video_combo.findData(current) if current is not None else 0
        self.video_combo.setCurrentIndex(max(0, idx))
        self.video_combo.blockSignals(False)

    def _connect_changes(self) -> None:
        self.kind_group.idClicked.connect(lambda n: self.set_kind(KINDS[n]))
        self.video_combo.currentIndexChanged.connect(self.request_preview)
        self.videos_model.changed.connect(self.request_preview)
        self.video_search.textChanged.connect(self.videos_proxy.setFilterFixedString)
        self.channel_combo.currentIndexChanged.connect(self.request_preview)
        self.channels_model.changed.connect(self.request_preview)
        self.start_edit.dateTimeChanged.connect(self.request_preview)
        self.delay_spin.valueChanged.connect(self.request_preview)
        self.timing_combo.currentIndexChanged.connect(self._update_fields)
        self.wave_edit.textChanged.connect(self.request_preview)

    # -- the form ------------------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return KINDS[max(0, self.kind_group.checkedId())]

    def set_kind(self, kind: str) -> None:
        self.kind_buttons[kind].setChecked(True)
        self._fill_video_combo(empty_slot=kind == "independent")
        self._update_fields()

    def _update_fields(self, *_args) -> None:
        kind = self.kind
        self.help.setText(KIND_HELP[kind])
        wave = kind == "wave"
        shows = {
            self.video_combo: not wave,
            self.video_list_host: wave,
            self.channel_combo: kind == "independent",
            self.channel_list_host: kind != "independent",
            self.delay_spin: kind == "staggered" or (wave and self.timing_combo.currentData() != "independent"),
            self.timing_combo: wave,
        }
        for widget, visible in shows.items():
            self.form.setRowVisible(widget, visible)
        self.setWindowTitle(f"New schedule — {KIND_LABELS[kind]}")
        self.request_preview()

    def _move_channel(self, delta: int) -> None:
        row = self.channel_list.currentIndex().row()
        if row < 0:
            return
        new = self.channels_model.move(row, delta)
        self.channel_list.setCurrentIndex(self.channels_model.index(new))

    def set_channels(self, channel_ids: Sequence[str]) -> None:
        """Check these channels (and pick the first for an independent schedule)."""
        self.channels_model.set_checked(self.channels_model.keys(), False)
        self.channels_model.set_checked(channel_ids, True)
        if channel_ids:
            idx = self.channel_combo.findData(channel_ids[0])
            if idx >= 0:
                self.channel_combo.setCurrentIndex(idx)

    def set_video(self, video_id: str | None) -> None:
        idx = self.video_combo.findData(video_id)
        if idx >= 0:
            self.video_combo.setCurrentIndex(idx)

    def set_videos(self, video_ids: Sequence[str]) -> None:
        self.videos_model.set_checked(self.videos_model.keys(), False)
        self.videos_model.set_checked(video_ids, True)

    def set_start(self, when: datetime) -> None:
        set_wall_time(self.start_edit, when, self.zone)

    def set_delay_minutes(self, minutes: int) -> None:
        self.delay_spin.setValue(minutes)

    def request(self) -> ScheduleRequest:
        """The request the form describes now."""
        kind = self.kind
        if kind == "wave":
            videos = self.videos_model.checked()
        else:
            vid = self.video_combo.currentData()
            # typed text that matches no video is no video
            if vid is not None and self.video_combo.currentText() != self.video_combo.itemText(
                    self.video_combo.currentIndex()):
                vid = None
            videos = [vid] if vid is not None else []
        if kind == "independent":
            cid = self.channel_combo.currentData()
            channels = [cid] if cid is not None else []
        else:
            channels = self.channels_model.checked()
        wave = self.wave_edit.text().strip() or None
        return ScheduleRequest(kind=kind, video_ids=videos, channel_ids=channels, start=wall_time(self.start_edit,
                                                                                                   self.zone),
                               delay_seconds=self.delay_spin.value() * 60.0,
                               wave_id=wave if kind != "independent" else None,
                               wave_timing=self.timing_combo.currentData() or "simultaneous")

    # -- preview --------------------------------------------------------------------------------------

    def request_preview(self, *_args) -> None:
        """Check the form again shortly (changes in quick succession make one check)."""
        if self._closed:
            return
        self._pending_preview = True
        self.save_button.setEnabled(False)
        self.status_label.setText("Checking for conflicts…")
        self._timer.start()

    def refresh_preview(self) -> None:
        """Check the form now (in the background)."""
        if self._closed or self.db is None:
            return
        self._timer.stop()
        self._generation += 1
        generation = self._generation
        self.worker.run(preview_request, self.db, self.request(), name="Checking the schedule", kind="preview",
                        quiet=True, on_result=lambda p: self._show_preview(generation, p),
                        on_error=lambda exc: self._preview_failed(generation, exc))

    @property
    def checking(self) -> bool:
        return self._pending_preview

    def _show_preview(self, generation: int, preview: Preview) -> None:
        if self._closed or generation != self._generation:
            return
        self._pending_preview = False
        self.preview = preview
        self.plan_model.set_rows(preview.items)
        n, conflicts = len(preview.items), preview.conflict_count
        lines = list(preview.problems)
        if conflicts:
            messages = [c for i in preview.items for c in i.conflicts]
            shown = [f"• {m}" for m in messages[:MAX_LISTED]]
            if len(messages) > MAX_LISTED:
                shown.append(f"• … and {len(messages) - MAX_LISTED} more (marked ✖ in the preview)")
            lines[:0] = [f"✖ {conflicts} conflict{'s' if conflicts != 1 else ''} — nothing is saved until "
                         "they are resolved (change the time, the delay or the channels):"] + shown
        save_error, self._save_error = self._save_error, None
        if save_error:
            lines.insert(0, save_error)
        if preview.ok:
            ok = f"✔ No conflicts: {n} schedule{'s' if n != 1 else ''} will be created."
            self.status_label.setText(f"{save_error}\n{ok} Try again." if save_error else ok)
            self._set_status_colour("error" if save_error else "success")
        else:
            self.status_label.setText("\n".join(lines) or "Nothing to create yet.")
            self._set_status_colour("error" if lines else "muted")
        self.save_button.setEnabled(preview.ok and not self._saving)
        self.previewed.emit(preview)

    def _preview_failed(self, generation: int, exc: BaseException) -> None:
        if self._closed or generation != self._generation:
            return
        self._pending_preview = False
        self.preview = None
        self.plan_model.set_rows([])
        self.status_label.setText(f"Could not check this schedule: {exc}")
        self._set_status_colour("error")
        self.previewed.emit(None)

    def _set_status_colour(self, accent: str) -> None:
        self.status_label.setStyleSheet(f"color: {theme.accent(accent, self.palette()).name()};")

    def conflict_texts(self) -> list[str]:
        """Every conflict and problem shown now (tests, and the status line)."""
        if self.preview is None:
            return []
        return list(self.preview.problems) + [c for i in self.preview.items for c in i.conflicts]

    # -- saving ---------------------------------------------------------------------------------------

    def save(self) -> None:
        """Create the schedules (in the background); conflicts found meanwhile are shown, nothing saved."""
        if self._saving or self._pending_preview or self.preview is None or not self.preview.ok:
            return
        self._saving = True
        self.save_button.setEnabled(False)
        self.status_label.setText("Saving…")
        self.worker.run(save_request, self.db, self.request(), name="Creating schedules", kind="write",
                        on_result=self._saved, on_error=self._save_failed)

    def _saved(self, ids: list[str]) -> None:
        self._saving = False
        if self._closed:
            return
        self.saved.emit(ids)
        self.accept()

    def _save_failed(self, exc: BaseException) -> None:
        self._saving = False
        if self._closed:
            return
        conflicts = getattr(exc, "conflicts", None)
        self._save_error = "✖ Nothing was saved: " + (
            "the registry changed meanwhile" if conflicts else str(exc))
        self.request_preview()  # the registry moved on: check again, and show what is in the way now

    def done(self, result: int) -> None:
        self._closed = True
        self._timer.stop()
        super().done(result)


# -- the "new start" dialog for a missed wave -------------------------------------------------------------


class StartTimeDialog(QDialog):
    """Pick a new start (wall-clock time in the operator's zone). Signal ``chosen(datetime UTC)``."""

    chosen = Signal(object)

    def __init__(self, title: str, text: str, zone: tzinfo, parent: QWidget | None = None, *,
                 start: datetime | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.zone = zone
        layout = QVBoxLayout(self)
        label = QLabel(self)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setText(text)
        layout.addWidget(label)
        row = QHBoxLayout()
        self.edit = _time_edit(self)
        set_wall_time(self.edit, start or (datetime.now(timezone.utc) + timedelta(minutes=10)), zone)
        row.addWidget(self.edit, 1)
        zl = QLabel(zone_name(zone), self)
        zl.setTextFormat(Qt.TextFormat.PlainText)
        row.addWidget(zl)
        layout.addLayout(row)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        box.accepted.connect(self._ok)
        box.rejected.connect(self.reject)
        layout.addWidget(box)

    def value(self) -> datetime:
        return wall_time(self.edit, self.zone)

    def _ok(self) -> None:
        self.chosen.emit(self.value())
        self.accept()


__all__ = ["CheckListModel", "Choices", "PlanItem", "PlanModel", "Preview", "ScheduleDialog", "ScheduleRequest",
           "StartTimeDialog", "fetch_choices", "preview_request", "save_request"]
