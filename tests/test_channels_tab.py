"""The Channels tab through the real services: ChannelService, the orchestrator's health, config files.

Questions go through ``ui.dialogs.ask``, replaced by :class:`Answers`; waiting is done with
``qtbot.waitUntil`` / ``waitSignal``; the tab's timer is off and tests refresh by hand.
"""

from __future__ import annotations

import hashlib
import tomllib
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt

from database.paths import DataPaths
from orchestration import ChannelService
from ui import dialogs
from ui.models.channels_model import (
    COL_LOGIN,
    COL_NAME,
    COL_PRIORITY,
    COL_STATUS,
    ChannelRow,
    ChannelsModel,
    fetch_channels,
)
from ui.tabs.channels_tab import ChannelsTab
from ui.widgets import channel_editor as ce


class Answers:
    """A stand-in for ``ui.dialogs.ask``: answers queued in order, every question recorded."""

    def __init__(self) -> None:
        self.queue: list = []
        self.asked: list[SimpleNamespace] = []
        self.unexpected: list[SimpleNamespace] = []

    def then(self, *answers) -> "Answers":
        self.queue.extend(answers)
        return self

    def __call__(self, kind, title, text="", buttons=(), **options):
        q = SimpleNamespace(kind=kind, title=title, text=text, buttons=list(buttons), options=options)
        self.asked.append(q)
        if not self.queue:
            self.unexpected.append(q)
            return None
        answer = self.queue.pop(0)
        return answer(q) if callable(answer) else answer


@pytest.fixture
def answers(monkeypatch):
    fake = Answers()
    monkeypatch.setattr(dialogs, "ask", fake)
    yield fake
    assert not fake.unexpected, f"unexpected questions: {fake.unexpected}"


@pytest.fixture
def channels(db):
    return ChannelService(db)


@pytest.fixture
def open_tab(qtbot, db, answers):
    """open_tab(): the main window on the test registry with the Channels tab, loaded."""
    from ui.main_window import MainWindow

    made = []

    def make() -> ChannelsTab:
        window = MainWindow(DataPaths.for_registry(db.path), db=db, remember=False, refresh_interval_ms=0)
        qtbot.addWidget(window)
        made.append(window)
        tab = next((w for _t, w in window.tab_widgets() if isinstance(w, ChannelsTab)), None)
        if tab is None:  # until the window adds it itself
            tab = ChannelsTab(window.worker, window.notifier, window, refresh_interval_ms=0)
            window.add_tab(tab, ChannelsTab.TITLE)
        window.tabs.setCurrentWidget(tab)
        window.show()
        qtbot.waitUntil(lambda: tab.model.loaded and tab.is_ready(), timeout=10_000)
        return tab

    yield make
    for window in made:
        window.shutdown()
        window.close()


@pytest.fixture
def tab(open_tab):
    return open_tab()


def refresh(qtbot, tab):
    qtbot.waitUntil(lambda: not tab.refreshing)
    with qtbot.waitSignal(tab.refreshed, timeout=10_000) as blocker:
        tab.refresh(force=True)
    return blocker.args[0]


def row_of(tab, name: str) -> ChannelRow:
    return next(r for r in tab.model.all_rows() if r.name == name)


def cell(tab, name: str, col: int) -> str:
    return tab.model.data(tab.model.index(tab.model.row_of(row_of(tab, name).key), col))


def notices(tab, kind=None) -> list[str]:
    return [n.text for n in tab.notifier.history if kind is None or n.kind == kind]


def save(qtbot, tab):
    with qtbot.waitSignal(tab.saved, timeout=10_000) as blocker:
        tab.editor.save_button.click()
    return blocker.args[0]


# -- creating and validating -------------------------------------------------------------------------


