"""The Schedules tab through the real services: the create dialog (conflicts before saving), the
week timeline, pause / resume / cancel, and the missed-schedule choices.

Questions go through ``ui.dialogs.ask`` (replaced by :class:`Answers`); waiting is
``qtbot.waitUntil``. The tab runs in the main window, added the way the window adds tabs, with
its refresh timer off and the operator's zone set to UTC so times are predictable.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import date, datetime, timedelta, timezone

from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import Qt

from database import VideoRegistry, utcnow
from database.paths import DataPaths
from orchestration import ChannelService, SchedulingService
from orchestration.settings import Settings
from tests.test_videos_tab import Answers
from ui import dialogs
from ui.models.schedules_model import (
    COL_CHANNEL,
    COL_CHANNEL_TIME,
    COL_STATUS,
    COL_TIME,
    COL_VIDEO,
    SchedulesModel,
    ScheduleRow,
    fetch_snapshot,
)
from ui.schedule_dialogs import CheckListModel, PlanItem, PlanModel
from ui.tabs.schedules_tab import SchedulesTab
from ui.timeline import MAX_LANES, WeekTimeline

UTC = timezone.utc


# -- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture
def answers(monkeypatch):
    fake = Answers()
    monkeypatch.setattr(dialogs, "ask", fake)
    yield fake
    assert not fake.unexpected, f"unexpected questions: {fake.unexpected}"


@pytest.fixture
def window(qtbot, db, answers):
    from ui.main_window import MainWindow

    w = MainWindow(DataPaths.for_registry(db.path), db=db, remember=False, refresh_interval_ms=0)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()
    w.close()


@pytest.fixture
def open_tab(qtbot, window):
    def make() -> SchedulesTab:
        tab = SchedulesTab(window.worker, window.notifier, window, refresh_interval_ms=0, zone=UTC)
        window.add_tab(tab, tab.TITLE)  # the window attaches its registry
        window.tabs.setCurrentWidget(tab)
        qtbot.waitUntil(tab.is_ready, timeout=10_000)
        return tab

    return make


@pytest.fixture
def channels(db):
    svc = ChannelService(db)
    return [svc.create_channel("Alpha", "TikTok", id="a", timezone="Europe/Berlin"),
            svc.create_channel("Beta", "YouTube", id="b", timezone="America/New_York"),
            svc.create_channel("Gamma", "Instagram", id="c", timezone="Asia/Tokyo")]


@pytest.fixture
def video(db, tmp_path):
    """video(id, title): a registered video with a real (tiny) file."""

    def make(vid: str, title: str | None = None) -> str:
        folder = tmp_path / "media"
        folder.mkdir(exist_ok=True)
        f = folder / f"{vid}.mp4"
        f.write_bytes(os.urandom(64))
        st = f.stat()
        return VideoRegistry(db).register_videos([{
            "id": vid, "file_path": str(f), "title": title or vid.capitalize(), "checksum": os.urandom(32).hex(),
            "size_bytes": st.st_size, "file_mtime_ns": st.st_mtime_ns, "width": 1080, "height": 1920,
            "duration": 20.0}])[0]

    return make


def next_monday(hour: int) -> datetime:
    """Next week's Monday at ``hour``:00 UTC (always in the future, always a full week ahead)."""
    today = utcnow().date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime(monday.year, monday.month, monday.day, hour, tzinfo=UTC)


def open_dialog(qtbot, tab, kind):
    tab.new_schedule(kind)
    qtbot.waitUntil(lambda: tab.dialog is not None and tab.dialog.isVisible())
    return tab.dialog


def settle_preview(qtbot, dialog):
    """Check the form now and wait for its preview."""
    dialog.refresh_preview()
    qtbot.waitUntil(lambda: not dialog.checking and dialog.preview is not None, timeout=10_000)
    return dialog.preview


