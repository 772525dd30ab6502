"""The main window: a tab per area of work, menus with the main shortcuts, and a status bar
saying where the data lives, how many videos there are and what is running.

Later tabs (Channels, Schedules, Distribution, Dashboard) slot in with :meth:`MainWindow.add_tab`:
a tab may define ``attach(db)`` (called once the registry is open, off the GUI thread),
``shutdown()``, ``save_state(settings)`` / ``restore_state(settings)``, ``is_ready()`` (for
screenshots), ``activity_text()`` + ``activityChanged`` and ``counts_text()`` +
``countsChanged`` for the status bar, and ``NAME`` (the screenshot's file name).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QEventLoop,
    QSettings,
    QtMsgType,
    Qt,
    QTimer,
    qFormatLogMessage,
    qInstallMessageHandler,
)
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QTabWidget, QWidget

from ui import dialogs
from ui.notifications import Notifier
from ui.widgets.basics import ElidedLabel
from ui.tabs.videos_tab import REFRESH_INTERVAL_MS, VideosTab, local_paths
from ui.orchestration_bar import OrchestrationBar
from ui.tabs.channels_tab import ChannelsTab
from ui.tabs.dashboard_tab import DashboardTab, navigate_in
from ui.tabs.distribution_tab import DistributionTab
from ui.tabs.schedules_tab import SchedulesTab
from ui.worker import Worker

if TYPE_CHECKING:
    from database.paths import DataPaths

WINDOW_TITLE = "ASFS — Short-video control panel"
DEFAULT_SIZE = (1280, 800)
SETTINGS_FILE = "window-state.ini"


class MainWindow(QMainWindow):
    """The top-level window; each area of work (videos, channels, schedules, ...) is a tab.

    It never touches the database on the GUI thread: the registry is opened by the worker
    and each tab fetches its data there.

    Args:
        paths: the data directory layout.
        db: an open registry to use (tests); None opens ``paths.registry`` in the background
            (and closes it with the window).
        remember: restore and save geometry, column widths and the last tab (in the data
            directory's ``window-state.ini``, not the user's home).
        refresh_interval_ms: the tabs' auto-refresh; 0 turns it off (tests refresh by hand).
        services: the app's ``orchestration.services.BackgroundServices`` (the scheduler), which
            the orchestration bar drives; None shows "no scheduler".
    """

    def __init__(self, paths: DataPaths, parent: QWidget | None = None, *, db=None, remember: bool = True,
                 refresh_interval_ms: int = REFRESH_INTERVAL_MS, services=None):
        super().__init__(parent)
        self.paths = paths
        self.db = db
        self._own_db = db is None
        self._remember = remember
        self._closed = False
        self._saved_tab: str | None = None
        self.setWindowTitle(WINDOW_TITLE)
        self.resize(*DEFAULT_SIZE)
        self.setAcceptDrops(True)

        self.worker = Worker(self)
        self.worker.taskFailed.connect(lambda task, exc: self.notifier.notify(f"{task.name} failed: {exc}", "error"))

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)

        # Permanent widgets, so transient status messages never hide where the data is.
        self.activity_label = QLabel(self)
        self.activity_label.setObjectName("activity")
        self.activity_label.setTextFormat(Qt.TextFormat.PlainText)
        self.counts_label = QLabel(self)
        self.counts_label.setObjectName("counts")
        self.counts_label.setTextFormat(Qt.TextFormat.PlainText)
        # a long data directory is shortened in the middle, not allowed to set the window's width
        self.location_label = ElidedLabel(self._location_text(), self)
        self.location_label.setObjectName("dataLocation")
        self.location_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.location_label.setToolTip(f"Data directory: {paths.root}\nRegistry: {paths.registry}\n"
                                       "Where the registry, audit trail, logs and thumbnails live (--data-dir)")
        for label in (self.activity_label, self.counts_label):
            label.setContentsMargins(0, 0, 14, 0)
        self.statusBar().addPermanentWidget(self.activity_label)
        self.statusBar().addPermanentWidget(self.counts_label)
        self.statusBar().addPermanentWidget(self.location_label, 1)

        self.notifier = Notifier(self, self.statusBar(), floor=self._notice_floor)

        self.settings = QSettings(str(paths.root / SETTINGS_FILE), QSettings.Format.IniFormat) if remember else None
        if self.settings is not None:
            self._saved_tab = self.settings.value("window/lastTab")

        self.videos_tab = VideosTab(self.worker, self.notifier, self, refresh_interval_ms=refresh_interval_ms)
        self.add_tab(self.videos_tab, VideosTab.TITLE)

        self.orchestration_bar = OrchestrationBar(self.worker, services, self)
        bar = self.addToolBar("Orchestration")
        bar.setObjectName("orchestrationToolBar")
        bar.setMovable(False)
        bar.addWidget(self.orchestration_bar)
        self.channels_tab = ChannelsTab(self.worker, self.notifier, self, refresh_interval_ms=refresh_interval_ms)
        self.add_tab(self.channels_tab, ChannelsTab.TITLE)
        self.schedules_tab = SchedulesTab(self.worker, self.notifier, self, refresh_interval_ms=refresh_interval_ms)
        self.add_tab(self.schedules_tab, SchedulesTab.TITLE)
        self.distribution_tab = DistributionTab(self.worker, self.notifier, self,
                                                refresh_interval_ms=refresh_interval_ms)
        self.add_tab(self.distribution_tab, DistributionTab.TITLE)
        self.dashboard_tab = DashboardTab(self.worker, self.notifier, self, refresh_interval_ms=refresh_interval_ms)
        self.add_tab(self.dashboard_tab, DashboardTab.TITLE)
        self.dashboard_tab.navigate.connect(lambda target: navigate_in(self.tabs, target))
        self._build_actions()
        self.tabs.currentChanged.connect(self._tab_changed)

        if self.settings is not None:
            geometry = self.settings.value("window/geometry")
            if geometry is not None:
                self.restoreGeometry(geometry)

        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):  # Qt 6.5+: follow the system's light/dark switch
            hints.colorSchemeChanged.connect(self._palette_changed)

        if db is not None:
            self._attach(db)
        else:
            self.worker.run(_open_registry, str(paths.registry), name="Opening the registry", kind="open",
                            quiet=True, on_result=self._attach, on_error=self._open_failed)
        self._update_status()

    # -- tabs -------------------------------------------------------------------------------------

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Append a tab and return its index (see the module docstring for what a tab may offer)."""
        index = self.tabs.addTab(widget, title)
        for signal_name in ("activityChanged", "countsChanged"):
            sig = getattr(widget, signal_name, None)
            if sig is not None:
                sig.connect(self._update_status)
        if self.settings is not None and hasattr(widget, "restore_state"):
            widget.restore_state(self.settings)
        if self.db is not None and hasattr(widget, "attach") and not getattr(widget, "db", None):
            widget.attach(self.db)
        if self._saved_tab and tab_name(widget, title) == self._saved_tab:
            self.tabs.setCurrentIndex(index)
        return index

    def tab_widgets(self) -> list[tuple[str, QWidget]]:
        return [(self.tabs.tabText(i), self.tabs.widget(i)) for i in range(self.tabs.count())]

    def status_text(self) -> str:
        """What the status bar says about the data location (whole, however narrow the window)."""
        return self.location_label.full_text()

    def _location_text(self) -> str:
        return f"Data directory: {self.paths.root}    ·    Registry: {self.paths.registry}"

    def _attach(self, db) -> None:
        if self._closed:
            if self._own_db:
                db.close()
            return
        self.db = db
        for _title, widget in self.tab_widgets():
            if hasattr(widget, "attach") and getattr(widget, "db", None) is None:
                widget.attach(db)

    def _open_failed(self, exc: BaseException) -> None:
        self.notifier.notify(f"Could not open the registry {self.paths.registry}: {exc}", "error")

    def _notice_floor(self) -> int | None:
        """Notices stay above the current tab's progress panel, so its Cancel buttons stay usable."""
        panel = getattr(self.tabs.currentWidget(), "progress", None)
        if isinstance(panel, QWidget) and panel.isVisible():
            return panel.mapTo(self, panel.rect().topLeft()).y()
        return None

    def _update_status(self) -> None:
        activity, counts = [], []
        for _title, widget in self.tab_widgets():
            if hasattr(widget, "activity_text") and widget.activity_text():
                activity.append(widget.activity_text())
            if hasattr(widget, "counts_text") and widget.counts_text():
                counts.append(widget.counts_text())
        self.activity_label.setText(("Running: " + " · ".join(activity)) if activity else "")
        self.activity_label.setVisible(bool(activity))
        self.counts_label.setText(" · ".join(counts))
        self.notifier.place()  # a progress panel may have appeared or gone

    def _tab_changed(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if self.settings is not None and widget is not None:
            self.settings.setValue("window/lastTab", tab_name(widget, self.tabs.tabText(index)))

    def _palette_changed(self, *_args) -> None:
        # Our few accent colours are chosen per light/dark palette at paint time: repaint.
        for widget in self.findChildren(QWidget):
            widget.update()

    # -- actions and shortcuts ----------------------------------------------------------------------

    def _action(self, menu, text: str, slot, *shortcuts) -> QAction:
        action = QAction(text, self)
        keys = [QKeySequence(s) for s in shortcuts]
        if keys:
            action.setShortcuts(keys)
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        if menu is not None:
            menu.addAction(action)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        vt = self.videos_tab
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.add_action = self._action(file_menu, "➕ Add videos…", vt.add_videos, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Add a folder…", vt.add_folder, "Ctrl+Shift+O")
        self.export_action = self._action(file_menu, "Export table…", lambda: vt.export(), "Ctrl+E")
        file_menu.addSeparator()
        self._action(file_menu, "Quit", self.close, QKeySequence.StandardKey.Quit)

        view_menu = bar.addMenu("&View")
        self.refresh_action = self._action(view_menu, "🔄 Refresh this tab", self._refresh_current, "F5", "Ctrl+R")
        self._action(view_menu, "Find…", self._find, QKeySequence.StandardKey.Find)
        for i in range(9):  # Ctrl+1 ... Ctrl+9: go to that tab
            self._action(None, f"Tab {i + 1}", lambda i=i: self._go_to_tab(i), f"Ctrl+{i + 1}")

        upload_menu = bar.addMenu("&Upload")
        for platform, key in (("Instagram", "Ctrl+Shift+I"), ("TikTok", "Ctrl+Shift+T"), ("YouTube", "Ctrl+Shift+Y")):
            self._action(upload_menu, f"Upload selected video to {platform}…",
                         lambda p=platform: self._upload_selected(p), key)
        upload_menu.addSeparator()
        self.upload_all_action = self._action(upload_menu, "⬆ Upload All Pending…", vt.upload_all_pending,
                                              "Ctrl+Shift+U")
        self.cancel_action = self._action(upload_menu, "⏹ Cancel running uploads", vt.cancel_uploads, "Ctrl+Shift+X")
        upload_menu.addSeparator()
        self._action(upload_menu, "Toggle Allow Duplicates for the selected video", vt.toggle_duplicates_selected,
                     "Ctrl+D")
        self._action(upload_menu, "📜 Show history of the selected video…", self._history_selected, "Ctrl+H")

    def _refresh_current(self) -> None:
        """F5: what the current tab's own 🔄 button does (a tab added later without one is left alone)."""
        button = getattr(self.tabs.currentWidget(), "refresh_button", None)
        if button is not None and button.isEnabled():
            button.click()

    def _go_to_tab(self, index: int) -> None:
        if index < self.tabs.count():
            self.tabs.setCurrentIndex(index)

    def _find(self) -> None:
        self.tabs.setCurrentWidget(self.videos_tab)
        self.videos_tab.focus_search()

    def _upload_selected(self, platform: str) -> None:
        vid = self.videos_tab.selected_video_id()
        if vid is None:
            self.notifier.notify("Select a video first.")
            return
        self.videos_tab.request_upload(vid, platform)

    def _history_selected(self) -> None:
        vid = self.videos_tab.selected_video_id()
        if vid is not None:
            self.videos_tab.show_history(vid)

    # -- drag and drop ------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = local_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.tabs.setCurrentWidget(self.videos_tab)
            self.videos_tab.add_paths(paths)

    # -- settling (screenshots) and closing ---------------------------------------------------------

    def is_settled(self) -> bool:
        """Every tab has its data and no background work is pending (thumbnails included)."""
        if self.db is None or not self.worker.is_idle() or self.videos_tab.thumbnails.pending():
            return False
        return all(widget.is_ready() for _t, widget in self.tab_widgets() if hasattr(widget, "is_ready"))

    def wait_until_settled(self, timeout: float = 30.0) -> bool:
        """Run the event loop until :meth:`is_settled` (or the timeout); True when settled."""
        return spin_until(self.is_settled, timeout)

    def save_state(self) -> None:
        if self.settings is None:
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        current = self.tabs.currentWidget()
        if current is not None:
            self.settings.setValue("window/lastTab", tab_name(current, self.tabs.tabText(self.tabs.currentIndex())))
        for _title, widget in self.tab_widgets():
            if hasattr(widget, "save_state"):
                widget.save_state(self.settings)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        running = self.videos_tab.uploads_running()
        if running and not self._closed:
            answer = dialogs.ask(
                "warning", "Uploads are running",
                f"{running} upload job(s) are still running. Quit anyway? Uploads that have not "
                "reached the platform yet are cancelled; one that is publishing finishes first.",
                ["Quit", "Keep running"], parent=self, default="Keep running")
            if answer != "Quit":
                event.ignore()
                return
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Save the window state, stop timers, stop and join background work, close the registry."""
        if self._closed:
            return
        self._closed = True
        self.save_state()
        for _title, widget in self.tab_widgets():
            if hasattr(widget, "shutdown"):
                widget.shutdown()
        self.notifier.clear()
        self.orchestration_bar.shutdown()
        self.worker.shutdown(wait=True)
        if self._own_db and self.db is not None:
            self.db.close()


def _open_registry(path: str):
    from database import Database

    db = Database.open(path)
    db.audit  # noqa: B018 - open the audit database here, not lazily on some other thread
    return db


def tab_name(widget: QWidget, title: str) -> str:
    """A tab's file-name-safe name: its ``NAME``, else its title in lower case ("videos")."""
    name = getattr(widget, "NAME", None)
    if name:
        return str(name)
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug or "tab"


def spin_until(condition, timeout: float) -> bool:
    """Run the Qt event loop until ``condition()`` is true or ``timeout`` seconds pass."""
    if condition():
        return True
    loop = QEventLoop()
    deadline = time.monotonic() + timeout
    poll = QTimer()
    poll.setInterval(10)

    def check() -> None:
        if condition() or time.monotonic() > deadline:
            loop.quit()

    poll.timeout.connect(check)
    poll.start()
    loop.exec()
    poll.stop()
    return bool(condition())


def _application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("ASFS")
        app.setApplicationDisplayName("ASFS")
    return app  # type: ignore[return-value]


def run_window(paths: DataPaths, services=None) -> int:
    """Show the main window and run the Qt event loop until it closes; returns the exit code."""
    app = _application()
    # Ctrl+C in the terminal and SIGTERM close the window the normal way, so the scheduler and
    # the API stop cleanly. Python only runs signal handlers when it gets control, so a timer
    # hands it control a few times a second while Qt's event loop runs.
    window = MainWindow(paths, services=services)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.close())  # closeEvent saves state and stops the workers
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    if window.settings is None or window.settings.value("window/geometry") is None:
        screen = window.screen()
        if screen is not None:  # on a small laptop screen, fit inside it instead
            room = screen.availableGeometry()
            window.resize(min(DEFAULT_SIZE[0], room.width()), min(DEFAULT_SIZE[1], room.height()))
    if os.environ.get("ASFS_EXIT_WHEN_SHOWN") == "1":
        # For bench/app_start.py: once the window is up with its rows, print when, and quit.
        def shown() -> None:
            print(f"ASFS_SHOWN {time.time():.6f}", flush=True)
            QTimer.singleShot(0, window.close)

        window.videos_tab.loaded.connect(shown)
    window.show()
    return app.exec()


# The offscreen platform warns about window-manager hints it has no use for; a
# screenshot run should print the file names, not noise a user would worry about.
_OFFSCREEN_NOISE = ("This plugin does not support propagateSizeHints()",)


def _quiet_offscreen_handler(mode: QtMsgType, context, message: str) -> None:
    if message in _OFFSCREEN_NOISE:
        return
    print(qFormatLogMessage(mode, context, message), file=sys.stderr)


def save_screenshot(paths: DataPaths, directory: Path, *, timeout: float = 30.0) -> list[Path]:
    """Render every tab of the main window to ``directory/<tab>.png`` without showing it.

    Returns the files written, in tab order (``videos.png`` first).
    """
    previous = qInstallMessageHandler(_quiet_offscreen_handler)
    written: list[Path] = []
    try:
        app = _application()
        directory.mkdir(parents=True, exist_ok=True)
        window = MainWindow(paths, remember=False, refresh_interval_ms=0)
        try:
            window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
            window.show()  # lays out and polishes everything, as a real show would
            window.wait_until_settled(timeout)
            for index in range(window.tabs.count()):
                window.tabs.setCurrentIndex(index)
                app.processEvents()
                window.grab()  # the first paint asks for what is visible (thumbnails) ...
                window.wait_until_settled(timeout)  # ... which loads in the background
                pixmap = window.grab()
                out = directory / f"{tab_name(window.tabs.widget(index), window.tabs.tabText(index))}.png"
                if pixmap.isNull() or not pixmap.save(str(out), "PNG"):
                    raise OSError(f"Qt could not render or save {out}")
                written.append(out)
        finally:
            window.shutdown()
            window.close()
            window.deleteLater()
            app.processEvents()
    finally:
        qInstallMessageHandler(previous)
    return written