def test_create_a_channel_with_filters_and_slots(qtbot, tab, db, channels):
    tab.new_button.click()
    ed = tab.editor
    assert ed.is_new and ed.heading.text() == "➕ New channel"
    ed.name.setText("Cats Daily")
    ed.platform.setCurrentIndex(ed.platform.findData("TikTok"))
    ed.orientation.setCurrentIndex(ed.orientation.findData("vertical"))
    ed.max_duration.setText("60")
    ed.min_views.setText("10,000")
    ed.include_tags.setText("#cats, funny")
    ed.timezone.setText("Europe/Berlin")
    ed.slots["mon"].setText("09:00, 18:30")
    ed.windows.setPlainText("2026-01-01 .. 2026-12-31")
    ed.daily_cap.setValue(3)
    ed.priority.setValue(5)
    ed.title_template.setText("{title} #shorts")
    ed.profile_preset.setCurrentIndex(1)  # vertical 1080x1920, crop
    assert ed.validate() == {}
    assert ed.dirty

    saved = save(qtbot, tab)

    ch = channels.get_channel("Cats Daily")
    assert saved.id == ch.id and ch.platform == "TikTok"
    assert ch.content_filters.to_dict() == {"orientation": "vertical", "max_duration": 60.0, "min_views": 10_000,
                                            "include_tags": ["cats", "funny"]}
    assert ch.posting_schedule.slots == {"mon": ["09:00", "18:30"]}
    assert [(w.start.isoformat(), w.end.isoformat()) for w in ch.posting_schedule.availability_windows] == [
        ("2026-01-01", "2026-12-31")]
    assert (ch.timezone, ch.daily_cap, ch.priority) == ("Europe/Berlin", 3, 5)
    assert ch.metadata_template == {"title": "{title} #shorts"}
    assert ch.transformation_profile.width == 1080 and ch.transformation_profile.mode == "crop"
    assert not ed.dirty and ed.channel.id == ch.id
    qtbot.waitUntil(lambda: any(r.name == "Cats Daily" for r in tab.model.all_rows()))
    assert cell(tab, "Cats Daily", COL_PRIORITY) == "5"
    qtbot.waitUntil(lambda: tab.selected_ids() == [ch.id])
    assert any("Created the channel Cats Daily" in t for t in notices(tab, "success"))
    assert db.audit.events("channel.created", subject_id=ch.id)


def test_a_bad_filter_shows_its_message_next_to_the_field_and_nothing_is_saved(qtbot, tab, db, answers):
    before = [tuple(r) for r in db.query("SELECT * FROM channels ORDER BY id")]
    tab.new_button.click()
    ed = tab.editor
    ed.name.setText("Broken")
    ed.max_duration.setText("30")
    ed.min_duration.setText("90")  # validated as typed: no click needed
    assert "90 s is longer than max_duration (30 s)" in ed.error_text("min_duration")
    assert ed.error_text("max_duration") == ""
    label = ed.errors["min_duration"]
    grid = label.parentWidget().layout()
    at = grid.getItemPosition(grid.indexOf(label))
    assert grid.itemAtPosition(at[0], 1).widget() is ed.min_duration  # same row, right beside the field

    ed.min_views.setText("lots")
    assert ed.error_text("min_views") == "“lots” is not a whole number of views"
    ed.min_views.setText("-5")
    assert ed.error_text("min_views") == "must be at least 0"
    ed.include_tags.setText("#cats")
    ed.exclude_tags.setText("#Cats")
    assert "tags both included and excluded: cats" in ed.error_text("exclude_tags")
    ed.slots["tue"].setText("9:00, 25:00")
    assert ed.error_text("slots.tue") == "'25:00' is not a time like \"09:00\" (24-hour HH:MM)"
    ed.timezone.setText("Mars/Olympus")
    assert "Unknown time zone 'Mars/Olympus'" in ed.error_text("timezone")
    ed.windows.setPlainText("2026-05-01 .. 2026-04-01")
    assert "line 1: the window starts (2026-05-01) after it ends (2026-04-01)" in ed.error_text(
        "availability_windows")
    ed.title_template.setText("{title #shorts")
    assert "braces do not match" in ed.error_text("metadata_template.title")
    ed.profile.setPlainText('{"width": 5}')
    assert "width" in ed.error_text("transformation_profile")
    ed.repo_url.setText("not a url")
    assert "github_repo_url must be an http(s) URL" in ed.error_text("github_repo_url")

    ed.save_button.click()

    assert "Not saved" in ed.error_text("general")
    # refused before any background work: no save was started (other tabs may still be loading)
    assert tab.worker.tasks(include_quiet=True, kind="save") == []
    assert [tuple(r) for r in db.query("SELECT * FROM channels ORDER BY id")] == before
    # fixing the field clears its message
    ed.min_duration.setText("5")
    assert ed.error_text("min_duration") == ""