def statuses(db, channel=None):
    sql = "SELECT id, status FROM schedules" + (" WHERE channel_id = ?" if channel else "")
    return dict(db.query(sql, (channel,) if channel else ()))


def reload(qtbot, tab):
    with qtbot.waitSignal(tab.loaded, timeout=10_000):
        tab.refresh(force=True)


# -- creating ----------------------------------------------------------------------------------------------


def test_create_a_staggered_schedule_and_see_it_on_the_timeline_and_in_the_table(qtbot, db, channels, video,
                                                                                 open_tab):
    vid = video("clip", "Harbour sunset")
    tab = open_tab()
    start = next_monday(10)
    dialog = open_dialog(qtbot, tab, "staggered")
    dialog.set_video(vid)
    dialog.set_channels(["a", "b", "c"])
    dialog.set_start(start)
    dialog.set_delay_minutes(30)
    preview = settle_preview(qtbot, dialog)

    assert preview.ok and preview.conflict_count == 0
    assert [(i.channel_id, i.at) for i in preview.items] == [
        ("a", start), ("b", start + timedelta(minutes=30)), ("c", start + timedelta(minutes=60))]
    assert dialog.save_button.isEnabled()
    assert dialog.plan_model.rowCount() == 3
    ny = (start + timedelta(minutes=30)).astimezone(ZoneInfo("America/New_York"))
    assert dialog.plan_model.index(1, 3).data() == f"{ny:%H:%M} America/New_York"  # the channel's own time

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.model.total_count() == 3 and tab.timeline.week_start == start.date(),
                    timeout=10_000)

    saved = db.query("SELECT channel_id, scheduled_at, schedule_type, status, coordination_group_id FROM schedules"
                     " ORDER BY scheduled_at")
    assert [(r[0], r[2], r[3]) for r in saved] == [("a", "staggered", "pending"), ("b", "staggered", "pending"),
                                                   ("c", "staggered", "pending")]
    assert len({r[4] for r in saved}) == 1  # one coordination group
    # the timeline: three blocks on Monday, one per channel, later ones lower down
    items = tab.timeline_items()
    assert [(i.label, i.at.strftime("%H:%M"), i.day, i.status) for i in items] == [
        ("Alpha", "10:00", start.date(), "pending"), ("Beta", "10:30", start.date(), "pending"),
        ("Gamma", "11:00", start.date(), "pending")]
    assert items[0].rect.top() < items[1].rect.top() < items[2].rect.top()
    assert "America/New_York" in "\n".join(items[1].tooltip)  # the channel's zone, in the tooltip
    # the table: the same three, selected, in the operator's zone with each channel's own time
    rows = [[tab.model.index(r, c).data() for c in (COL_TIME, COL_CHANNEL, COL_CHANNEL_TIME, COL_VIDEO, COL_STATUS)]
            for r in range(tab.model.rowCount())]
    berlin = start.astimezone(ZoneInfo("Europe/Berlin"))
    assert rows[0] == [f"Mon {start:%Y-%m-%d} 10:00", "🎵 Alpha", f"{berlin:%H:%M} Europe/Berlin", "Harbour sunset",
                       "🕒 Pending"]
    assert rows[2][2] == "20:00 Asia/Tokyo"
    assert sorted(tab.selected_ids()) == sorted(r[0] for r in db.query("SELECT id FROM schedules"))
    assert tab.counts_text() == "📅 3 scheduled"


