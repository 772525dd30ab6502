"""Colours that follow the system's light or dark palette.

Nothing in the UI hard-codes a background: widgets use the palette Qt gets from the system
(and updates when the operator switches between light and dark). The few accent colours
here (status text, notice borders) come in a light-mode and a dark-mode shade.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette

# (on a light background, on a dark background)
_ACCENTS = {
    "success": ("#1e7b34", "#6fd08c"),
    "error": ("#b42318", "#ff8a80"),
    "warning": ("#9a5b00", "#ffc46b"),
    "busy": ("#1d5fbf", "#8ab4ff"),
    "muted": ("#6b6b6b", "#a0a0a0"),
    "info": ("#1d5fbf", "#8ab4ff"),
}

_STATUS_ACCENT = {
    "SUCCESS": "success",
    "FAILED": "error",
    "FAILED_FINAL": "error",
    "BLOCKED": "error",
    "LOGIN_REQUIRED": "warning",
    "RATE_LIMITED": "warning",
    "UNKNOWN": "warning",
    "IN_PROGRESS": "busy",
    "PENDING": "busy",
}


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether the window background is dark (the system is in dark mode)."""
    if palette is None:
        app = QGuiApplication.instance()
        palette = app.palette() if app is not None else QPalette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def accent(name: str, palette: QPalette | None = None) -> QColor:
    light, dark = _ACCENTS.get(name, _ACCENTS["muted"])
    return QColor(dark if is_dark(palette) else light)


def status_color(status: str | None, palette: QPalette | None = None) -> QColor | None:
    """The text colour for an upload status, or None for the palette's normal text."""
    name = _STATUS_ACCENT.get(status or "")
    return accent(name, palette) if name else None


def notice_color(kind: str, palette: QPalette | None = None) -> QColor:
    return accent({"success": "success", "error": "error"}.get(kind, "info"), palette)
