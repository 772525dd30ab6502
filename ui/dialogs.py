"""Every question the window asks the operator goes through :func:`ask`.

Tests replace it (``monkeypatch.setattr(ui.dialogs, "ask", fake)``), so nothing in a test
waits on a modal ``exec()``. Call it as ``dialogs.ask(...)`` (module attribute), never
``from ui.dialogs import ask``, or the replacement is not seen.

Kinds and answers:

=================  ===========================================================================
question, warning  a message box with ``buttons``; the chosen button's text, None when dismissed
error, info        the same (``buttons`` defaults to ``["OK"]``)
menu               a pop-up menu of ``buttons`` at ``pos`` (global QPoint); the chosen text or None
open_files         a file picker; a list of paths (empty when cancelled)
open_folder        a folder picker; a path or None
save_file          a save dialog; a path or None (``directory`` may include a file name)
=================  ===========================================================================

Text is always shown as plain text: a title like ``<b>x</b>`` in a question appears as typed.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

_REJECT_WORDS = {"cancel", "no", "close", "skip", "don't", "keep"}

_ICONS = {
    "question": QMessageBox.Icon.Question,
    "warning": QMessageBox.Icon.Warning,
    "error": QMessageBox.Icon.Critical,
    "info": QMessageBox.Icon.Information,
}


def ask(
    kind: str,
    title: str,
    text: str = "",
    buttons: Sequence[str] = (),
    *,
    parent: QWidget | None = None,
    default: str | None = None,
    details: str | None = None,
    pos: QPoint | None = None,
    filter: str = "",  # noqa: A002 - the Qt name
    directory: str = "",
) -> Any:
    """Ask the operator something and return the answer (see the module docstring)."""
    if kind in _ICONS:
        return _message(kind, title, text, list(buttons) or ["OK"], parent, default, details)
    if kind == "menu":
        return _menu(title, list(buttons), parent, pos)
    if kind == "open_files":
        files, _ = QFileDialog.getOpenFileNames(parent, title, directory, filter)
        return list(files)
    if kind == "open_folder":
        folder = QFileDialog.getExistingDirectory(parent, title, directory)
        return folder or None
    if kind == "save_file":
        path, _ = QFileDialog.getSaveFileName(parent, title, directory, filter)
        return path or None
    raise ValueError(f"unknown kind of question: {kind!r}")


def _is_reject(label: str) -> bool:
    return label.strip().lower().split(" ")[0] in _REJECT_WORDS


def _message(kind: str, title: str, text: str, buttons: list[str], parent, default, details) -> str | None:
    box = QMessageBox(parent)
    box.setIcon(_ICONS[kind])
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    if details:
        box.setDetailedText(details)  # always plain text
    made = {}
    for label in buttons:
        role = QMessageBox.ButtonRole.RejectRole if _is_reject(label) else QMessageBox.ButtonRole.AcceptRole
        made[box.addButton(label, role)] = label
    chosen_default = default or next((b for b in buttons if not _is_reject(b)), buttons[0])
    for button, label in made.items():
        if label == chosen_default:
            box.setDefaultButton(button)
    reject = next((b for b, label in made.items() if _is_reject(label)), None)
    if reject is not None:
        box.setEscapeButton(reject)
    box.exec()
    clicked = box.clickedButton()
    return made.get(clicked) if clicked is not None else None


def _menu(title: str, items: list[str], parent, pos: QPoint | None) -> str | None:
    menu = QMenu(parent)
    menu.setTitle(title)
    header = menu.addAction(title)
    header.setEnabled(False)
    menu.addSeparator()
    actions = {menu.addAction(item): item for item in items}
    chosen = menu.exec(pos or QCursor.pos())
    return actions.get(chosen)


class HistoryDialog(QDialog):
    """A video's audit history (upload events and decisions), shown without blocking."""

    COLUMNS = ("Time", "What", "Channel", "Status", "By", "Details")
    KEYS = ("time", "what", "channel", "status", "by", "details")

    def __init__(self, title: str, video_id: str, events: list[dict[str, Any]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"History — {title}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.resize(860, 420)
        layout = QVBoxLayout(self)
        heading = QLabel(self)
        heading.setTextFormat(Qt.TextFormat.PlainText)
        heading.setText(f"{title}  ({video_id}) — {len(events)} event(s), oldest first")
        layout.addWidget(heading)
        self.tree = QTreeWidget(self)
        self.tree.setRootIsDecorated(False)
        self.tree.setHeaderLabels(list(self.COLUMNS))
        self.tree.setUniformRowHeights(True)
        for e in events:
            item = QTreeWidgetItem([str(e.get(k) or "") for k in self.KEYS])
            item.setToolTip(len(self.KEYS) - 1, "<p>" + html.escape(str(e.get("details") or "")) + "</p>")
            self.tree.addTopLevelItem(item)
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout.addWidget(self.tree)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        box.rejected.connect(self.close)
        layout.addWidget(box)