def test_a_conflict_shows_in_the_dialog_before_saving_and_nothing_is_saved(qtbot, db, channels, video, open_tab):
    first, second = video("first"), video("second")
    at = next_monday(9)
    existing = SchedulingService(db).create_independent_schedule("a", at, video_id=first)
    tab = open_tab()
    before = statuses(db)

    dialog = open_dialog(qtbot, tab, "simultaneous")
    dialog.set_video(second)
    dialog.set_channels(["a", "b"])
    dialog.set_start(at)
    preview = settle_preview(qtbot, dialog)

    assert preview.conflict_count == 1 and not preview.ok
    (conflict,) = dialog.conflict_texts()
    assert "Alpha" in conflict and existing.id in conflict and "within 60 s" in conflict
    assert [bool(i.conflicts) for i in preview.items] == [True, False]
    assert "1 conflict" in dialog.status_label.text()
    assert not dialog.save_button.isEnabled()
    dialog.save()  # refused: nothing happens
    assert statuses(db) == before

    # moving it five minutes clears the conflict; the same video twice on a channel is one too
    dialog.set_start(at + timedelta(minutes=5))
    assert settle_preview(qtbot, dialog).ok and dialog.save_button.isEnabled()
    dialog.set_video(first)
    settle_preview(qtbot, dialog)
    assert any("already scheduled" in c for c in dialog.conflict_texts())
    dialog.reject()
    assert statuses(db) == before


def test_a_wave_of_several_videos_in_the_dialog(qtbot, db, channels, video, open_tab):
    v1, v2 = video("w1"), video("w2")
    tab = open_tab()
    dialog = open_dialog(qtbot, tab, "wave")
    dialog.set_videos([v1, v2])
    dialog.set_channels(["a", "c"])
    dialog.set_start(next_monday(12))
    dialog.set_delay_minutes(15)
    dialog.timing_combo.setCurrentIndex(dialog.timing_combo.findData("staggered"))
    dialog.wave_edit.setText("launch")
    preview = settle_preview(qtbot, dialog)
    assert preview.ok and [i.at.strftime("%H:%M") for i in preview.items] == ["12:00", "12:15", "12:30", "12:45"]
    dialog_order = dialog.videos_model.checked()
    assert [(i.video_id, i.channel_id) for i in preview.items] == [(v, c) for v in dialog_order for c in ("a", "c")]

    dialog.save()
    qtbot.waitUntil(lambda: tab.model.total_count() == 4, timeout=10_000)
    assert {r[0] for r in db.query("SELECT wave_id FROM schedules")} == {"launch"}
    qtbot.waitUntil(lambda: tab.wave_filter.findData("launch") >= 0)
    tab.set_filters(wave="launch", channel_id="c")
    assert [r.video_id for r in tab.model.visible_rows()] == dialog_order  # the list's order (newest first)
    assert len(tab.timeline_items()) == 2


# -- pause, resume, cancel -------------------------------------------------------------------------------------


def test_pause_and_resume_a_channels_schedules_from_the_tab(qtbot, db, channels, video, open_tab, answers):
    vid = video("p")
    svc = SchedulingService(db)
    svc.create_staggered_schedule(vid, ["a", "b"], next_monday(8), 600)
    svc.create_independent_schedule("a", next_monday(15))
    tab = open_tab()
    tab.go_to_week(next_monday(8).date())
    tab.set_filters(channel_id="a")
    assert {r.channel_id for r in tab.model.visible_rows()} == {"a"}

    tab.channel_command("pause")  # the filtered channel: no need to ask which
    qtbot.waitUntil(lambda: set(statuses(db, "a").values()) == {"paused"}, timeout=10_000)
    qtbot.waitUntil(lambda: {r.status for r in tab.model.visible_rows()} == {"paused"}, timeout=10_000)
    assert set(statuses(db, "b").values()) == {"pending"}
    assert [(i.label, i.status) for i in tab.timeline_items()] == [("Alpha", "paused")] * 2
    qtbot.waitUntil(lambda: any("Alpha: 2 schedules paused" in n.text for n in tab.notifier.history))

    tab.set_filters()  # all channels: the tab asks which one
    answers.then("🎵 Alpha")
    tab.channel_command("resume")
    qtbot.waitUntil(lambda: set(statuses(db, "a").values()) == {"pending"}, timeout=10_000)
    assert answers.asked[-1].kind == "menu" and "🎵 Alpha" in answers.asked[-1].buttons
    qtbot.waitUntil(lambda: "paused" not in {r.status for r in tab.model.visible_rows()}, timeout=10_000)