def test_a_refusal_from_the_service_appears_next_to_its_field(qtbot, tab, db, channels):
    channels.create_channel("Taken", "YouTube")
    before = [tuple(r) for r in db.query("SELECT * FROM channels ORDER BY id")]
    tab.new_button.click()
    tab.editor.name.setText("taken")  # names are unique regardless of case: only the service knows

    with qtbot.waitSignal(tab.worker.taskFinished, timeout=10_000,
                          check_params_cb=lambda t: t.kind == "save"):
        tab.editor.save_button.click()

    assert "A channel named 'taken' already exists" in tab.editor.error_text("name")
    assert any(t.startswith("Not saved") for t in notices(tab, "error"))
    assert [tuple(r) for r in db.query("SELECT * FROM channels ORDER BY id")] == before
    tab.editor.name.setText("Fresh name")  # editing clears the refusal
    assert tab.editor.error_text("name") == ""


def test_pure_validators_name_the_problem():
    values, errors = ce.validate_filters({"min_resolution": "1080p", "max_duration": "12.5", "include_tags": "a b"})
    assert errors == {} and values == {"min_resolution": "1080p", "max_duration": 12.5, "include_tags": ["a", "b"]}
    assert ce.validate_filters({"max_duration": "0"})[1] == {"max_duration": "must be more than 0"}
    slots, errors = ce.validate_slots({"mon": "9:00 18:00", "sun": "noon"})
    assert slots == {"mon": ["09:00", "18:00"]} and "'noon' is not a time" in errors["slots.sun"]
    windows, error = ce.validate_windows("2026-01-01 ..\n.. 2026-03-01\n2026-07-04")
    assert error is None and windows == [{"start": "2026-01-01"}, {"end": "2026-03-01"},
                                         {"start": "2026-07-04", "end": "2026-07-04"}]
    assert "not a date" in ce.validate_windows("someday .. 2026-01-01")[1]
    assert ce.check_template("{title} #{tags}") is None and "not a video field" in ce.check_template("{a b}")


# -- editing, pausing, resuming --------------------------------------------------------------------------


def test_edit_pause_and_resume_show_in_the_list(qtbot, tab, db, channels):
    ch = channels.create_channel("Travel", "YouTube", {"min_duration": 3}, timezone="America/New_York")
    refresh(qtbot, tab)
    assert tab.select(ch.id)
    ed = tab.editor
    assert ed.channel.id == ch.id and ed.min_duration.text() == "3" and ed.timezone.text() == "America/New_York"
    ed.priority.setValue(7)
    ed.slots["fri"].setText("12:00")
    save(qtbot, tab)
    qtbot.waitUntil(lambda: cell(tab, "Travel", COL_PRIORITY) == "7")
    assert channels.get_channel(ch.id).posting_schedule.slots == {"fri": ["12:00"]}

    assert tab.pause_button.isEnabled() and not tab.resume_button.isEnabled()
    tab.pause_button.click()
    qtbot.waitUntil(lambda: cell(tab, "Travel", COL_STATUS) == "⏸ Paused", timeout=10_000)
    assert channels.get_channel(ch.id).status == "paused"
    assert tab.resume_button.isEnabled()
    qtbot.waitUntil(lambda: ed.status.currentData() == "paused")  # the editor follows (not dirty)
    assert "paused by the operator" in ed.status_reason.text()
    assert tab.counts_text() == "📺 4 channels"

    tab.resume_button.click()
    qtbot.waitUntil(lambda: cell(tab, "Travel", COL_STATUS) == "● Active", timeout=10_000)
    assert channels.get_channel(ch.id).status == "active"
    kinds = [e["kind"] for e in db.audit.events(subject_id=ch.id)]
    assert {"channel.updated", "channel.paused", "channel.resumed"} <= set(kinds)

    # a status change in the editor goes through pause/resume too
    ed.status.setCurrentIndex(ed.status.findData("inactive"))
    save(qtbot, tab)
    qtbot.waitUntil(lambda: cell(tab, "Travel", COL_STATUS) == "○ Inactive")


