"""The channel editor: every setting of one channel, validated as the operator types.

Each field has its message right next to it. The checks are the domain's own: the pydantic
models of :mod:`orchestration.filters` for content filters, posting slots and availability
windows, :func:`orchestration.transform.parse_profile` for the transformation profile, and
the channel service's column rules for the rest. Saving is the tab's job (through the
worker); a refusal comes back with :meth:`ChannelEditor.show_error`, next to its field.
"""

from __future__ import annotations

import json
import re
import string
from typing import Any, Mapping
from zoneinfo import available_timezones

import pydantic
from PySide6.QtCore import QEvent, QStringListModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from database.channels import canonical_platform
from database.errors import ValidationError
from orchestration.channels import CHANNEL_STATUSES, _columns, validate_timezone
from orchestration.filters import FILTER_NAMES, RESOLUTIONS, WEEKDAYS, AvailabilityWindow, ContentFilters, PostingSchedule
from orchestration.transform import TransformProfile, parse_profile
from ui import theme
from ui.models.videos_model import PLATFORM_ICONS, PLATFORMS_SHOWN

DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
             "sat": "Saturday", "sun": "Sunday"}
PROFILE_PRESETS: tuple[tuple[str, dict[str, Any] | None], ...] = (
    ("None: publish the original file", None),
    ("Vertical 9:16, 1080×1920, crop", {"aspect": "9:16", "width": 1080, "height": 1920, "mode": "crop"}),
    ("Vertical 9:16, 720×1280, pad", {"aspect": "9:16", "width": 720, "height": 1280, "mode": "pad"}),
    ("Square 1:1, 1080×1080, pad", {"aspect": "1:1", "width": 1080, "height": 1080, "mode": "pad"}),
    ("Custom (edit the JSON below)", {}),
)
VISIBILITIES = (("Platform default (public)", None), ("Public", "public"), ("Unlisted", "unlisted"),
                ("Private", "private"))
_TEMPLATE_KEYS = ("title", "description", "hashtags", "visibility")
_ZONES: list[str] | None = None
_SPLIT = re.compile(r"[,\s]+")
_WINDOW_SPLIT = re.compile(r"\s*(?:\.\.|–|—|→|\bto\b)\s*")


def zones() -> list[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = sorted(z for z in available_timezones() if "/" in z or z == "UTC")
    return _ZONES


def friendly(msg: str) -> str:
    """pydantic's wording, made to read like the rest of the app."""
    msg = msg.removeprefix("Value error, ")
    for pattern, words in ((r"Input should be greater than or equal to (\S+)", r"must be at least \1"),
                           (r"Input should be greater than (\S+)", r"must be more than \1"),
                           (r"Input should be less than or equal to (\S+)", r"must be at most \1"),
                           (r"Input should be less than (\S+)", r"must be less than \1"),
                           (r"List should have at most (\d+) items.*", r"at most \1 entries")):
        msg = re.sub(pattern, words, msg)
    return msg


def split_words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text.strip()) if w]


# -- validation (pure functions; the tests call them too) ------------------------------------------


