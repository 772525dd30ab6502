"""The Videos tab through the real services: registry, publisher, scripted uploaders, worker.

Questions to the operator go through ``ui.dialogs.ask``, replaced here by :class:`Answers`;
nothing waits on a modal ``exec()``. Waiting is done with ``qtbot.waitUntil`` /
``waitSignal``; the tab's 5-second timer is off and each test refreshes by hand.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QStyledItemDelegate

from database import Database, VideoRegistry
from database.paths import DataPaths
from orchestration.publishing import Publisher
from tests.scripted_uploader import wait_for_cancel
from ui import dialogs
from ui.models import videos_model as vm
from ui.models.videos_model import COL_ACTIONS, COL_DUP, COL_THUMB, COL_TITLE, PLATFORM_COLUMNS, VideosModel
from ui.tabs import videos_tab as vt
from uploaders import UploadResult

PROJECT = Path(__file__).resolve().parent.parent


# -- fixtures --------------------------------------------------------------------------------------


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
            self.unexpected.append(q)  # raising here would be swallowed by a Qt callback
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
def open_window(qtbot, db, answers):
    """open_window(): the main window on the test registry, loaded, auto-refresh off."""
    from ui.main_window import MainWindow

    made = []

    def make():
        window = MainWindow(DataPaths.for_registry(db.path), db=db, refresh_interval_ms=0)
        qtbot.addWidget(window)
        made.append(window)
        window.show()
        qtbot.waitUntil(lambda: window.videos_tab.model.loaded and window.videos_tab.is_ready())
        return window

    yield make
    for window in made:
        window.shutdown()  # stops timers and joins every worker thread
        window.close()


@pytest.fixture
def window(open_window):
    return open_window()


@pytest.fixture
def tab(window):
    return window.videos_tab


def refresh(qtbot, tab):
    """Exactly one refresh, started now, and its result."""
    qtbot.waitUntil(lambda: not tab.refreshing)
    with qtbot.waitSignal(tab.refreshed, timeout=10_000) as blocker:
        tab.refresh()
    return blocker.args[0]


def row_changes(into: list):
    """A dataChanged slot that records (first row, last row) of the refresh's own changes.

    Thumbnails arrive asynchronously, whenever the view first paints a row; those signals
    touch only the thumbnail column and are not the refresh's doing.
    """

    def on_changed(tl, br, roles=()):
        if not (tl.column() == br.column() == COL_THUMB):
            into.append((tl.row(), br.row()))

    return on_changed


def cell(tab, video_id, platform):
    return tab.model.platform_cell_text(video_id, platform)


def status(db, video_id, channel):
    row = db.query_one("SELECT upload_status FROM video_uploads WHERE video_id = ? AND channel_id = ?",
                       (video_id, channel))
    return row[0] if row else None


def click_platform(qtbot, tab, video_id, platform):
    """A real mouse click on the row's platform button (through the delegate)."""
    row = tab.model.row_of(video_id)
    assert row >= 0
    tab.table.scrollTo(tab.model.index(row, COL_ACTIONS))
    rect = tab.table.visualRect(tab.model.index(row, COL_ACTIONS))
    center = tab.buttons.button_rects(rect)[platform].center()
    qtbot.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=center)


def add_channel(db, cid, name, platform):
    with db.transaction() as tx:
        tx.execute("INSERT INTO channels (id, name, platform, created_at, updated_at)"
                   " VALUES (?, ?, ?, '2025-01-01', '2025-01-01')", (cid, name, platform))


@pytest.fixture
def two_videos(registry, make_clip):
    a = registry.register_video(str(make_clip("alpha.mp4")), title="Alpha")
    b = registry.register_video(str(make_clip("beta.mp4")), title="Beta")
    return a, b


# -- uploading -------------------------------------------------------------------------------------


