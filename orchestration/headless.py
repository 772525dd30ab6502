"""``python app.py --headless``: the scheduler and publisher with no window (for a server).

Logs to the console and to ``logs/asfs.log`` (rotated) in the data directory, runs the same
:class:`~orchestration.scheduler_jobs.ScheduleRunner` the window uses (driven through
:class:`~orchestration.orchestrator.CentralOrchestrationService`), serves the local HTTP API
(``orchestration/api.py``) on ``api_host:api_port`` unless ``api_enabled`` is false, and stops
cleanly on SIGTERM or Ctrl-C: the execution in progress finishes its current schedule, nothing
is left ``executing``, and the exit status is 0.

The API's ``stop`` and ``start`` stop and start the scheduler; the process itself keeps
serving until it is signalled. When the API cannot listen (the port is taken), the error is
logged and the scheduler runs without it.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

log = logging.getLogger("asfs.headless")
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(log_dir: Path, *, level: int = logging.INFO) -> list[logging.Handler]:
    """Send ASFS's and APScheduler's logs to stderr and ``log_dir/asfs.log``; returns the handlers added."""
    log_dir.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter(_FORMAT)
    console = logging.StreamHandler(sys.stderr)
    logfile = logging.handlers.RotatingFileHandler(log_dir / "asfs.log", maxBytes=10 * 1024 * 1024,
                                                   backupCount=5, encoding="utf-8")
    handlers: list[logging.Handler] = [console, logfile]
    for h in handlers:
        h.setFormatter(fmt)
    for name in ("asfs", "apscheduler"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        for h in handlers:
            logger.addHandler(h)
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))  # not one line per job run
    return handlers


def _remove_logging(handlers: list[logging.Handler]) -> None:
    for name in ("asfs", "apscheduler"):
        logger = logging.getLogger(name)
        for h in handlers:
            logger.removeHandler(h)
    for h in handlers:
        h.close()


def run(data_dir: str | os.PathLike | None = None, *, stop_event: threading.Event | None = None,
        install_signal_handlers: bool = True, status_interval: float = 300.0) -> int:
    """Run the scheduler until SIGTERM / SIGINT (or ``stop_event``); returns the exit status.

    Args:
        data_dir: the data directory (default: ``$ASFS_DATA_DIR``, else the project folder).
        stop_event: set it to stop (tests and embedding).
        install_signal_handlers: handle SIGTERM and SIGINT (only possible on the main thread).
        status_interval: seconds between "still running" log lines.
    """
    from database import ASFSError, Database
    from database.paths import DataPaths, resolve_data_dir

    from .services import BackgroundServices
    from .settings import load_settings

    root = resolve_data_dir(data_dir)
    if root.exists() and not root.is_dir():
        print(f"asfs: the data directory {root} is a file, not a folder.", file=sys.stderr)
        return EXIT_USAGE
    paths = DataPaths(root)
    try:
        Database.open(paths.registry).close()
    except ASFSError as exc:
        print(f"asfs: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        settings = load_settings(paths)
    except ASFSError as exc:
        print(f"asfs: {exc}", file=sys.stderr)
        return EXIT_USAGE

    handlers = setup_logging(paths.logs)
    stop = stop_event or threading.Event()
    previous: dict[int, Any] = {}

    def on_signal(signum, _frame) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    if install_signal_handlers and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)

    services = BackgroundServices(paths, settings, headless=True)
    code = EXIT_OK
    try:
        log.info("ASFS headless: data directory %s (pid %d)", root, os.getpid())
        services.start()
        last = time.monotonic()
        while not stop.wait(1.0):
            if time.monotonic() - last >= status_interval:
                last = time.monotonic()
                st = services.runner.status()
                log.info("running; heartbeat %s, next schedule at %s", st["heartbeat"], st["next_schedule_at"])
    except ASFSError as exc:
        log.error("%s", exc)
        code = EXIT_FAILURE
    except KeyboardInterrupt:  # a second Ctrl-C before the handler was installed
        pass
    finally:
        services.stop()
        left = services.executing_left()
        if left:
            log.error("%d schedule(s) of this process are still executing after the stop", left)
            code = EXIT_FAILURE
        log.info("ASFS headless stopped")
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _remove_logging(handlers)
    return code


main = run

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "main", "run", "setup_logging"]
