"""Central orchestration (seed 004): one object the window, the command line, scripts and the
HTTP API drive the whole system through.

:class:`CentralOrchestrationService` wraps the in-app scheduler
(:class:`~orchestration.scheduler_jobs.ScheduleRunner`) and the domain services — channels,
distribution, scheduling, publishing — and adds what needs the whole picture: coordinating
one video across channels, waves of many videos, pipeline triggers, channel monitoring, the
dashboard, and syncing channel configuration files. Every coordination activity is an audit
event (``orchestration.*``; the services it calls record their own decisions too).

Life cycle: :meth:`~CentralOrchestrationService.start` recovers what the last run left and
starts the jobs; :meth:`~CentralOrchestrationService.pause` holds **all** execution and
distribution — the scheduler's jobs, the pipeline queue, and :meth:`distribute_videos` /
:meth:`trigger_pipeline` (refused with a :class:`ConflictError` while paused); creating
schedules is still allowed (they wait). :meth:`~CentralOrchestrationService.resume`
continues; :meth:`~CentralOrchestrationService.stop` waits for the publication in progress to
finish its current step, so nothing is left ``executing``. Pausing a stopped system holds it:
the next start comes up paused.

Results are JSON-ready dicts (times as UTC ISO-8601 text) with the seed's keys, so the API
returns them as they are.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

from database import Database, from_iso, to_iso, utcnow
from database.errors import ConflictError, NotFoundError, ValidationError

from .channels import LIVE_SCHEDULE_STATUSES, Channel, ChannelService
from .scheduling import (
    MIN_SCHEDULE_GAP_SECONDS,
    ScheduleConflict,
    ScheduleConflictError,
    SchedulingService,
    _check_wave,
    _utc,
    find_conflicts,
    insert_schedule,
    notify_changed,
)
from .settings import Settings

log = logging.getLogger("asfs.orchestrator")

TIMINGS = ("simultaneous", "staggered", "independent")
DEFAULT_LEAD_SECONDS = 60  # no scheduled_at: start one minute from now
DEFAULT_DELAY_SECONDS = 3600  # the seed's example spacing for staggered publication
MAX_DELAY_SECONDS = 366 * 86_400
MAX_WAVE_SCHEDULES = 10_000
ON_TIME_SECONDS = 60  # "on time" = published within a minute of the schedule
MAX_HORIZON_DAYS = 3660  # nothing is planned more than ten years ahead
_EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
RECENT_ERROR_HOURS = 24
PAUSE_WAIT_SECONDS = 10.0  # pause() waits this long for the publication in progress to reach a safe point
WAVE_CONFIG_KEYS = ("timing", "scheduled_at", "delay_seconds", "wave_id")
# Schedules that count towards a channel's daily cap (completed ones too).
_CAP_STATUSES = LIVE_SCHEDULE_STATUSES + ("completed",)
_FAILING_UPLOADS = ("FAILED", "FAILED_FINAL", "RATE_LIMITED", "LOGIN_REQUIRED", "BLOCKED", "UNKNOWN")
_ACTOR = "orchestrator"


def _iso(value: Any) -> Any:
    return to_iso(value) if isinstance(value, datetime) else value


def _fmt(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _id_list(value: Any, field: str, what: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    try:
        items = list(value)
    except TypeError:
        raise ValidationError(f"{field} must be a list of {what}", field) from None
    if not items:
        raise ValidationError(f"{field} must name at least one {what.rstrip('s')}", field)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(f"{field} must hold {what} (text), got {item!r}", field)
    return items


def _delay(value: Any, field: str = "delay_seconds") -> float:
    if value is None:
        return float(DEFAULT_DELAY_SECONDS)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_DELAY_SECONDS:
        raise ValidationError(f"{field} must be a number of seconds from 0 to {MAX_DELAY_SECONDS}, got {value!r}",
                              field)
    return float(value)


class CentralOrchestrationService:
    """Seed 004's orchestration service over one registry.

    Args:
        db: the registry.
        clock: "now" (UTC) for every decision; tests inject their own.
        settings: intervals, GitHub settings (default: the data directory's ``settings.json``).
        runner: an existing :class:`ScheduleRunner` to drive (the window's, or headless's);
            default: one made on first use over ``db``'s file.
        dispatcher: sends GitHub ``repository_dispatch`` events (default: from the settings).
        github: the contents client used to push channel configurations (default: from the settings).
    """

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow, *, settings: Settings | None = None,
                 runner=None, dispatcher=None, github=None):
        self.db = db
        self.clock = clock
        self._settings = settings
        self._runner = runner
        self._dispatcher = dispatcher
        self._github = github
        self.channel_service = ChannelService(db, clock=clock)
        self._lock = threading.RLock()  # quick state: the runner's creation, the pipeline jobs
        self._life = threading.RLock()  # start / stop / pause / resume, one at a time
        self._paused = False
        self._since = self._now()
        self._go = threading.Event()  # set while not paused: the pipeline queue may run
        self._go.set()
        self._cancel = threading.Event()  # set by stop(): the pipeline queue drops what is left
        self._queue: ThreadPoolExecutor | None = None
        self._jobs: dict[str, dict[str, Any]] = {}
        self._job_done: dict[str, threading.Event] = {}
        self.pause_wait_seconds = PAUSE_WAIT_SECONDS

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from .settings import load_settings

            self._settings = load_settings(self.db.paths)
        return self._settings

    @property
    def runner(self):
        """The scheduler this service drives (made on first use)."""
        with self._lock:
            if self._runner is None:
                from .scheduler_jobs import ScheduleRunner

                self._runner = ScheduleRunner(self.db.path, settings=self.settings, clock=self.clock)
            return self._runner

    @property
    def scheduling(self) -> SchedulingService:
        return SchedulingService(self.db, self.clock, settings=self.settings, dispatcher=self._dispatcher)

    @property
    def distribution(self):
        from .distribution import VideoDistributionService

        return VideoDistributionService(self.db, clock=self.clock)

    @property
    def dispatcher(self):
        if self._dispatcher is None:
            from .github import GitHubDispatcher

            self._dispatcher = GitHubDispatcher.from_settings(self.settings)
        return self._dispatcher

    def _now(self) -> datetime:
        return _utc(self.clock(), "now")

    def _audit(self, kind: str, message: str, *, subject_type: str = "orchestration", subject_id: str | None = None,
               actor: str = "operator", details: dict[str, Any] | None = None) -> None:
        self.db.audit.record(kind, message, subject_type=subject_type, subject_id=subject_id, actor=actor,
                             details=details)

    def _require_not_paused(self, what: str) -> None:
        if self._paused:
            raise ConflictError(f"Orchestration is paused since {_fmt(self._since)}; resume it before {what}.")

    # -- life cycle -------------------------------------------------------------------------------

    def _running(self) -> bool:
        return self._runner is not None and self._runner.scheduler is not None

    def _executing_here(self) -> int:
        return self.db.query_one("SELECT COUNT(*) FROM schedules WHERE status = 'executing' AND claimed_by LIKE ?",
                                 (f"%:{os.getpid()}:%",))[0]

    def _hold_runner(self) -> None:
        runner = self.runner
        runner.pause()
        # running jobs stop after their current schedule (an upload not yet past its irreversible
        # step is asked to stop, and its schedule goes back to pending)
        runner.stop_event.set()

    def _release_runner(self) -> None:
        runner = self.runner
        runner.stop_event.clear()
        runner.resume()

    def start(self, *, actor: str = "operator") -> dict[str, Any]:
        """Recover what the last run left (uploads, interrupted and missed schedules) and start the jobs.

        Returns:
            ``{"status", "running", "paused", "started_at", "recovery": {"uploads_recovered",
            "interrupted", "missed", "late"}}`` (counts); ``already: True`` when it was running.
        """
        with self._life:
            if self._running():
                return {**self._brief(), "already": True}
            runner = self.runner
            if self._paused:
                # jobs that fire before the hold wait for this lock, then see the stop event and do nothing
                with runner.publish_lock:
                    report = runner.start()
                    self._hold_runner()
            else:
                report = runner.start()
                self._since = self._now()
            recovery = {k: len(report.get(k) or ()) for k in ("uploads_recovered", "interrupted", "missed", "late")}
            self._audit("orchestration.started", "Orchestration started" + (" (paused)" if self._paused else "")
                        + f": {recovery['missed']} missed schedule(s) wait for a decision, {recovery['late']} run late",
                        actor=actor, details={"recovery": recovery})
            return {**self._brief(), "already": False, "recovery": recovery}

    def stop(self, *, actor: str = "operator") -> dict[str, Any]:
        """Stop the jobs and the pipeline queue; the publication in progress finishes its current
        step first, so nothing is left ``executing``.

        Returns:
            ``{"status": "stopped", "running": False, "paused", "executing"}`` (``executing``: schedules
            this process still holds, 0 after a clean stop).
        """
        with self._life:
            was = self._running()
            self._cancel.set()
            with self._lock:
                queue, self._queue = self._queue, None
            if queue is not None:
                queue.shutdown(wait=True, cancel_futures=False)
            self._cancel.clear()
            if self._runner is not None:
                self._runner.stop(wait=True)
            if was:
                self._since = self._now()
            left = self._executing_here()
            if was:
                self._audit("orchestration.stopped", "Orchestration stopped"
                            + (f"; {left} schedule(s) still executing" if left else ""), actor=actor,
                            details={"executing": left})
            if left:
                log.error("%d schedule(s) of this process are still executing after the stop", left)
            return {**self._brief(), "executing": left, "already": not was}

    def pause(self, *, actor: str = "operator") -> dict[str, Any]:
        """Hold all execution and distribution until :meth:`resume` (a stopped system starts paused)."""
        with self._life:
            if self._paused:
                return {**self._brief(), "already": True}
            self._paused = True
            self._go.clear()
            self._since = self._now()
            if self._running():
                self._hold_runner()
        lock = self.runner.publish_lock if self._running() else None
        # wait (bounded) for a publication in progress to reach a safe point
        if lock is not None and lock.acquire(timeout=self.pause_wait_seconds):
            lock.release()
        executing = self._executing_here()
        self._audit("orchestration.paused", "Orchestration paused: nothing is executed or distributed until it is "
                    "resumed", actor=actor, details={"executing": executing})
        return {**self._brief(), "already": False, "executing": executing}

    def resume(self, *, actor: str = "operator") -> dict[str, Any]:
        """Continue after :meth:`pause` (due schedules run at once; missed ones stay for the operator)."""
        with self._life:
            if not self._paused:
                return {**self._brief(), "already": True}
            self._paused = False
            self._since = self._now()
            if self._running():
                self._release_runner()
            self._go.set()
        self._audit("orchestration.resumed", "Orchestration resumed", actor=actor)
        return {**self._brief(), "already": False}

    def _brief(self) -> dict[str, Any]:
        running = self._running()
        status = "paused" if self._paused else ("running" if running else "stopped")
        return {"status": status, "running": running, "paused": self._paused, "since": to_iso(self._since)}

    def get_status(self) -> dict[str, Any]:
        """``running``, ``paused``, ``since`` (when the current state began), the scheduler's jobs
        with their next run times, the heartbeat, and the pipeline queue.

        ``running`` is True while the service is started, paused or not; ``status`` is one of
        ``running`` / ``paused`` / ``stopped``. ``alive`` says the scheduler's heartbeat is recent
        (a job ran within three execute intervals), or it is paused on purpose.
        """
        brief = self._brief()
        st = self._runner.status() if self._runner is not None else {
            "heartbeat": None, "started_at": None, "next_schedule_at": None, "jobs": {}}
        heartbeat = st.get("heartbeat")
        age = (utcnow() - heartbeat).total_seconds() if heartbeat is not None else None
        limit = 3 * float(self.settings.execute_interval_seconds) + 5
        jobs = [{"id": job_id, "name": info.get("name"), "next_run_time": _iso(info.get("next_run_time")),
                 "last_run": _iso(info.get("last_run")), "last_status": info.get("last_status"),
                 "last_error": info.get("last_error"), "runs": info.get("runs", 0), "errors": info.get("errors", 0)}
                for job_id, info in sorted(st.get("jobs", {}).items())]
        with self._lock:
            queue = Counter(j["status"] for j in self._jobs.values())
        return {
            **brief,
            "started_at": _iso(st.get("started_at")) if brief["running"] else None,
            "heartbeat": _iso(heartbeat),
            "heartbeat_age_seconds": round(age, 3) if age is not None else None,
            "alive": brief["running"] and (self._paused or (age is not None and age <= limit)),
            "next_schedule_at": _iso(st.get("next_schedule_at")),
            "jobs": jobs,
            "executing": self.db.query_one("SELECT COUNT(*) FROM schedules WHERE status = 'executing'")[0],
            "pipeline": {"queued": queue.get("queued", 0), "running": queue.get("running", 0),
                         "finished": sum(n for s, n in queue.items() if s not in ("queued", "running"))},
        }

    def __enter__(self) -> "CentralOrchestrationService":
        return self

    def __exit__(self, *exc) -> None:
        self.stop(actor="system")

    # -- planning schedules (coordination and waves) ------------------------------------------------

    def _start_time(self, value: Any, field: str, *, span_seconds: float = 0.0, span_field: str | None = None
                    ) -> datetime:
        """The start of a plan (default: a minute from now), with the plan's last time
        (``span_seconds`` later) inside the ten-year horizon."""
        now = self._now()
        if value is None:
            start = now + timedelta(seconds=DEFAULT_LEAD_SECONDS)
        else:
            shown = value.isoformat() if isinstance(value, datetime) else repr(value)
            try:
                start = _utc(value, field)
            except OverflowError:
                raise ValidationError(f"{field} is out of range, got {shown}", field) from None
            if start < _EARLIEST:
                raise ValidationError(f"{field} {shown} is not a date ASFS schedules (before 1970)", field)
        ahead = (start - now).total_seconds()
        if ahead > MAX_HORIZON_DAYS * 86_400:
            raise ValidationError(f"{field} {_fmt(start)} is more than {MAX_HORIZON_DAYS // 366} years ahead", field)
        if ahead + span_seconds > MAX_HORIZON_DAYS * 86_400:
            raise ValidationError(f"the plan would end more than {MAX_HORIZON_DAYS // 366} years ahead "
                                  f"({span_seconds:g} s after {_fmt(start)}); use a shorter delay",
                                  span_field or field)
        return start

    def _next_slots(self, ch: Channel, after: datetime, count: int) -> list[datetime]:
        """The channel's next ``count`` free posting slots after ``after`` (fewer when it runs out)."""
        svc = self.distribution
        taken = svc._slot_holders(self.db.conn, ch, after)
        out: list[datetime] = []
        for _ in range(count):
            slot = svc._free_slot(ch, after, taken)
            if slot is None:
                break
            out.append(slot)
            taken.append(slot)
        return out

    def _independent_plan(self, channels: list[Channel], videos: list[str], after: datetime, field: str
                          ) -> list[tuple[Channel, str, datetime]]:
        plan, missing = [], []
        for ch in channels:
            slots = self._next_slots(ch, after, len(videos))
            if len(slots) < len(videos):
                why = ("has no posting slots" if not ch.posting_schedule.has_slots else
                       f"has only {len(slots)} free posting slot(s) for {len(videos)} video(s) in the next "
                       f"{self.distribution.horizon_days} days (availability windows and daily cap included)")
                missing.append(ScheduleConflict("no_slot", ch.id, after, f"{ch.name}: {why}"))
                continue
            plan += [(ch, vid, at) for vid, at in zip(videos, slots)]
        if missing:
            raise ScheduleConflictError(missing, field)
        return plan

    def _cap_conflicts(self, tx, plan: Sequence[tuple[Channel, str | None, datetime]]) -> list[ScheduleConflict]:
        """Days on which the plan would put a channel over its daily cap (in the channel's zone)."""
        out: list[ScheduleConflict] = []
        by_channel: dict[str, list[tuple[Channel, datetime]]] = {}
        for ch, _vid, at in plan:
            if ch.daily_cap is not None:
                by_channel.setdefault(ch.id, []).append((ch, at))
        marks = ",".join("?" * len(_CAP_STATUSES))
        for items in by_channel.values():
            ch = items[0][0]
            days = Counter(at.astimezone(ch.zone).date() for _, at in items)
            for day, n in sorted(days.items()):
                lo, hi = ch.day_bounds(day)
                existing = tx.execute(
                    f"SELECT COUNT(*) FROM schedules WHERE channel_id = ? AND status IN ({marks})"
                    " AND scheduled_at >= ? AND scheduled_at < ?", (ch.id, *_CAP_STATUSES, to_iso(lo), to_iso(hi))
                ).fetchone()[0]
                if existing + n > ch.daily_cap:
                    first = min(at for _, at in items if at.astimezone(ch.zone).date() == day)
                    out.append(ScheduleConflict(
                        "daily_cap", ch.id, first,
                        f"{ch.name}: its daily cap of {ch.daily_cap} on {day.isoformat()} ({ch.timezone}) would be "
                        f"exceeded: {existing} already scheduled there + {n} in this request"))
        return out

    def _write_plan(self, plan: list[tuple[Channel, str | None, datetime]], *, schedule_type: str,
                    groups: Mapping[str | None, str | None], wave_id: str | None, field: str,
                    actor: str) -> list[Any]:
        """Insert every (channel, video, time) of a plan, all or nothing.

        The conflict rule is scheduling's :func:`find_conflicts` (past, same video, too close),
        plus the plan against itself and each channel's daily cap; the error lists every conflict.
        """
        now = self._now()
        made: list[tuple[str, Channel, str | None, datetime, str | None]] = []
        with self.db.transaction() as tx:
            conflicts: list[ScheduleConflict] = []
            for i, (ch, vid, at) in enumerate(plan):
                conflicts += find_conflicts(tx, ch.id, at, video_id=vid, gap_seconds=ch.min_spacing_seconds, now=now,
                                            channel_name=ch.name)
                gap = max(ch.min_spacing_seconds, MIN_SCHEDULE_GAP_SECONDS)
                for other_ch, other_vid, other_at in plan[:i]:
                    if other_ch.id != ch.id:
                        continue
                    if vid is not None and vid == other_vid:
                        conflicts.append(ScheduleConflict("same_video", ch.id, at,
                                                          f"{ch.name}: '{vid}' is listed twice in this request", vid))
                    elif abs((at - other_at).total_seconds()) < gap:
                        conflicts.append(ScheduleConflict(
                            "too_close", ch.id, at, f"{ch.name}: {_fmt(at)} and {_fmt(other_at)} in this request are "
                            f"within {gap:g} s of each other", vid))
            conflicts += self._cap_conflicts(tx, plan)
            if conflicts:
                raise ScheduleConflictError(conflicts, field)
            for ch, vid, at in plan:
                did = SchedulingService._waiting_distribution(tx, vid, ch.id, now) if vid else None
                sid = insert_schedule(tx, channel_id=ch.id, scheduled_at=at, video_id=vid, schedule_type=schedule_type,
                                      distribution_id=did, coordination_group_id=groups.get(vid), wave_id=wave_id,
                                      now=now)
                made.append((sid, ch, vid, at, did))
        with self.db.audit.db.transaction():
            for sid, ch, vid, at, did in made:
                local = at.astimezone(ch.zone).isoformat(timespec="minutes")
                self._audit("schedule.created", f"{schedule_type.capitalize()} schedule: '{vid}' on {ch.name} at "
                            f"{_fmt(at)} ({local} {ch.timezone})", subject_type="schedule", subject_id=sid,
                            actor=actor, details={"video_id": vid, "channel_id": ch.id, "scheduled_at": to_iso(at),
                                                  "local_time": local, "schedule_type": schedule_type,
                                                  "wave_id": wave_id, "coordination_group_id": groups.get(vid),
                                                  "distribution_id": did})
        notify_changed()
        from .scheduling import ScheduleRepository

        return ScheduleRepository(self.db, clock=self.clock).get_many([m[0] for m in made])

    def coordinate_publication(self, video_id: str, channel_ids: Iterable[str], timing: str = "simultaneous",
                               scheduled_at: datetime | str | None = None, delay_seconds: float | None = None, *,
                               actor: str = "operator") -> dict[str, Any]:
        """Schedule one video on several channels, coordinated.

        Args:
            timing: ``simultaneous`` — every channel at ``scheduled_at``; ``staggered`` — channel
                *i* (in the order given) at ``scheduled_at + i × delay_seconds``; ``independent``
                — each channel at its own next free posting slot after ``scheduled_at``.
            scheduled_at: the start (naive = UTC; default: one minute from now).
            delay_seconds: the stagger (default 3600).
        Returns:
            ``{"coordination_group_id", "video_id", "timing", "count", "schedules": [...]}``.
        Raises:
            VideoNotFoundError / ChannelNotFoundError (unknown ids), ValidationError (bad values),
            ScheduleConflictError (past time, same video, too close, daily cap, no slot — every one
            listed; nothing written).
        """
        if timing not in TIMINGS:
            raise ValidationError(f"timing must be one of {', '.join(TIMINGS)}, got {timing!r}", "timing")
        sched = self.scheduling
        video_id = sched._video(video_id, required=True)
        channels = sched._channels(_id_list(channel_ids, "channel_ids", "channel ids"))
        delay = _delay(delay_seconds)
        span = (len(channels) - 1) * delay if timing == "staggered" else 0.0
        start = self._start_time(scheduled_at, "scheduled_at", span_seconds=span, span_field="delay_seconds")
        if timing == "simultaneous":
            plan = [(ch, video_id, start) for ch in channels]
        elif timing == "staggered":
            plan = [(ch, video_id, start + timedelta(seconds=i * delay)) for i, ch in enumerate(channels)]
        else:
            after = start if scheduled_at is not None else self._now()
            plan = self._independent_plan(channels, [video_id], after, "scheduled_at")
        group = uuid.uuid4().hex
        made = self._write_plan(plan, schedule_type=timing, groups={video_id: group}, wave_id=None,
                                field="scheduled_at", actor=actor)
        self._audit("orchestration.publication_coordinated",
                    f"'{video_id}' coordinated {timing} on {len(made)} channel(s): "
                    + ", ".join(f"{s.channel_name} at {_fmt(s.scheduled_at)}" for s in made),
                    subject_type="coordination_group", subject_id=group, actor=actor,
                    details={"video_id": video_id, "timing": timing, "delay_seconds": delay if timing == "staggered"
                             else None, "schedules": [s.id for s in made]})
        return {"coordination_group_id": group, "video_id": video_id, "timing": timing, "count": len(made),
                "schedules": [s.to_dict() for s in made]}

    def schedule_wave_publication(self, video_ids: Iterable[str], channel_ids: Iterable[str],
                                  wave_config: Mapping[str, Any] | None = None, *,
                                  actor: str = "operator") -> dict[str, Any]:
        """Publish every video on every channel as one wave (one ``wave_id``), all or nothing.

        ``wave_config``: ``timing`` (``simultaneous`` by default, ``staggered``, ``independent``),
        ``scheduled_at`` (the start; naive = UTC; default one minute from now), ``delay_seconds``
        (default 3600) and optionally ``wave_id``. With videos V0..Vn-1 and channels C0..Cm-1 in
        the order given, the start *t0* and the delay *d*:

        * ``simultaneous``: every channel posts the same video at the same moment, one video
          after another: Vi on every channel at ``t0 + i·d``;
        * ``staggered``: one publication every *d*, channel by channel within each video, then
          the next video: Vi on Cj at ``t0 + (i·m + j)·d``, so no two posts of the wave are
          closer than *d* and each channel posts every ``m·d``;
        * ``independent``: each channel posts the videos in order at its own next free posting
          slots after ``t0`` (its zone, availability windows and daily cap).

        Each video's schedules share a coordination group; all share the wave id.

        Returns:
            ``{"wave_id", "timing", "video_count", "channel_count", "schedule_count",
            "first_at", "last_at", "schedules": [...]}``.
        Raises:
            VideoNotFoundError / ChannelNotFoundError, ValidationError (bad values, a video listed
            twice, too many schedules), ConflictError (the wave id is taken),
            ScheduleConflictError (past time, same video, too close, a daily cap, no free slot:
            every conflict named with its channel; nothing is written).
        """
        config = dict(wave_config or {}) if isinstance(wave_config, Mapping) or wave_config is None else None
        if config is None:
            raise ValidationError("wave_config must be an object (timing, scheduled_at, delay_seconds)", "wave_config")
        unknown = sorted(str(k) for k in config if k not in WAVE_CONFIG_KEYS)
        if unknown:
            raise ValidationError(f"wave_config has unknown key(s): {', '.join(unknown)}; known: "
                                  f"{', '.join(WAVE_CONFIG_KEYS)}", f"wave_config.{unknown[0]}")
        timing = config.get("timing") or "simultaneous"
        if timing not in TIMINGS:
            raise ValidationError(f"wave_config.timing must be one of {', '.join(TIMINGS)}, got {timing!r}",
                                  "wave_config.timing")
        delay = _delay(config.get("delay_seconds"), "wave_config.delay_seconds")
        try:
            wave_id = _check_wave(config.get("wave_id")) or uuid.uuid4().hex
        except ValidationError as exc:
            raise ValidationError(str(exc), "wave_config.wave_id") from None
        vids = _id_list(video_ids, "video_ids", "video ids")
        twice = sorted(v for v, n in Counter(vids).items() if n > 1)
        if twice:
            raise ValidationError(f"video_ids lists {', '.join(map(repr, twice))} more than once", "video_ids")
        refs = _id_list(channel_ids, "channel_ids", "channel ids")
        if len(vids) * len(refs) > MAX_WAVE_SCHEDULES:
            raise ValidationError(f"a wave may have at most {MAX_WAVE_SCHEDULES} schedules "
                                  f"({len(vids)} videos × {len(refs)} channels)", "video_ids")
        sched = self.scheduling
        vids = [sched._video(v, required=True) for v in vids]
        channels = sched._channels(refs)
        if self.db.query_one("SELECT 1 FROM schedules WHERE wave_id = ? LIMIT 1", (wave_id,)):
            raise ConflictError(f"Wave id '{wave_id}' is already used; choose another or leave it out.")
        m = len(channels)
        steps = {"simultaneous": len(vids) - 1, "staggered": len(vids) * m - 1}.get(timing, 0)
        start = self._start_time(config.get("scheduled_at"), "wave_config.scheduled_at", span_seconds=steps * delay,
                                 span_field="wave_config.delay_seconds")
        if timing == "simultaneous":
            plan = [(ch, v, start + timedelta(seconds=i * delay)) for i, v in enumerate(vids) for ch in channels]
        elif timing == "staggered":
            plan = [(ch, v, start + timedelta(seconds=(i * m + j) * delay))
                    for i, v in enumerate(vids) for j, ch in enumerate(channels)]
        else:
            after = start if config.get("scheduled_at") is not None else self._now()
            plan = self._independent_plan(channels, vids, after, "wave_config.scheduled_at")
        groups = {v: uuid.uuid4().hex for v in vids}
        made = self._write_plan(plan, schedule_type=timing, groups=groups, wave_id=wave_id,
                                field="wave_config.scheduled_at", actor=actor)
        times = [s.scheduled_at for s in made]
        result = {"wave_id": wave_id, "timing": timing, "video_count": len(vids), "channel_count": m,
                  "schedule_count": len(made), "delay_seconds": delay if timing != "independent" else None,
                  "first_at": to_iso(min(times)), "last_at": to_iso(max(times)),
                  "schedules": [s.to_dict() for s in made]}
        self._audit("orchestration.wave_scheduled",
                    f"Wave {wave_id}: {len(vids)} video(s) × {m} channel(s), {timing}, {len(made)} schedule(s) from "
                    f"{_fmt(min(times))} to {_fmt(max(times))}", subject_type="wave", subject_id=wave_id, actor=actor,
                    details={k: v for k, v in result.items() if k != "schedules"}
                    | {"videos": vids, "channels": [c.id for c in channels], "schedules": [s.id for s in made]})
        return result

    # -- pipeline triggers -------------------------------------------------------------------------

    def trigger_pipeline(self, channel_id: str, video_id: str | None = None, *,
                         actor: str = "operator") -> dict[str, Any]:
        """Run a channel's pipeline now: through GitHub Actions when the channel has a repository,
        otherwise through the local publishing queue.

        GitHub: a ``repository_dispatch`` (``process-video``) with ``{"channel_id", "video_id",
        "trigger": "manual"}`` (``video_id`` null: the workflow picks its next video).
        Local: with ``video_id``, that video is published on the channel (its assignment is
        used, or one is made by hand — refused as a duplicate when it is already there); without
        it, every assignment of the channel still waiting for a time is published. The work runs
        in the background, one job at a time, held while paused; follow it with
        :meth:`pipeline_job` / :meth:`wait_for_pipeline`.

        Returns:
            ``{"method": "github_actions" | "local_queue", "status": "dispatched" | "queued" |
            "idle", "channel_id", "video_id", ...}`` (``job_id`` and ``items`` for the queue).
        Raises:
            ChannelNotFoundError / VideoNotFoundError, ValidationError, ConflictError (paused,
            channel unavailable, duplicate), GitHubDispatchError (GitHub refused or unreachable).
        """
        self._require_not_paused("triggering a pipeline")
        ch = self.channel_service.get_channel(channel_id)
        if video_id is not None:
            video_id = self.scheduling._video(video_id, required=True)
        ok, why = ch.availability(self._now(), check_window=False)
        if not ok:
            raise ConflictError(f"Cannot trigger {ch.name}'s pipeline: {why}.")
        base = {"channel_id": ch.id, "channel_name": ch.name, "video_id": video_id}
        if ch.github_repo_url:
            from .github import EVENT_TYPE

            payload = {"channel_id": ch.id, "video_id": video_id, "trigger": "manual"}
            result = self.dispatcher.dispatch(ch.github_repo_url, payload, event_type=EVENT_TYPE)
            out = {**base, "method": "github_actions", "status": "dispatched",
                   "repository": f"{result.owner}/{result.repo}"}
            self._audit("orchestration.pipeline_triggered", f"Pipeline of {ch.name} triggered on GitHub "
                        f"({out['repository']})" + (f" for '{video_id}'" if video_id else ""), subject_type="channel",
                        subject_id=ch.id, actor=actor, details=out)
            return out
        items = self._queue_items(ch, video_id, actor)
        if not items:
            out = {**base, "method": "local_queue", "status": "idle", "items": 0,
                   "message": f"Nothing is waiting for {ch.name}: no assignment without a schedule."}
            self._audit("orchestration.pipeline_triggered", f"Pipeline of {ch.name} triggered: nothing waiting",
                        subject_type="channel", subject_id=ch.id, actor=actor, details=out)
            return out
        job_id = uuid.uuid4().hex
        job = {**base, "job_id": job_id, "method": "local_queue", "status": "queued", "items": len(items),
               "distributions": items, "results": [], "queued_at": to_iso(self._now()), "finished_at": None}
        queued = {k: v for k, v in job.items() if k != "results"}
        with self._lock:
            self._jobs[job_id] = job
            self._job_done[job_id] = threading.Event()
            for old in list(self._jobs)[:-100]:  # keep the last hundred
                if self._jobs[old]["status"] not in ("queued", "running"):
                    self._jobs.pop(old)
                    self._job_done.pop(old, None)
            if self._queue is None:
                self._queue = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asfs-pipeline")
            self._queue.submit(self._run_job, job_id, actor, self.runner.publish_lock)
        self._audit("orchestration.pipeline_triggered", f"Pipeline of {ch.name} queued: {len(items)} publication(s)"
                    + (f" of '{video_id}'" if video_id else ""), subject_type="channel", subject_id=ch.id, actor=actor,
                    details=queued)
        return queued

    def _queue_items(self, ch: Channel, video_id: str | None, actor: str) -> list[str]:
        """The distributions the local queue publishes for this trigger."""
        svc = self.distribution
        if video_id is None:
            with self.db.snapshot() as conn:
                return [d.id for d in svc._waiting_assignments(conn, [ch.id]).get(ch.id, [])]
        row = self.db.query_one("SELECT id FROM distributions WHERE video_id = ? AND channel_id = ? AND status IN"
                                " ('assigned', 'scheduled') ORDER BY status = 'scheduled', created_at LIMIT 1",
                                (video_id, ch.id))
        if row is not None:
            return [row[0]]
        made = svc.manual_distribute(video_id, [ch.id], actor=actor, note="pipeline trigger")
        if not made:
            reason = made.skipped[0]["reason"] if made.skipped else "refused"
            raise ConflictError(f"'{video_id}' cannot go to {ch.name} now: {reason.removesuffix(' (use force to override)')}")
        return [made[0].id]

    def _run_job(self, job_id: str, actor: str, lock: threading.Lock) -> None:
        from .distribution import VideoDistributionService

        job = self._jobs[job_id]
        db = Database.open(self.db.path)
        try:
            svc = VideoDistributionService(db, clock=self.clock)
            job["status"] = "running"
            for did in job["distributions"]:
                if not self._wait_turn(lock):
                    job["results"].append({"distribution_id": did, "status": "cancelled"})
                    continue
                try:
                    dist = svc.publish_distribution(did, actor=actor)
                    job["results"].append({"distribution_id": did, "video_id": dist.video_id, "status": dist.status,
                                           "error": dist.error_message})
                except Exception as exc:  # noqa: BLE001 - one failure must not stop the queue
                    log.exception("pipeline job %s: distribution %s failed", job_id, did)
                    job["results"].append({"distribution_id": did, "status": "failed",
                                           "error": f"{type(exc).__name__}: {exc}"})
                finally:
                    lock.release()
            statuses = Counter(r["status"] for r in job["results"])
            job["status"] = ("cancelled" if statuses.get("cancelled") else
                             "completed" if statuses.get("published", 0) == len(job["results"]) else "failed")
            job["finished_at"] = to_iso(self._now())
            db.audit.record("orchestration.pipeline_finished",
                            f"Pipeline job {job_id} on {job['channel_name']}: {job['status']} "
                            f"({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))})",
                            subject_type="channel", subject_id=job["channel_id"], actor=actor,
                            details={"job_id": job_id, "results": job["results"]})
        except Exception as exc:  # noqa: BLE001 - recorded on the job; the queue goes on
            log.exception("pipeline job %s failed", job_id)
            job["status"], job["error"] = "failed", f"{type(exc).__name__}: {exc}"
            job["finished_at"] = to_iso(self._now())
        finally:
            db.close()
            done = self._job_done.get(job_id)
            if done is not None:
                done.set()

    def _wait_turn(self, lock: threading.Lock) -> bool:
        """Wait while paused, then take the publishing lock; False when stopping (lock not taken)."""
        while True:
            if self._cancel.is_set():
                return False
            if not self._go.wait(0.2):
                continue
            if lock.acquire(timeout=0.2):
                if self._go.is_set() and not self._cancel.is_set():
                    return True
                lock.release()  # paused or stopped while we waited for the lock

    def pipeline_job(self, job_id: str) -> dict[str, Any]:
        """A queued pipeline job: status (queued, running, completed, failed, cancelled) and results."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise NotFoundError(f"Pipeline job '{job_id}' is not known (only the last hundred are kept).")
            return {**job, "results": list(job["results"])}

    def wait_for_pipeline(self, job_id: str, timeout: float | None = None) -> dict[str, Any]:
        """Block until a pipeline job has finished (or ``timeout`` seconds); returns :meth:`pipeline_job`."""
        done = self._job_done.get(job_id)
        if done is None:
            return self.pipeline_job(job_id)
        done.wait(timeout)
        return self.pipeline_job(job_id)

    # -- distribution ----------------------------------------------------------------------------

    def distribute_videos(self, *, actor: str = "operator") -> dict[str, Any]:
        """Automatic distribution now: by content filters, then into the channels' posting slots.

        Returns:
            ``{"total_distributed", "by_filters", "by_schedule", "skipped", "synced_published"}``
            (``total_distributed`` counts distinct distributions: an assignment by filters that
            the slot pass then scheduled counts once).
        Raises:
            ConflictError: orchestration is paused.
        """
        self._require_not_paused("distributing videos")
        svc = self.distribution
        by_filters = svc.auto_distribute_by_filters(actor=actor)
        by_schedule = svc.auto_distribute_by_schedule(actor=actor)
        published = svc.sync_with_uploads(actor=actor)
        ids = {d.id for d in by_filters} | {d.id for d in by_schedule}
        out = {"total_distributed": len(ids), "by_filters": len(by_filters), "by_schedule": len(by_schedule),
               "skipped": len(by_filters.skipped) + len(by_schedule.skipped), "synced_published": published}
        self._audit("orchestration.distributed", f"Distributed {len(ids)} video assignment(s): {len(by_filters)} by "
                    f"filters, {len(by_schedule)} by schedule", actor=actor, details=out)
        return out

    # -- monitoring -----------------------------------------------------------------------------

    def _upload_counts(self) -> dict[str, Counter]:
        out: dict[str, Counter] = {}
        for r in self.db.query("SELECT channel_id, upload_status, COUNT(*) AS n FROM video_uploads"
                               " GROUP BY channel_id, upload_status"):
            out.setdefault(r["channel_id"], Counter())[r["upload_status"]] = r["n"]
        return out

    def _last_publications(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for r in self.db.query("SELECT channel_id, video_id, MAX(upload_timestamp) AS at, platform_post_id, post_url"
                               " FROM video_uploads WHERE upload_status = 'SUCCESS' GROUP BY channel_id"):
            out[r["channel_id"]] = {"video_id": r["video_id"], "at": r["at"], "post_id": r["platform_post_id"],
                                    "post_url": r["post_url"], "via": "upload"}
        # channels published by GitHub Actions: the last dispatched schedule
        for r in self.db.query("SELECT s.channel_id, s.video_id, MAX(s.executed_at) AS at FROM schedules s JOIN"
                               " channels c ON c.id = s.channel_id WHERE s.status = 'completed' AND"
                               " c.github_repo_url IS NOT NULL GROUP BY s.channel_id"):
            cur = out.get(r["channel_id"])
            if cur is None or (r["at"] or "") > (cur["at"] or ""):
                out[r["channel_id"]] = {"video_id": r["video_id"], "at": r["at"], "post_id": None, "post_url": None,
                                        "via": "github_actions"}
        return out

    def _recent_errors(self, since: datetime) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        rows = self.db.query(
            "SELECT channel_id, video_id, upload_status AS status, error_kind AS kind, error_message AS error,"
            " updated_at AS at, 'upload' AS source FROM video_uploads WHERE error_message IS NOT NULL"
            f" AND upload_status IN ({','.join('?' * len(_FAILING_UPLOADS))}) AND updated_at >= ?"
            " UNION ALL SELECT channel_id, video_id, status, NULL, error_message, updated_at, 'schedule'"
            " FROM schedules WHERE status IN ('failed', 'missed') AND error_message IS NOT NULL AND updated_at >= ?"
            " ORDER BY at DESC", (*_FAILING_UPLOADS, to_iso(since), to_iso(since)))
        for r in rows:
            out.setdefault(r["channel_id"], []).append(dict(r))
        return out

    def monitor_channels(self) -> list[dict[str, Any]]:
        """Every channel's ``name``, ``status``, ``health``, ``statistics`` and ``last_publication``.

        ``health``: ``state`` (``ok`` / ``warning`` / ``critical``) with the ``issues`` behind it,
        the login state, the rate-limit cool-down (``rate_limited_until``, ``cooling_down``),
        errors of the last 24 hours (``recent_errors``, newest first, at most five, and
        ``recent_error_count``), uploads with an unknown outcome, and the repository (with
        whether a GitHub token is configured). ``statistics``: distributions (total, published,
        failed, success rate), uploads by state, pending schedules and the next one.
        """
        now = self._now()
        channels = self.channel_service.list_channels()
        dist = self.distribution.get_distribution_statistics()["by_channel"]
        uploads = self._upload_counts()
        last = self._last_publications()
        errors = self._recent_errors(now - timedelta(hours=RECENT_ERROR_HOURS))
        pending: dict[str, tuple[int, str | None]] = {
            r["channel_id"]: (r["n"], r["next_at"]) for r in self.db.query(
                "SELECT channel_id, COUNT(*) AS n, MIN(scheduled_at) AS next_at FROM schedules"
                " WHERE status IN ('pending', 'scheduled') GROUP BY channel_id")}
        has_token = bool(self.settings.github_token)
        out = []
        for ch in channels:
            issues: list[str] = []
            critical = False
            cooling = ch.rate_limited_until is not None and ch.rate_limited_until > now
            if ch.login_state == "required":
                issues.append("login required: log in to this account again, then resume the channel")
                critical = True
            if cooling:
                issues.append(f"rate limited: cooling down until {_fmt(ch.rate_limited_until)}")
            counts = uploads.get(ch.id, Counter())
            if counts.get("UNKNOWN"):
                issues.append(f"{counts['UNKNOWN']} upload(s) with an unknown outcome: check the channel")
            recent = errors.get(ch.id, [])
            if recent:
                issues.append(f"{len(recent)} error(s) in the last {RECENT_ERROR_HOURS} hours")
            repo = None
            if ch.github_repo_url:
                repo = {"url": ch.github_repo_url, "token_configured": has_token}
                if not has_token:
                    issues.append("publishes through GitHub but no GitHub token is configured")
                    critical = True
            state = "critical" if critical else ("warning" if issues else "ok")
            d = dist.get(ch.id, {})
            n_pending, next_at = pending.get(ch.id, (0, None))
            out.append({
                "channel_id": ch.id, "name": ch.name, "platform": ch.platform, "status": ch.status,
                "status_reason": ch.status_reason, "priority": ch.priority,
                "health": {
                    "state": state, "issues": issues, "login_state": ch.login_state,
                    "login_required": ch.login_state == "required",
                    "rate_limited_until": to_iso(ch.rate_limited_until), "cooling_down": cooling,
                    "cool_down_seconds_left": round((ch.rate_limited_until - now).total_seconds()) if cooling else 0,
                    "recent_errors": recent[:5], "recent_error_count": len(recent),
                    "unknown_outcomes": counts.get("UNKNOWN", 0), "repository": repo,
                },
                "statistics": {
                    "distributions": d.get("total", 0), "published": d.get("published", 0) or 0,
                    "failed": d.get("failed", 0) or 0, "success_rate": d.get("success_rate", 0.0),
                    "uploads": dict(counts), "pending_schedules": n_pending, "next_schedule_at": next_at,
                },
                "last_publication": last.get(ch.id),
            })
        return out

    def get_dashboard_data(self) -> dict[str, Any]:
        """Everything the dashboard shows, in one call.

        Keys: ``system.status`` (:meth:`get_status`); ``channels`` (``total``, ``active``,
        ``paused``, ``inactive``, ``by_platform``); ``statistics.overall`` (the distribution
        statistics: ``total``, ``by_status``, ``success_rate``, ...) and
        ``statistics.publications`` (``today`` since 00:00 UTC, ``week`` over the last 7 days,
        ``success_rate`` of the schedules that finished in the week, ``on_time_rate``: of those
        completed, the share that completed within a minute of their time); ``schedules``
        (``pending`` = pending + scheduled, ``by_status``, ``next``); ``attention``: what needs
        the operator — ``missed_schedules``, ``unknown_outcomes``, ``logins_needed``,
        ``cooling_down``, ``failures_by_kind`` and ``total``.
        """
        from .scheduling import ScheduleRepository

        now = self._now()
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        week_start = now - timedelta(days=7)
        channels = self.channel_service.list_channels()
        by_status = ScheduleRepository(self.db).count_by_status()
        today = self.db.query_one("SELECT COUNT(*) FROM video_uploads WHERE upload_status = 'SUCCESS'"
                                  " AND upload_timestamp >= ?", (to_iso(day_start),))[0]
        week = self.db.query_one("SELECT COUNT(*) FROM video_uploads WHERE upload_status = 'SUCCESS'"
                                 " AND upload_timestamp >= ?", (to_iso(week_start),))[0]
        done = self.db.query("SELECT status, scheduled_at, executed_at FROM schedules WHERE executed_at >= ?"
                             " AND (status = 'completed' OR (status = 'failed' AND next_attempt_at IS NULL))",
                             (to_iso(week_start),))
        completed = [r for r in done if r["status"] == "completed"]
        on_time = sum(1 for r in completed if (from_iso(r["executed_at"]) - from_iso(r["scheduled_at"]))
                      <= timedelta(seconds=ON_TIME_SECONDS))
        missed = [dict(r) for r in self.db.query(
            "SELECT s.id AS schedule_id, s.video_id, s.channel_id, c.name AS channel_name, s.scheduled_at, s.wave_id,"
            " s.error_message FROM schedules s LEFT JOIN channels c ON c.id = s.channel_id WHERE s.status = 'missed'"
            " ORDER BY s.scheduled_at LIMIT 100")]
        n_missed = by_status.get("missed", 0)
        unknown = [dict(r) for r in self.db.query(
            "SELECT u.video_id, u.channel_id, c.name AS channel_name, u.error_message, u.updated_at FROM video_uploads u"
            " LEFT JOIN channels c ON c.id = u.channel_id WHERE u.upload_status = 'UNKNOWN' ORDER BY u.updated_at"
            " LIMIT 100")]
        logins = [{"channel_id": c.id, "name": c.name, "platform": c.platform, "status": c.status}
                  for c in channels if c.login_state == "required"]
        cooling = [{"channel_id": c.id, "name": c.name, "rate_limited_until": to_iso(c.rate_limited_until)}
                   for c in channels if c.rate_limited_until is not None and c.rate_limited_until > now]
        failures = {r["kind"] or "unknown": r["n"] for r in self.db.query(
            "SELECT error_kind AS kind, COUNT(*) AS n FROM video_uploads WHERE upload_status IN"
            " ('FAILED', 'FAILED_FINAL', 'RATE_LIMITED', 'LOGIN_REQUIRED') GROUP BY error_kind")}
        failed_schedules = self.db.query_one("SELECT COUNT(*) FROM schedules WHERE status = 'failed'"
                                             " AND next_attempt_at IS NULL")[0]
        if failed_schedules:
            failures["schedule_failed"] = failed_schedules
        nxt = ScheduleRepository(self.db)._many("s.status IN ('pending', 'scheduled')", limit=10)
        platforms = Counter(c.platform for c in channels)
        return {
            "generated_at": to_iso(now),
            "system": {"status": self.get_status()},
            "channels": {"total": len(channels), "active": sum(c.status == "active" for c in channels),
                         "paused": sum(c.status == "paused" for c in channels),
                         "inactive": sum(c.status == "inactive" for c in channels), "by_platform": dict(platforms)},
            "statistics": {
                "overall": self.distribution.get_distribution_statistics(),
                "publications": {"today": today, "week": week, "finished_week": len(done),
                                 "success_rate": _pct(len(completed), len(done)),
                                 "on_time": on_time, "on_time_rate": _pct(on_time, len(completed))},
            },
            "schedules": {"pending": by_status.get("pending", 0) + by_status.get("scheduled", 0),
                          "by_status": by_status, "missed": n_missed,
                          "next": [{"schedule_id": s.id, "video_id": s.video_id, "channel_id": s.channel_id,
                                    "channel_name": s.channel_name, "scheduled_at": to_iso(s.scheduled_at),
                                    "schedule_type": s.schedule_type, "wave_id": s.wave_id} for s in nxt]},
            "attention": {"missed_schedules": missed, "unknown_outcomes": unknown, "logins_needed": logins,
                          "cooling_down": cooling, "failures_by_kind": failures,
                          "total": n_missed + len(unknown) + len(logins) + len(cooling)},
        }

    # -- configuration ---------------------------------------------------------------------------

    def sync_channel_configs(self, *, actor: str = "config-sync") -> dict[str, Any]:
        """Reconcile ``<data dir>/channels/`` with the registry both ways and push each
        configuration to its channel's repository (the rule: :mod:`orchestration.channel_configs`).

        Returns:
            ``{"synced", "errors", "created", "updated", "written", "unchanged", "removed", "pushed",
            "directory"}``.
        """
        from .channel_configs import GitHubContents, sync_channel_configs

        github = self._github or GitHubContents.from_settings(self.settings)
        result = sync_channel_configs(self.db, settings=self.settings, clock=self.clock, github=github, actor=actor)
        self._audit("orchestration.configs_synced",
                    f"Channel configs synced: {result['synced']} in step, {len(result['errors'])} error(s)",
                    actor=actor, details={k: v for k, v in result.items()})
        return result


__all__ = ["CentralOrchestrationService", "DEFAULT_DELAY_SECONDS", "DEFAULT_LEAD_SECONDS", "TIMINGS"]
