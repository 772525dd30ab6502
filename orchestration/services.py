"""The background services of one data directory: the scheduler and, when enabled, the HTTP API.

``python app.py --headless`` and the desktop window both run ASFS through this class, so the
scheduler (APScheduler inside the process), start-up recovery and the API start and stop the
same way in both. Plain Python: no Qt, no Playwright.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Callable

from database import ASFSError, Database
from database.paths import DataPaths

log = logging.getLogger("asfs.services")


class BackgroundServices:
    """The orchestration service, its schedule runner and the optional HTTP API.

    Args:
        paths: the data directory's layout.
        settings: loaded settings (``orchestration.settings.load_settings``).
        headless: which default applies to ``api_enabled`` (on for headless, off for the window).
        actor: who starts and stops it, for the audit trail.
    """

    def __init__(self, paths: DataPaths, settings, *, headless: bool, actor: str | None = None):
        from .scheduler_jobs import ScheduleRunner

        self.paths = paths
        self.settings = settings
        self.headless = headless
        self.actor = actor or ("headless" if headless else "desktop")
        self.runner = ScheduleRunner(paths.registry, settings=settings)
        self.db: Database | None = None
        self.service = None
        self.api = None
        self.api_error: str | None = None
        self.error: str | None = None
        self.started: dict[str, Any] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def start(self) -> dict[str, Any]:
        """Recover after a crash, start the scheduler, then the API when enabled (blocking)."""
        from .orchestrator import CentralOrchestrationService

        with self._lock:
            if self._stopped:
                raise ASFSError("these services were stopped; make new ones to start again")
            self.db = Database.open(self.paths.registry)
            self.service = CentralOrchestrationService(self.db, settings=self.settings, runner=self.runner)
        started = self.service.start(actor=self.actor)
        recovery = started.get("recovery") or {}
        log.info("start-up: %d missed schedule(s) wait for a decision, %d run late",
                 recovery.get("missed", 0), recovery.get("late", 0))
        if self.settings.api_enabled_for(headless=self.headless):
            from .api import start_api_server

            try:
                api = start_api_server(self.db, self.settings, service=self.service)
            except ASFSError as exc:
                self.api_error = str(exc)
                log.error("%s The scheduler runs without the HTTP API.", exc)
            else:
                with self._lock:
                    if self._stopped:  # stopped while the API was starting
                        api.stop()
                    else:
                        self.api = api
        self.started = started
        return started

    def start_in_background(self, on_done: Callable[["BackgroundServices"], None] | None = None
                            ) -> threading.Thread:
        """:meth:`start` on its own thread (recovery may open a browser): for the window."""

        def work() -> None:
            try:
                self.start()
            except Exception as exc:  # noqa: BLE001 - reported to the window, which keeps running
                self.error = str(exc)
                log.exception("background services did not start")
            if on_done is not None:
                on_done(self)

        self._thread = threading.Thread(target=work, name="asfs-services", daemon=True)
        self._thread.start()
        return self._thread

    def executing_left(self) -> int:
        """Schedules this process still has ``executing`` (0 after a clean stop)."""
        try:
            with Database.open(self.paths.registry) as db:
                return db.query_one("SELECT COUNT(*) FROM schedules WHERE status = 'executing' AND claimed_by LIKE ?",
                                    (f"%:{os.getpid()}:%",))[0]
        except ASFSError:
            return 0

    def stop(self, *, timeout: float | None = None) -> None:
        """Stop the API, the pipeline queue and the scheduler; nothing this process ran stays executing."""
        with self._lock:
            self._stopped = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        with self._lock:
            api, self.api = self.api, None
        if api is not None:
            api.stop()
        try:
            if self.service is not None:
                self.service.stop(actor=self.actor)  # the pipeline queue, then the scheduler
        except Exception:  # noqa: BLE001 - the runner is stopped below whatever happened here
            log.exception("stopping the orchestration service failed")
        self.runner.stop(wait=True)
        if self.db is not None:
            self.db.close()
            self.db = None


__all__ = ["BackgroundServices"]
