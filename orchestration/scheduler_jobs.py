"""APScheduler 3.11 inside the app: the jobs, and :class:`ScheduleRunner` that owns them.

The registry is the source of truth, not the scheduler's memory: jobs live in APScheduler's
default in-memory store and are rebuilt at every start; what is due is always read from the
``schedules`` table. Each job body is a plain module-level function that takes the registry
path, opens its own :class:`~database.Database` for the run and closes it — no Qt object,
no Playwright object, nothing shared with the window.

Jobs (every one sets ``coalesce``, ``misfire_grace_time`` and ``max_instances``):

``execute``       every ``execute_interval_seconds`` (30 s): :func:`execute_due_job`.
``execute-next``  a one-shot ``date`` job at the exact time of the next schedule (or retry),
                  re-armed after every execution and whenever this process changes schedules,
                  so a schedule fires on time rather than up to an interval late.
``distribute``    every ``distribute_interval_seconds`` (hourly): :func:`distribute_job`.
``retry``         every ``retry_interval_seconds`` (60 s): :func:`retry_uploads_job`.

Publishing jobs (execute, execute-next, retry) take one lock, so one runner never drives two
browsers on one channel profile at once; another process is kept out by the registry's claims.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING, STATE_STOPPED

from database import Database, to_iso, utcnow

from .settings import Settings, load_settings

log = logging.getLogger("asfs.scheduler")

EXECUTE_JOB = "execute"
NEXT_JOB = "execute-next"
DISTRIBUTE_JOB = "distribute"
RETRY_JOB = "retry"
ERROR_BACKOFF_SECONDS = 5.0  # a failed execution re-arms the one-shot no sooner than this


# -- job bodies (plain functions over a registry path) --------------------------------------------------


def _open(registry_path: str | os.PathLike) -> Database:
    return Database.open(registry_path)


def _locked(lock: threading.Lock | None, stop_event: threading.Event | None) -> bool:
    """Take the publishing lock, giving up when the runner is stopping."""
    if lock is None:
        return True
    while not lock.acquire(timeout=0.2):
        if stop_event is not None and stop_event.is_set():
            return False
    return True


def execute_due_job(registry_path: str | os.PathLike, *, settings: Settings | None = None,
                    clock: Callable[[], datetime] = utcnow, stop_event: threading.Event | None = None,
                    lock: threading.Lock | None = None) -> dict[str, Any]:
    """Execute every due schedule; returns ``{"results": [...], "next_due": datetime | None}``."""
    from .scheduling import SchedulingService

    if stop_event is not None and stop_event.is_set():
        return {"results": [], "next_due": None, "stopped": True}
    if not _locked(lock, stop_event):
        return {"results": [], "next_due": None, "stopped": True}
    try:
        db = _open(registry_path)
        try:
            svc = SchedulingService(db, clock=clock, settings=settings)
            results = svc.execute_pending_schedules(cancel_event=stop_event)
            for r in results:
                (log.warning if r["status"] == "failed" else log.info)(
                    "schedule %s: %s%s", r["schedule_id"], r["status"], f" ({r['error']})" if r.get("error") else "")
            return {"results": results, "next_due": svc.schedule_repo.next_due_time()}
        finally:
            db.close()
    finally:
        if lock is not None:
            lock.release()


def distribute_job(registry_path: str | os.PathLike, *, clock: Callable[[], datetime] = utcnow) -> dict[str, Any]:
    """Automatic distribution: by content filters, then into the channels' posting slots."""
    from .distribution import VideoDistributionService

    db = _open(registry_path)
    try:
        svc = VideoDistributionService(db, clock=clock)
        by_filters = svc.auto_distribute_by_filters()
        by_schedule = svc.auto_distribute_by_schedule()
        published = svc.sync_with_uploads()
        log.info("distribution: %d assigned, %d scheduled, %d marked published",
                 len(by_filters), len(by_schedule), published)
        return {"assigned": len(by_filters), "scheduled": len(by_schedule), "synced": published}
    finally:
        db.close()