def test_clicking_a_platform_button_publishes_and_shows_a_check(qtbot, db, registry, make_clip, scripts, answers,
                                                                 open_window):
    vid = registry.register_video(str(make_clip("clip_001.mp4")), title="Clip one")
    window = open_window()
    tab = window.videos_tab
    assert cell(tab, vid, "TikTok") == "⚪ Not uploaded"
    answers.then("Upload")

    click_platform(qtbot, tab, vid, "TikTok")

    qtbot.waitUntil(lambda: cell(tab, vid, "TikTok").startswith("✔"), timeout=10_000)
    assert cell(tab, vid, "TikTok") == "✔ Published"
    assert cell(tab, vid, "Instagram") == "⚪ Not uploaded"
    question = answers.asked[0]
    assert (question.kind, question.buttons) == ("question", ["Upload", "Cancel"])
    assert "“Clip one”" in question.text and "TikTok" in question.text
    assert len(scripts["TikTok"].calls) == 1 and not scripts["Instagram"].calls
    assert registry.get_upload_status(vid, "TikTok")["upload_status"] == "SUCCESS"
    qtbot.waitUntil(lambda: any(n.kind == "success" for n in window.notifier.history))
    assert "Clip one" in window.notifier.history[-1].text
    assert "tiktok-1" in window.notifier.history[-1].text  # the post link
    qtbot.waitUntil(lambda: tab.uploads_running() == 0 and not tab.progress.rows)


def test_declining_the_confirmation_uploads_nothing(qtbot, tab, registry, make_clip, scripts, answers):
    vid = registry.register_video(str(make_clip("x.mp4")))
    refresh(qtbot, tab)
    answers.then("Cancel")

    click_platform(qtbot, tab, vid, "YouTube")

    assert len(answers.asked) == 1
    assert tab.uploads_running() == 0
    assert not scripts["YouTube"].calls


