"""The orchestration controls: is the scheduler running, paused or stopped, is it alive (its
heartbeat), when does it run next — and Start, Pause, Resume, Stop.

It drives the window's :class:`~orchestration.services.BackgroundServices` (or anything with a
``.service`` that has ``start / stop / pause / resume / get_status``) through the worker, so
the GUI never waits on the scheduler. It asks for the status every two seconds; a heartbeat
older than the limit, or a status request that does not answer, shows a red "scheduler not
responding" within seconds.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone, tzinfo
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from ui import dialogs, theme
from ui.models.schedules_model import fmt_short, operator_zone, parse_utc, tooltip_html
from ui.widgets.basics import timer
from ui.worker import Task, Worker

log = logging.getLogger("asfs.ui.orchestration")

POLL_INTERVAL_MS = 2000
DEFAULT_STALE_SECONDS = 95.0  # three default execute intervals (30 s) and a margin, as the service's own rule
HANG_SECONDS = 10.0  # a status request unanswered this long: the scheduler (or the registry) is stuck
STOP = "Stop"
KEEP_RUNNING = "Keep running"

STATES = ("running", "paused", "stopped", "starting", "stopping", "not_responding", "failed", "unavailable")
_PILL = {
    "running": ("● Running", "success"),
    "paused": ("⏸ Paused", "warning"),
    "stopped": ("■ Stopped", "muted"),
    "starting": ("… Starting", "busy"),
    "stopping": ("… Stopping", "busy"),
    "not_responding": ("⚠ Scheduler not responding", "error"),
    "failed": ("✖ Scheduler did not start", "error"),
    "unavailable": ("■ No scheduler", "muted"),
}


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


class OrchestrationBar(QWidget):
    """State, heartbeat, next run, and the four controls.

    Args:
        worker: the window's worker (every call to the service runs there).
        services: the window's ``BackgroundServices`` (or None until :meth:`set_services`).
        poll_interval_ms: how often to ask for the status; 0 = only when :meth:`poll` is called.
        stale_seconds: a heartbeat older than this while running means "not responding"
            (default: from the services' settings, three execute intervals plus 5 s).
        hang_seconds: a status request unanswered this long means "not responding".
        now: "now" as an aware UTC datetime (tests).

    Signals:
        stateChanged(state): one of :data:`STATES`.
        statusUpdated(status): each status dict, as it arrives.
    """

    stateChanged = Signal(str)
    statusUpdated = Signal(object)

    def __init__(self, worker: Worker, services: Any = None, parent: QWidget | None = None, *,
                 poll_interval_ms: int = POLL_INTERVAL_MS, stale_seconds: float | None = None,
                 hang_seconds: float = HANG_SECONDS, now: Callable[[], datetime] | None = None,
                 zone: tzinfo | None = None):
        super().__init__(parent)
        self.setObjectName("orchestrationBar")
        self.worker = worker
        self.services = services
        self.stale_seconds = stale_seconds
        self.hang_seconds = hang_seconds
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.zone = zone or operator_zone()
        self.state = "unavailable"
        self.status: dict[str, Any] | None = None
        self.error: str | None = None
        self._action: str | None = None
        self._action_task: Task | None = None
        self._poll_task: Task | None = None
        self._poll_started = 0.0
        self._closed = False
        self._build()
        self.timer = timer(self, poll_interval_ms, self.poll)
        if poll_interval_ms > 0:
            self.timer.start()
        self._show()
        if services is not None:
            self.poll()

    # -- building ---------------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.setSpacing(6)
        title = QLabel("Scheduler:", self)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        self.pill = QLabel(self)
        self.pill.setObjectName("orchestrationState")
        self.pill.setTextFormat(Qt.TextFormat.PlainText)
        self.pill.setMinimumWidth(120)
        layout.addWidget(self.pill)
        self.detail = QLabel(self)
        self.detail.setObjectName("orchestrationDetail")
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.detail.setMinimumWidth(160)
        layout.addWidget(self.detail, 1)
        line = QFrame(self)
        line.setFrameShape(QFrame.Shape.VLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout.addWidget(line)
        self.start_button = QPushButton("▶ Start", self)
        self.start_button.setToolTip("Start the scheduler: due schedules run, missed ones wait for you")
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("⏸ Pause", self)
        self.pause_button.setToolTip("Hold all publishing and distribution (schedules can still be created)")
        self.pause_button.clicked.connect(self.pause)
        self.resume_button = QPushButton("▶ Resume", self)
        self.resume_button.setToolTip("Continue after a pause; schedules that came due run now")
        self.resume_button.clicked.connect(self.resume)
        self.stop_button = QPushButton("■ Stop", self)
        self.stop_button.setToolTip("Stop the scheduler (a publication in progress finishes its step first)")
        self.stop_button.clicked.connect(self.stop)
        for b in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            layout.addWidget(b)

    # -- the services ----------------------------------------------------------------------------------------

    def set_services(self, services: Any) -> None:
        """Drive these services from now on (the window hands over its ``BackgroundServices``)."""
        self.services = services
        self.poll()

    @property
    def service(self):
        return getattr(self.services, "service", None) if self.services is not None else None

    def _limit(self) -> float:
        if self.stale_seconds is not None:
            return float(self.stale_seconds)
        settings = getattr(self.services, "settings", None)
        interval = getattr(settings, "execute_interval_seconds", None)
        return 3 * float(interval) + 5 if interval else DEFAULT_STALE_SECONDS

    def _starting(self) -> bool:
        """The services' own start-up thread is still recovering and starting the jobs."""
        thread = getattr(self.services, "_thread", None)
        return thread is not None and thread.is_alive()

    # -- polling ------------------------------------------------------------------------------------------

    def poll(self) -> Task | None:
        """Ask for the status (in the background); a request still unanswered after
        ``hang_seconds`` shows "not responding"."""
        if self._closed or self.worker.closed:
            return None
        if self._poll_task is not None:
            waited = time.monotonic() - self._poll_started
            if waited > self.hang_seconds and self._action is None:
                self.error = f"the status request has not answered for {waited:.0f} s"
                self._set_state("not_responding")
            return self._poll_task
        service = self.service
        if service is None:
            if self.services is None:
                self._set_state("unavailable")
            elif getattr(self.services, "error", None) and self._action is None:
                self.error = str(self.services.error)
                self._set_state("failed")
            elif self._starting() or self._action == "start":
                self._set_state("starting")
            elif self._action is None:
                self._set_state("stopped")
            return None
        self._poll_started = time.monotonic()
        self._poll_task = self.worker.run(service.get_status, name="Scheduler status", kind="status", quiet=True,
                                          on_result=self._got_status, on_error=self._status_failed,
                                          on_done=self._poll_done)
        return self._poll_task

    def _poll_done(self, _task: Task) -> None:
        self._poll_task = None

    def _got_status(self, st: dict[str, Any]) -> None:
        if self._closed:
            return
        self.status = st
        self.error = None
        if self._action is None:
            state = self.state_of(st)
            self._set_state("starting" if state == "stopped" and self._starting() else state)
        self._show()
        self.statusUpdated.emit(st)

    def _status_failed(self, exc: BaseException) -> None:
        if self._closed:
            return
        log.warning("scheduler status failed: %s", exc)
        self.error = f"the status could not be read: {exc}"
        self._set_state("not_responding")

    def heartbeat_age(self, st: dict[str, Any] | None = None) -> float | None:
        st = st if st is not None else self.status
        beat = parse_utc((st or {}).get("heartbeat"))
        return (self.now() - beat).total_seconds() if beat is not None else None

    def state_of(self, st: dict[str, Any]) -> str:
        """running / paused / stopped, or not_responding when it runs without a fresh heartbeat."""
        status = st.get("status") or ("paused" if st.get("paused") else "running" if st.get("running") else "stopped")
        if status == "running":
            age = self.heartbeat_age(st)
            if st.get("alive") is False or age is None or age > self._limit():
                return "not_responding"
        return status

    # -- showing --------------------------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        changed = state != self.state
        self.state = state
        self._show()
        if changed:
            self.stateChanged.emit(state)

    def _show(self) -> None:
        text, accent = _PILL.get(self.state, (self.state, "muted"))
        colour = theme.accent(accent, self.palette())
        self.pill.setText(text)
        self.pill.setStyleSheet(f"QLabel {{ color: {colour.name()}; font-weight: bold; border: 1px solid "
                                f"{colour.name()}; border-radius: 9px; padding: 1px 8px; }}")
        self.detail.setText(self.detail_text())
        self.detail.setToolTip(tooltip_html(self._detail_lines()))
        state = self.state
        busy = self._action is not None
        has = self.services is not None
        self.start_button.setEnabled(has and not busy and state in ("stopped", "failed"))
        self.pause_button.setEnabled(has and not busy and state in ("running", "not_responding"))
        self.resume_button.setEnabled(has and not busy and state == "paused")
        self.stop_button.setEnabled(has and not busy and state in ("running", "paused", "not_responding"))

    def _detail_lines(self) -> list[str]:
        st = self.status or {}
        lines: list[str] = []
        if self.state in ("not_responding", "failed") and self.error:
            lines.append(self.error)
        if self.state == "not_responding" and not self.error:
            lines.append(f"last heartbeat {_ago(self.heartbeat_age())} (limit {self._limit():.0f} s)")
        if self.state in ("running", "paused", "not_responding") and st:
            since = parse_utc(st.get("since"))
            if since is not None and self.state != "not_responding":
                lines.append(f"since {fmt_short(since, self.zone, self.now())}")
            if self.state != "not_responding":
                lines.append(f"heartbeat {_ago(self.heartbeat_age())}")
            runs = [parse_utc(j.get("next_run_time")) for j in st.get("jobs") or []]
            runs = [r for r in runs if r is not None]
            if runs and self.state == "running":
                nxt = min(runs)
                name = next((j.get("name") for j in st["jobs"] if parse_utc(j.get("next_run_time")) == nxt), "")
                lines.append(f"next run {nxt.astimezone(self.zone):%H:%M:%S}" + (f" ({name})" if name else ""))
            sched = parse_utc(st.get("next_schedule_at"))
            if sched is not None:
                lines.append(f"next schedule {fmt_short(sched, self.zone, self.now())}")
            if st.get("executing"):
                lines.append(f"publishing {st['executing']}")
        if self.state == "starting":
            lines.append("recovering what the last run left, then starting the jobs")
        if self.state == "unavailable":
            lines.append("this window runs no scheduler")
        return lines

    def detail_text(self) -> str:
        return " · ".join(self._detail_lines())

    # -- the controls --------------------------------------------------------------------------------------

    def _run(self, action: str, fn: Callable, *args, interim: str) -> Task | None:
        if self._action is not None or self.services is None:
            return None
        self._action = action
        self._set_state(interim)

        def failed(exc: BaseException) -> None:
            self.error = f"{action} failed: {exc}"
            if hasattr(self.window(), "notifier"):
                self.window().notifier.notify(f"The scheduler could not {action}: {exc}", "error")

        def done(_task: Task) -> None:
            self._action = None
            self._action_task = None
            if self._closed:
                return
            self.poll()

        self._action_task = self.worker.run(fn, *args, name=f"Scheduler: {action}", kind="orchestration",
                                            long=True, on_error=failed, on_done=done)
        self._show()
        return self._action_task

    def start(self) -> Task | None:
        """Start the scheduler (the services themselves the first time)."""
        if self.services is None or self._action is not None:
            return None
        service = self.service
        if service is not None:
            return self._run("start", service.start, interim="starting")
        if self._starting():
            return None  # already on its way
        return self._run("start", self.services.start, interim="starting")

    def stop(self, *, confirm: bool = True) -> Task | None:
        service = self.service
        if service is None or self._action is not None:
            return None
        if confirm:
            answer = dialogs.ask(
                "question", "Stop the scheduler",
                "Stop the scheduler? Nothing is published on schedule until you start it again. A publication in "
                "progress finishes its current step first; schedules that come due meanwhile are run late or "
                "wait as missed.", [STOP, KEEP_RUNNING], parent=self, default=KEEP_RUNNING)
            if answer != STOP:
                return None
        return self._run("stop", service.stop, interim="stopping")

    def pause(self) -> Task | None:
        service = self.service
        if service is None:
            return None
        return self._run("pause", service.pause, interim="paused")

    def resume(self) -> Task | None:
        service = self.service
        if service is None:
            return None
        return self._run("resume", service.resume, interim="running")

    @property
    def busy(self) -> bool:
        return self._action is not None

    def shutdown(self) -> None:
        """Stop polling (the window stops the services themselves)."""
        self._closed = True
        self.timer.stop()


__all__ = ["OrchestrationBar", "STATES"]
