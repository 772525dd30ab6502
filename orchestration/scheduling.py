"""Scheduling: when each video goes out on each channel (seed 002), and executing it.

Three kinds of schedule, all rows of ``schedules`` (times in UTC; naive datetimes are UTC):

``simultaneous``
    one video on several channels at the same instant; the rows share a
    ``coordination_group_id`` (and optionally a ``wave_id``).
``staggered``
    one video on several channels, channel *i* at ``start + i × delay`` in the order given;
    the rows share a ``coordination_group_id``.
``independent``
    one slot on one channel, with or without a video (an empty slot is filled later by
    :meth:`SchedulingService.assign_video`, or at execution time from the channel's
    assignments waiting for a slot). :meth:`SchedulingService.create_slot_schedules` makes
    them from the channel's posting slots, in the channel's zone, at the same local time
    across daylight-saving changes.

**One conflict rule** (:func:`find_conflicts`, also used by distribution): a time in the
past; the same video twice on one channel; two schedules on one channel less than a minute
apart (or the channel's ``min_spacing_seconds``, when larger). Creating a group is all or
nothing, and :class:`ScheduleConflictError` lists every conflict. **One writer**
(:func:`insert_schedule`).

**Execution** (:meth:`SchedulingService.execute_pending_schedules`): every due schedule is
claimed with one conditional UPDATE inside ``BEGIN IMMEDIATE`` (``executing``), so two
executors — threads or processes — never both run it; then it is published through the
publishing core (or dispatched to GitHub Actions for channels with ``github_repo_url``) and
recorded ``completed`` or ``failed`` with its error. A failure that may pass (network,
rate limit, daily cap, an unavailable channel) is retried with exponential backoff until
``schedule_max_attempts`` executions; the schedule stays ``failed`` with ``next_attempt_at``
set meanwhile, and without it once the attempts are used up. A linked distribution follows:
``published`` on success, ``failed`` with the error on failure.

**Missed schedules** (:meth:`SchedulingService.recover`, run at start-up): schedules that
were due while nothing ran are executed late inside ``missed_grace_seconds``; older ones
become ``missed`` — never published silently — and wait for the operator:
:meth:`~SchedulingService.publish_missed_now`, :meth:`~SchedulingService.shift_wave`
(keeping the stagger) or :meth:`~SchedulingService.skip_missed`.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from contextlib import nullcontext
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

from database import Database, from_iso, to_iso, utcnow
from database.channels import resolve_channel
from database.errors import ConflictError, NotFoundError, ValidationError, VideoNotFoundError
from database.uploads import DEFAULT_POLICY

from .bulk import bulk_writes
from .channels import LIVE_SCHEDULE_STATUSES, Channel, ChannelService

log = logging.getLogger("asfs.scheduling")

SCHEDULE_TYPES = ("simultaneous", "staggered", "independent")
SCHEDULE_STATUSES = ("pending", "scheduled", "paused", "executing", "completed", "failed", "cancelled", "missed")
RUNNABLE_STATUSES = ("pending", "scheduled")
MIN_SCHEDULE_GAP_SECONDS = 60  # seed 002: two schedules on one channel within one minute conflict
# A schedule of the video in one of these states occupies its channel: a second one is a conflict.
# (A failed one counts while it still has a retry coming; missed ones wait for the operator.)
_SAME_VIDEO_STATUSES = LIVE_SCHEDULE_STATUSES + ("missed",)
# Outcomes a later attempt cannot change: the schedule fails at once, without retries.
_FINAL_CODES = frozenset({
    "duplicate", "duplicate_content", "duplicate_source", "unknown_video", "unknown_channel", "invalid_video",
    "failed_final", "outcome_unknown", "permanent", "bad_metadata", "empty_slot", "login_required",
    "github_refused",
})
_SCHEDULER_ACTOR = "scheduler"
# The WAL size (pages) at which a long run of schedules copies it back (see execute_pending_schedules):
# measured against 1,000 (SQLite's default) and 10,000 on 3,000 schedules; 4,000 pages is 16 MB.
_RUN_WAL_PAGES = 4000


# -- change notification -----------------------------------------------------------------------------

_listeners: list[Callable[[], None]] = []
_listeners_lock = threading.Lock()


def add_change_listener(fn: Callable[[], None]) -> None:
    """Call ``fn()`` after this process changes when schedules run (the runner re-arms its timer)."""
    with _listeners_lock:
        if fn not in _listeners:
            _listeners.append(fn)


def remove_change_listener(fn: Callable[[], None]) -> None:
    with _listeners_lock:
        if fn in _listeners:
            _listeners.remove(fn)


def notify_changed() -> None:
    with _listeners_lock:
        targets = list(_listeners)
    for fn in targets:
        try:
            fn()
        except Exception:  # noqa: BLE001 - a listener's bug must not undo a committed change
            log.exception("schedule change listener failed")


# -- records -------------------------------------------------------------------------------------------


@dataclass
class Schedule:
    """One ``schedules`` row (seed 002's attribute names). ``scheduled_at`` is an aware UTC datetime.

    Mutable so the seed's ``schedule.status = "pending"; schedule_repo.update(schedule)`` works.
    """

    id: str
    video_id: str | None
    channel_id: str
    scheduled_at: datetime
    schedule_type: str
    status: str
    attempts: int = 0
    error_message: str | None = None
    wave_id: str | None = None
    coordination_group_id: str | None = None
    distribution_id: str | None = None
    next_attempt_at: datetime | None = None
    claimed_by: str | None = None
    executed_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    channel_name: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Schedule":
        r = dict(row)
        return cls(
            id=r["id"], video_id=r["video_id"], channel_id=r["channel_id"], scheduled_at=from_iso(r["scheduled_at"]),
            schedule_type=r["schedule_type"], status=r["status"], attempts=int(r["attempts"] or 0),
            error_message=r["error_message"], wave_id=r["wave_id"], coordination_group_id=r["coordination_group_id"],
            distribution_id=r["distribution_id"], next_attempt_at=from_iso(r["next_attempt_at"]),
            claimed_by=r["claimed_by"], executed_at=from_iso(r["executed_at"]), created_at=from_iso(r["created_at"]),
            updated_at=from_iso(r["updated_at"]), channel_name=r.get("channel_name"),
        )

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_SCHEDULE_STATUSES

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("scheduled_at", "next_attempt_at", "executed_at", "created_at", "updated_at"):
            d[key] = to_iso(d[key])
        return d


class ScheduleList(list):
    """Schedules a call created (a plain list), plus ``skipped``: what it left out and why."""

    def __init__(self, items: Iterable[Schedule] = (), skipped: Iterable[dict[str, Any]] = ()):
        super().__init__(items)
        self.skipped: list[dict[str, Any]] = list(skipped)


@dataclass(frozen=True)
class ScheduleConflict:
    """One reason a schedule cannot be where it was asked to be.

    ``kind`` is ``past``, ``same_video`` or ``too_close``; wave planning in the orchestrator
    adds ``daily_cap`` and ``no_slot``.
    """

    kind: str
    channel_id: str
    scheduled_at: datetime
    message: str
    video_id: str | None = None
    other_schedule_id: str | None = None

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["scheduled_at"] = to_iso(self.scheduled_at)
        return d


class ScheduleConflictError(ConflictError, ValidationError):
    """Nothing was scheduled: ``conflicts`` lists every reason (a past time is also bad input,
    so this is a :class:`ValidationError` too, with ``field`` naming the time argument)."""

    def __init__(self, conflicts: Sequence[ScheduleConflict], field: str = "scheduled_at"):
        self.conflicts = list(conflicts)
        n = len(self.conflicts)
        lines = "\n".join(f"  - {c.message}" for c in self.conflicts)
        super().__init__(f"{n} scheduling conflict{'s' if n != 1 else ''}; nothing was scheduled:\n{lines}",
                         field if any(c.kind == "past" for c in self.conflicts) else None)


class ScheduleNotFoundError(NotFoundError):
    def __init__(self, schedule_id: str):
        super().__init__(f"Schedule '{schedule_id}' does not exist.")
        self.schedule_id = schedule_id


# -- the one conflict rule and the one writer --------------------------------------------------------------


def _utc(value: Any, field: str) -> datetime:
    """A datetime (naive = UTC) or ISO text, as an aware UTC datetime."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(f"{field} must be a date-time like 2026-03-29T09:00:00Z, got {value!r}",
                                  field) from None
    if not isinstance(value, datetime):
        raise ValidationError(f"{field} must be a date-time, got {type(value).__name__}", field)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _fmt(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def find_conflicts(conn, channel_id: str, at: datetime, *, video_id: str | None = None,
                   gap_seconds: float | None = None, now: datetime | None = None,
                   exclude_ids: Iterable[str] = (), channel_name: str | None = None) -> list[ScheduleConflict]:
    """Every reason a schedule on ``channel_id`` at ``at`` (for ``video_id``) would conflict.

    Args:
        conn: a registry connection (inside the write transaction that inserts, to be race-free).
        gap_seconds: the channel's spacing; never less than one minute.
        now: when given, a time at or before it is a conflict (``past``).
        exclude_ids: schedules to leave out (the one being moved, a group being shifted).
    """
    at = _utc(at, "scheduled_at")
    name = channel_name or channel_id
    out: list[ScheduleConflict] = []
    if now is not None and at <= now:
        out.append(ScheduleConflict("past", channel_id, at, f"{name}: {_fmt(at)} is in the past (now is {_fmt(now)})",
                                    video_id))
    gap = max(float(gap_seconds or 0), MIN_SCHEDULE_GAP_SECONDS)
    live = ",".join("?" * len(LIVE_SCHEDULE_STATUSES))
    same = ",".join("?" * len(_SAME_VIDEO_STATUSES))
    rows = conn.execute(
        f"SELECT id, video_id, scheduled_at, status FROM schedules WHERE channel_id = ? AND ("
        f"(status IN ({live}) AND scheduled_at > ? AND scheduled_at < ?)"
        f" OR (video_id = ? AND (status IN ({same}) OR (status = 'failed' AND next_attempt_at IS NOT NULL))))"
        " ORDER BY scheduled_at, id",
        (channel_id, *LIVE_SCHEDULE_STATUSES, to_iso(at - timedelta(seconds=gap)), to_iso(at + timedelta(seconds=gap)),
         video_id or "\x00", *_SAME_VIDEO_STATUSES),
    ).fetchall()
    excluded = set(exclude_ids)
    for r in rows:
        if r["id"] in excluded:
            continue
        when = from_iso(r["scheduled_at"])
        if video_id and r["video_id"] == video_id:
            out.append(ScheduleConflict(
                "same_video", channel_id, at,
                f"{name}: '{video_id}' is already scheduled there at {_fmt(when)} (schedule {r['id']}, {r['status']})",
                video_id, r["id"]))
        else:
            out.append(ScheduleConflict(
                "too_close", channel_id, at,
                f"{name}: {_fmt(at)} is within {gap:g} s of schedule {r['id']} at {_fmt(when)}", video_id, r["id"]))
    return out


def insert_schedule(tx, *, channel_id: str, scheduled_at: datetime, video_id: str | None,
                    schedule_type: str = "independent", distribution_id: str | None = None,
                    coordination_group_id: str | None = None, wave_id: str | None = None,
                    status: str = "pending", now: datetime | None = None) -> str:
    """Insert one ``schedules`` row inside the caller's write transaction; returns its id.

    The only place a schedule row is written. It checks values, not conflicts: callers run
    :func:`find_conflicts` in the same transaction (or override it on purpose, like a forced
    manual distribution). Call :func:`notify_changed` after the commit.
    """
    if schedule_type not in SCHEDULE_TYPES:
        raise ValidationError(f"schedule_type must be one of {', '.join(SCHEDULE_TYPES)}, got {schedule_type!r}",
                              "schedule_type")
    if status not in ("pending", "scheduled", "paused"):
        raise ValidationError(f"a new schedule is pending, scheduled or paused, not {status!r}", "status")
    sid = uuid.uuid4().hex
    stamp = to_iso(now or utcnow())
    tx.execute(
        "INSERT INTO schedules (id, video_id, channel_id, scheduled_at, schedule_type, coordination_group_id,"
        " wave_id, status, distribution_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (sid, video_id, channel_id, to_iso(_utc(scheduled_at, "scheduled_at")), schedule_type, coordination_group_id,
         wave_id, status, distribution_id, stamp, stamp),
    )
    return sid