def test_switching_channels_with_unsaved_edits_asks_first(qtbot, tab, channels, answers):
    a = channels.create_channel("First", "YouTube")
    b = channels.create_channel("Second", "TikTok")
    refresh(qtbot, tab)
    tab.select(a.id)
    tab.editor.name.setText("First, renamed")
    answers.then("Keep editing")
    tab.select(b.id)
    assert answers.asked[0].buttons == ["Discard changes", "Keep editing"]
    qtbot.waitUntil(lambda: tab.selected_ids() == [a.id])
    assert tab.editor.channel.id == a.id and tab.editor.name.text() == "First, renamed"
    answers.then("Discard changes")
    tab.select(b.id)
    assert tab.editor.channel.id == b.id and not tab.editor.dirty
    assert channels.get_channel(a.id).name == "First"


def test_filter_by_platform_status_and_name(qtbot, tab, channels):
    channels.create_channel("Reels A", "Instagram")
    paused = channels.create_channel("Dance", "TikTok")
    channels.pause_channel(paused.id)
    refresh(qtbot, tab)
    names = lambda: sorted(r.name for r in tab.model.rows())  # noqa: E731
    tab.platform_filter.setCurrentIndex(tab.platform_filter.findData("TikTok"))
    assert names() == ["Dance", "TikTok"]
    tab.status_filter.setCurrentIndex(tab.status_filter.findData("paused"))
    assert names() == ["Dance"]
    assert "1 of 5 channels" in tab.footer.text()
    tab.platform_filter.setCurrentIndex(0)
    tab.status_filter.setCurrentIndex(0)
    tab.set_search("reels")
    assert names() == ["Reels A"]
    tab.set_search("nothing like it")
    assert tab.stack.currentWidget() is tab.empty_page


def test_a_refresh_with_nothing_changed_leaves_the_view_alone(qtbot, tab, channels):
    ch = channels.create_channel("Steady", "YouTube")
    refresh(qtbot, tab)
    tab.select(ch.id)
    events = []
    for sig in ("modelReset", "rowsInserted", "rowsRemoved", "dataChanged", "layoutChanged"):
        getattr(tab.model, sig).connect(lambda *a, s=sig: events.append(s))
    result = refresh(qtbot, tab)
    assert result is None or not result.anything
    tab.refresh()  # the fingerprint has not moved: nothing is even read
    qtbot.waitUntil(lambda: not tab.refreshing)
    assert events == [] and tab.selected_ids() == [ch.id]

    channels.update_channel(ch.id, priority=9)
    result = refresh(qtbot, tab)
    assert (result.changed, result.inserted, result.removed, result.reset) == (1, 0, 0, False)
    assert events == ["dataChanged"] and tab.selected_ids() == [ch.id]


# -- deleting --------------------------------------------------------------------------------------------------


def test_delete_asks_first_and_live_schedules_need_the_operators_word(qtbot, tab, db, channels, answers):
    from orchestration.distribution import write_schedule
    from database import utcnow
    from datetime import timedelta

    ch = channels.create_channel("Doomed", "TikTok")
    with db.transaction() as tx:
        write_schedule(tx, channel_id=ch.id, scheduled_at=utcnow() + timedelta(days=1), video_id=None)
    refresh(qtbot, tab)
    tab.select(ch.id)

    answers.then("Keep the channel")
    tab.delete_button.click()
    qtbot.waitUntil(lambda: len(answers.asked) == 1, timeout=10_000)
    q = answers.asked[0]
    assert q.kind == "warning" and q.buttons == ["Delete and cancel 1 schedule(s)", "Keep the channel"]
    assert "“Doomed”" in q.text and "1 live schedule(s)" in q.text
    qtbot.waitUntil(lambda: tab.worker.is_idle())
    assert channels.find_channel(ch.id) is not None

    answers.then("Delete and cancel 1 schedule(s)")
    tab.delete_button.click()
    qtbot.waitUntil(lambda: all(r.key != ch.id for r in tab.model.all_rows()), timeout=10_000)
    assert channels.find_channel(ch.id) is None
    assert db.audit.events("channel.deleted", subject_id=ch.id)[0]["details"]["schedules_cancelled"] == 1


