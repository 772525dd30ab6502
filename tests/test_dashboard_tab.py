"""The Dashboard tab: what needs the operator first (a missed schedule, an upload whose outcome is
unknown, a login), each with its action or link, then the publication numbers."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from database import UploadRepository, utcnow
from orchestration import ChannelService, SchedulingService
from orchestration.settings import Settings
from tests.test_schedules_tab import answers, channels, statuses, video, window  # noqa: F401 - fixtures
from ui.tabs.dashboard_tab import AttentionModel, DashboardTab, NextModel, attention_items, navigate_in
from ui.tabs.schedules_tab import SchedulesTab

UTC = timezone.utc


@pytest.fixture
def open_dashboard(qtbot, window):  # noqa: F811
    def make() -> DashboardTab:
        tab = DashboardTab(window.worker, window.notifier, window, refresh_interval_ms=0, zone=UTC)
        window.add_tab(tab, tab.TITLE)
        window.tabs.setCurrentWidget(tab)
        qtbot.waitUntil(tab.is_ready, timeout=10_000)
        return tab

    return make


@pytest.fixture
def trouble(db, channels, video):  # noqa: F811
    """A missed schedule, an upload with an unknown outcome, a channel whose login expired, and one
    schedule published on time (10 s after its time)."""
    now = utcnow()
    past = now - timedelta(hours=3)
    missed = SchedulingService(db, clock=lambda: past - timedelta(minutes=1), settings=Settings()) \
        .create_independent_schedule("a", past, video_id=video("late", "Late clip"))
    SchedulingService(db, settings=Settings()).mark_missed()
    uploads = UploadRepository(db)
    rec, _ = uploads.claim(video("lost", "Lost clip"), "b", owner="dead:1:1", now=now)
    uploads.mark_unknown(rec, message="the app stopped during this upload")
    ChannelService(db).update_channel("c", login_state="required")
    return missed


def test_the_dashboard_lists_a_missed_schedule_and_an_unknown_upload_first(qtbot, db, trouble, open_dashboard,
                                                                           answers, window):  # noqa: F811
    tab = open_dashboard()
    assert tab.attention_kinds()[:3] == ["missed", "unknown", "login"]
    missed, unknown, login = tab.attention_model.rows()[:3]
    assert (missed.channel, missed.action) == ("Alpha", "Decide…") and "“Late clip”" in missed.details
    assert (unknown.channel, unknown.target) == ("Beta", "videos") and "“Lost clip”" in unknown.details
    assert (login.channel, login.target) == ("Gamma", "channels")
    assert tab.cards["missed"].value.text() == "1" and tab.cards["unknown"].value.text() == "1"
    assert tab.cards["logins"].value.text() == "1"
    assert tab.attention_heading.text() == "Needs your attention (3)"
    assert tab.counts_text() == "⚠ 3 need attention"
    assert window.counts_label.text().endswith("⚠ 3 need attention")

    # a link goes to the tab that resolves it
    with qtbot.waitSignal(tab.navigate) as went:
        tab.act(1)
    assert went.args == ["videos"]

    # a missed schedule is decided right here
    answers.then("Mark as skipped")
    tab.attention_view.selectRow(0)
    assert tab.act_button.text() == "Decide…"
    tab.act_button.click()
    qtbot.waitUntil(lambda: statuses(db)[trouble.id] == "cancelled", timeout=10_000)
    qtbot.waitUntil(lambda: "missed" not in tab.attention_kinds(), timeout=10_000)
    assert "“Late clip” on Alpha" in answers.asked[0].text
    assert tab.cards["missed"].value.text() == "0"


def test_publication_numbers_and_whats_next(qtbot, db, channels, video, open_dashboard, scripts):  # noqa: F811
    now = utcnow()
    at = now - timedelta(minutes=4)
    clock = [at - timedelta(minutes=1)]
    svc = SchedulingService(db, clock=lambda: clock[0], settings=Settings())
    svc.create_independent_schedule("a", at, video_id=video("ontime"))
    clock[0] = at + timedelta(seconds=10)
    (result,) = svc.execute_pending_schedules()
    assert result["status"] == "completed"
    upcoming = SchedulingService(db).create_simultaneous_schedule(video("next", "Next clip"), ["b", "c"],
                                                                   now + timedelta(hours=2), wave_id="w")
    tab = open_dashboard()
    assert tab.stats["week"].value.text() == "1"
    assert tab.stats["success"].value.text() == "100 %" and tab.stats["on_time"].value.text() == "100 %"
    assert tab.stats["pending"].value.text() == "2"
    assert tab.next_model.rowCount() == 2
    assert {tab.next_model.index(r, 2).data() for r in range(2)} == {"Next clip"}
    assert tab.all_clear.isVisibleTo(tab) and not tab.attention_view.isVisibleTo(tab)
    assert len(upcoming) == 2


def test_navigate_in_goes_to_the_tab_and_shows_what_was_asked(qtbot, db, trouble, window, open_dashboard):  # noqa: F811
    if hasattr(window, "schedules_tab"):  # the window's own tab shows the operator's zone; use UTC here
        window.tabs.removeTab(window.tabs.indexOf(window.schedules_tab))
    schedules = SchedulesTab(window.worker, window.notifier, window, refresh_interval_ms=0, zone=UTC)
    window.add_tab(schedules, schedules.TITLE)
    dashboard = open_dashboard()
    qtbot.waitUntil(schedules.is_ready, timeout=10_000)
    dashboard.navigate.connect(lambda target: navigate_in(window.tabs, target))
    dashboard.cards["missed"].clicked.emit()
    assert window.tabs.currentWidget() is schedules
    assert [r.id for r in schedules.model.visible_rows()] == [trouble.id]
    assert not navigate_in(window.tabs, "nowhere")


def test_dashboard_models_pass_the_model_tester(qtmodeltester, db, trouble):
    from ui.tabs.dashboard_tab import fetch_dashboard

    model = AttentionModel()
    model.set_rows(attention_items(fetch_dashboard(db), UTC))
    assert model.rowCount() == 3
    qtmodeltester.check(model)
    nxt = NextModel(UTC)
    nxt.set_rows([("Mon 09:00", "Alpha", "clip", "Independent", "")])
    qtmodeltester.check(nxt)


def test_every_card_shows_its_whole_caption_at_the_default_window_size(qtbot, db, open_dashboard, window):  # noqa: F811
    from ui.main_window import DEFAULT_SIZE

    window.resize(*DEFAULT_SIZE)
    tab = open_dashboard()
    qtbot.waitUntil(lambda: tab.stats["channels"].caption.width() > 0, timeout=5_000)
    cut = []
    for name, card in [*tab.cards.items(), *tab.stats.items()]:
        label = card.caption
        if label.heightForWidth(label.width()) > label.height():
            cut.append((name, label.text(), label.width(), label.height(), label.heightForWidth(label.width())))
    assert not cut