def retry_uploads_job(registry_path: str | os.PathLike, *, clock: Callable[[], datetime] = utcnow,
                      stop_event: threading.Event | None = None, lock: threading.Lock | None = None
                      ) -> dict[str, Any]:
    """Retry failed uploads whose backoff has passed (``Publisher.retry_due``)."""
    from .publishing import Publisher

    if stop_event is not None and stop_event.is_set():
        return {"succeeded": 0, "failed": 0, "stopped": True}
    if not _locked(lock, stop_event):
        return {"succeeded": 0, "failed": 0, "stopped": True}
    try:
        db = _open(registry_path)
        try:
            report = Publisher(db, clock=clock).retry_due(cancel_event=stop_event)
            if report.total:
                log.info("retries: %d published, %d failed", report.succeeded, report.failed)
            return {"succeeded": report.succeeded, "failed": report.failed, "total": report.total}
        finally:
            db.close()
    finally:
        if lock is not None:
            lock.release()


def startup_job(registry_path: str | os.PathLike, *, settings: Settings | None = None,
                clock: Callable[[], datetime] = utcnow) -> dict[str, Any]:
    """Start-up recovery: settle uploads and schedules a dead process left, then sort due
    schedules into late (run now) and missed (wait for the operator)."""
    from .scheduling import SchedulingService

    db = _open(registry_path)
    try:
        report = SchedulingService(db, clock=clock, settings=settings).recover()
        if report["uploads_recovered"] or report["interrupted"] or report["missed"] or report["late"]:
            log.warning("start-up: %d upload(s) recovered, %d interrupted schedule(s) resolved, %d missed, "
                        "%d to run late", len(report["uploads_recovered"]), len(report["interrupted"]),
                        len(report["missed"]), len(report["late"]))
        return report
    finally:
        db.close()


# -- the runner ------------------------------------------------------------------------------------------


