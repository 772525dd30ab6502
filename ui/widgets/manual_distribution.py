"""The manual distribution dialog: pick videos and channels, optionally a time, optionally Force.

It only collects the operator's choice (:meth:`ManualDistributionDialog.request`); the tab
runs ``VideoDistributionService.manual_distribute`` in the background. Force needs a note,
because a forced assignment is recorded with who forced it and why.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

from PySide6.QtCore import QDateTime, QSortFilterProxyModel, Qt, QTime
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.models.videos_model import PLATFORM_ICONS
from ui.widgets.channel_editor import ErrorLabel

IdRole = Qt.ItemDataRole.UserRole + 1


def _checkable(text: str, key: str, tooltip: str = "", enabled: bool = True) -> QStandardItem:
    item = QStandardItem(text)  # shown as plain text by the view
    item.setData(key, IdRole)
    item.setCheckable(True)
    item.setEditable(False)
    item.setCheckState(Qt.CheckState.Unchecked)
    if tooltip:
        item.setToolTip("<p>" + tooltip.replace("&", "&amp;").replace("<", "&lt;") + "</p>")
    item.setEnabled(enabled)
    return item


class ManualDistributionDialog(QDialog):
    """Choose what goes where by hand.

    Args:
        videos: (id, title) of the videos that can be distributed (ready ones).
        channels: dicts with id, name, platform, status and ``unavailable`` (why not, or "").
        preselect: video ids to tick at the start (the log's selection).
    """

    def __init__(self, videos: Sequence[tuple[str, str]], channels: Sequence[dict[str, Any]],
                 parent: QWidget | None = None, *, preselect: Iterable[str] = ()):
        super().__init__(parent)
        self.setWindowTitle("Manual distribution")
        self.setObjectName("manualDistribution")
        self.resize(760, 560)
        pre = set(preselect)

        self.videos = QStandardItemModel(self)
        for vid, title in videos:
            item = _checkable(title or vid, vid, f"{title}\nid: {vid}")
            if vid in pre:
                item.setCheckState(Qt.CheckState.Checked)
            self.videos.appendRow(item)
        self.video_proxy = QSortFilterProxyModel(self)
        self.video_proxy.setSourceModel(self.videos)
        self.video_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.channels = QStandardItemModel(self)
        for ch in channels:
            why = ch.get("unavailable") or ""
            text = f"{PLATFORM_ICONS.get(ch['platform'], '')} {ch['name']}" + (f"  ({ch['status']})" if
                                                                                ch['status'] != "active" else "")
            tip = f"{ch['name']} on {ch['platform']}" + (f"\n{why}: needs Force" if why else "")
            self.channels.appendRow(_checkable(text, ch["id"], tip))

        layout = QVBoxLayout(self)
        intro = QLabel("Assign videos to channels by hand. Duplicates, unavailable channels and schedule clashes are "
                       "refused unless you force them; forced assignments are logged with your note.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)

        lists = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(QLabel("<b>Videos</b>", self))
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("🔍 Filter videos…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.video_proxy.setFilterFixedString)
        left.addWidget(self.search)
        self.video_view = QListView(self)
        self.video_view.setModel(self.video_proxy)
        self.video_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.video_view.setUniformItemSizes(True)
        left.addWidget(self.video_view, 1)
        lists.addLayout(left, 3)
        right = QVBoxLayout()
        right.addWidget(QLabel("<b>Channels</b>", self))
        self.channel_view = QListView(self)
        self.channel_view.setModel(self.channels)
        self.channel_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        right.addWidget(self.channel_view, 1)
        lists.addLayout(right, 2)
        layout.addLayout(lists, 1)

        grid = QGridLayout()
        self.schedule_check = QCheckBox("Publish at", self)
        self.schedule_check.setToolTip("Without a time the videos are assigned and wait for a slot or an upload")
        self.when = QDateTimeEdit(self)
        self.when.setCalendarPopup(True)
        self.when.setDisplayFormat("yyyy-MM-dd HH:mm")
        soon = QDateTime.currentDateTime().addSecs(3600)
        soon.setTime(QTime(soon.time().hour(), 0))
        self.when.setDateTime(soon)
        self.when.setEnabled(False)
        self.when.setToolTip("Your local time")
        self.schedule_check.toggled.connect(self.when.setEnabled)
        grid.addWidget(self.schedule_check, 0, 0)
        grid.addWidget(self.when, 0, 1)
        self.when_error = ErrorLabel(self)
        grid.addWidget(self.when_error, 0, 2)
        self.force = QCheckBox("⚡ Force", self)
        self.force.setToolTip("Override the duplicate rule, channel availability and schedule spacing")
        grid.addWidget(self.force, 1, 0)
        self.note = QLineEdit(self)
        self.note.setPlaceholderText("why you force it (recorded with your name)")
        self.note.setEnabled(False)
        self.note.setMaxLength(1000)
        grid.addWidget(self.note, 1, 1)
        self.note_error = ErrorLabel(self)
        grid.addWidget(self.note_error, 1, 2)
        grid.setColumnStretch(1, 2)
        grid.setColumnStretch(2, 1)
        layout.addLayout(grid)

        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.summary)
        self.buttons = QDialogButtonBox(self)
        self.accept_button = QPushButton("Distribute", self)
        self.accept_button.setDefault(True)
        self.buttons.addButton(self.accept_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.force.toggled.connect(self.note.setEnabled)
        for signal in (self.videos.itemChanged, self.channels.itemChanged):
            signal.connect(self._check)
        for signal in (self.force.toggled, self.schedule_check.toggled):
            signal.connect(self._check)
        self.note.textChanged.connect(self._check)
        self.when.dateTimeChanged.connect(self._check)
        self._check()

    # -- choosing (tests use these too) ------------------------------------------------------------

    def _set_checked(self, model: QStandardItemModel, ids: Iterable[str], checked: bool = True) -> int:
        wanted, n = set(ids), 0
        for row in range(model.rowCount()):
            item = model.item(row)
            if item.data(IdRole) in wanted:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                n += 1
        return n

    def check_videos(self, ids: Iterable[str], checked: bool = True) -> int:
        return self._set_checked(self.videos, ids, checked)

    def check_channels(self, ids: Iterable[str], checked: bool = True) -> int:
        return self._set_checked(self.channels, ids, checked)

    @staticmethod
    def _checked(model: QStandardItemModel) -> list[str]:
        return [model.item(r).data(IdRole) for r in range(model.rowCount())
                if model.item(r).checkState() == Qt.CheckState.Checked]

    def video_ids(self) -> list[str]:
        return self._checked(self.videos)

    def channel_ids(self) -> list[str]:
        return self._checked(self.channels)

    def scheduled_at(self) -> datetime | None:
        """The chosen time in UTC, or None."""
        if not self.schedule_check.isChecked():
            return None
        secs = self.when.dateTime().toSecsSinceEpoch()
        return datetime.fromtimestamp(secs, tz=timezone.utc)

    def request(self) -> dict[str, Any]:
        """What the operator asked for: video_ids, channel_ids, scheduled_at (UTC or None), force, note."""
        return {"video_ids": self.video_ids(), "channel_ids": self.channel_ids(), "scheduled_at": self.scheduled_at(),
                "force": self.force.isChecked(), "note": self.note.text().strip() or None}

    # -- checking ----------------------------------------------------------------------------------

    def problems(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if not self.video_ids():
            out["videos"] = "Tick at least one video."
        if not self.channel_ids():
            out["channels"] = "Tick at least one channel."
        when = self.scheduled_at()
        if when is not None and when <= datetime.now(timezone.utc) + timedelta(seconds=30):
            out["when"] = "Choose a time in the future."
        if self.force.isChecked() and not self.note.text().strip():
            out["note"] = "Say why you force it; the note is logged."
        return out

    def _check(self, *_args) -> None:
        problems = self.problems()
        self.when_error.set_message(problems.get("when"))
        self.note_error.set_message(problems.get("note"))
        v, c = len(self.video_ids()), len(self.channel_ids())
        text = (f"{v} video{'s' if v != 1 else ''} × {c} channel{'s' if c != 1 else ''} = "
                f"{v * c} assignment{'s' if v * c != 1 else ''}")
        if "videos" in problems or "channels" in problems:
            text += " — " + " ".join(problems[k] for k in ("videos", "channels") if k in problems)
        self.summary.setText(text)
        self.accept_button.setEnabled(not problems)

    def _accept(self) -> None:
        if not self.problems():
            self.accept()
