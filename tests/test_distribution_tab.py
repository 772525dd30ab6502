"""The Distribution tab through the real services: VideoDistributionService, the publisher, scripted uploaders.

Questions go through ``ui.dialogs.ask``, replaced by :class:`Answers`; waiting is done with
``qtbot.waitUntil`` / ``waitSignal``; the tab's timer is off and tests refresh by hand.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt

from database import to_iso, utcnow
from database.paths import DataPaths
from orchestration import ChannelService, VideoDistributionService
from ui import dialogs
from ui.models.distribution_model import (
    COL_CHANNEL,
    COL_ERROR,
    COL_METHOD,
    COL_REASON,
    COL_RETRIES,
    COL_STATUS,
    COL_VIDEO,
    ChannelStatsModel,
    DistributionModel,
    fetch_distributions,
)
from ui.tabs.distribution_tab import DistributionTab, day_bounds
from ui.widgets.bar_chart import Bar, BarChart
from uploaders import UploadResult


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
    svc = ChannelService(db)
    for platform in ("YouTube", "TikTok", "Instagram"):  # the catch-all defaults stay out of the way
        svc.deactivate_channel(platform, "not used in this test")
    return svc


@pytest.fixture
def service(db):
    return VideoDistributionService(db)


@pytest.fixture
def open_tab(qtbot, db, answers):
    """open_tab(): the main window on the test registry with the Distribution tab, loaded."""
    from ui.main_window import MainWindow

    made = []

    def make() -> DistributionTab:
        window = MainWindow(DataPaths.for_registry(db.path), db=db, remember=False, refresh_interval_ms=0)
        qtbot.addWidget(window)
        made.append(window)
        tab = next((w for _t, w in window.tab_widgets() if isinstance(w, DistributionTab)), None)
        if tab is None:  # until the window adds it itself
            tab = DistributionTab(window.worker, window.notifier, window, refresh_interval_ms=0)
            window.add_tab(tab, DistributionTab.TITLE)
        window.tabs.setCurrentWidget(tab)
        window.show()
        qtbot.waitUntil(lambda: tab.is_ready(), timeout=10_000)
        return tab

    yield make
    for window in made:
        window.shutdown()
        window.close()


@pytest.fixture
def tab(open_tab):
    return open_tab()


def add_videos(registry, *rows) -> list[str]:
    out = []
    for i, row in enumerate(rows):
        row = dict(row)
        row.setdefault("file_path", f"/videos/{row['id']}.mp4")
        row.setdefault("checksum", hashlib.sha256(row["id"].encode()).hexdigest())
        out += registry.register_videos([row])
    return out


SHORT = {"width": 1080, "height": 1920, "duration": 30.0, "source_views": 20_000}


def refresh(qtbot, tab, full=False):
    qtbot.waitUntil(lambda: not tab.refreshing)
    with qtbot.waitSignal(tab.refreshed, timeout=10_000) as blocker:
        tab.refresh(full=full)
    return blocker.args[0]


def text(tab, key: str, col: int) -> str:
    return tab.model.data(tab.model.index(tab.model.row_of(key), col))


def notices(tab, kind=None) -> list[str]:
    return [n.text for n in tab.notifier.history if kind is None or n.kind == kind]


# -- auto-distribution --------------------------------------------------------------------------------------


def test_auto_distribute_by_filters_fills_the_log_with_reasons_in_words(qtbot, tab, db, registry, channels,
                                                                        service):
    add_videos(registry, dict(SHORT, id="short", title="Short clip"), dict(SHORT, id="long", duration=300.0),
               dict(SHORT, id="wide", width=1920, height=1080))
    vertical = channels.create_channel("Vertical", "TikTok", {"orientation": "vertical", "max_duration": 60})
    anything = channels.create_channel("Anything", "YouTube", {"min_resolution": "1080p"})
    assert tab.stack.currentWidget() is tab.empty_page

    tab.by_filters_button.click()

    qtbot.waitUntil(lambda: tab.model.total_count() == 4 and tab.worker.is_idle(), timeout=10_000)
    logged = service.distribution_repo.get_all()
    assert sorted((d.video_id, d.channel_id) for d in logged) == sorted(
        [("short", vertical.id), ("short", anything.id), ("long", anything.id), ("wide", anything.id)])
    for d in logged:
        assert text(tab, d.id, COL_REASON) == d.reason_text
        assert text(tab, d.id, COL_METHOD) == "🔍 By filters"
        assert text(tab, d.id, COL_STATUS) == "● Assigned"
    short_vertical = next(d for d in logged if d.video_id == "short" and d.channel_id == vertical.id)
    reason = text(tab, short_vertical.id, COL_REASON)
    assert reason.startswith("matches Vertical's filters (score") and "rank 1 of 2" in reason
    assert text(tab, short_vertical.id, COL_VIDEO) == "Short clip"
    assert text(tab, short_vertical.id, COL_CHANNEL) == "🎵 Vertical"
    tip = tab.model.data(tab.model.index(tab.model.row_of(short_vertical.id), COL_REASON), Qt.ItemDataRole.ToolTipRole)
    assert "✔ orientation: vertical, as vertical" in tip and "✔ max duration: 30 s is within the 60 s maximum" in tip
    assert tab.stack.currentWidget() is tab.table
    assert any(t.startswith("Distribution by filters: 4 new assignments") and "matched no filter" in t
               for t in notices(tab, "success"))
    qtbot.waitUntil(lambda: tab.stats is not None and tab.stats["total"] == 4)
    assert "4 assignments" in tab.counts_text()


def test_auto_distribute_by_schedule_schedules_a_slot(qtbot, tab, db, registry, channels):
    add_videos(registry, dict(SHORT, id="v1"))
    ch = channels.create_channel("Slotted", "TikTok", {}, {"daily": ["09:00"]}, timezone="Europe/Berlin")
    tab.by_schedule_button.click()
    qtbot.waitUntil(lambda: tab.model.total_count() == 1 and tab.worker.is_idle(), timeout=10_000)
    (row,) = tab.model.rows()
    assert row.channel_id == ch.id and row.status == "scheduled" and row.scheduled_at
    assert text(tab, row.key, COL_STATUS).startswith("🗓 Scheduled · ")
    assert "slot" in text(tab, row.key, COL_REASON)


# -- manual distribution with Force -----------------------------------------------------------------------------


def test_manual_distribution_with_force_is_logged_as_forced_with_the_note(qtbot, tab, db, registry, channels,
                                                                          service):
    add_videos(registry, dict(SHORT, id="clip", title="The clip"), dict(SHORT, id="other"))
    ch = channels.create_channel("Main", "TikTok")
    (first,) = service.manual_distribute("clip", [ch.id])  # already assigned: a duplicate without force
    refresh(qtbot, tab)

    tab.manual_button.click()
    qtbot.waitUntil(lambda: tab.manual_dialog is not None and tab.manual_dialog.isVisible(), timeout=10_000)
    dialog = tab.manual_dialog
    assert sorted(dialog.videos.item(r).text() for r in range(dialog.videos.rowCount())) == ["The clip", "other"]
    assert not dialog.accept_button.isEnabled()
    assert dialog.check_videos(["clip"]) == 1 and dialog.check_channels([ch.id]) == 1
    assert dialog.accept_button.isEnabled()
    dialog.force.setChecked(True)
    assert not dialog.accept_button.isEnabled()  # Force needs a note
    assert dialog.note_error.text() == "Say why you force it; the note is logged."
    dialog.note.setText("the sponsor <b>asked</b> for a second post")
    assert dialog.accept_button.isEnabled() and dialog.note_error.text() == ""

    dialog.accept_button.click()

    qtbot.waitUntil(lambda: tab.model.total_count() == 2 and tab.worker.is_idle(), timeout=10_000)
    forced = next(d for d in service.distribution_repo.get_all() if d.id != first.id)
    assert forced.forced and forced.distribution_method == "manual"
    assert forced.assignment_reason["note"] == "the sponsor <b>asked</b> for a second post"
    assert text(tab, forced.id, COL_METHOD) == "✋ Manual  ⚡ forced"
    reason = text(tab, forced.id, COL_REASON)
    assert reason == forced.reason_text
    assert "forced by operator (the sponsor <b>asked</b> for a second post)" in reason
    assert "overriding" in reason and "already assigned" in reason
    tip = tab.model.data(tab.model.index(tab.model.row_of(forced.id), COL_REASON), Qt.ItemDataRole.ToolTipRole)
    assert "Note: the sponsor &lt;b&gt;asked&lt;/b&gt;" in tip
    assert any("Manual distribution: 1 assignment (forced)" in t for t in notices(tab, "success"))
    assert db.audit.events("distribution.forced", subject_id=forced.id)[0]["actor"] == "operator"
    # the forced filter shows only forced decisions
    tab.method_filter.setCurrentIndex(tab.method_filter.findData("forced"))
    assert tab.model.keys() == [forced.id]


def test_manual_distribution_without_force_reports_the_refusal(qtbot, tab, registry, channels, service):
    add_videos(registry, dict(SHORT, id="clip"))
    ch = channels.create_channel("Main", "TikTok")
    service.manual_distribute("clip", [ch.id])
    refresh(qtbot, tab)
    tab.select(tab.model.keys())  # the log's selection is preselected in the dialog
    tab.open_manual_dialog()
    qtbot.waitUntil(lambda: tab.manual_dialog is not None, timeout=10_000)
    assert tab.manual_dialog.video_ids() == ["clip"]
    tab.manual_dialog.check_channels([ch.id])
    tab.manual_dialog.accept_button.click()
    qtbot.waitUntil(lambda: any("Not assigned (1)" in t for t in notices(tab, "error")), timeout=10_000)
    assert "use force to override" in notices(tab, "error")[-1]
    assert tab.model.total_count() == 1


# -- retry ---------------------------------------------------------------------------------------------------------


def test_retry_failed_publishes_the_selection_again(qtbot, tab, db, registry, make_clip, channels, service, scripts,
                                                    answers):
    vid = registry.register_video(str(make_clip("retry.mp4")), title="Retry me")
    ch = channels.create_channel("Flaky", "TikTok")
    (d,) = service.manual_distribute(vid, [ch.id])
    scripts["TikTok"].then(UploadResult.failed("network down", "transient"))
    assert service.publish_distribution(d.id).status == "failed"
    refresh(qtbot, tab)
    assert text(tab, d.id, COL_STATUS) == "✖ Failed" and text(tab, d.id, COL_ERROR) == "network down"
    assert text(tab, d.id, COL_RETRIES) == "0/3"
    assert tab.counts_text() == "🔀 1 assignment, 1 failed"
    assert not tab.retry_button.isEnabled()
    tab.select([d.id])
    assert tab.retry_button.isEnabled() and tab.retry_button.text() == "🔁 Retry failed (1)"
    answers.then("Retry")

    tab.retry_button.click()

    qtbot.waitUntil(lambda: tab.model.get(d.id).status == "published" and tab.worker.is_idle(), timeout=15_000)
    assert answers.asked[0].buttons == ["Retry", "Cancel"] and "Publish 1 failed distribution again" in \
        answers.asked[0].text
    assert len(scripts["TikTok"].calls) == 2
    after = service.distribution_repo.get(d.id)
    assert (after.status, after.retry_count) == ("published", 1)
    assert text(tab, d.id, COL_STATUS) == "✔ Published" and text(tab, d.id, COL_RETRIES) == "1/3"
    assert any("Retry: 1 published" in t for t in notices(tab, "success"))


# -- statistics --------------------------------------------------------------------------------------------------------


def test_statistics_over_a_date_range_match_the_service(qtbot, tab, db, registry, channels, service):
    add_videos(registry, *[dict(SHORT, id=f"v{i}") for i in range(4)])
    a = channels.create_channel("Alpha", "TikTok")
    b = channels.create_channel("Beta", "YouTube", {"max_duration": 10})  # matches nothing
    made = service.auto_distribute_by_filters()
    assert len(made) == 4
    service.distribution_repo.set_status(made[0].id, "published")
    service.distribution_repo.set_status(made[1].id, "failed", error_message="boom")
    service.manual_distribute("v0", [b.id], force=True, note="test")
    old = to_iso(utcnow() - timedelta(days=20))
    with db.transaction() as tx:  # two decisions from three weeks ago
        tx.execute("UPDATE distributions SET created_at = ? WHERE id IN (?, ?)", (old, made[2].id, made[3].id))
    refresh(qtbot, tab, full=True)

    def stats_for(first, last):
        with qtbot.waitSignal(tab.statsChanged, timeout=10_000) as blocker:
            tab.set_range(first, last)
        return blocker.args[0]

    today = date.today()
    week = stats_for(today - timedelta(days=6), today)
    assert week == service.get_distribution_statistics(**tab.stats_query())
    assert (week["total"], week["published_count"], week["failed_count"], week["forced_count"]) == (3, 1, 1, 1)
    assert week["by_channel"][a.id]["success_rate"] == 50.0
    assert [bar.label for bar in tab.channel_chart.bars] == ["Alpha", "Beta"]
    assert tab.channel_chart.bars[0] == Bar("Alpha", 50.0, "50% · 1/2", "success", tab.channel_chart.bars[0].tooltip)
    assert {bar.label: bar.value for bar in tab.status_chart.bars} == {
        "Assigned": 1, "Scheduled": 0, "Published": 1, "Failed": 1, "Cancelled": 0}
    assert {bar.label: bar.value for bar in tab.method_chart.bars} == {"By filters": 2, "By schedule": 0,
                                                                       "Manual": 1}
    assert "3 assignments in this period" in tab.totals.text() and "Success rate 33.3%" in tab.totals.text()

    month = stats_for(today - timedelta(days=29), today)
    assert month == service.get_distribution_statistics(**tab.stats_query()) and month["total"] == 5
    start, end = day_bounds(today - timedelta(days=29), today)
    assert tab.stats_query() == {"channel_id": None, "start_date": start, "end_date": end}

    past = stats_for(today - timedelta(days=60), today - timedelta(days=30))
    assert past["total"] == 0 and tab.status_chart.bars == [] and tab.channel_chart.bars == []

    with qtbot.waitSignal(tab.statsChanged, timeout=10_000) as blocker:
        tab.range_choice.setCurrentIndex(tab.range_choice.findData(None))  # all time
    assert blocker.args[0] == service.get_distribution_statistics() and blocker.args[0]["total"] == 5
    assert not tab.date_from.isEnabled()


def test_day_bounds_are_local_days():
    start, end = day_bounds(date(2026, 3, 1), date(2026, 3, 31))
    assert start == datetime(2026, 3, 1).astimezone() and start.tzinfo is not None
    assert end == datetime(2026, 4, 1).astimezone() - timedelta(microseconds=1)
    assert day_bounds(None, None) == (None, None)


# -- refresh, filters, plain text, models --------------------------------------------------------------------------


def test_refresh_fetches_only_what_changed_and_keeps_the_view(qtbot, tab, db, registry, channels, service):
    add_videos(registry, *[dict(SHORT, id=f"v{i}") for i in range(3)])
    channels.create_channel("Alpha", "TikTok")
    made = service.auto_distribute_by_filters()
    refresh(qtbot, tab)
    tab.select([made[1].id])
    events = []
    for sig in ("modelReset", "rowsInserted", "rowsRemoved", "dataChanged", "layoutChanged"):
        getattr(tab.model, sig).connect(lambda *a, s=sig: events.append(s))

    assert not refresh(qtbot, tab).anything
    assert events == [] and tab.selected_ids() == [made[1].id]

    rev = tab.model.rev
    service.distribution_repo.set_status(made[1].id, "failed", error_message="oops")
    changes = fetch_distributions(db, rev)
    # only the changed row, though the run stamped all three with one time
    assert not changes.full and [r.key for r in changes.rows] == [made[1].id] and changes.count == 3
    result = refresh(qtbot, tab)
    assert (result.changed, result.inserted, result.removed, result.reset) == (1, 0, 0, False)
    assert events == ["dataChanged"] and tab.selected_ids() == [made[1].id]
    assert text(tab, made[1].id, COL_ERROR) == "oops"

    # a deleted channel takes its distributions along: the next refresh notices the count and reads all
    channels.delete_channel("Alpha")
    refresh(qtbot, tab)
    qtbot.waitUntil(lambda: tab.model.total_count() == 0 and not tab.refreshing, timeout=10_000)


def test_filters_by_channel_method_status_and_text(qtbot, tab, registry, channels, service):
    add_videos(registry, dict(SHORT, id="cat", title="Cat video"), dict(SHORT, id="dog", title="Dog video"))
    a = channels.create_channel("Alpha", "TikTok")
    b = channels.create_channel("Beta", "YouTube")
    made = service.auto_distribute_by_filters()
    service.distribution_repo.set_status(made[0].id, "failed", error_message="broken pipe")
    refresh(qtbot, tab)
    assert tab.channel_filter.count() == 1 + 5  # all, plus every channel
    tab.channel_filter.setCurrentIndex(tab.channel_filter.findData(a.id))
    assert {tab.model.get(k).channel_id for k in tab.model.keys()} == {a.id}
    tab.channel_filter.setCurrentIndex(0)
    tab.status_filter.setCurrentIndex(tab.status_filter.findData("failed"))
    assert tab.model.keys() == [made[0].id]
    assert "1 of 4 distributions" in tab.footer.text()
    tab.status_filter.setCurrentIndex(0)
    tab.set_search("dog")
    assert len(tab.model.keys()) == 2
    tab.set_search("broken pipe")
    assert tab.model.keys() == [made[0].id]
    tab.set_search("beta")
    assert {tab.model.get(k).channel_id for k in tab.model.keys()} == {b.id}
    tab.method_filter.setCurrentIndex(tab.method_filter.findData("manual"))
    assert tab.stack.currentWidget() is tab.no_match_page


def test_titles_and_channel_names_with_markup_show_as_text(qtbot, tab, db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="v", title="<b>Bold</b> title"))
    ch = channels.create_channel("<i>Chan</i>", "TikTok")
    (d,) = service.auto_distribute_by_filters()
    refresh(qtbot, tab)
    assert text(tab, d.id, COL_VIDEO) == "<b>Bold</b> title"
    assert text(tab, d.id, COL_CHANNEL) == "🎵 <i>Chan</i>"
    tip = tab.model.data(tab.model.index(tab.model.row_of(d.id), COL_VIDEO), Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;Bold&lt;/b&gt;" in tip
    qtbot.waitUntil(lambda: bool(tab.channel_chart.bars) and tab.channel_chart.bars[0].label == "<i>Chan</i>")
    # a renamed channel repaints its column without re-reading the rows
    ChannelService(db).update_channel(ch.id, name="Plain")
    refresh(qtbot, tab)
    assert text(tab, d.id, COL_CHANNEL) == "🎵 Plain"


def test_bar_chart_paints_bars_to_scale(qtbot):
    chart = BarChart("Title", maximum=100.0)
    qtbot.addWidget(chart)
    chart.resize(400, 120)
    chart.set_bars([Bar("<b>a</b>", 50.0, "50%", "success"), Bar("b", 100.0, "100%", "error")])
    chart.show()
    assert chart.bar_rect(1).width() == pytest.approx(2 * chart.bar_rect(0).width())
    assert chart.bar_at(chart.bar_rect(0).center().y()) == 0 and chart.bar_at(2) == -1
    assert not chart.grab().isNull()
    chart.set_bars([])
    assert not chart.grab().isNull()
    assert chart.sizeHint().height() > 0


def test_models_pass_qtmodeltester(qtmodeltester, db, registry, channels, service):
    add_videos(registry, *[dict(SHORT, id=f"v{i}") for i in range(3)])
    channels.create_channel("Alpha", "TikTok")
    channels.create_channel("Beta", "YouTube")
    made = service.auto_distribute_by_filters()
    model = DistributionModel()
    qtmodeltester.check(model)
    changes = fetch_distributions(db)
    model.apply(changes)
    qtmodeltester.check(model)
    model.sort(COL_CHANNEL, Qt.SortOrder.AscendingOrder)
    model.set_filter(status="assigned", text="v1")
    qtmodeltester.check(model)
    model.set_filter(status=None, text="")
    service.distribution_repo.set_status(made[0].id, "published")
    add_videos(registry, dict(SHORT, id="v9"))
    service.auto_distribute_by_filters()
    result = model.apply(fetch_distributions(db, model.rev))
    assert result.inserted == 2 and result.changed >= 1 and not result.reset
    qtmodeltester.check(model)

    stats = ChannelStatsModel()
    qtmodeltester.check(stats)
    stats.set_stats(service.get_distribution_statistics())
    assert stats.rowCount() == 2
    qtmodeltester.check(stats)


def test_a_refresh_reads_the_distributions_a_schedule_change_touched_and_nothing_else(db, registry, channels):
    from orchestration import SchedulingService

    add_videos(registry, dict(SHORT, id="v1"), dict(SHORT, id="v2"))
    channels.create_channel("Slotted", "TikTok", {}, {"daily": ["09:00", "18:00"]}, timezone="Europe/Berlin")
    made = VideoDistributionService(db).auto_distribute_by_schedule(slots_per_channel=2)
    assert len(made) == 2
    first = fetch_distributions(db)
    assert fetch_distributions(db, first.rev).rows == []  # nothing changed: nothing read
    sched = db.query_one("SELECT id FROM schedules WHERE distribution_id = ?", (made[0].id,))[0]
    SchedulingService(db).pause_schedule(sched)
    changes = fetch_distributions(db, first.rev)
    assert [r.key for r in changes.rows] == [made[0].id] and changes.rev > first.rev
    assert fetch_distributions(db, changes.rev).rows == []