class ScheduleRunner:
    """Runs the scheduling jobs in a ``BackgroundScheduler``; the window and ``--headless`` wrap it.

    Args:
        registry: the registry path (or an open ``Database``, whose path is used).
        settings: intervals, grace window, attempts (default: the data directory's settings.json).
        clock: "now" for the jobs' services (APScheduler itself keeps real time).
        max_workers: the scheduler's thread pool.
    """

    def __init__(self, registry: str | os.PathLike | Database, *, settings: Settings | None = None,
                 clock: Callable[[], datetime] = utcnow, max_workers: int = 4):
        self.registry_path = Path(registry.path if isinstance(registry, Database) else registry)
        self._settings = settings
        self.clock = clock
        self.max_workers = max_workers
        self.scheduler: BackgroundScheduler | None = None
        self.stop_event = threading.Event()
        self.publish_lock = threading.Lock()
        self._state_lock = threading.RLock()
        self._jobs: dict[str, dict[str, Any]] = {}
        self.heartbeat: datetime | None = None
        self.started_at: datetime | None = None
        self.last_recovery: dict[str, Any] | None = None
        self.next_schedule_at: datetime | None = None
        self._db: Database | None = None
        self._rearm = None  # the thread that re-arms after job events (see _rearm_later)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from database.paths import DataPaths

            self._settings = load_settings(DataPaths.for_registry(self.registry_path))
        return self._settings

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        """Recover from the last run (uploads, interrupted and missed schedules), then start the jobs.

        Returns:
            The start-up recovery report (``uploads_recovered``, ``interrupted``, ``missed``, ``late``).
        """
        with self._state_lock:
            if self.scheduler is not None:
                raise RuntimeError("the schedule runner is already running")
            settings = self.settings
            self.stop_event.clear()
            self.last_recovery = startup_job(self.registry_path, settings=settings, clock=self.clock)
            self._db = Database.open(self.registry_path)
            sched = BackgroundScheduler(timezone=timezone.utc,
                                        executors={"default": ThreadPoolExecutor(max_workers=self.max_workers)})
            path = str(self.registry_path)
            publishing = {"stop_event": self.stop_event, "lock": self.publish_lock, "clock": self.clock}
            sched.add_job(execute_due_job, "interval", seconds=settings.execute_interval_seconds, id=EXECUTE_JOB,
                          name="Execute due schedules", args=[path], kwargs={"settings": settings, **publishing},
                          coalesce=True, max_instances=1,
                          misfire_grace_time=max(1, int(settings.execute_interval_seconds)))
            sched.add_job(distribute_job, "interval", seconds=settings.distribute_interval_seconds,
                          id=DISTRIBUTE_JOB, name="Distribute videos", args=[path], kwargs={"clock": self.clock},
                          coalesce=True, max_instances=1,
                          misfire_grace_time=max(1, int(settings.distribute_interval_seconds)))
            sched.add_job(retry_uploads_job, "interval", seconds=settings.retry_interval_seconds, id=RETRY_JOB,
                          name="Retry failed uploads", args=[path], kwargs=publishing, coalesce=True,
                          max_instances=1, misfire_grace_time=max(1, int(settings.retry_interval_seconds)))
            from concurrent.futures import ThreadPoolExecutor as _Pool

            self._rearm = _Pool(1, thread_name_prefix="asfs-rearm")
            sched.add_listener(self._on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
            self.scheduler = sched
            sched.start()
            self.started_at = self.heartbeat = utcnow()
            from .scheduling import add_change_listener

            add_change_listener(self.schedules_changed)
            self.schedules_changed()  # the first due time; now when late schedules wait
            log.info("scheduler started (execute every %gs, distribute every %gs, retry every %gs)",
                     settings.execute_interval_seconds, settings.distribute_interval_seconds,
                     settings.retry_interval_seconds)
            return self.last_recovery

    def stop(self, wait: bool = True) -> None:
        """Stop the jobs; a running execution finishes its current schedule (an upload that has
        not reached its irreversible step is asked to stop), so nothing is left ``executing``."""
        from .scheduling import remove_change_listener

        remove_change_listener(self.schedules_changed)
        with self._state_lock:
            sched, self.scheduler = self.scheduler, None
            rearm, self._rearm = self._rearm, None
            if sched is None:
                return
            self.stop_event.set()
        if rearm is not None:
            rearm.shutdown(wait=False)  # a queued re-arm finds the runner stopped and does nothing
        # Outside the state lock: a finishing job's listener takes it (and sees the runner stopped).
        try:
            sched.shutdown(wait=wait)
        finally:
            with self._state_lock:
                if self._db is not None:
                    self._db.close()
                    self._db = None
        log.info("scheduler stopped")

    def pause(self) -> None:
        """Hold every job (nothing runs) until :meth:`resume`."""
        with self._state_lock:
            if self.scheduler is not None and self.scheduler.state == STATE_RUNNING:
                self.scheduler.pause()
                log.info("scheduler paused")

    def resume(self) -> None:
        with self._state_lock:
            if self.scheduler is not None and self.scheduler.state == STATE_PAUSED:
                self.scheduler.resume()
                log.info("scheduler resumed")
        self.schedules_changed()

    @property
    def running(self) -> bool:
        sched = self.scheduler
        return sched is not None and sched.state == STATE_RUNNING

    def __enter__(self) -> "ScheduleRunner":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the one-shot at the next schedule --------------------------------------------------------

    def schedules_changed(self, next_due: datetime | None | bool = False, *,
                          not_before: datetime | None = None) -> None:
        """Re-arm the one-shot job at the next due schedule (read from the registry unless given).

        Args:
            not_before: the earliest time to fire (after a failed run, so an error cannot spin).
        """
        with self._state_lock:
            sched, db = self.scheduler, self._db
            if sched is None or sched.state == STATE_STOPPED or db is None:
                return
            if next_due is False:
                from .scheduling import ScheduleRepository

                try:
                    next_due = ScheduleRepository(db).next_due_time()
                except Exception:  # noqa: BLE001 - the interval job still runs; log and go on
                    log.exception("could not read the next due schedule")
                    return
            self.next_schedule_at = next_due
            if next_due is None:
                if sched.get_job(NEXT_JOB) is not None:
                    sched.remove_job(NEXT_JOB)
                return
            run_at = max(next_due, datetime.now(timezone.utc), not_before or next_due)
            job = sched.get_job(NEXT_JOB)
            if job is not None and job.next_run_time is not None and abs(
                    (job.next_run_time - run_at).total_seconds()) < 0.001:
                return
            sched.add_job(execute_due_job, "date", run_date=run_at, id=NEXT_JOB, name="Execute the next schedule",
                          args=[str(self.registry_path)],
                          kwargs={"settings": self.settings, "stop_event": self.stop_event, "lock": self.publish_lock,
                                  "clock": self.clock},
                          coalesce=True, max_instances=1, misfire_grace_time=3600, replace_existing=True)

    # -- bookkeeping ----------------------------------------------------------------------------------

    def _rearm_later(self, *args, **kwargs) -> None:
        """``schedules_changed`` on the runner's own thread, not the caller's.

        APScheduler calls its listeners while it may hold its job-store lock (a job that finished
        at once reports from inside ``_process_jobs``), and ``schedules_changed`` takes our state
        lock and then that one: re-arming from the listener would wait on a thread that holds
        our lock and waits for APScheduler's (a deadlock CI met in ``resume()``).
        """
        rearm = self._rearm
        if rearm is None:
            return
        try:
            rearm.submit(self.schedules_changed, *args, **kwargs)
        except RuntimeError:  # shut down meanwhile: the runner is stopping
            pass

    def _on_event(self, event: JobExecutionEvent) -> None:
        now = utcnow()
        info = self._jobs.setdefault(event.job_id, {"runs": 0, "errors": 0})
        info["last_run"] = now
        self.heartbeat = now
        if event.code == EVENT_JOB_MISSED:
            info["last_status"] = "missed"
            log.warning("job %s missed its run at %s", event.job_id, event.scheduled_run_time)
            if event.job_id in (EXECUTE_JOB, NEXT_JOB):
                self._rearm_later()
            return
        info["runs"] += 1
        if event.exception is not None:
            info["errors"] += 1
            info["last_status"] = "error"
            info["last_error"] = f"{type(event.exception).__name__}: {event.exception}"
            log.error("job %s failed: %s", event.job_id, info["last_error"])
        else:
            info["last_status"] = "ok"
            info["last_error"] = None
            info["last_result"] = _summary(event.retval)
        if event.job_id in (EXECUTE_JOB, NEXT_JOB):
            retval = event.retval if isinstance(event.retval, dict) else {}
            if retval.get("stopped"):
                return
            if event.exception is not None:
                self._rearm_later(not_before=now + timedelta(seconds=ERROR_BACKOFF_SECONDS))
            elif "next_due" in retval:
                self._rearm_later(retval["next_due"])
            else:
                self._rearm_later()
        elif event.job_id == DISTRIBUTE_JOB:
            self._rearm_later()

    def status(self) -> dict[str, Any]:
        """``{"state", "running", "paused", "heartbeat", "started_at", "next_schedule_at",
        "jobs": {id: {"name", "next_run_time", "last_run", "last_status", "last_error", "runs"}}}``."""
        sched = self.scheduler
        state = "stopped" if sched is None else {STATE_RUNNING: "running", STATE_PAUSED: "paused"}.get(
            sched.state, "stopped")
        jobs: dict[str, Any] = {}
        ids = set(self._jobs)
        if sched is not None:
            ids |= {j.id for j in sched.get_jobs()}
        for job_id in sorted(ids):
            job = sched.get_job(job_id) if sched is not None else None
            info = dict(self._jobs.get(job_id, {"runs": 0, "errors": 0}))
            info["name"] = job.name if job is not None else job_id
            info["next_run_time"] = job.next_run_time if job is not None else None
            jobs[job_id] = info
        return {"state": state, "running": state == "running", "paused": state == "paused",
                "heartbeat": self.heartbeat, "started_at": self.started_at,
                "next_schedule_at": self.next_schedule_at, "jobs": jobs}


def _summary(retval: Any) -> Any:
    if isinstance(retval, dict) and "results" in retval:
        counts: dict[str, int] = {}
        for r in retval["results"]:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        return {"executed": len(retval["results"]), **counts, "next_due": to_iso(retval.get("next_due"))}
    return retval


__all__ = [
    "DISTRIBUTE_JOB", "EXECUTE_JOB", "NEXT_JOB", "RETRY_JOB", "ScheduleRunner", "distribute_job", "execute_due_job",
    "retry_uploads_job", "startup_job",
]