def test_pause_resume_and_cancel_a_selection(qtbot, db, channels, video, open_tab, answers):
    vid = video("s")
    made = SchedulingService(db).create_staggered_schedule(vid, ["a", "b", "c"], next_monday(8), 600)
    tab = open_tab()
    tab.select_schedules([made[0].id, made[1].id])
    assert tab.pause_button.isEnabled() and not tab.resume_button.isEnabled()

    tab.pause_selected()
    qtbot.waitUntil(lambda: [statuses(db)[s.id] for s in made] == ["paused", "paused", "pending"], timeout=10_000)
    qtbot.waitUntil(lambda: tab.resume_button.isEnabled(), timeout=10_000)  # the selection survived the refresh
    tab.resume_selected()
    qtbot.waitUntil(lambda: [statuses(db)[s.id] for s in made] == ["pending"] * 3, timeout=10_000)

    answers.then("Keep them")
    tab.select_schedules([made[2].id])
    tab.cancel_selected()
    assert statuses(db)[made[2].id] == "pending"
    answers.then("Yes, cancel")
    tab.cancel_selected()
    qtbot.waitUntil(lambda: statuses(db)[made[2].id] == "cancelled", timeout=10_000)
    assert "never runs" in answers.asked[-1].text


# -- missed schedules --------------------------------------------------------------------------------------------


@pytest.fixture
def missed(db, channels, video):
    """Schedules that were due two hours ago while nothing ran: a staggered wave on a and b, and
    one independent schedule on c (made with a clock in the past, then marked missed)."""
    now = utcnow()
    past = now - timedelta(hours=2)
    then = SchedulingService(db, clock=lambda: past - timedelta(minutes=5), settings=Settings())
    wave = then.create_staggered_schedule(video("m1", "Wave clip"), ["a", "b"], past, 900, wave_id="w-missed")
    lone = then.create_independent_schedule("c", past + timedelta(minutes=5), video_id=video("m2", "Lone clip"))
    SchedulingService(db, settings=Settings()).mark_missed()
    assert set(statuses(db).values()) == {"missed"}
    return wave, lone


def test_missed_schedules_publish_now(qtbot, db, missed, open_tab, answers, scripts):
    _wave, lone = missed
    tab = open_tab()
    assert tab.banner.isVisibleTo(tab) and "3 missed schedules" in tab.banner_label.text()
    tab.focus_on("missed")
    assert len(tab.model.visible_rows()) == 3
    tab.select_schedule(lone.id)
    assert tab.publish_now_button.isEnabled() and tab.shift_button.isEnabled()

    answers.then("Publish now")
    tab.publish_now_selected()
    qtbot.waitUntil(lambda: statuses(db)[lone.id] == "completed", timeout=15_000)
    assert "“Lone clip” on Gamma" in answers.asked[0].text
    assert len(scripts["Instagram"].calls) == 1
    qtbot.waitUntil(lambda: tab.model.schedule(lone.id).status == "completed", timeout=10_000)
    qtbot.waitUntil(lambda: tab.activity_text() == "")