@pytest.mark.parametrize("choice", [vt.RETRY_WITH_DUPLICATES, "Cancel"])
def test_duplicate_refusal_offers_allow_duplicates_and_retry(qtbot, db, registry, make_clip, scripts, answers,
                                                             open_window, choice):
    vid = registry.register_video(str(make_clip("dup.mp4")), title="Dup")
    assert Publisher(db).publish(vid, "Instagram").success  # already published there
    window = open_window()
    tab = window.videos_tab
    assert cell(tab, vid, "Instagram") == "✔ Published"
    answers.then("Upload", choice)

    tab.request_upload(vid, "Instagram")

    qtbot.waitUntil(lambda: len(answers.asked) == 2, timeout=10_000)
    dialog = answers.asked[1]
    assert dialog.kind == "warning" and dialog.title == "Duplicate upload blocked"
    assert dialog.buttons == [vt.RETRY_WITH_DUPLICATES, "Cancel"]
    assert "already published on Instagram" in dialog.text
    if choice == "Cancel":
        qtbot.waitUntil(lambda: tab.uploads_running() == 0)
        assert len(scripts["Instagram"].calls) == 1
        assert registry.get_video(vid)["duplicate_allowed"] is False
        return
    qtbot.waitUntil(lambda: len(scripts["Instagram"].calls) == 2, timeout=10_000)
    qtbot.waitUntil(lambda: tab.uploads_running() == 0, timeout=10_000)
    assert registry.get_video(vid)["duplicate_allowed"] is True
    st = registry.get_upload_status(vid, "Instagram")
    assert (st["upload_status"], st["platform_post_id"]) == ("SUCCESS", "instagram-2")
    refresh(qtbot, tab)
    row = tab.model.row_of(vid)
    assert tab.model.data(tab.model.index(row, COL_DUP), Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert cell(tab, vid, "Instagram") == "✔ Published"
    allowed = db.audit.events("video.duplicate_allowed", subject_id=vid)
    assert allowed and allowed[-1]["actor"] == "operator" and "duplicate dialog" in allowed[-1]["message"]


def test_upload_all_pending_confirms_with_numbers_and_shows_progress(qtbot, tab, db, two_videos, scripts, answers):
    a, b = two_videos
    refresh(qtbot, tab)
    events: list[dict] = []
    original = tab._bulk_progress
    tab._bulk_progress = lambda event: (events.append(event), original(event))
    seen_bars: list[tuple[int, int]] = []

    def confirm(q):
        return "Upload all"

    answers.then(confirm)
    tab.upload_all_button.click()

    qtbot.waitUntil(lambda: tab._bulk is not None, timeout=10_000)
    overall = tab.progress.get("overall")
    assert overall is not None and overall.isVisibleTo(tab)
    overall.bar.valueChanged.connect(lambda v: seen_bars.append((v, overall.bar.maximum())))
    qtbot.waitUntil(lambda: tab._bulk is None, timeout=20_000)

    question = answers.asked[0]
    assert (question.kind, question.title, question.buttons) == ("question", "Upload All Pending",
                                                                 ["Upload all", "Cancel"])
    assert question.text.startswith("Upload 6 pending uploads (2 videos) now?")
    for name in ("Instagram", "TikTok", "YouTube"):
        assert f"• 2 to {name}" in question.text
    kinds = [e["kind"] for e in events]
    assert kinds.count("start") == 6 and kinds.count("done") == 6
    assert [e for e in events if e["kind"] == "overall"][-1] == {"kind": "overall", "done": 6, "total": 6}
    assert seen_bars and seen_bars[-1] == (6, 6)
    assert not tab.progress.rows and not tab.progress.isVisible()
    refresh(qtbot, tab)
    for vid in (a, b):
        for platform in ("Instagram", "TikTok", "YouTube"):
            assert cell(tab, vid, platform) == "✔ Published"
    assert "6 published, 0 failed" in tab.notifier.history[-1].text


def test_upload_all_pending_with_nothing_pending_says_so(qtbot, tab, answers):
    tab.upload_all_pending()
    qtbot.waitUntil(lambda: bool(tab.notifier.history))
    assert "Nothing is pending" in tab.notifier.history[-1].text
    assert not answers.asked


def test_cancel_leaves_nothing_in_progress(qtbot, tab, db, registry, make_clip, scripts, answers):
    vid = registry.register_video(str(make_clip("slow.mp4")), title="Slow")
    refresh(qtbot, tab)
    scripts["YouTube"].then(wait_for_cancel)
    answers.then("Upload")

    click_platform(qtbot, tab, vid, "YouTube")

    qtbot.waitUntil(lambda: status(db, vid, "YouTube") == "IN_PROGRESS", timeout=10_000)
    qtbot.waitUntil(lambda: cell(tab, vid, "YouTube").startswith("⏳"), timeout=10_000)
    row = tab.progress.get(("upload", vid, "YouTube"))
    assert row is not None and row.cancel_button.isVisible()
    assert tab.cancel_button.isEnabled()
    qtbot.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: tab.uploads_running() == 0, timeout=10_000)
    assert db.query_one("SELECT COUNT(*) FROM video_uploads WHERE upload_status = 'IN_PROGRESS'")[0] == 0
    assert status(db, vid, "YouTube") == "PENDING"
    refresh(qtbot, tab)
    assert cell(tab, vid, "YouTube") == "🕒 Pending"
    assert "cancelled" in tab.notifier.history[-1].text


def test_cancelling_upload_all_pending_leaves_nothing_in_progress(qtbot, tab, db, two_videos, scripts, answers):
    for platform in ("Instagram", "TikTok", "YouTube"):
        scripts[platform].then(wait_for_cancel, wait_for_cancel)
    refresh(qtbot, tab)
    answers.then("Upload all")
    tab.upload_all_pending()
    qtbot.waitUntil(lambda: db.query_one(
        "SELECT COUNT(*) FROM video_uploads WHERE upload_status = 'IN_PROGRESS'")[0] == 3, timeout=10_000)

    tab.cancel_button.click()

    qtbot.waitUntil(lambda: tab._bulk is None, timeout=20_000)
    assert db.query_one("SELECT COUNT(*) FROM video_uploads WHERE upload_status = 'IN_PROGRESS'")[0] == 0
    assert db.query_one("SELECT COUNT(*) FROM video_uploads WHERE upload_status = 'SUCCESS'")[0] == 0
    assert "(cancelled)" in tab.notifier.history[-1].text


