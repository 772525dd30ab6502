"""The main window: tabs that slot in, the status bar, remembered state, shortcuts, palette,
screenshots, and the background-work helper every tab uses."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel

from database.paths import DataPaths
from ui import dialogs, theme
from ui.main_window import SETTINGS_FILE, WINDOW_TITLE, MainWindow, save_screenshot
from ui.models.videos_model import COL_TITLE, PLATFORM_COLUMNS
from ui.worker import TaskCancelled, Worker

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

ALL_TABS = ["🎬 Videos", "📺 Channels", "📅 Schedules", "🔀 Distribution", "📊 Dashboard"]


@pytest.fixture
def asked(monkeypatch):
    """ui.dialogs.ask replaced: records questions, answers from ``asked.answers`` (else None)."""
    record = SimpleNamespace(questions=[], answers=[])

    def fake(kind, title, text="", buttons=(), **options):
        record.questions.append(SimpleNamespace(kind=kind, title=title, text=text, buttons=list(buttons)))
        return record.answers.pop(0) if record.answers else None

    monkeypatch.setattr(dialogs, "ask", fake)
    return record


@pytest.fixture
def make_window(qtbot, asked):
    """make_window(paths, **kw): a shown MainWindow that is shut down (threads joined) afterwards."""
    made = []

    def make(paths: DataPaths, **kw) -> MainWindow:
        kw.setdefault("refresh_interval_ms", 0)
        window = MainWindow(paths, **kw)
        qtbot.addWidget(window)
        made.append(window)
        window.show()
        qtbot.waitUntil(window.is_settled, timeout=20_000)
        return window

    yield make
    for window in made:
        window.shutdown()
        window.close()


class LaterTab(QLabel):
    """What a later tab (Channels, Schedules, ...) looks like to the window."""

    NAME = "later"
    activityChanged = Signal()
    countsChanged = Signal()

    def __init__(self):
        super().__init__("later")
        self.db = None
        self.saved = self.shut = False

    def attach(self, db):
        self.db = db

    def activity_text(self):
        return "syncing channels" if self.db else ""

    def counts_text(self):
        return ""

    def save_state(self, settings):
        self.saved = True

    def restore_state(self, settings):
        pass

    def shutdown(self):
        self.shut = True


def test_window_opens_the_registry_in_the_background_and_shows_the_videos_tab(make_window, data_dir, qtbot):
    window = make_window(DataPaths(data_dir))

    assert window.windowTitle() == WINDOW_TITLE
    assert (window.width(), window.height()) == (1280, 800)
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ALL_TABS
    assert window.tabs.widget(0) is window.videos_tab
    assert window.db is not None and window.db.path == data_dir / "database" / "videos.db"
    assert str(data_dir / "database" / "videos.db") in window.status_text()
    assert window.counts_label.text().startswith("0 videos")
    assert window.videos_tab.stack.currentWidget() is window.videos_tab.empty_page


def test_later_tabs_slot_in_and_get_the_registry(make_window, data_dir, qtbot):
    window = make_window(DataPaths(data_dir))
    later = LaterTab()

    index = window.add_tab(later, "🧪 Later")

    assert index == len(ALL_TABS) and window.tabs.tabText(index) == "🧪 Later"
    assert later.db is window.db
    later.activityChanged.emit()
    assert window.activity_label.text() == "Running: syncing channels"
    window.shutdown()
    assert later.saved and later.shut


def test_status_bar_counts_and_what_is_running(qtbot, make_window, db, registry, make_clip, scripts, asked):
    from tests.scripted_uploader import wait_for_cancel

    vid = registry.register_video(str(make_clip("s.mp4")))
    scripts["TikTok"].then(wait_for_cancel)
    window = make_window(DataPaths.for_registry(db.path), db=db)
    tab = window.videos_tab
    qtbot.waitUntil(lambda: window.counts_label.text().startswith("1 video"))
    assert not window.activity_label.isVisibleTo(window)

    asked.answers.append("Upload")
    tab.request_upload(vid, "TikTok")
    qtbot.waitUntil(lambda: "⏳ 1 uploading" in window.counts_label.text(), timeout=10_000)
    assert window.activity_label.text() == "Running: ⬆ 1 upload"
    tab.cancel_uploads()
    qtbot.waitUntil(lambda: tab.uploads_running() == 0, timeout=10_000)
    assert not window.activity_label.isVisibleTo(window)


def test_remembers_geometry_column_widths_and_last_tab(qtbot, make_window, data_dir):
    paths = DataPaths(data_dir)
    first = make_window(paths)
    first.resize(1100, 640)
    size = (first.width(), first.height())
    assert size != (1280, 800)
    first.videos_tab.table.setColumnWidth(COL_TITLE, 333)
    later = first.add_tab(LaterTab(), "🧪 Later")
    first.tabs.setCurrentIndex(later)
    first.close()  # closing saves
    assert (data_dir / SETTINGS_FILE).is_file()  # under the data dir, not in the user's home

    second = make_window(paths)
    # The offscreen screen is 800x600: Qt fits the restored width to it (then to the minimum width).
    assert second.height() == size[1] and second.width() < 1280
    assert second.videos_tab.table.columnWidth(COL_TITLE) == 333
    assert second.tabs.currentIndex() == 0  # the remembered tab is not there yet ...
    second.add_tab(LaterTab(), "🧪 Later")
    assert second.tabs.currentIndex() == later  # ... and is chosen when it slots in


def test_keyboard_shortcuts(qtbot, make_window, data_dir, asked):
    window = make_window(DataPaths(data_dir))
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    tab = window.videos_tab

    with qtbot.waitSignal(tab.refreshed, timeout=10_000):
        qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert tab.search.hasFocus()
    asked.answers.append(None)
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert asked.questions[-1].kind == "open_files"
    qtbot.keyClick(window, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: bool(window.notifier.history), timeout=10_000)
    assert "Nothing is pending" in window.notifier.history[-1].text
    shortcuts = {a.text(): a.shortcut().toString() for a in window.actions()}
    assert shortcuts["⬆ Upload All Pending…"] == "Ctrl+Shift+U"
    assert shortcuts["⏹ Cancel running uploads"] == "Ctrl+Shift+X"
    assert shortcuts["Export table…"] == "Ctrl+E"


def test_f5_refreshes_the_tab_in_front(qtbot, make_window, data_dir):
    window = make_window(DataPaths(data_dir))
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    videos_clicks = []
    window.videos_tab.refresh_button.clicked.connect(lambda *_: videos_clicks.append(1))
    for index in range(1, window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        tab = window.tabs.currentWidget()
        qtbot.waitUntil(lambda: tab.refresh_button.isEnabled(), timeout=10_000)
        with qtbot.waitSignal(tab.refresh_button.clicked, timeout=2_000):
            qtbot.keyClick(window, Qt.Key.Key_F5)
    assert videos_clicks == []  # the Videos tab was not the one in front


def test_a_long_data_directory_is_shortened_in_the_middle_in_the_status_bar(qtbot, make_window, tmp_path):
    deep = tmp_path.joinpath(*[f"a-rather-long-folder-name-{i}" for i in range(8)])
    window = make_window(DataPaths(deep))
    # the path does not ask for more room than the window has (it asked for 3,321 px)
    assert window.statusBar().minimumSizeHint().width() < window.width()
    label = window.location_label
    qtbot.waitUntil(lambda: "…" in label.text())
    assert label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()
    assert str(deep / "database" / "videos.db") in window.status_text()  # whole where it is asked for
    assert str(deep) in label.toolTip()


def test_follows_a_dark_palette(qtbot, db, registry, make_clip, scripts, make_window):
    from orchestration.publishing import Publisher

    vid = registry.register_video(str(make_clip("p.mp4")))
    Publisher(db).publish(vid, "TikTok")
    window = make_window(DataPaths.for_registry(db.path), db=db)
    model = window.videos_tab.model
    index = model.index(model.row_of(vid), PLATFORM_COLUMNS["TikTok"])
    app = QApplication.instance()
    before = app.palette()
    light = model.data(index, Qt.ItemDataRole.ForegroundRole).color()
    try:
        dark = QPalette(before)
        dark.setColor(QPalette.ColorRole.Window, QColor("#202020"))
        dark.setColor(QPalette.ColorRole.Base, QColor("#181818"))
        dark.setColor(QPalette.ColorRole.Text, QColor("#eeeeee"))
        app.setPalette(dark)
        assert theme.is_dark()
        on_dark = model.data(index, Qt.ItemDataRole.ForegroundRole).color()
    finally:
        app.setPalette(before)
    assert light != on_dark
    assert on_dark.lightness() > light.lightness()  # a lighter green on a dark background


def test_quitting_while_uploading_asks_first(qtbot, make_window, db, registry, make_clip, scripts, asked):
    from tests.scripted_uploader import wait_for_cancel

    vid = registry.register_video(str(make_clip("q.mp4")))
    scripts["YouTube"].then(wait_for_cancel)
    window = make_window(DataPaths.for_registry(db.path), db=db)
    asked.answers.append("Upload")
    window.videos_tab.request_upload(vid, "YouTube")
    qtbot.waitUntil(lambda: db.query_one("SELECT upload_status FROM video_uploads") is not None and
                    db.query_one("SELECT upload_status FROM video_uploads")[0] == "IN_PROGRESS", timeout=10_000)

    asked.answers.append("Keep running")
    window.close()
    assert window.isVisible() and asked.questions[-1].title == "Uploads are running"
    asked.answers.append("Quit")
    window.close()  # cancels, joins the upload thread, then closes
    assert not window.isVisible()
    assert db.query_one("SELECT upload_status FROM video_uploads")[0] == "PENDING"


def test_save_screenshot_renders_every_tab(qtbot, data_dir, tmp_path, registry, make_clip):
    out = save_screenshot(DataPaths(data_dir), tmp_path / "shots")
    assert out == [tmp_path / "shots" / f"{name}.png"
                   for name in ("videos", "channels", "schedules", "distribution", "dashboard")]
    assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in out)
    assert out[0].read_bytes()[:8] == PNG_SIGNATURE
    assert not (data_dir / SETTINGS_FILE).exists()  # a screenshot leaves the window state alone


# -- the worker -------------------------------------------------------------------------------------


@pytest.fixture
def worker(qapp):
    w = Worker()
    yield w
    w.shutdown()


def test_worker_runs_off_the_gui_thread_and_answers_on_it(qtbot, worker):
    seen = {}

    def work(x):
        seen["work"] = threading.current_thread()
        return x * 2

    worker.run(work, 21, on_result=lambda r: seen.update(result=r, gui=threading.current_thread()))
    qtbot.waitUntil(worker.is_idle)
    assert seen["result"] == 42
    assert seen["work"] is not threading.main_thread() and seen["gui"] is threading.main_thread()


def test_worker_progress_errors_and_cancel(qtbot, worker):
    progress, errors, done = [], [], []
    started = threading.Event()

    def slow(task):
        task.report(0.5)
        started.set()
        task.cancel_event.wait(10)
        task.check()
        return "not reached"

    task = worker.run(slow, with_task=True, long=True, on_progress=progress.append, on_done=done.append,
                      on_result=lambda r: errors.append("result!"))
    assert started.wait(10)
    assert worker.tasks() == [task]
    task.cancel()
    qtbot.waitUntil(worker.is_idle)
    assert progress == [0.5] and task.state == "cancelled" and done == [task] and not errors

    def boom():
        raise ValueError("bad input")

    worker.run(boom, on_error=errors.append)
    with qtbot.waitSignal(worker.taskFailed) as failed:
        worker.run(boom, name="Unhandled")
    qtbot.waitUntil(worker.is_idle)
    assert isinstance(errors[0], ValueError) and str(failed.args[1]) == "bad input"
    assert isinstance(TaskCancelled(), Exception)


def test_refresher_runs_one_read_at_a_time_and_one_more_after_it(qtbot, worker):
    from ui.worker import Refresher

    gate, reads, results = threading.Event(), [], []
    state = {"alive": True, "skip": False}

    def read(full):
        if state["skip"]:
            return None
        n = len(reads)
        reads.append(full)
        return (lambda: gate.wait(10) and n,)

    r = Refresher(worker, read, name="Reading", on_result=results.append, on_error=None,
                  alive=lambda: state["alive"])
    first = r.request()
    assert r.running and r.request(full=True) is first and r.request() is first  # asked twice meanwhile
    assert r.pending and reads == [False]
    gate.set()
    qtbot.waitUntil(lambda: worker.is_idle() and not r.running)
    assert reads == [False, True] and results == [0, 1]  # one more read, full since one asker wanted it
    assert not r.pending
    r.request()
    qtbot.waitUntil(lambda: worker.is_idle() and not r.running)
    assert reads == [False, True, False]  # "full" did not stick past the read it was for
    state["skip"] = True
    assert r.request() is None and not r.running  # nothing to read now
    state["skip"], state["alive"] = False, False
    assert r.request() is None and reads == [False, True, False]  # the view is gone


def test_worker_shutdown_joins_running_work(qtbot, qapp):
    w = Worker()
    ran = threading.Event()
    finished = threading.Event()

    def job(task):
        ran.set()
        task.cancel_event.wait(10)
        finished.set()

    w.run(job, with_task=True, long=True)
    assert ran.wait(10)
    w.shutdown()  # cancels and waits
    assert finished.is_set() and w.closed
    with pytest.raises(RuntimeError):
        w.run(lambda: None)


def test_the_binding_cannot_run_none_and_true_down(qapp):
    """PySide6 6.12.0 drops a reference to None on void calls and to True on emit(); on CPython
    3.11 that ends in "Fatal Python error: none_dealloc". ui.qt_fixes makes them immortal then."""
    import sys

    from ui import qt_fixes

    lost = qt_fixes.measure_leaks()
    if any(n > 0 for n in lost.values()) and sys.version_info < (3, 12):
        assert qt_fixes.apply()
        for obj in (None, True, False):
            assert sys.getrefcount(obj) > 1 << 40


def test_a_long_session_of_paints_and_signals_exits_cleanly(tmp_path):
    """Thousands of repaints, refreshes and emits, then a normal exit (no abort at shutdown)."""
    import subprocess
    import sys

    code = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from database.paths import DataPaths
from ui.main_window import MainWindow
w = MainWindow(DataPaths(Path(sys.argv[1])), remember=False, refresh_interval_ms=0)
w.show()
w.wait_until_settled(30)
for _ in range(3000):
    w.videos_tab.table.viewport().repaint()
    w.videos_tab.footer.setText("x")
    w.worker.busyChanged.emit()
w.shutdown()
print("clean")
"""
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "data")], cwd=Path(__file__).parent.parent,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "clean"