def validate_filters(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Content filters from the form's values; (filters, {field: message})."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in ("min_resolution", "orientation"):
        if raw.get(key):
            values[key] = raw[key]
    if raw.get("exclude_watermarked"):
        values["exclude_watermarked"] = True
    text = str(raw.get("min_views") or "").strip()
    if text:
        try:
            values["min_views"] = int(text.replace(",", "").replace("_", "").replace(" ", ""))
        except ValueError:
            errors["min_views"] = f"“{text}” is not a whole number of views"
    for key in ("max_duration", "min_duration"):
        text = str(raw.get(key) or "").strip().removesuffix("s").strip()
        if text:
            try:
                values[key] = float(text.replace(",", "."))
            except ValueError:
                errors[key] = f"“{text}” is not a number of seconds"
    for key in ("include_tags", "exclude_tags"):
        tags = [t.lstrip("#") for t in split_words(str(raw.get(key) or ""))]
        if any(not t for t in tags):
            errors[key] = "a tag cannot be just “#”"
        elif tags:
            values[key] = tags
    try:
        model = ContentFilters.model_validate({k: v for k, v in values.items() if k not in errors})
    except pydantic.ValidationError as exc:
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            key = loc[0] if loc and loc[0] in FILTER_NAMES else "content_filters"
            errors.setdefault(key, friendly(err.get("msg", "invalid value")))
        return values, errors
    return model.to_dict(), errors


def parse_slots(text: str) -> list[str]:
    return split_words(text)


def validate_slots(day_texts: Mapping[str, str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Posting slots per weekday; errors are keyed ``slots.mon`` ..."""
    slots: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    for day in WEEKDAYS:
        times = parse_slots(day_texts.get(day, ""))
        if not times:
            continue
        try:
            model = PostingSchedule.model_validate({"slots": {day: times}})
        except pydantic.ValidationError as exc:
            msg = friendly(exc.errors()[0].get("msg", "invalid time"))
            errors[f"slots.{day}"] = msg.removeprefix(f"{day}: ")
            continue
        slots[day] = model.slots.get(day, [])
    return slots, errors


def validate_windows(text: str) -> tuple[list[dict[str, str]], str | None]:
    """Availability windows, one per line ("2026-01-01 .. 2026-03-31"; a side may be empty)."""
    out: list[dict[str, str]] = []
    problems: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        parts = _WINDOW_SPLIT.split(line, maxsplit=1)
        if len(parts) == 1:
            parts = [parts[0], parts[0]]  # one date: that day only
        start, end = (p.strip() or None for p in parts)
        try:
            w = AvailabilityWindow.model_validate({"start": start, "end": end})
        except pydantic.ValidationError as exc:
            problems.append(f"line {n}: " + friendly(exc.errors()[0].get("msg", "invalid window")))
            continue
        window = {}
        if w.start:
            window["start"] = w.start.isoformat()
        if w.end:
            window["end"] = w.end.isoformat()
        if not window:
            problems.append(f"line {n}: give a start date, an end date or both")
            continue
        out.append(window)
    return out, ("; ".join(problems) if problems else None)


def windows_text(windows) -> str:
    lines = []
    for w in windows:
        start = w.start.isoformat() if getattr(w, "start", None) else ""
        end = w.end.isoformat() if getattr(w, "end", None) else ""
        lines.append(f"{start} .. {end}".strip())
    return "\n".join(lines)


def check_template(text: str) -> str | None:
    """Why a metadata template string would fail when it is filled in, or None."""
    try:
        for _lit, name, _spec, _conv in string.Formatter().parse(text):
            if name is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                return f"“{{{name}}}” is not a video field; use e.g. {{title}} or {{tags}}"
    except ValueError as exc:
        return f"braces do not match ({exc}); write {{{{ and }}}} for a literal brace"
    return None


def check_field(key: str, value: Any) -> str | None:
    """The channel service's rule for one column, or None when the value passes."""
    try:
        _columns(None, {key: value})
    except ValidationError as exc:
        return str(exc)
    return None


class ErrorLabel(QLabel):
    """A field's message: plain text in the error colour, hidden while there is nothing to say."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setVisible(False)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setMinimumWidth(120)
        self._paint()

    def _paint(self) -> None:
        sheet = f"color: {theme.accent('error').name()};"
        if self.styleSheet() != sheet:
            self.setStyleSheet(sheet)

    def changeEvent(self, event) -> None:  # noqa: N802 - follow the light/dark switch
        if event.type() == QEvent.Type.PaletteChange:
            self._paint()
        super().changeEvent(event)

    def set_message(self, text: str | None) -> None:
        text = text or ""
        if text != self.text():
            self.setText(text)
            self.setToolTip("<p>" + text.replace("&", "&amp;").replace("<", "&lt;") + "</p>" if text else "")
        self.setVisible(bool(text))


class ChannelEditor(QWidget):
    """Edits one channel (or a new one). The tab saves; see the module docstring.

    Signals:
        saveRequested(): the operator clicked Save and the form is valid.
        loginRequested(): "Log in…" was clicked.
        dirtyChanged(bool): the form differs (or no longer differs) from what was loaded.
    """

    saveRequested = Signal()
    loginRequested = Signal()
    dirtyChanged = Signal(bool)
    validated = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("channelEditor")
        self.channel = None  # the Channel loaded, None for a new one
        self._loading = False
        self._dirty = False
        self._template_extra: dict[str, Any] = {}
        self.errors: dict[str, ErrorLabel] = {}
        self.field_errors: dict[str, str] = {}
        self._server_errors: dict[str, str] = {}
        self._build()
        self.load(None)

    # -- building ----------------------------------------------------------------------------------

    def _row(self, grid: QGridLayout, label: str, widget: QWidget, key: str, *, tip: str = "") -> ErrorLabel:
        r = grid.rowCount()
        lab = QLabel(label, self)
        lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        lab.setContentsMargins(0, 4, 0, 0)
        lab.setBuddy(widget)
        if tip:
            lab.setToolTip(tip)
            widget.setToolTip(tip)
        grid.addWidget(lab, r, 0)
        grid.addWidget(widget, r, 1)
        err = ErrorLabel(self)
        err.setObjectName(f"error:{key}")
        grid.addWidget(err, r, 2)
        self.errors[key] = err
        return err

    def _group(self, title: str) -> QGridLayout:
        box = QGroupBox(title, self.body)
        grid = QGridLayout(box)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(2, 2)
        grid.setColumnMinimumWidth(0, 92)
        grid.setColumnMinimumWidth(1, 190)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        self.body_layout.addWidget(box)
        return grid

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(4)

        self.heading = QLabel(self)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.heading.setFont(font)
        self.heading.setContentsMargins(4, 2, 4, 0)
        outer.addWidget(self.heading)
        self.general_error = ErrorLabel(self)
        self.general_error.setObjectName("error:general")
        self.general_error.setContentsMargins(4, 0, 4, 0)
        self.errors["general"] = self.general_error
        outer.addWidget(self.general_error)

        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.body = QWidget(self.scroll)
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(2, 2, 6, 2)
        self.scroll.setWidget(self.body)
        outer.addWidget(self.scroll, 1)

        # -- the channel
        g = self._group("Channel")
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("e.g. Cats Daily")
        self._row(g, "Name", self.name, "name")
        self.platform = QComboBox(self)
        for p in PLATFORMS_SHOWN:
            self.platform.addItem(f"{PLATFORM_ICONS[p]} {p}", p)
        self._row(g, "Platform", self.platform, "platform")
        self.account = QLineEdit(self)
        self.account.setPlaceholderText("browser profile name (optional)")
        self._row(g, "Account", self.account, "account",
                  tip="Which browser profile (signed-in account) uploads for this channel")
        status_box = QWidget(self)
        sl = QVBoxLayout(status_box)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.setSpacing(2)
        self.status = QComboBox(self)
        for s in CHANNEL_STATUSES:
            self.status.addItem(s.capitalize(), s)
        sl.addWidget(self.status)
        self.status_reason = QLabel(self)
        self.status_reason.setTextFormat(Qt.TextFormat.PlainText)
        self.status_reason.setWordWrap(True)
        self.status_reason.setStyleSheet(f"color: {theme.accent('muted').name()};")
        sl.addWidget(self.status_reason)
        self._row(g, "Status", status_box, "status")
        login_box = QWidget(self)
        ll = QHBoxLayout(login_box)
        ll.setContentsMargins(0, 0, 0, 0)
        self.login_state = QLabel(self)
        self.login_state.setTextFormat(Qt.TextFormat.PlainText)
        ll.addWidget(self.login_state, 1)
        self.login_button = QPushButton("🔑 Log in…", self)
        self.login_button.setToolTip("Open this account's browser profile on the platform's sign-in page")
        self.login_button.clicked.connect(self.loginRequested)
        ll.addWidget(self.login_button)
        self._row(g, "Login", login_box, "login")

        # -- content filters
        g = self._group("Content filters (what this channel accepts)")
        self.min_resolution = QComboBox(self)
        self.min_resolution.addItem("Any resolution", None)
        for r in RESOLUTIONS:
            self.min_resolution.addItem(f"at least {r}", r)
        self._row(g, "Resolution", self.min_resolution, "min_resolution",
                  tip="Measured on the shorter side, so a 1080×1920 short is 1080p")
        self.orientation = QComboBox(self)
        for label, value in (("Any orientation", None), ("Vertical (taller than wide)", "vertical"),
                             ("Horizontal (wider than tall)", "horizontal")):
            self.orientation.addItem(label, value)
        self._row(g, "Orientation", self.orientation, "orientation")
        self.min_duration = QLineEdit(self)
        self.min_duration.setPlaceholderText("seconds, e.g. 5")
        self._row(g, "Min duration", self.min_duration, "min_duration")
        self.max_duration = QLineEdit(self)
        self.max_duration.setPlaceholderText("seconds, e.g. 60")
        self._row(g, "Max duration", self.max_duration, "max_duration")
        self.min_views = QLineEdit(self)
        self.min_views.setPlaceholderText("source views, e.g. 10000")
        self._row(g, "Min views", self.min_views, "min_views",
                  tip="The source's view count (from a yt-dlp .info.json next to the file)")
        self.include_tags = QLineEdit(self)
        self.include_tags.setPlaceholderText("#cats #funny (any of them)")
        self._row(g, "Include tags", self.include_tags, "include_tags")
        self.exclude_tags = QLineEdit(self)
        self.exclude_tags.setPlaceholderText("#ads (none of them)")
        self._row(g, "Exclude tags", self.exclude_tags, "exclude_tags")
        self.exclude_watermarked = QCheckBox("Refuse watermarked videos", self)
        self._row(g, "Watermarks", self.exclude_watermarked, "exclude_watermarked")
        self.errors["content_filters"] = self._note(g)

        # -- posting schedule
        g = self._group("Posting schedule (in the channel's time zone)")
        self.timezone = QLineEdit(self)
        self.timezone.setPlaceholderText("IANA zone, e.g. Europe/Berlin")
        completer = QCompleter(QStringListModel(zones(), self), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setMaxVisibleItems(12)
        self.timezone.setCompleter(completer)
        self._row(g, "Time zone", self.timezone, "timezone")
        self.slots: dict[str, QLineEdit] = {}
        for day in WEEKDAYS:
            edit = QLineEdit(self)
            edit.setPlaceholderText("e.g. 09:00, 18:30")
            self.slots[day] = edit
            self._row(g, DAY_NAMES[day], edit, f"slots.{day}")
        self.windows = QPlainTextEdit(self)
        self.windows.setPlaceholderText("one per line: 2026-01-01 .. 2026-03-31\n(leave a side empty for an open end;"
                                        " no lines: always available)")
        self.windows.setTabChangesFocus(True)
        self.windows.setFixedHeight(64)
        self._row(g, "Available", self.windows, "availability_windows",
                  tip="Date ranges in which the channel may post (inclusive, in its time zone)")
        self.daily_cap = QSpinBox(self)
        self.daily_cap.setRange(-1, 10_000)
        self.daily_cap.setSpecialValueText("No cap")
        self.daily_cap.setSuffix(" per day")
        self._row(g, "Daily cap", self.daily_cap, "daily_cap")
        self.min_spacing = QSpinBox(self)
        self.min_spacing.setRange(0, 7 * 86_400)
        self.min_spacing.setSingleStep(60)
        self.min_spacing.setSuffix(" s")
        self._row(g, "Min spacing", self.min_spacing, "min_spacing_seconds",
                  tip="At least this long between two publications on this channel")
        self.priority = QSpinBox(self)
        self.priority.setRange(-1_000_000, 1_000_000)
        self._row(g, "Priority", self.priority, "priority",
                  tip="When a video matches several channels equally well, higher priority wins")
        self.errors["posting_schedule"] = self._note(g)

        # -- publishing
        g = self._group("Publishing")
        self.title_template = QLineEdit(self)
        self.title_template.setPlaceholderText("{title} #shorts   (empty: the video's title)")
        self._row(g, "Title", self.title_template, "metadata_template.title",
                  tip="Fields of the video in braces: {title}, {tags}, {duration} ...")
        self.description_template = QPlainTextEdit(self)
        self.description_template.setPlaceholderText("Description or caption; {title} and {tags} are filled in")
        self.description_template.setTabChangesFocus(True)
        self.description_template.setFixedHeight(52)
        self._row(g, "Description", self.description_template, "metadata_template.description")
        self.hashtags = QLineEdit(self)
        self.hashtags.setPlaceholderText("#shorts #daily   (empty: the video's tags)")
        self._row(g, "Hashtags", self.hashtags, "metadata_template.hashtags")
        self.visibility = QComboBox(self)
        for label, value in VISIBILITIES:
            self.visibility.addItem(label, value)
        self._row(g, "Visibility", self.visibility, "metadata_template")
        self.profile_preset = QComboBox(self)
        for label, _value in PROFILE_PRESETS:
            self.profile_preset.addItem(label)
        self._row(g, "Transform", self.profile_preset, "transformation_preset",
                  tip="Re-encode each video for this channel before uploading (the original is kept)")
        self.profile = QPlainTextEdit(self)
        self.profile.setPlaceholderText('{"aspect": "9:16", "width": 1080, "height": 1920, "mode": "crop"}')
        self.profile.setTabChangesFocus(True)
        self.profile.setFixedHeight(46)
        self._row(g, "Profile JSON", self.profile, "transformation_profile")
        self.repo_url = QLineEdit(self)
        self.repo_url.setPlaceholderText("https://github.com/you/channel-repo (optional)")
        self._row(g, "Repository", self.repo_url, "github_repo_url",
                  tip="Publish through this repository's GitHub Actions instead of this computer")
        self.body_layout.addStretch(1)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(4, 0, 4, 2)
        self.dirty_label = QLabel(self)
        self.dirty_label.setTextFormat(Qt.TextFormat.PlainText)
        buttons.addWidget(self.dirty_label, 1)
        self.revert_button = QPushButton("Revert", self)
        self.revert_button.setToolTip("Forget the changes and show the saved settings again")
        self.revert_button.clicked.connect(lambda: self.load(self.channel))
        buttons.addWidget(self.revert_button)
        self.save_button = QPushButton("💾 Save", self)
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self._save_clicked)
        buttons.addWidget(self.save_button)
        outer.addLayout(buttons)

        for edit in (self.name, self.account, self.min_duration, self.max_duration, self.min_views,
                     self.include_tags, self.exclude_tags, self.timezone, self.title_template, self.hashtags,
                     self.repo_url, *self.slots.values()):
            edit.textChanged.connect(self._changed)
        for combo in (self.platform, self.status, self.min_resolution, self.orientation, self.visibility):
            combo.currentIndexChanged.connect(self._changed)
        for spin in (self.daily_cap, self.min_spacing, self.priority):
            spin.valueChanged.connect(self._changed)
        for text in (self.windows, self.description_template):
            text.textChanged.connect(self._changed)
        self.profile.textChanged.connect(self._profile_edited)
        self.profile_preset.currentIndexChanged.connect(self._preset_chosen)
        self.exclude_watermarked.toggled.connect(self._changed)

    def _note(self, grid: QGridLayout) -> ErrorLabel:
        """A message under a group for problems not tied to one field."""
        err = ErrorLabel(self)
        grid.addWidget(err, grid.rowCount(), 1, 1, 2)
        return err

    # -- loading -----------------------------------------------------------------------------------

    def load(self, channel) -> None:
        """Show a channel's settings (None: an empty form for a new channel)."""
        self._loading = True
        try:
            self.channel = channel
            self._server_errors.clear()
            if channel is None:
                self.heading.setText("➕ New channel")
                self.name.setText("")
                self.platform.setCurrentIndex(0)
                self.account.setText("")
                self.status.setCurrentIndex(0)
                self.status_reason.setText("")
                self.status_reason.setVisible(False)
                filters: dict[str, Any] = {}
                slots: dict[str, list[str]] = {}
                windows: list = []
                zone, cap, spacing, priority = "UTC", None, 0, 0
                template: dict[str, Any] = {}
                profile = None
                repo = ""
            else:
                self.heading.setText(f"✏ {channel.name}" + ("  (default channel)" if channel.is_default else ""))
                self.name.setText(channel.name)
                self.platform.setCurrentIndex(max(0, self.platform.findData(channel.platform)))
                self.account.setText(channel.account or "")
                self.status.setCurrentIndex(max(0, self.status.findData(channel.status)))
                self.status_reason.setText(channel.status_reason or "")
                self.status_reason.setVisible(bool(channel.status_reason))
                filters = channel.content_filters.to_dict()
                slots = dict(channel.posting_schedule.slots)
                windows = list(channel.posting_schedule.availability_windows)
                zone, cap = channel.timezone, channel.daily_cap
                spacing, priority = channel.min_spacing_seconds, channel.priority
                template = dict(channel.metadata_template or {})
                profile = channel.transformation_profile.to_dict() if channel.transformation_profile else None
                repo = channel.github_repo_url or ""
            self.platform.setEnabled(channel is None or not channel.is_default)
            self.platform.setToolTip("The default channel of a platform keeps its platform"
                                     if channel is not None and channel.is_default else "")
            self._set_login(channel)
            self.min_resolution.setCurrentIndex(max(0, self.min_resolution.findData(filters.get("min_resolution"))))
            self.orientation.setCurrentIndex(max(0, self.orientation.findData(
                filters.get("orientation") if filters.get("orientation") != "any" else None)))
            self.min_duration.setText(_num_text(filters.get("min_duration")))
            self.max_duration.setText(_num_text(filters.get("max_duration")))
            self.min_views.setText(str(filters["min_views"]) if filters.get("min_views") is not None else "")
            self.include_tags.setText(" ".join(f"#{t}" for t in filters.get("include_tags", [])))
            self.exclude_tags.setText(" ".join(f"#{t}" for t in filters.get("exclude_tags", [])))
            self.exclude_watermarked.setChecked(bool(filters.get("exclude_watermarked")))
            self.timezone.setText(zone)
            for day, edit in self.slots.items():
                edit.setText(", ".join(slots.get(day, [])))
            self.windows.setPlainText(windows_text(windows))
            self.daily_cap.setValue(-1 if cap is None else cap)
            self.min_spacing.setValue(spacing)
            self.priority.setValue(priority)
            self._template_extra = {k: v for k, v in template.items() if k not in _TEMPLATE_KEYS}
            self.title_template.setText(str(template.get("title") or ""))
            self.description_template.setPlainText(str(template.get("description") or ""))
            tags = template.get("hashtags") or []
            self.hashtags.setText(tags if isinstance(tags, str) else " ".join(
                t if str(t).startswith("#") else f"#{t}" for t in tags))
            self.visibility.setCurrentIndex(max(0, self.visibility.findData(template.get("visibility"))))
            self.profile.setPlainText(json.dumps(profile) if profile else "")
            self._sync_preset(profile)
            self.repo_url.setText(repo)
        finally:
            self._loading = False
        self._set_dirty(False)
        self.validate()

    def _set_login(self, channel) -> None:
        state = channel.login_state if channel is not None else None
        self.login_state.setText({"ok": "✔ Logged in", "required": "🔑 Login required — the session expired",
                                  "unknown": "Not checked yet"}.get(state, "Save the channel first"))
        color = {"ok": theme.accent("success"), "required": theme.accent("error")}.get(state)
        self.login_state.setStyleSheet(f"color: {color.name()};" if color is not None else "")
        self.login_button.setEnabled(channel is not None)

    def update_runtime(self, channel) -> None:
        """A newer copy of the loaded channel: refresh what the operator does not edit (login, reason)."""
        if self.channel is None or channel is None or channel.id != self.channel.id:
            return
        self._set_login(channel)
        self.status_reason.setText(channel.status_reason or "")
        self.status_reason.setVisible(bool(channel.status_reason))

    def busy(self, busy: bool, text: str = "") -> None:
        """Disable saving while a save (or login) is running."""
        self.save_button.setEnabled(not busy)
        self.revert_button.setEnabled(not busy)
        if text:
            self.dirty_label.setText(text)
        elif not busy:
            self._set_dirty(self._dirty)

    # -- reading the form --------------------------------------------------------------------------

    def _filter_inputs(self) -> dict[str, Any]:
        return {
            "min_resolution": self.min_resolution.currentData(), "orientation": self.orientation.currentData(),
            "min_duration": self.min_duration.text(), "max_duration": self.max_duration.text(),
            "min_views": self.min_views.text(), "include_tags": self.include_tags.text(),
            "exclude_tags": self.exclude_tags.text(), "exclude_watermarked": self.exclude_watermarked.isChecked(),
        }

    def collect(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(the settings to save, {field: message}) from the form as it is."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        name = self.name.text().strip()
        values["name"] = name
        msg = check_field("name", name) if name else "a channel needs a name"
        if not msg and canonical_platform(name) and not (self.channel is not None and self.channel.is_default):
            msg = f"“{name}” is a platform's name (its default channel); choose another name"
        if msg:
            errors["name"] = msg
        values["platform"] = self.platform.currentData()
        values["account"] = self.account.text().strip() or None
        if values["account"] and (msg := check_field("account", values["account"])):
            errors["account"] = msg
        values["status"] = self.status.currentData()

        filters, ferrors = validate_filters(self._filter_inputs())
        values["content_filters"] = filters
        errors.update(ferrors)

        zone = self.timezone.text().strip()
        try:
            values["timezone"] = validate_timezone(zone)
        except ValidationError as exc:
            errors["timezone"] = str(exc)
            values["timezone"] = zone
        slots, serrors = validate_slots({d: e.text() for d, e in self.slots.items()})
        errors.update(serrors)
        windows, werror = validate_windows(self.windows.toPlainText())
        if werror:
            errors["availability_windows"] = werror
        schedule: dict[str, Any] = {}
        if slots:
            schedule["slots"] = slots
        if windows:
            schedule["availability_windows"] = windows
        if not serrors and not werror:
            try:
                PostingSchedule.model_validate(schedule)
            except pydantic.ValidationError as exc:
                errors["posting_schedule"] = "; ".join(friendly(e.get("msg", "")) for e in exc.errors())
        values["posting_schedule"] = schedule
        values["daily_cap"] = None if self.daily_cap.value() < 0 else self.daily_cap.value()
        values["min_spacing_seconds"] = self.min_spacing.value()
        values["priority"] = self.priority.value()

        template = dict(self._template_extra)
        for key, text in (("title", self.title_template.text()),
                          ("description", self.description_template.toPlainText())):
            if text.strip():
                template[key] = text
                if msg := check_template(text):
                    errors[f"metadata_template.{key}"] = msg
        tags = split_words(self.hashtags.text())
        if tags:
            template["hashtags"] = [t if t.startswith("#") else f"#{t}" for t in tags]
            if any(t == "#" for t in template["hashtags"]):
                errors["metadata_template.hashtags"] = "a hashtag cannot be just “#”"
        if self.visibility.currentData():
            template["visibility"] = self.visibility.currentData()
        values["metadata_template"] = template

        text = self.profile.toPlainText().strip()
        try:
            profile = parse_profile(text) if text else None
        except ValidationError as exc:
            errors["transformation_profile"] = str(exc)
            profile = None
        values["transformation_profile"] = profile.to_dict() if profile is not None else None

        repo = self.repo_url.text().strip()
        values["github_repo_url"] = repo or None
        if repo and (msg := check_field("github_repo_url", repo)):
            errors["github_repo_url"] = msg
        return values, errors

    def validate(self) -> dict[str, str]:
        """Check the form now and show each message next to its field; returns the messages."""
        _values, errors = self.collect()
        self.field_errors = errors
        shown = {**errors, **{k: v for k, v in self._server_errors.items() if k not in errors}}
        for key, label in self.errors.items():
            label.set_message(shown.get(key))
        self.validated.emit()
        return errors

    def error_text(self, key: str) -> str:
        """The message shown next to a field ("" when none)."""
        label = self.errors.get(key)
        return label.text() if label is not None and label.isVisibleTo(self) else ""

    def show_error(self, field: str | None, message: str) -> str:
        """Show a refusal (from saving) next to its field; returns the key it went to."""
        key = self.key_for(field)
        self._server_errors[key] = message
        self.errors[key].set_message(message)
        widget = self._widget_for(key)
        if widget is not None:
            self.scroll.ensureWidgetVisible(widget)
        return key

    def clear_server_errors(self) -> None:
        self._server_errors.clear()
        self.validate()

    def key_for(self, field: str | None) -> str:
        """Which message slot a service error's ``field`` belongs to."""
        if not field:
            return "general"
        if field in self.errors:
            return field
        if field in ("slots",):
            return "posting_schedule"
        if field in ("windows",):
            return "availability_windows"
        if field in TransformProfile.model_fields:
            return "transformation_profile"
        if field in ("id", "config", "file"):
            return "general"
        return "general"

    def _widget_for(self, key: str) -> QWidget | None:
        label = self.errors.get(key)
        return label if label is not None and label.isVisibleTo(self) else None

    # -- state -------------------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return self._dirty

    @property
    def is_new(self) -> bool:
        return self.channel is None

    def _set_dirty(self, dirty: bool) -> None:
        changed = dirty != self._dirty
        self._dirty = dirty
        self.dirty_label.setText("● Unsaved changes" if dirty else "")
        self.revert_button.setEnabled(dirty and self.channel is not None)
        if changed:
            self.dirtyChanged.emit(dirty)

    def _changed(self, *_args) -> None:
        if self._loading:
            return
        if self._server_errors:
            self._server_errors.clear()
        self._set_dirty(True)
        self.validate()

    def _profile_edited(self) -> None:
        if self._loading:
            return
        text = self.profile.toPlainText().strip()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = {}
        self._sync_preset(parsed if isinstance(parsed, dict) or parsed is None else {})
        self._changed()

    def _sync_preset(self, profile: dict[str, Any] | None) -> None:
        index = len(PROFILE_PRESETS) - 1
        for i, (_label, value) in enumerate(PROFILE_PRESETS[:-1]):
            if (value or None) == (profile or None):
                index = i
                break
        self.profile_preset.blockSignals(True)
        self.profile_preset.setCurrentIndex(index)
        self.profile_preset.blockSignals(False)

    def _preset_chosen(self, index: int) -> None:
        _label, value = PROFILE_PRESETS[index]
        if index == len(PROFILE_PRESETS) - 1:  # custom: keep the JSON, let the operator edit it
            self.profile.setFocus()
            return
        self.profile.blockSignals(True)
        self.profile.setPlainText(json.dumps(value) if value else "")
        self.profile.blockSignals(False)
        self._changed()

    def _save_clicked(self) -> None:
        errors = self.validate()
        if errors:
            first = next(iter(errors))
            self.general_error.set_message(
                f"Not saved: {len(errors)} field(s) need fixing (see the messages next to them).")
            QTimer.singleShot(0, self, lambda: self._reveal(first))
            return
        self.general_error.set_message(None)
        self.saveRequested.emit()

    def _reveal(self, key: str) -> None:
        widget = self._widget_for(key)
        if widget is not None:
            self.scroll.ensureWidgetVisible(widget)


def _num_text(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)