def test_a_failure_is_a_notification_with_the_reason(qtbot, tab, registry, make_clip, scripts, answers):
    vid = registry.register_video(str(make_clip("f.mp4")), title="Flaky")
    refresh(qtbot, tab)
    scripts["TikTok"].then(UploadResult.failed("the page timed out", "transient"))
    answers.then("Upload")
    tab.request_upload(vid, "TikTok")
    qtbot.waitUntil(lambda: any(n.kind == "error" for n in tab.notifier.history), timeout=10_000)
    assert "the page timed out" in tab.notifier.history[-1].text
    qtbot.waitUntil(lambda: cell(tab, vid, "TikTok") == "✖ Failed", timeout=10_000)
    row = tab.model.row_of(vid)
    tip = tab.model.data(tab.model.index(row, PLATFORM_COLUMNS["TikTok"]), Qt.ItemDataRole.ToolTipRole)
    assert "the page timed out" in tip and "Retries: 1" in tip and "Next attempt:" in tip


def test_several_channels_on_a_platform_pick_one_or_all(qtbot, db, registry, make_clip, scripts, answers,
                                                        open_window):
    add_channel(db, "yt-second", "Second YT", "YouTube")
    vid = registry.register_video(str(make_clip("m.mp4")), title="Multi")
    tab = open_window().videos_tab
    assert cell(tab, vid, "YouTube") == "⚪ 0/2"

    answers.then("Second YT", "Upload")
    click_platform(qtbot, tab, vid, "YouTube")
    qtbot.waitUntil(lambda: cell(tab, vid, "YouTube") == "✔ 1/2", timeout=10_000)
    menu = answers.asked[0]
    assert menu.kind == "menu" and menu.buttons == ["YouTube", "Second YT", "All 2 YouTube channels"]
    assert scripts["YouTube"].calls[0]["channel"] == "yt-second"

    answers.then("All 2 YouTube channels", "Upload", "Cancel")  # the default channel's duplicate: Cancel
    tab.request_upload(vid, "YouTube")
    qtbot.waitUntil(lambda: cell(tab, vid, "YouTube") == "✔ 2/2", timeout=10_000)
    assert "2 channels: YouTube, Second YT" in answers.asked[3].text
    qtbot.waitUntil(lambda: len(answers.asked) == 5, timeout=10_000)  # Second YT: already published
    row = tab.model.row_of(vid)
    tip = tab.model.data(tab.model.index(row, PLATFORM_COLUMNS["YouTube"]), Qt.ItemDataRole.ToolTipRole)
    assert "Second YT" in tip and "https://example.test/youtube-1" in tip


# -- live refresh ------------------------------------------------------------------------------