def test_missed_schedules_shift_the_wave_and_skip(qtbot, db, missed, open_tab, answers):
    wave, lone = missed
    tab = open_tab()
    tab.select_schedule(wave[1].id)

    answers.then("In 1 hour")
    before = utcnow()
    tab.shift_selected()
    qtbot.waitUntil(lambda: statuses(db)[wave[0].id] == "pending", timeout=10_000)
    question = answers.asked[0]
    assert question.kind == "menu" and "Choose a time…" in question.buttons
    new = {r[0]: datetime.fromisoformat(r[1]) for r in db.query("SELECT id, scheduled_at FROM schedules"
                                                                 " WHERE wave_id = 'w-missed'")}
    assert new[wave[1].id] - new[wave[0].id] == timedelta(seconds=900)  # the stagger is kept
    assert timedelta(minutes=59) <= new[wave[0].id] - before <= timedelta(minutes=61)
    assert statuses(db)[lone.id] == "missed"  # not in the wave

    tab.select_schedule(lone.id)
    answers.then("Keep waiting")
    tab.skip_selected()
    assert statuses(db)[lone.id] == "missed"
    answers.then("Mark as skipped")
    tab.skip_selected()
    qtbot.waitUntil(lambda: statuses(db)[lone.id] == "cancelled", timeout=10_000)
    qtbot.waitUntil(lambda: not tab.banner.isVisibleTo(tab), timeout=10_000)
    assert db.query_one("SELECT error_message FROM schedules WHERE id = ?", (lone.id,))[0].startswith("missed; skipped")


def test_double_clicking_a_missed_block_asks_what_to_do(qtbot, db, missed, open_tab, answers):
    wave, _lone = missed
    tab = open_tab()
    tab.go_to_week(wave[0].scheduled_at.date())
    item = next(i for i in tab.timeline_items() if i.schedule_id == wave[0].id)
    assert item.status == "missed"
    answers.then("Mark as skipped")
    qtbot.mouseDClick(tab.timeline, Qt.MouseButton.LeftButton, pos=item.rect.center().toPoint())
    qtbot.waitUntil(lambda: statuses(db)[wave[0].id] == "cancelled", timeout=10_000)
    assert answers.asked[0].buttons == ["Publish now", "Shift the wave…", "Mark as skipped", "Keep waiting"]


# -- models and the timeline on their own -----------------------------------------------------------------------


def _row(sid: str, at: datetime, status: str = "pending", channel: str = "Alpha", title: str = "clip") -> ScheduleRow:
    return ScheduleRow(sid, "v", title, channel.lower(), channel, "TikTok", "Europe/Berlin", at, "simultaneous",
                       status, 0, None, None, None, None, None)


def test_models_pass_the_model_tester(qtmodeltester, qtbot, db, channels, video):
    vid = video("mt", "<b>not bold</b>")
    SchedulingService(db).create_staggered_schedule(vid, ["a", "b", "c"], next_monday(7), 3600, wave_id="w")
    model = SchedulesModel(zone=UTC)
    model.load(fetch_snapshot(db).rows)
    qtmodeltester.check(model)
    model.set_filter(channel_id="b")
    qtmodeltester.check(model)
    assert model.rowCount() == 1
    model.set_filter()
    model.sort(COL_CHANNEL, Qt.SortOrder.DescendingOrder)
    assert [model.index(r, COL_CHANNEL).data() for r in range(3)] == ["📷 Gamma", "▶ Beta", "🎵 Alpha"]
    # user data is plain text: shown as typed, escaped in tooltips
    assert model.index(0, COL_VIDEO).data() == "<b>not bold</b>"
    assert "&lt;b&gt;" in model.index(0, COL_VIDEO).data(Qt.ItemDataRole.ToolTipRole)
    # a refresh applies the difference: one changed, one gone, one new
    rows = model.all_rows()
    changed = [r for r in rows if r.channel_id != "a"]
    changed[0] = dataclasses.replace(changed[0], status="paused")
    changed.append(_row("new", next_monday(9)))
    model.load(changed)
    qtmodeltester.check(model)
    assert {r.id for r in model.visible_rows()} == {r.id for r in changed}

    check = CheckListModel([("a", "Alpha"), ("b", "Beta"), ("c", "Gamma")])
    qtmodeltester.check(check)
    check.set_checked(["c", "a"])
    check.move(2, -1)
    assert check.checked() == ["a", "c"] and check.keys() == ["a", "c", "b"]
    qtmodeltester.check(check)
    plan = PlanModel(UTC)
    plan.set_rows([PlanItem("a", "Alpha", "Europe/Berlin", "TikTok", "v", "clip", next_monday(7), ["too close"])])
    qtmodeltester.check(plan)