# -- the repository ------------------------------------------------------------------------------------------

_SELECT = "SELECT s.*, c.name AS channel_name FROM schedules s LEFT JOIN channels c ON c.id = s.channel_id"
_MUTABLE = ("video_id", "channel_id", "scheduled_at", "schedule_type", "status", "attempts", "error_message",
            "wave_id", "coordination_group_id", "distribution_id", "next_attempt_at")


def _check_status(status: str) -> str:
    if status not in SCHEDULE_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(SCHEDULE_STATUSES)}, got {status!r}", "status")
    return status


def _check_wave(wave_id: Any) -> str | None:
    if wave_id is None:
        return None
    if not isinstance(wave_id, str) or not wave_id.strip() or len(wave_id) > 200:
        raise ValidationError("wave_id must be non-empty text of at most 200 characters", "wave_id")
    return wave_id.strip()


def _bound(value: Any, field: str, *, end: bool) -> str:
    """A date-range bound as registry text: a datetime (naive = UTC), ISO text, or a date (whole day)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value + timedelta(days=1) if end else value
        return to_iso(datetime.combine(day, time(0), tzinfo=timezone.utc))
    if isinstance(value, str) and "T" not in value and ":" not in value:
        try:
            return _bound(date.fromisoformat(value.strip()), field, end=end)
        except ValueError:
            pass
    return to_iso(_utc(value, field))


class ScheduleRepository:
    """Reads and writes of ``schedules`` (seed 002's ``schedule_repo``)."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow):
        self.db = db
        self.clock = clock

    def _many(self, where: str = "", params: Sequence[Any] = (), order: str = "s.scheduled_at, s.id",
              limit: int | None = None) -> list[Schedule]:
        sql = _SELECT + (f" WHERE {where}" if where else "") + f" ORDER BY {order}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [Schedule.from_row(r) for r in self.db.query(sql, params)]

    def get(self, schedule_id: str) -> Schedule | None:
        rows = self._many("s.id = ?", (schedule_id,))
        return rows[0] if rows else None

    def get_or_raise(self, schedule_id: str) -> Schedule:
        s = self.get(schedule_id)
        if s is None:
            raise ScheduleNotFoundError(schedule_id)
        return s

    def get_many(self, ids: Sequence[str]) -> list[Schedule]:
        """Schedules by id, in the order given (unknown ids are left out)."""
        found: dict[str, Schedule] = {}
        for i in range(0, len(ids), 500):
            part = list(ids[i:i + 500])
            for s in self._many(f"s.id IN ({','.join('?' * len(part))})", part):
                found[s.id] = s
        return [found[i] for i in ids if i in found]

    def get_all(self, status: str | None = None, *, channel_id: str | None = None, video_id: str | None = None,
                limit: int | None = None) -> list[Schedule]:
        """Every schedule (optionally of one status, channel or video), by time."""
        where, params = [], []
        if status is not None:
            where.append("s.status = ?")
            params.append(_check_status(status))
        if channel_id is not None:
            where.append("s.channel_id = ?")
            params.append(resolve_channel(self.db.conn, channel_id)["id"])
        if video_id is not None:
            where.append("s.video_id = ?")
            params.append(video_id)
        return self._many(" AND ".join(where), params, limit=limit)

    def get_by_channel(self, channel_id: str, status: str | None = None) -> list[Schedule]:
        return self.get_all(status, channel_id=channel_id)

    def get_by_wave(self, wave_id: str) -> list[Schedule]:
        return self._many("s.wave_id = ?", (wave_id,))

    def get_by_group(self, group_id: str) -> list[Schedule]:
        return self._many("s.coordination_group_id = ?", (group_id,))

    def get_by_date_range(self, start_date: Any, end_date: Any, channel_id: str | None = None) -> list[Schedule]:
        start = _bound(start_date, "start_date", end=False)
        end = _bound(end_date, "end_date", end=True)
        if start > end:
            raise ValidationError("start_date is after end_date", "start_date")
        where, params = ["s.scheduled_at >= ?", "s.scheduled_at <= ?"], [start, end]
        if isinstance(end_date, date) and not isinstance(end_date, datetime) or (
                isinstance(end_date, str) and "T" not in end_date and ":" not in end_date):
            where[1] = "s.scheduled_at < ?"  # a date as the end means "through that day"
        if channel_id is not None:
            where.append("s.channel_id = ?")
            params.append(resolve_channel(self.db.conn, channel_id)["id"])
        return self._many(" AND ".join(where), params)

    def next_due_time(self) -> datetime | None:
        """When the next schedule (or retry) becomes due, or None when nothing waits."""
        row = self.db.query_one(
            "SELECT MIN(t) FROM (SELECT MIN(scheduled_at) AS t FROM schedules WHERE status IN ('pending', 'scheduled')"
            " UNION ALL SELECT MIN(next_attempt_at) FROM schedules WHERE status = 'failed'"
            " AND next_attempt_at IS NOT NULL)")
        return from_iso(row[0]) if row and row[0] else None

    def count_by_status(self) -> dict[str, int]:
        out = dict.fromkeys(SCHEDULE_STATUSES, 0)
        for status, n in self.db.query("SELECT status, COUNT(*) FROM schedules GROUP BY status"):
            out[status] = n
        return out

    def update(self, schedule: Schedule, *, actor: str = "operator") -> Schedule:
        """Write an edited schedule back (status, time, video, wave...), under the same rules as creating one.

        Moving a schedule (or giving it a video) checks conflicts; making a failed, missed or
        cancelled schedule ``pending`` again re-runs it at the next execution (the seed's retry).
        Refused while it is executing, for a completed one, and for ``executing`` itself
        (only an executor's claim sets that).

        Raises:
            ScheduleNotFoundError, ValidationError, ScheduleConflictError, ConflictError.
        """
        if not isinstance(schedule, Schedule):
            raise ValidationError("update() takes a Schedule record", "schedule")
        new = {k: getattr(schedule, k) for k in _MUTABLE}
        _check_status(new["status"])
        if new["schedule_type"] not in SCHEDULE_TYPES:
            raise ValidationError(f"schedule_type must be one of {', '.join(SCHEDULE_TYPES)}", "schedule_type")
        if isinstance(new["attempts"], bool) or not isinstance(new["attempts"], int) or new["attempts"] < 0:
            raise ValidationError("attempts must be a whole number of at least 0", "attempts")
        new["scheduled_at"] = _utc(new["scheduled_at"], "scheduled_at")
        if new["next_attempt_at"] is not None:
            new["next_attempt_at"] = _utc(new["next_attempt_at"], "next_attempt_at")
        new["wave_id"] = _check_wave(new["wave_id"])
        now = _utc(self.clock(), "now")
        with self.db.transaction() as tx:
            row = tx.execute("SELECT * FROM schedules WHERE id = ?", (schedule.id,)).fetchone()
            if row is None:
                raise ScheduleNotFoundError(schedule.id)
            old = Schedule.from_row(row)
            if old.status == "executing":
                raise ConflictError(f"Schedule '{schedule.id}' is being executed right now; try again afterwards.")
            if new["status"] == "executing":
                raise ValidationError("Only an executor's claim makes a schedule executing", "status")
            if old.status == "completed" and new["status"] != "completed":
                raise ConflictError(f"Schedule '{schedule.id}' is completed; it cannot become {new['status']}.")
            channel = resolve_channel(tx, new["channel_id"])
            new["channel_id"] = channel["id"]
            if new["video_id"] is not None and tx.execute("SELECT 1 FROM videos WHERE id = ?",
                                                          (new["video_id"],)).fetchone() is None:
                raise VideoNotFoundError(new["video_id"])
            changes = {k: v for k, v in new.items() if getattr(old, k) != v}
            if not changes:
                return old
            becomes_runnable = new["status"] in RUNNABLE_STATUSES + ("paused",)
            moved = bool({"scheduled_at", "channel_id", "video_id"} & set(changes))
            if becomes_runnable and (moved or old.status not in LIVE_SCHEDULE_STATUSES):
                conflicts = find_conflicts(
                    tx, new["channel_id"], new["scheduled_at"], video_id=new["video_id"],
                    gap_seconds=channel["min_spacing_seconds"], exclude_ids=[schedule.id], channel_name=channel["name"],
                    now=now if "scheduled_at" in changes else None)
                if not moved:  # only coming back to life: the time is its own business, the video is not
                    conflicts = [c for c in conflicts if c.kind == "same_video"]
                if conflicts:
                    raise ScheduleConflictError(conflicts)
            if new["status"] in RUNNABLE_STATUSES + ("paused",) and old.status not in RUNNABLE_STATUSES + ("paused",):
                new["next_attempt_at"] = None  # brought back by hand: runs at its time (or now, when due)
                changes["next_attempt_at"] = None
            sets = {k: (to_iso(new[k]) if isinstance(new[k], datetime) else new[k]) for k in changes}
            sets["claimed_by"] = None
            sets["updated_at"] = to_iso(now)
            tx.execute(f"UPDATE schedules SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
                       [*sets.values(), schedule.id])
        fresh = self.get_or_raise(schedule.id)
        for f in fields(Schedule):
            setattr(schedule, f.name, getattr(fresh, f.name))
        shown = {k: {"old": _show(getattr(old, k)), "new": _show(new[k])} for k in changes}
        self.db.audit.record("schedule.updated", f"Schedule {schedule.id} changed: {', '.join(shown)}",
                             subject_type="schedule", subject_id=schedule.id, actor=actor, details={"changes": shown})
        notify_changed()
        return fresh


def _show(value: Any) -> Any:
    return to_iso(value) if isinstance(value, datetime) else value


def _owner() -> str:
    from .publishing import _owner as publishing_owner

    return publishing_owner()


# Claims this process is working on right now: start-up recovery in the same process (a runner
# restarted while the window executes a schedule by hand) must not take them for a dead process's.
_live_claims: set[str] = set()
_live_lock = threading.Lock()


# -- the service -------------------------------------------------------------------------------------------


class SchedulingService:
    """Creates, validates, pauses, cancels, queries and executes schedules (seed 002).

    Args:
        db: the registry.
        clock: "now" (UTC); tests inject their own.
        settings: a :class:`~orchestration.settings.Settings` (default: the data directory's
            ``settings.json``, read on first use).
        publisher: the publishing core to use (default: a ``Publisher`` over ``db``).
        dispatcher: sends GitHub ``repository_dispatch`` events (default: one from the settings).
    """

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow, *, settings=None, publisher=None,
                 dispatcher=None):
        self.db = db
        self.clock = clock
        self.schedule_repo = ScheduleRepository(db, clock=clock)
        self.channel_service = ChannelService(db, clock=clock)
        self._settings = settings
        self._publisher = publisher
        self._dispatcher = dispatcher

    # -- plumbing ----------------------------------------------------------------------------------

    @property
    def settings(self):
        if self._settings is None:
            from .settings import load_settings

            self._settings = load_settings(self.db.paths)
        return self._settings

    @property
    def publisher(self):
        if self._publisher is None:
            from .publishing import Publisher

            self._publisher = Publisher(self.db, clock=self.clock)
        return self._publisher

    @property
    def dispatcher(self):
        if self._dispatcher is None:
            from .github import GitHubDispatcher

            self._dispatcher = GitHubDispatcher.from_settings(self.settings)
        return self._dispatcher

    def _now(self) -> datetime:
        return _utc(self.clock(), "now")

    def _audit(self, kind: str, message: str, *, subject_id: str | None = None, actor: str = "operator",
               details: dict[str, Any] | None = None, subject_type: str = "schedule") -> None:
        self.db.audit.record(kind, message, subject_type=subject_type, subject_id=subject_id, actor=actor,
                             details=details)

    def _channels(self, channel_ids: Any) -> list[Channel]:
        if isinstance(channel_ids, (str, Channel)):
            channel_ids = [channel_ids]
        try:
            refs = list(channel_ids)
        except TypeError:
            raise ValidationError("channel_ids must be a list of channel ids or names", "channel_ids") from None
        if not refs:
            raise ValidationError("Choose at least one channel", "channel_ids")
        out = []
        for ref in refs:
            ref = ref.id if isinstance(ref, Channel) else ref
            if not isinstance(ref, str) or not ref.strip():
                raise ValidationError(f"channel_ids must hold channel ids or names (text), got {ref!r}", "channel_ids")
            out.append(self.channel_service.get_channel(ref))
        return out

    def _video(self, video_id: Any, *, required: bool) -> str | None:
        if video_id is None:
            if required:
                raise ValidationError("video_id is required", "video_id")
            return None
        if not isinstance(video_id, str) or not video_id.strip():
            raise ValidationError(f"video_id must be a video id (text), got {video_id!r}", "video_id")
        row = self.db.query_one("SELECT status FROM videos WHERE id = ?", (video_id,))
        if row is None:
            raise VideoNotFoundError(video_id)
        if row["status"] != "ready":
            raise ValidationError(f"Video '{video_id}' is {row['status']} and cannot be scheduled"
                                  + (" (its file is missing)" if row["status"] == "missing" else ""), "video_id")
        return video_id

    # -- creating ----------------------------------------------------------------------------------

    def _create(self, plan: list[tuple[Channel, datetime]], *, video_id: str | None, schedule_type: str,
                wave_id: str | None, group: str | None, field: str, actor: str) -> list[Schedule]:
        """Insert a plan of (channel, time) all-or-nothing; the error lists every conflict."""
        now = self._now()
        made: list[tuple[str, Channel, datetime, str | None]] = []
        with self.db.transaction() as tx:
            conflicts: list[ScheduleConflict] = []
            for i, (ch, at) in enumerate(plan):
                conflicts += find_conflicts(tx, ch.id, at, video_id=video_id, gap_seconds=ch.min_spacing_seconds,
                                            now=now, channel_name=ch.name)
                gap = max(ch.min_spacing_seconds, MIN_SCHEDULE_GAP_SECONDS)
                for other_ch, other_at in plan[:i]:  # the request against itself: a channel listed twice
                    if other_ch.id != ch.id:
                        continue
                    if video_id is not None:
                        conflicts.append(ScheduleConflict(
                            "same_video", ch.id, at, f"{ch.name}: listed twice for '{video_id}' in this request",
                            video_id))
                    elif abs((at - other_at).total_seconds()) < gap:
                        conflicts.append(ScheduleConflict(
                            "too_close", ch.id, at, f"{ch.name}: {_fmt(at)} and {_fmt(other_at)} in this request "
                            f"are within {gap:g} s", video_id))
            if conflicts:
                raise ScheduleConflictError(conflicts, field)
            for ch, at in plan:
                did = self._waiting_distribution(tx, video_id, ch.id, now) if video_id else None
                sid = insert_schedule(tx, channel_id=ch.id, scheduled_at=at, video_id=video_id,
                                      schedule_type=schedule_type, distribution_id=did, coordination_group_id=group,
                                      wave_id=wave_id, now=now)
                made.append((sid, ch, at, did))
        with self.db.audit.db.transaction():
            for sid, ch, at, did in made:
                local = at.astimezone(ch.zone).isoformat(timespec="minutes")
                self._audit("schedule.created",
                            f"{schedule_type.capitalize()} schedule: {repr(video_id) if video_id else 'an empty slot'}"
                            f" on {ch.name} at {_fmt(at)} ({local} {ch.timezone})", subject_id=sid, actor=actor,
                            details={"video_id": video_id, "channel_id": ch.id, "scheduled_at": to_iso(at),
                                     "local_time": local, "schedule_type": schedule_type, "wave_id": wave_id,
                                     "coordination_group_id": group, "distribution_id": did})
        notify_changed()
        return self.schedule_repo.get_many([m[0] for m in made])

    @staticmethod
    def _waiting_distribution(tx, video_id: str, channel_id: str, now: datetime) -> str | None:
        """Link an assignment of this video waiting for a time (and mark it scheduled)."""
        row = tx.execute(
            "SELECT d.id FROM distributions d WHERE d.video_id = ? AND d.channel_id = ? AND d.status = 'assigned'"
            " AND NOT EXISTS (SELECT 1 FROM schedules s WHERE s.distribution_id = d.id AND s.status IN"
            " ('pending', 'scheduled', 'paused', 'executing')) ORDER BY d.created_at LIMIT 1",
            (video_id, channel_id)).fetchone()
        if row is None:
            return None
        tx.execute("UPDATE distributions SET status = 'scheduled', updated_at = ? WHERE id = ?", (to_iso(now), row[0]))
        return row[0]

    def create_simultaneous_schedule(self, video_id: str, channel_ids: Iterable[str], scheduled_at: datetime,
                                     wave_id: str | None = None, *, actor: str = "operator") -> list[Schedule]:
        """Publish ``video_id`` on every channel at the same instant (one coordination group).

        Raises:
            VideoNotFoundError, ChannelNotFoundError, ValidationError (bad values) and
            ScheduleConflictError (every conflict listed) — with nothing written.
        """
        video_id = self._video(video_id, required=True)
        at = _utc(scheduled_at, "scheduled_at")
        wave_id = _check_wave(wave_id)
        channels = self._channels(channel_ids)
        return self._create([(ch, at) for ch in channels], video_id=video_id, schedule_type="simultaneous",
                            wave_id=wave_id, group=uuid.uuid4().hex, field="scheduled_at", actor=actor)

    def create_staggered_schedule(self, video_id: str, channel_ids: Iterable[str], start_time: datetime,
                                  delay_seconds: float, wave_id: str | None = None, *,
                                  actor: str = "operator") -> list[Schedule]:
        """Publish ``video_id`` on channel *i* at ``start_time + i × delay_seconds``, in the order given.

        Raises:
            as :meth:`create_simultaneous_schedule`.
        """
        video_id = self._video(video_id, required=True)
        start = _utc(start_time, "start_time")
        if isinstance(delay_seconds, bool) or not isinstance(delay_seconds, (int, float)) or not (
                0 <= delay_seconds <= 366 * 86_400):
            raise ValidationError(f"delay_seconds must be a number of seconds from 0 to a year, got {delay_seconds!r}",
                                  "delay_seconds")
        wave_id = _check_wave(wave_id)
        channels = self._channels(channel_ids)
        plan = [(ch, start + timedelta(seconds=i * delay_seconds)) for i, ch in enumerate(channels)]
        return self._create(plan, video_id=video_id, schedule_type="staggered", wave_id=wave_id,
                            group=uuid.uuid4().hex, field="start_time", actor=actor)

    def create_independent_schedule(self, channel_id: str, scheduled_at: datetime, video_id: str | None = None, *,
                                    wave_id: str | None = None, actor: str = "operator") -> Schedule:
        """One slot on one channel, with a video or empty (filled later).

        Raises:
            as :meth:`create_simultaneous_schedule`.
        """
        video_id = self._video(video_id, required=False)
        at = _utc(scheduled_at, "scheduled_at")
        (ch,) = self._channels([channel_id])
        return self._create([(ch, at)], video_id=video_id, schedule_type="independent", wave_id=_check_wave(wave_id),
                            group=None, field="scheduled_at", actor=actor)[0]

    def create_slot_schedules(self, channel_id: str, days: int = 7, *, start: date | None = None,
                              actor: str = "operator") -> ScheduleList:
        """Empty independent schedules at each of the channel's posting slots for ``days`` days.

        Slots are local times in the channel's zone, inside its availability windows: the same
        local time every day across daylight-saving changes (a slot in the spring-forward gap
        moves forward by the gap; one in the repeated hour runs once). Slots already taken,
        too close to another schedule or in the past are left out (see ``.skipped``).
        """
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
            raise ValidationError("days must be a whole number from 1 to 366", "days")
        (ch,) = self._channels([channel_id])
        now = self._now()
        first = start if start is not None else now.astimezone(ch.zone).date()
        if not isinstance(first, date) or isinstance(first, datetime):
            raise ValidationError("start must be a date", "start")
        made, skipped = [], []
        for offset in range(days):
            day = first + timedelta(days=offset)
            if not ch.posting_schedule.available_on(day):
                continue
            for at in ch.posting_schedule.slot_times(day, ch.zone):
                try:
                    made.append(self._create([(ch, at)], video_id=None, schedule_type="independent", wave_id=None,
                                             group=None, field="start", actor=actor)[0])
                except ScheduleConflictError as exc:
                    skipped.append({"channel_id": ch.id, "scheduled_at": at, "code": exc.conflicts[0].kind,
                                    "reason": "; ".join(c.message for c in exc.conflicts)})
        return ScheduleList(made, skipped)

    def assign_video(self, schedule_id: str, video_id: str, *, actor: str = "operator") -> Schedule:
        """Put a video into an empty (or another) slot, under the conflict rules."""
        video_id = self._video(video_id, required=True)
        s = self.schedule_repo.get_or_raise(schedule_id)
        s.video_id = video_id
        return self.schedule_repo.update(s, actor=actor)

    # -- checking ----------------------------------------------------------------------------------

    def validate_schedule(self, schedule_id: str) -> dict[str, Any]:
        """``{"valid": bool, "issues": [...], "warnings": [...], "conflicts": [...]}`` for a schedule.

        Issues stop it from running as planned: a past time, a conflict, an unavailable
        channel, a missing video. Warnings do not (an empty slot, a schedule already done).
        """
        s = self.schedule_repo.get_or_raise(schedule_id)
        now = self._now()
        issues: list[str] = []
        warnings: list[str] = []
        conflicts: list[ScheduleConflict] = []
        retrying = s.status == "failed" and s.next_attempt_at is not None
        if s.status not in LIVE_SCHEDULE_STATUSES and not retrying:
            issues.append(f"the schedule is {s.status}; it will not run"
                          + (f" ({s.error_message})" if s.error_message else ""))
            return {"valid": False, "issues": issues, "warnings": warnings, "conflicts": []}
        if retrying:
            warnings.append(f"attempt {s.attempts} failed ({s.error_message}); the next one is at "
                            f"{_fmt(s.next_attempt_at)}")
        ch = self.channel_service.get_channel(s.channel_id)
        if s.status != "executing":
            conflicts = find_conflicts(self.db.conn, ch.id, s.scheduled_at, video_id=s.video_id,
                                       gap_seconds=ch.min_spacing_seconds, now=None if retrying else now,
                                       exclude_ids=[s.id], channel_name=ch.name)
            issues += [c.message for c in conflicts]
        ok, why = ch.availability(s.scheduled_at)
        if not ok:
            issues.append(f"channel unavailable: {why}")
        if ch.github_repo_url:
            from .github import parse_repo

            try:
                parse_repo(ch.github_repo_url)
            except ValidationError as exc:
                issues.append(str(exc))
            if not self.settings.github_token:
                issues.append("no GitHub token is configured (github_token in settings.json or ASFS_GITHUB_TOKEN)")
        if s.video_id is None:
            warnings.append("no video assigned yet; one waiting for this channel is used when it runs")
        else:
            row = self.db.query_one("SELECT status, file_path FROM videos WHERE id = ?", (s.video_id,))
            if row is None:
                issues.append(f"video '{s.video_id}' is not in the registry")
            elif row["status"] != "ready":
                issues.append(f"video '{s.video_id}' is {row['status']}")
            elif not os.path.isfile(row["file_path"]):
                issues.append(f"video file not found: {row['file_path']}")
        if s.status == "paused":
            warnings.append("the schedule is paused; it runs only after it is resumed")
        return {"valid": not issues, "issues": issues, "warnings": warnings,
                "conflicts": [c.to_dict() for c in conflicts]}

    # -- pause, resume, cancel -----------------------------------------------------------------------

    def _set(self, schedule_id: str, new: str, allowed: Sequence[str], kind: str, actor: str,
             *, error_message: str | None = None, noop: Sequence[str] = ()) -> Schedule:
        now = self._now()
        with self.db.transaction() as tx:
            row = tx.execute("SELECT status FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
            if row is None:
                raise ScheduleNotFoundError(schedule_id)
            old = row["status"]
            if old in noop:
                return self.schedule_repo.get_or_raise(schedule_id)
            if old not in allowed:
                what = "it is being executed right now" if old == "executing" else f"it is {old}"
                raise ConflictError(f"Schedule '{schedule_id}' cannot become {new}: {what}.")
            tx.execute("UPDATE schedules SET status = ?, next_attempt_at = NULL, claimed_by = NULL, updated_at = ?"
                       + (", error_message = ?" if error_message is not None else "") + " WHERE id = ?",
                       (new, to_iso(now), *((error_message,) if error_message is not None else ()), schedule_id))
        s = self.schedule_repo.get_or_raise(schedule_id)
        self._audit(kind, f"Schedule {schedule_id} ({s.video_id or 'empty slot'} on {s.channel_name}): {old} -> {new}",
                    subject_id=schedule_id, actor=actor, details={"old_status": old, "status": new})
        notify_changed()
        return s

    def pause_schedule(self, schedule_id: str, *, actor: str = "operator") -> Schedule:
        """Hold a pending or scheduled schedule until it is resumed."""
        return self._set(schedule_id, "paused", ("pending", "scheduled"), "schedule.paused", actor,
                         noop=("paused",))

    def resume_schedule(self, schedule_id: str, *, actor: str = "operator") -> Schedule:
        """Release a paused schedule: ``pending`` again, or ``missed`` when its time passed beyond the grace window."""
        s = self.schedule_repo.get_or_raise(schedule_id)
        if s.status in RUNNABLE_STATUSES:
            return s
        new = "missed" if self._too_late(s.scheduled_at) else "pending"
        out = self._set(schedule_id, new, ("paused",), "schedule.resumed", actor)
        if new == "missed":
            self._audit("schedule.missed", f"Schedule {schedule_id} was paused past its time "
                        f"({_fmt(s.scheduled_at)}); it waits for a decision", subject_id=schedule_id, actor=actor)
        return out

    def confirm_schedule(self, schedule_id: str, *, actor: str = "operator") -> Schedule:
        """Mark a pending schedule ``scheduled`` (confirmed; both run the same way)."""
        return self._set(schedule_id, "scheduled", ("pending",), "schedule.confirmed", actor, noop=("scheduled",))

    def cancel_schedule(self, schedule_id: str, *, actor: str = "operator", reason: str | None = None) -> Schedule:
        """Cancel a schedule that has not run (its distribution, if any, is cancelled with it)."""
        s = self._set(schedule_id, "cancelled", ("pending", "scheduled", "paused", "failed", "missed"),
                      "schedule.cancelled", actor, noop=("cancelled",),
                      error_message=f"cancelled by {actor}" + (f": {reason}" if reason else ""))
        self._distribution_follows(s, "cancelled", None, actor)
        return s

    def _channel_bulk(self, channel_id: str, old: Sequence[str], actor: str, kind: str) -> list[tuple[str, str]]:
        cid = self.channel_service.get_channel(channel_id).id
        now = self._now()
        with self.db.transaction() as tx:
            marks = ",".join("?" * len(old))
            rows = tx.execute(f"SELECT id, scheduled_at FROM schedules WHERE channel_id = ? AND status IN ({marks})",
                              (cid, *old)).fetchall()
            changed = []
            for r in rows:
                if kind == "pause":
                    new = "paused"
                else:
                    new = "missed" if self._too_late(from_iso(r["scheduled_at"]), now) else "pending"
                changed.append((r["id"], new))
            for new in ("paused", "pending", "missed"):
                ids = [sid for sid, n in changed if n == new]
                for i in range(0, len(ids), 500):
                    part = ids[i:i + 500]
                    tx.execute(f"UPDATE schedules SET status = ?, next_attempt_at = NULL, updated_at = ? WHERE id IN"
                               f" ({','.join('?' * len(part))})", (new, to_iso(now), *part))
        if changed:
            verb = "paused" if kind == "pause" else "resumed"
            self._audit(f"schedule.channel_{verb}", f"{len(changed)} schedule(s) on {cid} {verb}",
                        subject_type="channel", subject_id=cid, actor=actor,
                        details={"schedules": [sid for sid, _ in changed],
                                 "missed": [sid for sid, n in changed if n == "missed"]})
            notify_changed()
        return changed

    def pause_channel_schedules(self, channel_id: str, *, actor: str = "operator") -> int:
        """Pause every pending or scheduled schedule of a channel; returns how many."""
        return len(self._channel_bulk(channel_id, ("pending", "scheduled"), actor, "pause"))

    def resume_channel_schedules(self, channel_id: str, *, actor: str = "operator") -> int:
        """Resume every paused schedule of a channel (those whose time passed beyond the grace
        window become ``missed``); returns how many left ``paused``."""
        return len(self._channel_bulk(channel_id, ("paused",), actor, "resume"))

    # -- queries -------------------------------------------------------------------------------------

    def get_schedules_by_date_range(self, start_date: Any, end_date: Any, channel_id: str | None = None
                                    ) -> list[Schedule]:
        """Schedules whose time falls in the range (datetimes inclusive; a date as the end includes that day)."""
        return self.schedule_repo.get_by_date_range(start_date, end_date, channel_id)

    def get_schedules_by_channel(self, channel_id: str, status: str | None = None) -> list[Schedule]:
        return self.schedule_repo.get_by_channel(channel_id, status)

    def get_schedules_by_wave(self, wave_id: str) -> list[Schedule]:
        return self.schedule_repo.get_by_wave(wave_id)

    def get_schedule(self, schedule_id: str) -> Schedule:
        return self.schedule_repo.get_or_raise(schedule_id)

    # -- execution -----------------------------------------------------------------------------------

    def _due_ids(self, before: datetime, now: datetime, limit: int | None) -> list[str]:
        sql = ("SELECT id FROM schedules WHERE status IN ('pending', 'scheduled') AND scheduled_at <= ?"
               " UNION ALL SELECT id FROM schedules WHERE status = 'failed' AND next_attempt_at IS NOT NULL"
               " AND next_attempt_at <= ?")
        rows = self.db.query(f"SELECT s.id FROM schedules s WHERE s.id IN ({sql})"
                             " ORDER BY COALESCE(s.next_attempt_at, s.scheduled_at), s.id"
                             + (f" LIMIT {int(limit)}" if limit else ""), (to_iso(before), to_iso(now)))
        return [r[0] for r in rows]

    def execute_pending_schedules(self, before: datetime | None = None, *, limit: int | None = None,
                                  cancel_event: threading.Event | None = None) -> list[dict[str, Any]]:
        """Run every due schedule: ``scheduled_at <= before`` (default now), not paused or cancelled,
        plus failed ones whose retry time has come.

        Each is claimed atomically first, so another executor (thread or process) running at
        the same time never runs it too; schedules another executor holds are left out.

        Args:
            before: the due bound (naive = UTC).
            limit: at most this many.
            cancel_event: set it to stop after the current schedule (and ask that upload to stop
                before its irreversible step).
        Returns:
            ``[{"schedule_id", "status", "error"?}]`` — one per schedule this call ran, with its
            new status (``completed``, ``failed``; ``pending`` when stopped before publishing).
        """
        now = self._now()
        before = _utc(before, "before") if before is not None else now
        results = []
        due = self._due_ids(before, now, limit)
        # Each schedule commits seven small transactions; with SQLite's default the WAL is copied
        # back into the database file every ~25 schedules, and those copies were a fifth of the
        # run's time (issue 10). A long run copies back every _RUN_WAL_PAGES pages instead.
        with bulk_writes(self.db, wal_pages=_RUN_WAL_PAGES) if len(due) > 1 else nullcontext():
            for sid in due:
                if cancel_event is not None and cancel_event.is_set():
                    break
                result = self._execute_one(sid, before=before, now=self._now(), cancel_event=cancel_event)
                if result is not None:
                    results.append(result)
        return results

    def _claim(self, schedule_id: str, owner: str, *, before: datetime, now: datetime,
               extra: Sequence[str] = ()) -> Schedule | None:
        extra_sql = f" OR status IN ({','.join('?' * len(extra))})" if extra else ""
        with self.db.transaction() as tx:
            cur = tx.execute(
                "UPDATE schedules SET status = 'executing', claimed_by = ?, attempts = attempts + 1,"
                " next_attempt_at = NULL, updated_at = ? WHERE id = ? AND ("
                "(status IN ('pending', 'scheduled') AND scheduled_at <= ?)"
                " OR (status = 'failed' AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?)" + extra_sql + ")",
                (owner, to_iso(now), schedule_id, to_iso(before), to_iso(now), *extra))
            if cur.rowcount != 1:
                return None
            row = tx.execute(_SELECT + " WHERE s.id = ?", (schedule_id,)).fetchone()
        return Schedule.from_row(row)

    def _execute_one(self, schedule_id: str, *, before: datetime, now: datetime,
                     cancel_event: threading.Event | None = None, extra: Sequence[str] = ()) -> dict[str, Any] | None:
        owner = _owner()
        with _live_lock:
            _live_claims.add(owner)
        try:
            s = self._claim(schedule_id, owner, before=before, now=now, extra=extra)
            if s is None:
                return None  # another executor has it, or it changed since it was listed
            try:
                return self._run(s, owner, cancel_event)
            except BaseException as exc:
                # our own bug or an interrupt after the claim: never leave it executing; the upload
                # may have happened, so no automatic retry
                self._finish(s, owner, "failed", f"interrupted: {type(exc).__name__}: {exc}", retry=False,
                             code="unknown")
                raise
        finally:
            with _live_lock:
                _live_claims.discard(owner)

    def _run(self, s: Schedule, owner: str, cancel_event) -> dict[str, Any]:
        channel = dict(resolve_channel(self.db.conn, s.channel_id))
        if s.video_id is None:
            s = self._fill_slot(s, owner)
            if s.video_id is None:
                return self._finish(s, owner, "failed", f"empty slot: no video was assigned to it and none was waiting "
                                    f"for {channel['name']}", retry=False, code="empty_slot")
        if channel.get("github_repo_url"):
            return self._dispatch(s, owner, channel)
        return self._publish(s, owner, channel, cancel_event)

    def _fill_slot(self, s: Schedule, owner: str) -> Schedule:
        """An empty slot takes the channel's first assignment waiting for a time (if any)."""
        from .distribution import VideoDistributionService

        svc = VideoDistributionService(self.db, clock=self.clock)
        with self.db.snapshot() as conn:
            waiting = svc._waiting_assignments(conn, [s.channel_id]).get(s.channel_id, [])
        for d in waiting:
            with self.db.transaction() as tx:
                ready = tx.execute("SELECT status FROM videos WHERE id = ?", (d.video_id,)).fetchone()
                if ready is None or ready[0] != "ready":
                    continue
                if [c for c in find_conflicts(tx, s.channel_id, s.scheduled_at, video_id=d.video_id,
                                              exclude_ids=[s.id]) if c.kind == "same_video"]:
                    continue
                cur = tx.execute("UPDATE distributions SET status = 'scheduled', updated_at = ? WHERE id = ?"
                                 " AND status = 'assigned'", (to_iso(self._now()), d.id))
                if cur.rowcount != 1:
                    continue  # another executor filled its slot with it
                tx.execute("UPDATE schedules SET video_id = ?, distribution_id = ? WHERE id = ? AND claimed_by = ?",
                           (d.video_id, d.id, s.id, owner))
            self._audit("schedule.filled", f"Empty slot {s.id} on {s.channel_name} takes '{d.video_id}' "
                        f"(assignment {d.id})", subject_id=s.id, actor=_SCHEDULER_ACTOR,
                        details={"video_id": d.video_id, "distribution_id": d.id})
            s.video_id, s.distribution_id = d.video_id, d.id
            return s
        return s

    def _publish(self, s: Schedule, owner: str, channel: dict[str, Any], cancel_event) -> dict[str, Any]:
        from .transform import uploader_for

        try:
            uploader = uploader_for(self.db, channel, actor=_SCHEDULER_ACTOR)
        except (LookupError, TypeError, ValidationError) as exc:
            return self._finish(s, owner, "failed", f"no uploader for {channel['name']}: {exc}", retry=True,
                                code="no_uploader")
        try:
            outcome = self.publisher.publish(s.video_id, s.channel_id, manual=False, actor=_SCHEDULER_ACTOR,
                                             cancel_event=cancel_event, uploader=uploader)
        finally:
            try:
                uploader.close()
            except Exception:  # noqa: BLE001 - closing a browser must not hide the outcome
                log.exception("closing the uploader for %s failed", s.channel_id)
        if outcome.success:
            return self._finish(s, owner, "completed", None, post_id=outcome.post_id, post_url=outcome.post_url)
        if outcome.code == "cancelled":
            return self._release(s, owner, "stopped before publishing; it runs at the next execution")
        if outcome.code == "duplicate":
            row = self.db.query_one("SELECT upload_status, upload_timestamp, platform_post_id FROM video_uploads"
                                    " WHERE video_id = ? AND channel_id = ?", (s.video_id, s.channel_id))
            if row is not None and row["upload_status"] == "SUCCESS" and s.created_at is not None and (
                    from_iso(row["upload_timestamp"]) or s.created_at) >= s.created_at:
                return self._finish(s, owner, "completed", None, post_id=row["platform_post_id"],
                                    note="published meanwhile by another path")
        code = outcome.error_kind if outcome.error_kind == "permanent" else outcome.code
        return self._finish(s, owner, "failed", outcome.reason, retry=code not in _FINAL_CODES, code=code)

    def _dispatch(self, s: Schedule, owner: str, channel: dict[str, Any]) -> dict[str, Any]:
        from .github import EVENT_TYPE, GitHubDispatchError

        payload = {"video_id": s.video_id, "schedule_id": s.id, "channel_id": s.channel_id,
                   "scheduled_at": to_iso(s.scheduled_at), "wave_id": s.wave_id}
        try:
            result = self.dispatcher.dispatch(channel["github_repo_url"], payload, event_type=EVENT_TYPE)
        except GitHubDispatchError as exc:
            return self._finish(s, owner, "failed", str(exc), retry=exc.retryable,
                                code="github_error" if exc.retryable else "github_refused")
        except ValidationError as exc:
            return self._finish(s, owner, "failed", str(exc), retry=False, code="github_refused")
        return self._finish(s, owner, "completed", None, dispatched=f"{result.owner}/{result.repo}")

    def _retry_at(self, s: Schedule, now: datetime) -> datetime:
        """The next attempt: exponential backoff with jitter, never before the upload's own retry
        time or the channel's cool-down."""
        when = now + DEFAULT_POLICY.backoff(max(1, s.attempts))
        row = self.db.query_one(
            "SELECT u.next_attempt_at, c.rate_limited_until FROM channels c LEFT JOIN video_uploads u"
            " ON u.channel_id = c.id AND u.video_id = ? WHERE c.id = ?", (s.video_id, s.channel_id))
        for text in (row or ()):
            t = from_iso(text)
            if t is not None and t > when:
                when = t
        return when

    def _finish(self, s: Schedule, owner: str, status: str, error: str | None, *, retry: bool = False,
                code: str | None = None, post_id: str | None = None, post_url: str | None = None,
                dispatched: str | None = None, note: str | None = None) -> dict[str, Any]:
        now = self._now()
        next_at = None
        if status == "failed" and retry and s.attempts < self.settings.schedule_max_attempts:
            next_at = self._retry_at(s, now)
        with self.db.transaction() as tx:
            cur = tx.execute(
                "UPDATE schedules SET status = ?, error_message = ?, next_attempt_at = ?, executed_at = ?,"
                " claimed_by = NULL, updated_at = ? WHERE id = ? AND status = 'executing' AND claimed_by = ?",
                (status, error, to_iso(next_at), to_iso(now), to_iso(now), s.id, owner))
            lost = cur.rowcount != 1
        if lost:  # only start-up recovery takes a claim away, and only from a dead process
            log.error("schedule %s was no longer held by %s when it finished (%s)", s.id, owner, status)
        result: dict[str, Any] = {"schedule_id": s.id, "status": status}
        if error:
            result["error"] = error
        if next_at is not None:
            result["next_attempt_at"] = next_at
        where = f"'{s.video_id}' on {s.channel_name or s.channel_id}"
        details = {"video_id": s.video_id, "channel_id": s.channel_id, "attempts": s.attempts, "code": code,
                   "error": error, "next_attempt_at": to_iso(next_at), "post_id": post_id, "post_url": post_url,
                   "dispatched_to": dispatched, "note": note}
        if status == "completed":
            how = (f"dispatched to GitHub ({dispatched})" if dispatched
                   else "published" + (f" as {post_id}" if post_id else ""))
            self._audit("schedule.completed", f"Schedule {s.id}: {where} {how}" + (f" ({note})" if note else ""),
                        subject_id=s.id, actor=_SCHEDULER_ACTOR, details=details)
            if not dispatched:  # a dispatch starts the publication; the workflow reports the result
                self._distribution_follows(s, "published", None, _SCHEDULER_ACTOR)
        else:
            then = (f"; attempt {s.attempts} of {self.settings.schedule_max_attempts}, next at {_fmt(next_at)}"
                    if next_at else f"; no further automatic attempt (attempt {s.attempts})")
            self._audit("schedule.failed", f"Schedule {s.id}: {where} failed: {error}{then}", subject_id=s.id,
                        actor=_SCHEDULER_ACTOR, details=details)
            self._distribution_follows(s, "failed", error, _SCHEDULER_ACTOR)
        log.info("schedule %s %s%s", s.id, status, f": {error}" if error else "")
        return result

    def _release(self, s: Schedule, owner: str, why: str) -> dict[str, Any]:
        """Give back a claim that did nothing irreversible (stopped before publishing)."""
        with self.db.transaction() as tx:
            tx.execute("UPDATE schedules SET status = 'pending', claimed_by = NULL, attempts = MAX(0, attempts - 1),"
                       " updated_at = ? WHERE id = ? AND status = 'executing' AND claimed_by = ?",
                       (to_iso(self._now()), s.id, owner))
        self._audit("schedule.released", f"Schedule {s.id}: {why}", subject_id=s.id, actor=_SCHEDULER_ACTOR)
        return {"schedule_id": s.id, "status": "pending", "error": why}

    def _distribution_follows(self, s: Schedule, status: str, error: str | None, actor: str) -> None:
        if not s.distribution_id:
            return
        from .distribution import DistributionRepository

        row = self.db.query_one("SELECT status FROM distributions WHERE id = ?", (s.distribution_id,))
        if row is None or row["status"] in ("published", "cancelled"):
            return
        try:
            DistributionRepository(self.db).set_status(s.distribution_id, status, error_message=error, actor=actor)
        except ConflictError:  # it became published or cancelled meanwhile: that one stands
            pass

    # -- start-up: interrupted and missed schedules ----------------------------------------------------

    def _too_late(self, at: datetime, now: datetime | None = None, grace: float | None = None) -> bool:
        now = now or self._now()
        grace = self.settings.missed_grace_seconds if grace is None else grace
        return at < now - timedelta(seconds=grace)

    def recover_interrupted(self, *, actor: str = "system") -> list[dict[str, Any]]:
        """Resolve schedules left ``executing`` by a process that is gone (run at start-up,
        after ``Publisher.recover()`` settled its uploads).

        Published -> ``completed``; outcome unknown, or a GitHub dispatch that may have been
        sent -> ``failed`` without automatic retry (check the channel); never started ->
        ``pending`` again.
        """
        from .publishing import owner_is_alive

        out = []
        for s in self.schedule_repo.get_all("executing"):
            with _live_lock:
                ours = s.claimed_by in _live_claims
            if ours or owner_is_alive(s.claimed_by):
                continue
            up = self.db.query_one("SELECT upload_status, upload_timestamp, platform_post_id FROM video_uploads"
                                   " WHERE video_id = ? AND channel_id = ?", (s.video_id or "", s.channel_id))
            github = self.db.query_one("SELECT github_repo_url FROM channels WHERE id = ?", (s.channel_id,))
            if up is not None and up["upload_status"] == "SUCCESS" and (
                    from_iso(up["upload_timestamp"]) or s.updated_at) >= (s.updated_at or s.created_at):
                new, error = "completed", None
            elif github is not None and github[0] and s.video_id:
                new, error = "failed", ("the app stopped while dispatching to GitHub; check the repository's "
                                        "Actions before retrying")
            elif up is not None and up["upload_status"] == "UNKNOWN":
                new, error = "failed", "outcome unknown — the app stopped during this upload; check the channel"
            else:
                new, error = "pending", None
            with self.db.transaction() as tx:
                cur = tx.execute(
                    "UPDATE schedules SET status = ?, error_message = ?, claimed_by = NULL, next_attempt_at = NULL,"
                    " attempts = CASE WHEN ? = 'pending' THEN MAX(0, attempts - 1) ELSE attempts END,"
                    " executed_at = CASE WHEN ? = 'pending' THEN executed_at ELSE ? END, updated_at = ?"
                    " WHERE id = ? AND status = 'executing' AND claimed_by IS ?",
                    (new, error, new, new, to_iso(self._now()), to_iso(self._now()), s.id, s.claimed_by))
            if cur.rowcount != 1:
                continue
            self._audit("schedule.recovered", f"Schedule {s.id} was left executing by {s.claimed_by}: now {new}"
                        + (f" ({error})" if error else ""), subject_id=s.id, actor=actor,
                        details={"claimed_by": s.claimed_by, "status": new, "error": error})
            if new == "completed":
                self._distribution_follows(s, "published", None, actor)
            elif new == "failed":
                self._distribution_follows(s, "failed", error, actor)
            out.append({"schedule_id": s.id, "status": new, **({"error": error} if error else {})})
        if out:
            notify_changed()
        return out

    def mark_missed(self, grace_seconds: float | None = None, *, actor: str = "system") -> dict[str, list[str]]:
        """Due schedules whose time passed more than ``grace_seconds`` ago (default: the setting)
        become ``missed``; later ones are left to run late.

        Returns:
            ``{"missed": [ids], "late": [ids]}``.
        """
        grace = self.settings.missed_grace_seconds if grace_seconds is None else float(grace_seconds)
        if grace < 0:
            raise ValidationError("grace_seconds must be at least 0", "grace_seconds")
        now = self._now()
        cutoff = to_iso(now - timedelta(seconds=grace))
        with self.db.transaction() as tx:
            missed = [Schedule.from_row(r) for r in tx.execute(
                _SELECT + " WHERE (s.status IN ('pending', 'scheduled') AND s.scheduled_at < ?)"
                " OR (s.status = 'failed' AND s.next_attempt_at IS NOT NULL AND s.next_attempt_at < ?)",
                (cutoff, cutoff))]
            for i in range(0, len(missed), 500):
                part = [s.id for s in missed[i:i + 500]]
                tx.execute(f"UPDATE schedules SET status = 'missed', error_message = ?, next_attempt_at = NULL,"
                           f" updated_at = ? WHERE id IN ({','.join('?' * len(part))})",
                           (f"missed: nothing ran within {grace:g} s of its time", to_iso(now), *part))
            late = [r[0] for r in tx.execute(
                "SELECT id FROM schedules WHERE status IN ('pending', 'scheduled') AND scheduled_at >= ?"
                " AND scheduled_at <= ?", (cutoff, to_iso(now)))]
        if missed:
            with self.db.audit.db.transaction():
                for s in missed:
                    self._audit("schedule.missed",
                                f"Schedule {s.id} ('{s.video_id or 'empty slot'}' on {s.channel_name}) was due at "
                                f"{_fmt(s.scheduled_at)}, more than {grace:g} s ago, while nothing ran; it waits for "
                                "a decision: publish now, shift its wave, or skip", subject_id=s.id, actor=actor,
                                details={"scheduled_at": to_iso(s.scheduled_at), "grace_seconds": grace,
                                         "wave_id": s.wave_id, "coordination_group_id": s.coordination_group_id})
        for sid in late:
            self._audit("schedule.late", f"Schedule {sid} runs late (inside the {grace:g} s grace window)",
                        subject_id=sid, actor=actor)
        return {"missed": [s.id for s in missed], "late": late}

    def recover(self, grace_seconds: float | None = None, *, actor: str = "system") -> dict[str, Any]:
        """Everything start-up does before the scheduler runs: settle uploads a dead process left
        IN_PROGRESS, resolve its ``executing`` schedules, then sort due schedules into late and missed."""
        uploads = self.publisher.recover()
        interrupted = self.recover_interrupted(actor=actor)
        sorted_ = self.mark_missed(grace_seconds, actor=actor)
        return {"uploads_recovered": [(o.video_id, o.channel_id, o.status) for o in uploads],
                "interrupted": interrupted, **sorted_}

    # -- the operator's choices for missed schedules ------------------------------------------------

    def publish_missed_now(self, schedule_id: str, *, actor: str = "operator",
                           cancel_event: threading.Event | None = None) -> dict[str, Any]:
        """Run a missed schedule now (the operator chose it); returns the execution result."""
        s = self.schedule_repo.get_or_raise(schedule_id)
        if s.status != "missed":
            raise ConflictError(f"Schedule '{schedule_id}' is {s.status}, not missed.")
        self._audit("schedule.publish_now", f"Missed schedule {schedule_id} published now by {actor}",
                    subject_id=schedule_id, actor=actor)
        now = self._now()
        result = self._execute_one(schedule_id, before=now, now=now, cancel_event=cancel_event, extra=("missed",))
        if result is None:
            raise ConflictError(f"Schedule '{schedule_id}' changed meanwhile; look at it again.")
        notify_changed()
        return result

    def skip_missed(self, schedule_id: str, *, actor: str = "operator", reason: str | None = None) -> Schedule:
        """Do not publish a missed schedule: it is cancelled (with its distribution); the audit says who skipped it."""
        s = self.schedule_repo.get_or_raise(schedule_id)
        if s.status != "missed":
            raise ConflictError(f"Schedule '{schedule_id}' is {s.status}, not missed.")
        out = self._set(schedule_id, "cancelled", ("missed",), "schedule.skipped", actor,
                        error_message=f"missed; skipped by {actor}" + (f": {reason}" if reason else ""))
        self._distribution_follows(out, "cancelled", None, actor)
        return out

    def shift_wave(self, wave_id_or_group: str, new_start: datetime, *, actor: str = "operator") -> list[Schedule]:
        """Move what is left of a wave (or coordination group) so it starts at ``new_start``,
        keeping each schedule's offset from the first (the stagger).

        Schedules that have not run (pending, scheduled, paused, missed, failed) move; missed
        and failed ones become ``pending``, paused ones stay paused. All or nothing; the error
        lists every conflict.
        """
        start = _utc(new_start, "new_start")
        if not isinstance(wave_id_or_group, str) or not wave_id_or_group:
            raise ValidationError("Give a wave id or a coordination group id", "wave_id")
        movable = ("pending", "scheduled", "paused", "missed", "failed")
        members = [s for s in self.schedule_repo._many(
            "(s.wave_id = ? OR s.coordination_group_id = ?)", (wave_id_or_group, wave_id_or_group))]
        if not members:
            raise NotFoundError(f"No schedule belongs to wave or group '{wave_id_or_group}'.")
        moving = [s for s in members if s.status in movable]
        if not moving:
            raise ConflictError(f"Nothing is left to shift in '{wave_id_or_group}': every schedule has run or was "
                                "cancelled.")
        first = min(s.scheduled_at for s in moving)
        now = self._now()
        plan = [(s, start + (s.scheduled_at - first)) for s in moving]
        ids = [s.id for s in moving]
        with self.db.transaction() as tx:
            conflicts: list[ScheduleConflict] = []
            for s, at in plan:
                ch = resolve_channel(tx, s.channel_id)
                conflicts += find_conflicts(tx, s.channel_id, at, video_id=s.video_id,
                                            gap_seconds=ch["min_spacing_seconds"], now=now, exclude_ids=ids,
                                            channel_name=ch["name"])
            if conflicts:
                raise ScheduleConflictError(conflicts, "new_start")
            for s, at in plan:
                tx.execute("UPDATE schedules SET scheduled_at = ?, status = CASE WHEN status = 'paused' THEN 'paused'"
                           " ELSE 'pending' END, next_attempt_at = NULL, error_message = NULL, updated_at = ?"
                           " WHERE id = ?", (to_iso(at), to_iso(now), s.id))
        self._audit("schedule.wave_shifted", f"{len(plan)} schedule(s) of '{wave_id_or_group}' shifted to start at "
                    f"{_fmt(start)} (was {_fmt(first)})", subject_type="wave", subject_id=wave_id_or_group, actor=actor,
                    details={"schedules": {s.id: {"old": to_iso(s.scheduled_at), "new": to_iso(at)} for s, at in plan}})
        notify_changed()
        return self.schedule_repo.get_many(ids)


__all__ = [
    "MIN_SCHEDULE_GAP_SECONDS", "RUNNABLE_STATUSES", "SCHEDULE_STATUSES", "SCHEDULE_TYPES", "Schedule",
    "ScheduleConflict", "ScheduleConflictError", "ScheduleList", "ScheduleNotFoundError", "ScheduleRepository",
    "SchedulingService", "add_change_listener", "find_conflicts", "insert_schedule", "notify_changed",
    "remove_change_listener",
]