def test_an_upload_by_another_process_shows_within_one_refresh(qtbot, tab, db, two_videos, tmp_path):
    a, b = two_videos
    refresh(qtbot, tab)
    ledger = tmp_path / "ledger.txt"
    done = subprocess.run([sys.executable, "-m", "tests.publish_worker", "bulk", str(db.path), str(ledger)],
                          cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["6", "0", "0"]

    result = refresh(qtbot, tab)

    assert not result.reset and sorted(result.ids) == sorted([a, b])
    for vid in (a, b):
        for platform in ("Instagram", "TikTok", "YouTube"):
            assert cell(tab, vid, platform) == "✔ Published"


def test_refresh_updates_only_changed_rows(qtbot, tab, db, registry, make_clip):
    ids = [registry.register_video(str(make_clip(f"r{i}.mp4")), title=f"R{i}") for i in range(4)]
    refresh(qtbot, tab)
    other = Database.open(db.path)  # another connection, as another process would have
    try:
        VideoRegistry(other).set_duplicate_allowed(ids[2], True, actor="cli")
    finally:
        other.close()
    changed, resets = [], []
    tab.model.dataChanged.connect(row_changes(changed))
    tab.model.modelReset.connect(lambda: resets.append(1))

    result = refresh(qtbot, tab)

    row = tab.model.row_of(ids[2])
    assert result.ids == [ids[2]] and result.changed_rows == 1
    assert changed == [(row, row)] and not resets
    assert tab.model.data(tab.model.index(row, COL_DUP), Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert refresh(qtbot, tab).ids == []  # nothing new: nothing applied


def test_new_videos_appear_at_the_top_on_refresh(qtbot, tab, registry, make_clip):
    old = registry.register_video(str(make_clip("old.mp4")), title="Old")
    refresh(qtbot, tab)
    new = registry.register_video(str(make_clip("new.mp4")), title="New")
    inserted = []
    tab.model.rowsInserted.connect(lambda parent, first, last: inserted.append((first, last)))
    result = refresh(qtbot, tab)
    assert result.inserted == 1 and inserted == [(0, 0)]
    assert [tab.model.video_id_at(r) for r in range(2)] == [new, old]


def test_refresh_button_and_auto_refresh_timer(qtbot, tab):
    with qtbot.waitSignal(tab.refreshed, timeout=10_000):
        qtbot.mouseClick(tab.refresh_button, Qt.MouseButton.LeftButton)
    tab.timer.setInterval(20)
    tab.timer.start()
    with qtbot.waitSignal(tab.refreshed, timeout=10_000):
        pass
    tab.timer.stop()
    assert vt.REFRESH_INTERVAL_MS == 5000


# -- the model ---------------------------------------------------------------------------------


def test_model_passes_qtmodeltester(qtmodeltester, db, registry, make_clip, scripts):
    add_channel(db, "tt-2", "TikTok two", "TikTok")
    ids = [registry.register_video(str(make_clip(f"q{i}.mp4")), title=f"Q{i}") for i in range(5)]
    pub = Publisher(db)
    pub.publish(ids[0], "TikTok")
    pub.publish(ids[0], "tt-2")
    scripts["YouTube"].then(UploadResult.failed("nope", "permanent"))
    pub.publish(ids[1], "YouTube")
    model = VideosModel()
    model.load(vm.fetch_snapshot(db))
    assert model.rowCount() == 5

    qtmodeltester.check(model)
    model.sort(PLATFORM_COLUMNS["TikTok"], Qt.SortOrder.DescendingOrder)
    assert model.video_id_at(0) == ids[0]
    qtmodeltester.check(model)
    model.set_filter(text="q1")
    assert model.rowCount() == 1
    qtmodeltester.check(model)


def test_title_with_markup_shows_as_text(qtbot, tab, registry, make_clip, answers):
    title = "<b>bold</b> & <i>it</i>"
    vid = registry.register_video(str(make_clip("markup.mp4")), title=title)
    refresh(qtbot, tab)
    row = tab.model.row_of(vid)
    index = tab.model.index(row, COL_TITLE)

    assert tab.model.data(index) == title
    assert type(tab.table.itemDelegateForIndex(index)) is QStyledItemDelegate  # draws plain text
    tip = tab.model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;it&lt;/i&gt;" in tip and "<b>bold" not in tip

    answers.then("Cancel")
    tab.request_upload(vid, "TikTok")
    assert title in answers.asked[0].text  # handed over as-is; ask() shows it as plain text
    tab.notifier.notify(f"Published “{title}”", "success")
    toast_label = tab.notifier._toasts[-1].label
    assert toast_label.textFormat() == Qt.TextFormat.PlainText and title in toast_label.text()


def test_ask_shows_plain_text_and_returns_the_button(qtbot):
    """The real ask(): the message box is closed by a timer, so nothing waits on the operator."""
    seen = {}

    def answer():
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen["format"] = box.textFormat()
        seen["text"] = box.text()
        next(b for b in box.buttons() if b.text() == "Allow duplicates and retry").click()

    QTimer.singleShot(0, answer)
    got = dialogs.ask("warning", "Duplicate", "<b>x</b> is published", ["Allow duplicates and retry", "Cancel"])
    assert got == "Allow duplicates and retry"
    assert seen == {"format": Qt.TextFormat.PlainText, "text": "<b>x</b> is published"}


def test_empty_registry_shows_how_to_add_the_first_video(qtbot, tab, registry, make_clip):
    assert tab.stack.currentWidget() is tab.empty_page
    text = tab.empty_text.text()
    assert "Add your first video" in text and "Add videos" in text and "pipeline.py" in text
    assert "drop" in text
    registry.register_video(str(make_clip("first.mp4")))
    refresh(qtbot, tab)
    assert tab.stack.currentWidget() is tab.table


def test_allow_duplicates_checkbox_writes_off_the_gui_thread(qtbot, tab, db, registry, make_clip, monkeypatch):
    vid = registry.register_video(str(make_clip("d.mp4")))
    refresh(qtbot, tab)
    threads = []
    real = vt.set_duplicate_allowed
    monkeypatch.setattr(vt, "set_duplicate_allowed",
                        lambda *a: (threads.append(threading.current_thread()), real(*a))[1])
    row = tab.model.row_of(vid)
    rect = tab.table.visualRect(tab.model.index(row, COL_DUP))

    qtbot.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    assert tab.model.data(tab.model.index(row, COL_DUP), Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    qtbot.waitUntil(lambda: registry.get_video(vid)["duplicate_allowed"] is True, timeout=10_000)
    assert threads and threads[0] is not threading.main_thread()
    event = db.audit.events("video.duplicate_allowed", subject_id=vid)[-1]
    assert event["actor"] == "operator"


# -- adding, searching, sorting, exporting ----------------------------------------------------------


def test_add_videos_button_ingests_in_the_background(qtbot, tab, make_clip, answers):
    files = [str(make_clip("one.mp4")), str(make_clip("two.mp4"))]
    answers.then(files)
    progress = []
    original = tab._ingest_progress
    tab._ingest_progress = lambda value: (progress.append(value), original(value))

    tab.add_button.click()

    qtbot.waitUntil(lambda: tab.model.total_count() == 2, timeout=20_000)
    assert answers.asked[0].kind == "open_files"
    assert [p[0] for p in progress if p[0] == "file"] == ["file", "file"]
    qtbot.waitUntil(lambda: any("2 registered" in n.text for n in tab.notifier.history))


def test_dropping_a_folder_on_the_window_adds_its_videos(qtbot, window, make_clip, tmp_path):
    make_clip("dropped_a.mp4")
    make_clip("dropped_b.mp4")
    (tmp_path / "clips" / "notes.txt").write_text("not a video")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "clips"))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    tab = window.videos_tab
    qtbot.waitUntil(lambda: tab.model.total_count() == 2, timeout=20_000)
    assert sorted(tab.model.title_of(tab.model.video_id_at(r)) for r in range(2)) == ["dropped_a", "dropped_b"]


def test_search_and_filters(qtbot, tab, db, registry, make_clip, scripts):
    cat = registry.register_video(str(make_clip("c.mp4")), title="Cat video")
    dog = registry.register_video(str(make_clip("d.mp4")), title="Dog video")
    cat2 = registry.register_video(str(make_clip("c2.mp4")), title="Another CAT")
    Publisher(db).publish(cat, "TikTok")
    scripts["Instagram"].then(UploadResult.failed("no", "permanent"))
    Publisher(db).publish(dog, "Instagram")
    refresh(qtbot, tab)

    def shown():
        return sorted(tab.model.video_id_at(r) for r in range(tab.model.rowCount()))

    tab.set_search("cat")
    assert shown() == sorted([cat, cat2])
    assert tab.footer.text() == "2 of 3 videos match the search and filters"
    tab.search.setText("dog")  # typing: applied after a short pause
    qtbot.waitUntil(lambda: shown() == [dog])
    tab.set_search("")

    def choose(combo, label):
        combo.setCurrentIndex(next(i for i in range(combo.count()) if combo.itemText(i) == label))

    choose(tab.status_filter, "✔ Published")
    assert shown() == [cat]
    choose(tab.status_filter, "✖ Failed")
    assert shown() == [dog]
    choose(tab.platform_filter, "🎵 TikTok")
    assert shown() == []
    choose(tab.status_filter, "⚪ Not uploaded")
    assert shown() == sorted([dog, cat2])
    choose(tab.status_filter, "Any status")
    assert shown() == [cat]  # a platform alone: videos with something on it
    choose(tab.platform_filter, "All platforms")
    assert shown() == sorted([cat, dog, cat2]) and not tab.footer.isVisibleTo(tab)

    # a filtered-out row comes back when a refresh makes it match
    choose(tab.status_filter, "✔ Published")
    Publisher(db).publish(cat2, "YouTube")
    refresh(qtbot, tab)
    assert shown() == sorted([cat, cat2])


def test_sort_by_any_column(qtbot, tab, registry, make_clip):
    registry.register_video(str(make_clip("b.mp4", seconds=2.0)), title="bravo")
    registry.register_video(str(make_clip("a.mp4", seconds=3.0)), title="Alpha")
    registry.register_video(str(make_clip("c.mp4", seconds=1.0)), title="charlie")
    refresh(qtbot, tab)

    def titles():
        return [tab.model.title_of(tab.model.video_id_at(r)) for r in range(tab.model.rowCount())]

    assert titles() == ["charlie", "Alpha", "bravo"]  # newest first
    tab.table.sortByColumn(COL_TITLE, Qt.SortOrder.AscendingOrder)
    assert titles() == ["Alpha", "bravo", "charlie"]
    tab.table.sortByColumn(vm.COL_DURATION, Qt.SortOrder.DescendingOrder)
    assert titles() == ["Alpha", "bravo", "charlie"]
    tab.table.sortByColumn(vm.COL_DURATION, Qt.SortOrder.AscendingOrder)
    assert titles() == ["charlie", "bravo", "Alpha"]
    for col in range(tab.model.columnCount()):
        tab.table.sortByColumn(col, Qt.SortOrder.AscendingOrder)
        assert sorted(titles()) == ["Alpha", "bravo", "charlie"]


def test_export_csv_and_json(qtbot, tab, db, registry, make_clip, scripts, tmp_path, answers):
    a = registry.register_video(str(make_clip("e1.mp4")), title="=HYPERLINK(\"x\")")
    b = registry.register_video(str(make_clip("e2.mp4")), title="Plain, with comma")
    Publisher(db).publish(a, "TikTok")
    refresh(qtbot, tab)

    out_csv = tmp_path / "out.csv"
    with qtbot.waitSignal(tab.notifier.posted, timeout=10_000):
        tab.export(str(out_csv))
    with out_csv.open(newline="", encoding="utf-8") as fh:
        rows = {r["video_id"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {a, b}
    assert rows[a]["title"] == "'=HYPERLINK(\"x\")"  # not a formula in a spreadsheet
    assert rows[b]["title"] == "Plain, with comma"
    assert (rows[a]["TikTok"], rows[a]["YouTube"], rows[a]["allow_duplicates"]) == ("SUCCESS", "", "no")
    assert rows[a]["file_path"] == registry.get_video(a)["file_path"]
    assert float(rows[b]["duration_seconds"]) == pytest.approx(registry.get_video(b)["duration"])

    tab.set_search("plain")  # the export is what is shown
    answers.then(str(tmp_path / "out"))  # the save dialog; the suffix is added
    with qtbot.waitSignal(tab.notifier.posted, timeout=10_000):
        tab.export(fmt="json")
    assert answers.asked[0].kind == "save_file"
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert [v["video_id"] for v in data["videos"]] == [b]
    tab.set_search("")
    with qtbot.waitSignal(tab.notifier.posted, timeout=10_000):
        tab.export(str(tmp_path / "all.json"))
    videos = {v["video_id"]: v for v in json.loads((tmp_path / "all.json").read_text())["videos"]}
    up = videos[a]["uploads"][0]
    assert (up["channel"], up["status"], up["post_url"]) == ("TikTok", "SUCCESS", "https://example.test/tiktok-1")
    assert videos[a]["title"] == "=HYPERLINK(\"x\")"  # JSON keeps the value as it is


# -- context menu ------------------------------------------------------------------------------------


def test_context_menu_folder_links_and_history(qtbot, tab, db, registry, make_clip, scripts, monkeypatch):
    vid = registry.register_video(str(make_clip("ctx.mp4")), title="Ctx")
    Publisher(db).publish(vid, "YouTube")
    refresh(qtbot, tab)
    opened = []
    monkeypatch.setattr(vt.QDesktopServices, "openUrl", lambda url: (opened.append(url.toString()), True)[1])

    menu = tab.build_context_menu(vid)
    actions = {a.text(): a for a in menu.actions()}
    assert "📜 Show history…" in actions
    actions["🔗 Copy post link — YouTube"].trigger()
    assert QGuiApplication.clipboard().text() == "https://example.test/youtube-1"
    actions["🌐 Open post link — YouTube"].trigger()
    actions["📂 Open containing folder"].trigger()
    assert opened == ["https://example.test/youtube-1",
                      QUrl.fromLocalFile(str(Path(registry.get_video(vid)["file_path"]).parent)).toString()]
    menu.deleteLater()

    tab.select_video(vid)
    assert tab.selected_video_id() == vid
    tab.show_history(vid)
    qtbot.waitUntil(lambda: getattr(tab, "history_dialog", None) is not None and tab.history_dialog.isVisible())
    tree = tab.history_dialog.tree
    rows = [[tree.topLevelItem(i).text(c) for c in range(6)] for i in range(tree.topLevelItemCount())]
    assert [(r[1], r[4]) for r in rows if r[1].startswith("video.")] == [("video.registered", "system")]
    assert [(r[2], r[3]) for r in rows if r[1] == "upload"] == [("YouTube", "IN_PROGRESS"), ("YouTube", "SUCCESS")]
    assert any("post youtube-1" in r[5] for r in rows)
    tab.history_dialog.close()


# -- 100,000 videos ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_100k_videos_load_off_the_gui_thread_and_refresh_one_row(qtbot, db, registry, answers, monkeypatch,
                                                                  open_window):
    n = 100_000
    registry.register_videos({"file_path": f"/videos/clip_{i:06d}.mp4", "title": f"Clip {i}",
                              "duration": float(i % 60), "checksum": f"{i:064x}"} for i in range(n))
    loads = []
    real = vt.fetch_snapshot
    monkeypatch.setattr(vt, "fetch_snapshot", lambda db_: (loads.append(threading.current_thread()), real(db_))[1])
    ticks = []
    ticker = QTimer()
    ticker.timeout.connect(lambda: ticks.append(1))
    ticker.start(0)
    resets = []
    try:
        from ui.main_window import MainWindow

        window = MainWindow(DataPaths.for_registry(db.path), db=db, refresh_interval_ms=0)
        qtbot.addWidget(window)
        tab = window.videos_tab
        tab.model.modelReset.connect(lambda: resets.append(tab.model.rowCount()))
        assert not tab.model.loaded  # the constructor returned before any row was read
        window.show()
        with qtbot.waitSignal(tab.loaded, timeout=60_000):
            pass
        # the GUI thread kept running its event loop while the rows were read elsewhere
        assert loads and loads[0] is not threading.main_thread()
        assert len(ticks) > 1
        assert resets == [n] and tab.model.rowCount() == n
        tab.table.scrollToBottom()
        last = tab.model.video_id_at(n - 1)
        assert last is not None and tab.model.data(tab.model.index(n - 1, COL_TITLE)).startswith("Clip ")

        VideoRegistry(db).set_duplicate_allowed(last, True)
        changed = []
        tab.model.dataChanged.connect(row_changes(changed))
        result = refresh(qtbot, tab)
        assert result.ids == [last] and changed == [(n - 1, n - 1)] and resets == [n]
    finally:
        ticker.stop()
        window.shutdown()


def test_clicking_youtube_publishes_to_the_sandbox(qtbot, db, registry, make_clip, answers, open_window,
                                                   sandbox, builtin_uploaders):
    """The same click, through the real YouTube uploader and real Chromium, against the sandbox."""
    from orchestration.demo import point_channels_at, sign_in_profiles

    vid = registry.register_video(str(make_clip("real.mp4")), title="Real upload")
    db.execute("UPDATE channels SET account = 'tab-test' WHERE id = 'YouTube'")
    channels = [c for c in point_channels_at(db.paths, sandbox) if c["id"] == "YouTube"]
    sign_in_profiles(db.paths, sandbox, channels)
    window = open_window()
    tab = window.videos_tab
    answers.then("Upload")

    click_platform(qtbot, tab, vid, "YouTube")

    qtbot.waitUntil(lambda: cell(tab, vid, "YouTube").startswith(("✔", "✖", "🔑", "❓")), timeout=90_000)
    assert cell(tab, vid, "YouTube") == "✔ Published"
    posts = sandbox.posts("youtube", "tab-test")
    assert [p["id"] for p in posts] == [registry.get_upload_status(vid, "YouTube")["platform_post_id"]]
    assert posts[0]["title"] == "Real upload"
    qtbot.waitUntil(lambda: tab.uploads_running() == 0, timeout=30_000)
