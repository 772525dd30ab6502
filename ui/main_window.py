"""The main window: a tab per area of work, and a status bar saying where the data lives."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QtMsgType, Qt, qFormatLogMessage, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QTabWidget, QWidget

if TYPE_CHECKING:
    from database.paths import DataPaths

WINDOW_TITLE = "ASFS — Short-video control panel"
DEFAULT_SIZE = (1280, 800)


class MainWindow(QMainWindow):
    """The top-level window; each area of work (videos, channels, schedules, ...) is a tab.

    It never touches the database itself: tabs fetch their data off the GUI thread.
    """

    def __init__(self, paths: DataPaths, parent: QWidget | None = None):
        super().__init__(parent)
        self.paths = paths
        self.setWindowTitle(WINDOW_TITLE)
        self.resize(*DEFAULT_SIZE)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)

        # A permanent widget, so transient status messages never hide where the data is.
        self.location_label = QLabel(self._location_text(), self)
        self.location_label.setObjectName("dataLocation")
        self.location_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.statusBar().addPermanentWidget(self.location_label, 1)

        self.add_tab(_videos_placeholder(paths), "Videos")

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Append a tab and return its index."""
        return self.tabs.addTab(widget, title)

    def status_text(self) -> str:
        """What the status bar says about the data location."""
        return self.location_label.text()

    def _location_text(self) -> str:
        return f"Data directory: {self.paths.root}    ·    Registry: {self.paths.registry}"


def _videos_placeholder(paths: DataPaths) -> QWidget:
    label = QLabel(
        "<h2>🎬 Videos</h2>"
        f"<p>Registry: <code>{_escape(str(paths.registry))}</code></p>"
        "<p>The videos table comes next: every video in the registry, with its duration, "
        "resolution and publishing state on each channel.</p>"
        "<p>States will read like this: ✔ published &nbsp; ⏳ pending &nbsp; 🔁 retrying "
        "&nbsp; ▶ publishing now &nbsp; 📷 Instagram &nbsp; 🎵 TikTok</p>"
        "<p>Until then, register files from a terminal with "
        "<code>python pipeline.py PATH...</code></p>"
    )
    label.setObjectName("videosPlaceholder")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setMargin(24)
    return label


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("ASFS")
        app.setApplicationDisplayName("ASFS")
    return app  # type: ignore[return-value]


def run_window(paths: DataPaths) -> int:
    """Show the main window and run the Qt event loop until it closes; returns the exit code."""
    app = _application()
    # Qt's event loop would otherwise swallow Ctrl+C in the terminal that started us.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    window = MainWindow(paths)
    screen = window.screen()
    if screen is not None:  # on a small laptop screen, fit inside it instead
        room = screen.availableGeometry()
        window.resize(min(DEFAULT_SIZE[0], room.width()), min(DEFAULT_SIZE[1], room.height()))
    window.show()
    return app.exec()


# The offscreen platform warns about window-manager hints it has no use for; a
# screenshot run should print the file name, not noise a user would worry about.
_OFFSCREEN_NOISE = ("This plugin does not support propagateSizeHints()",)


def _quiet_offscreen_handler(mode: QtMsgType, context, message: str) -> None:
    if message in _OFFSCREEN_NOISE:
        return
    print(qFormatLogMessage(mode, context, message), file=sys.stderr)


def save_screenshot(paths: DataPaths, directory: Path) -> Path:
    """Render the main window to ``directory/main.png`` without putting it on screen."""
    previous = qInstallMessageHandler(_quiet_offscreen_handler)
    try:
        app = _application()
        directory.mkdir(parents=True, exist_ok=True)
        out = directory / "main.png"
        window = MainWindow(paths)
        window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        window.show()  # lays out and polishes everything, as a real show would
        app.processEvents()
        pixmap = window.grab()
        window.close()
        window.deleteLater()
    finally:
        qInstallMessageHandler(previous)
    if pixmap.isNull() or not pixmap.save(str(out), "PNG"):
        raise OSError(f"Qt could not render or save {out}")
    return out