def test_default_channels_cannot_be_deleted(qtbot, tab, answers):
    youtube = row_of(tab, "YouTube")
    tab.select(youtube.key)
    assert not tab.delete_button.isEnabled()
    answers.then("OK")
    tab.delete_channels([youtube.key])
    assert answers.asked[0].kind == "info" and "cannot be deleted" in answers.asked[0].text


# -- login ------------------------------------------------------------------------------------------------------


def test_log_in_resumes_the_channel_and_requeues_its_uploads(qtbot, tab, db, registry, channels, monkeypatch):
    import uploaders.browser

    ch = channels.create_channel("Expired", "TikTok", account="expired-acct")
    vid = registry.register_videos([{"file_path": "/videos/x.mp4", "id": "vx",
                                     "checksum": hashlib.sha256(b"vx").hexdigest()}])[0]
    with db.transaction() as tx:
        tx.execute("INSERT INTO video_uploads (video_id, channel_id, platform, upload_status, error_kind,"
                   " error_message, updated_at) VALUES (?, ?, 'TikTok', 'LOGIN_REQUIRED', 'login_required',"
                   " 'please log in', '2026-01-01')", (vid, ch.id))
        tx.execute("UPDATE channels SET login_state = 'required', status = 'paused', status_reason ="
                   " 'login required: log in to this account again' WHERE id = ?", (ch.id,))
    calls = []

    def fake_login(channel, paths=None, **kw):
        calls.append((channel["id"], channel["account"], paths.root, kw.get("timeout")))
        return True

    monkeypatch.setattr(uploaders.browser, "login", fake_login)
    refresh(qtbot, tab)
    assert cell(tab, "Expired", COL_LOGIN) == "🔑 Required"
    assert tab.counts_text().endswith(", 1 needs login")
    tab.select(ch.id)
    assert tab.editor.login_button.isEnabled()

    tab.editor.login_button.click()

    qtbot.waitUntil(lambda: cell(tab, "Expired", COL_LOGIN) == "✔ Logged in", timeout=10_000)
    assert calls == [(ch.id, "expired-acct", db.paths.root, 300.0)]
    after = channels.get_channel(ch.id)
    assert (after.login_state, after.status) == ("ok", "active")
    assert db.query_one("SELECT upload_status FROM video_uploads WHERE video_id = ?", (vid,))[0] == "PENDING"
    assert cell(tab, "Expired", COL_STATUS) == "● Active"
    assert any("Logged in to Expired" in t and "1 upload(s)" in t for t in notices(tab, "success"))