def test_the_timeline_lays_out_blocks_and_folds_crowds(qtbot):
    timeline = WeekTimeline(zone=UTC)
    qtbot.addWidget(timeline)
    timeline.resize(1100, 600)
    monday = next_monday(0).date()
    timeline.set_week(monday + timedelta(days=2))
    assert timeline.week_start == monday
    at = next_monday(18)
    crowd = [_row(f"s{i}", at, channel=f"Ch{i:02d}") for i in range(MAX_LANES + 3)]
    rows = crowd + [_row("early", next_monday(6), "missed"), _row("other", at + timedelta(days=8))]
    timeline.set_schedules(rows)
    items = timeline.items()
    singles = [i for i in items if i.kind == "schedule"]
    (more,) = [i for i in items if i.kind == "more"]
    assert len(singles) == MAX_LANES  # five of the crowd side by side, plus the early one
    assert more.label == f"+{len(crowd) - (MAX_LANES - 1)}" and len(more.schedule_ids) == 4
    assert "other" not in {sid for i in items for sid in i.schedule_ids}  # next week
    early = next(i for i in items if i.schedule_id == "early")
    assert early.status == "missed" and early.rect.bottom() < more.rect.top()
    assert timeline.item_at(early.rect.center()).schedule_id == "early"
    with qtbot.waitSignal(timeline.scheduleClicked) as clicked:
        qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=early.rect.center().toPoint())
    assert clicked.args == ["early"]
    assert not timeline.grab().isNull()  # paints without error


def test_week_navigation_reads_older_weeks(qtbot, db, channels, open_tab):
    tab = open_tab()
    old = date(2020, 1, 8)
    with qtbot.waitSignal(tab.loaded, timeout=10_000):
        tab.go_to_week(old)
    assert tab.timeline.week_start == date(2020, 1, 6)
    assert tab.since <= datetime(2020, 1, 6, tzinfo=UTC)
    assert "06 Jan – 12 Jan 2020" in tab.week_label.text()


def test_a_conflict_that_appears_after_the_preview_is_refused_and_shown(qtbot, db, channels, video, open_tab):
    vid, other = video("race"), video("other")
    at = next_monday(16)
    tab = open_tab()
    dialog = open_dialog(qtbot, tab, "independent")
    dialog.set_video(vid)
    dialog.set_channels(["b"])
    dialog.set_start(at)
    assert settle_preview(qtbot, dialog).ok
    SchedulingService(db).create_independent_schedule("b", at, video_id=other)  # someone else was quicker

    dialog.save()
    qtbot.waitUntil(lambda: not dialog._saving and dialog.preview is not None and not dialog.checking
                    and bool(dialog.conflict_texts()), timeout=10_000)
    assert dialog.isVisible() and not dialog.save_button.isEnabled()
    assert dialog.status_label.text().startswith("✖ Nothing was saved")
    assert [r[0] for r in db.query("SELECT video_id FROM schedules")] == [other]
    dialog.reject()


def test_shift_presets():
    from ui.tabs.schedules_tab import new_start_for

    now = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)
    due = datetime(2026, 3, 27, 8, 15, tzinfo=UTC)
    berlin = ZoneInfo("Europe/Berlin")
    assert new_start_for("In 10 minutes", due, UTC, now) == now + timedelta(minutes=10)
    # the same wall-clock time tomorrow in the operator's zone, across the DST change
    tomorrow = new_start_for("Tomorrow, same time", due, berlin, now)
    assert (tomorrow.astimezone(berlin).date(), tomorrow.astimezone(berlin).strftime("%H:%M")) == (
        date(2026, 3, 29), "09:15")
    assert new_start_for("Choose a time…", due, UTC, now) is None