# -- import and export -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["toml", "json"])
def test_export_then_import_a_channel_file(qtbot, tab, db, channels, answers, tmp_path, suffix):
    ch = channels.create_channel("Portable", "Instagram", {"orientation": "vertical", "include_tags": ["cats"]},
                                 {"slots": {"wed": ["10:00"]}}, timezone="Europe/Paris", daily_cap=2, priority=4,
                                 metadata_template={"title": "{title} #reels"})
    refresh(qtbot, tab)
    tab.select(ch.id)
    target = tmp_path / f"portable.{suffix}"
    answers.then(str(target))

    with qtbot.waitSignal(tab.worker.taskFinished, timeout=10_000, check_params_cb=lambda t: t.kind == "export"):
        tab.export_button.click()

    q = answers.asked[0]
    assert q.kind == "save_file" and "TOML" in q.options["filter"] and "JSON" in q.options["filter"]
    text = target.read_text(encoding="utf-8")
    if suffix == "toml":
        data = tomllib.loads(text)
    else:
        import json
        data = json.loads(text)
    assert data["id"] == ch.id and data["name"] == "Portable" and data["content_filters"]["include_tags"] == ["cats"]

    # gone from the registry, then back from the file
    channels.delete_channel(ch.id)
    refresh(qtbot, tab)
    answers.then([str(target)])
    tab.import_button.click()
    qtbot.waitUntil(lambda: any(r.key == ch.id for r in tab.model.all_rows()), timeout=10_000)
    back = channels.get_channel(ch.id)
    assert (back.name, back.platform, back.timezone, back.daily_cap, back.priority) == (
        "Portable", "Instagram", "Europe/Paris", 2, 4)
    assert back.content_filters == ch.content_filters and back.posting_schedule.slots == {"wed": ["10:00"]}
    assert back.metadata_template == {"title": "{title} #reels"}
    assert answers.asked[1].kind == "open_files"
    qtbot.waitUntil(lambda: any("Import: created Portable" in t for t in notices(tab, "success")))

    # importing it again asks before replacing; the edited channel gets the file's settings back
    channels.update_channel(ch.id, priority=99)
    answers.then([str(target)], "Replace")
    tab.import_button.click()
    qtbot.waitUntil(lambda: channels.get_channel(ch.id).priority == 4, timeout=10_000)
    assert answers.asked[3].title == "Replace existing channels?" and "“Portable”" in answers.asked[3].text


def test_importing_a_bad_file_reports_it_and_changes_nothing(qtbot, tab, db, answers, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "bad"\nname = "Bad"\nplatform = "TikTok"\n[content_filters]\nmin_views = -3\n')
    before = [tuple(r) for r in db.query("SELECT * FROM channels ORDER BY id")]
    answers.then([str(bad)])
    tab.import_button.click()
    qtbot.waitUntil(lambda: any(t.startswith("Import: nothing imported") for t in notices(tab, "error")),
                    timeout=10_000)
    assert "bad.toml" in notices(tab, "error")[-1] and "min_views" in notices(tab, "error")[-1]
    assert [tuple(r) for r in db.query("SELECT * FROM channels ORDER BY id")] == before


# -- plain text and the model ---------------------------------------------------------------------------------------


def test_a_channel_name_with_markup_shows_as_text(qtbot, tab, channels):
    ch = channels.create_channel("<b>Bold</b> & co", "YouTube")
    refresh(qtbot, tab)
    row = tab.model.row_of(ch.id)
    index = tab.model.index(row, COL_NAME)
    assert tab.model.data(index) == "<b>Bold</b> & co"
    tip = tab.model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in tip and "<b>Bold" not in tip
    tab.select(ch.id)
    assert tab.editor.heading.textFormat() == Qt.TextFormat.PlainText
    assert tab.editor.heading.text() == "✏ <b>Bold</b> & co"
    assert tab.editor.name.text() == "<b>Bold</b> & co"


def test_models_pass_qtmodeltester(qtmodeltester, db, channels):
    channels.create_channel("Alpha", "TikTok", {"max_duration": 30})
    channels.create_channel("Beta", "Instagram")
    model = ChannelsModel()
    qtmodeltester.check(model)
    snap = fetch_channels(db)
    model.set_rows(snap.rows)
    qtmodeltester.check(model)
    model.sort(COL_PRIORITY, Qt.SortOrder.DescendingOrder)
    model.set_filter(platform="TikTok")
    qtmodeltester.check(model)
    model.set_filter(platform=None)
    channels.pause_channel("Alpha")
    channels.create_channel("Gamma", "YouTube")
    snap2 = fetch_channels(db, snap.fingerprint)
    assert snap2 is not None
    result = model.set_rows(snap2.rows)
    assert (result.changed, result.inserted, result.reset) == (1, 1, False)
    qtmodeltester.check(model)
    assert fetch_channels(db, snap2.fingerprint) is None  # nothing changed: nothing read
