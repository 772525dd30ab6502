"""Distribution: which video goes to which channel, and why.

Three ways to assign (seed 000/001):

``auto_filter``
    :meth:`VideoDistributionService.auto_distribute_by_filters` matches ready videos against
    every available channel's content filters, ranks the matches (filter score, then channel
    priority) and assigns each video to its best ``max_channels_per_video`` channels
    (default: every match). A channel with no filters accepts every video.
``auto_schedule``
    :meth:`VideoDistributionService.auto_distribute_by_schedule` finds each channel's next
    free posting slot (its weekday slots in its own time zone, inside its availability
    windows, under its daily cap) and fills it: first with a video already assigned to the
    channel and waiting for a slot, else with the best-matching video not yet there. It
    writes the ``schedules`` row and the distribution becomes ``scheduled``.
``manual``
    :meth:`VideoDistributionService.manual_distribute`: the operator's choice; ``force``
    overrides the duplicate rule, channel availability and schedule spacing, and is recorded
    with who and why.

Duplicates (AC 4): a video is not assigned to a channel where it is already assigned,
scheduled, published (or being uploaded), nor where the same content (checksum) or the same
source URL is, under another video id. Automatic runs also never re-create an assignment the
operator cancelled or one that failed (that one is retried instead), so running them every
hour is idempotent.

Every decision is an audit event (``distribution.*``): each assignment with its reason (and
the matching channels that did not take the video), each unavailable channel skipped and why,
each video left unassigned and why (for the channels that came closest), and a summary per run.
A run by filters judges every (video, channel) pair at once (``filters.failure_matrix``) and
builds reasons only for what it records, so 20,000 videos × 100 channels take seconds; its
``skipped`` still lists every declined pair, built when read.
"""

from __future__ import annotations

import collections
import collections.abc
import contextlib
import json
import logging
import random
import time as time_module
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

from database import Database, from_iso, to_iso, utcnow
from database.channels import resolve_channel
from database.uploads import next_rev
from database.errors import ConflictError, NotFoundError, ValidationError, VideoNotFoundError

from .bulk import WriterProcess, bulk_writes, gc_paused
from .channels import LIVE_SCHEDULE_STATUSES, Channel, ChannelService
from .filters import (FilterVerdict, VideoFeatures, VideoJudge, explain_failures, failure_matrix,
                      filter_settings, match, score_of, video_features)

log = logging.getLogger("asfs.distribution")

DISTRIBUTION_METHODS = ("auto_filter", "auto_schedule", "manual")
DISTRIBUTION_STATUSES = ("assigned", "scheduled", "published", "failed", "cancelled")
# A distribution in one of these states occupies its (video, channel): a second one is a duplicate.
LIVE_STATUSES = ("assigned", "scheduled", "published")
# Upload states that mean "it is (or may be) on the channel already".
_UPLOADED = ("SUCCESS", "IN_PROGRESS", "UNKNOWN")
# Schedules that still hold their slot (completed ones count towards the daily cap too).
_SLOT_HOLDING = LIVE_SCHEDULE_STATUSES + ("completed",)
MIN_SCHEDULE_GAP_SECONDS = 60  # seed 002: two schedules on one channel within a minute conflict
DEFAULT_HORIZON_DAYS = 366
_MAX_RETRIES = 3  # a new distribution's retries (seed 000)
# An unassigned video's audit event says why for this many channels (the closest misses); with a
# hundred channels the full list for every such video, every hour, would swamp the audit trail.
_UNASSIGNED_DETAIL = 10
# Assignments written per transaction: big enough that each index page is written once for many
# rows (a run of 70,000 takes seconds, not tens of them), small enough to hold the lock briefly.
_BATCH = 5000
# A run expecting at least this many new assignments writes them in a WriterProcess (starting one
# costs ~0.2 s of the other core; writing this many here costs about as much of this one).
_WRITER_PROCESS_MIN = 10_000


class DistributionNotFoundError(NotFoundError):
    def __init__(self, distribution_id: str):
        super().__init__(f"Distribution '{distribution_id}' does not exist.")
        self.distribution_id = distribution_id


# -- records ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoDistribution:
    """One assignment decision (seed 000's attribute names)."""

    id: str
    video_id: str
    channel_id: str
    distribution_method: str
    assignment_reason: dict[str, Any]
    status: str
    retry_count: int
    max_retries: int
    error_message: str | None
    forced: bool
    created_at: datetime
    updated_at: datetime
    channel_name: str | None = None
    schedule_id: str | None = None
    scheduled_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "VideoDistribution":
        r = dict(row)
        try:
            reason = json.loads(r.get("reason") or "{}")
        except ValueError:
            reason = {"text": r.get("reason")}
        return cls(
            id=r["id"], video_id=r["video_id"], channel_id=r["channel_id"], distribution_method=r["method"],
            assignment_reason=reason if isinstance(reason, dict) else {"text": reason}, status=r["status"],
            retry_count=int(r["retry_count"]), max_retries=int(r["max_retries"]), error_message=r["error_message"],
            forced=bool(r["forced"]), created_at=from_iso(r["created_at"]), updated_at=from_iso(r["updated_at"]),
            channel_name=r.get("channel_name"), schedule_id=r.get("schedule_id"),
            scheduled_at=from_iso(r.get("scheduled_at")),
        )

    @classmethod
    def _assigned_by_run(cls, did: str, video_id: str, channel_id: str, reason_json: str, when: datetime,
                         channel_name: str) -> "VideoDistribution":
        """A distribution a run by filters has just written, holding its reason as the JSON written:
        the dict is made when someone first reads it (see __getattr__). A run makes tens of
        thousands and most callers never read their reasons; as dicts they would be twice as
        many objects for the garbage collector to walk after the run (issue 10)."""
        obj = object.__new__(cls)  # the frozen dataclass's __init__ sets each field the slow way
        obj.__dict__.update(
            id=did, video_id=video_id, channel_id=channel_id, distribution_method="auto_filter",
            _reason_json=reason_json, status="assigned", retry_count=0, max_retries=_MAX_RETRIES,
            error_message=None, forced=False, created_at=when, updated_at=when, channel_name=channel_name,
            schedule_id=None, scheduled_at=None)
        return obj

    def __getattr__(self, name: str) -> Any:
        # Only for attributes not set: the reason of a distribution made by _assigned_by_run.
        if name == "assignment_reason":
            state = self.__dict__
            if "_reason_json" in state:  # setdefault: two threads reading it at once get one dict
                return state.setdefault("assignment_reason", json.loads(state["_reason_json"]))
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def method(self) -> str:
        return self.distribution_method

    @property
    def reason(self) -> dict[str, Any]:
        return self.assignment_reason

    @property
    def assigned_at(self) -> datetime:
        return self.created_at

    @property
    def can_retry(self) -> bool:
        return self.status == "failed" and self.retry_count < self.max_retries

    @property
    def reason_text(self) -> str:
        """The reason in words (for the decision log)."""
        return str(self.assignment_reason.get("summary") or "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "video_id": self.video_id, "channel_id": self.channel_id,
            "channel_name": self.channel_name, "distribution_method": self.distribution_method,
            "assignment_reason": self.assignment_reason, "status": self.status, "retry_count": self.retry_count,
            "max_retries": self.max_retries, "error_message": self.error_message, "forced": self.forced,
            "created_at": to_iso(self.created_at), "updated_at": to_iso(self.updated_at),
            "schedule_id": self.schedule_id, "scheduled_at": to_iso(self.scheduled_at),
        }


class DistributionList(list):
    """The distributions a call created (a plain list), plus ``skipped``: what it did not do and why.

    Each skipped entry is a dict with ``video_id``, ``channel_id``, ``code`` and ``reason``.
    """

    def __init__(self, items: Iterable[VideoDistribution] = (), skipped: Iterable[dict[str, Any]] = ()):
        super().__init__(items)
        self.skipped: list[dict[str, Any]] | SkipList = skipped if isinstance(skipped, SkipList) else list(skipped)


class _NoMatch:
    """One video's skips in a run by filters: the channels whose filters it fails (a row of
    :func:`~orchestration.filters.failure_matrix`) and the other channels that did not take it."""

    __slots__ = ("video_id", "features", "channels", "row", "others", "size")

    def __init__(self, video_id: str, features: VideoFeatures, channels: Sequence[Channel], row,
                 others: dict[str, dict[str, Any]], size: int):
        self.video_id, self.features, self.channels, self.row, self.others = video_id, features, channels, row, others
        self.size = size  # the channels it fails (nonzero entries of the row), and the others

    def closest(self, limit: int) -> dict[str, dict[str, Any]]:
        """Why the channels that came closest to taking it did not (the matching ones first, then by
        fewest failed filters): what an unassigned event records. ``skipped`` lists them all."""
        if self.size <= limit:
            return self.declined()
        misses = _popcount(self.row)  # failed filters per channel
        keep: set[str] = set()
        for j in misses.argsort(kind="stable").tolist():
            ch = self.channels[j]
            if misses[j] or ch.id in self.others:
                keep.add(ch.id)
                if len(keep) == limit:
                    break
        return self.declined(keep)

    def declined(self, only: set[str] | None = None) -> dict[str, dict[str, Any]]:
        """channel id -> why it did not take the video, in channel order."""
        out: dict[str, dict[str, Any]] = {}
        for ch, mask in zip(self.channels, self.row.tolist()):
            if only is not None and ch.id not in only:
                continue
            if mask:
                failed, reason = explain_failures(self.features, ch.content_filters, mask)
                out[ch.id] = {"code": "no_match", "reason": reason, "failed": failed}
            elif ch.id in self.others:
                out[ch.id] = self.others[ch.id]
        return out


class SkipList(collections.abc.Sequence):
    """``skipped`` of a run by filters: a sequence of the same dicts, built when read.

    A run over 20,000 videos and 100 channels declines two million (video, channel) pairs; each
    video's are kept as one row of the failure matrix and become entries only when someone reads them.
    """

    def __init__(self, entries: Iterable[dict[str, Any]] = ()):
        self._parts: list[dict[str, Any] | _NoMatch] = list(entries)
        self._len = len(self._parts)
        self._flat: list[dict[str, Any]] | None = None

    def append(self, entry: dict[str, Any] | _NoMatch) -> None:
        self._parts.append(entry)
        self._len += entry.size if isinstance(entry, _NoMatch) else 1
        self._flat = None

    def __len__(self) -> int:
        return self._len

    def __iter__(self):
        for part in self._parts:
            if isinstance(part, _NoMatch):
                for cid, info in part.declined().items():
                    yield {"video_id": part.video_id, "channel_id": cid, **info}
            else:
                yield part

    def __getitem__(self, index):
        if self._flat is None:
            self._flat = list(self)
        return self._flat[index]

    def counts(self) -> collections.Counter:
        """How many entries have each ``code``, without building them (for a summary)."""
        out: collections.Counter = collections.Counter()
        for part in self._parts:
            if isinstance(part, _NoMatch):
                out["no_match"] += part.size - len(part.others)
                out.update(info["code"] for info in part.others.values())
            else:
                out[part.get("code")] += 1
        return out

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (list, SkipList)) else NotImplemented

    def __repr__(self) -> str:
        return f"SkipList({len(self)} entries)"


@dataclass(frozen=True)
class Duplicate:
    """Why a video is a duplicate on a channel."""

    code: str  # already_assigned, already_scheduled, already_published, in_progress, same_content, same_source
    reason: str
    other_video_id: str | None = None

    @property
    def published_kind(self) -> bool:
        """Published or same content: what a video's allow-duplicates flag may override."""
        return self.code in ("already_published", "same_content", "same_source")


# -- duplicate rules -------------------------------------------------------------------------------


class _Occupancy:
    """What is already on (or headed to) each channel, loaded once and updated as a run assigns.

    One implementation of the duplicate rules serves a single check and a run over
    thousands of videos.
    """

    def __init__(self, conn, channel_ids: Sequence[str] | None = None):
        self.pair: dict[tuple[str, str], tuple[str, str]] = {}  # (video, channel) -> (code, words)
        self.prior: dict[tuple[str, str], str] = {}  # failed/cancelled distributions (automatic runs)
        self.content: dict[tuple[str, str], set[str]] = {}  # (channel, checksum) -> video ids
        self.source: dict[tuple[str, str], set[str]] = {}  # (channel, source_url) -> video ids
        where, params = "", []
        if channel_ids is not None:
            if not channel_ids:
                return
            where = f" AND x.channel_id IN ({','.join('?' * len(channel_ids))})"
            params = list(channel_ids)
        for r in conn.execute(
            "SELECT x.video_id, x.channel_id, x.status, v.checksum, v.source_url FROM distributions x"
            f" JOIN videos v ON v.id = x.video_id WHERE 1 = 1{where}", params
        ):
            if r["status"] in LIVE_STATUSES:
                code = {"assigned": "already_assigned", "scheduled": "already_scheduled",
                        "published": "already_published"}[r["status"]]
                self._occupy(r["video_id"], r["channel_id"], r["checksum"], r["source_url"], code, r["status"])
            else:
                self.prior.setdefault((r["video_id"], r["channel_id"]), r["status"])
        for r in conn.execute(
            "SELECT x.video_id, x.channel_id, x.upload_status, v.checksum, v.source_url FROM video_uploads x"
            f" JOIN videos v ON v.id = x.video_id WHERE x.upload_status IN ('SUCCESS', 'IN_PROGRESS', 'UNKNOWN')"
            f"{where}", params
        ):
            code, words = {
                "SUCCESS": ("already_published", "published"),
                "IN_PROGRESS": ("in_progress", "being uploaded"),
                "UNKNOWN": ("in_progress", "possibly published (unknown outcome)"),
            }[r["upload_status"]]
            self._occupy(r["video_id"], r["channel_id"], r["checksum"], r["source_url"], code, words)
        marks = ",".join("?" * len(LIVE_SCHEDULE_STATUSES))
        for r in conn.execute(
            "SELECT x.video_id, x.channel_id, v.checksum, v.source_url FROM schedules x"
            f" JOIN videos v ON v.id = x.video_id WHERE x.status IN ({marks}){where}",
            list(LIVE_SCHEDULE_STATUSES) + params,
        ):
            self._occupy(r["video_id"], r["channel_id"], r["checksum"], r["source_url"], "already_scheduled",
                         "scheduled")

    _RANK = {"already_published": 4, "in_progress": 3, "already_scheduled": 2, "already_assigned": 1}

    def _occupy(self, video_id: str, channel_id: str, checksum: str | None, source_url: str | None,
                code: str, words: str) -> None:
        key = (video_id, channel_id)
        old = self.pair.get(key)
        if old is None or self._RANK[code] > self._RANK[old[0]]:
            self.pair[key] = (code, words)
        if checksum:
            self.content.setdefault((channel_id, checksum), set()).add(video_id)
        if source_url:
            self.source.setdefault((channel_id, source_url), set()).add(video_id)

    def add(self, video: Mapping[str, Any], channel_id: str, status: str) -> None:
        code = "already_scheduled" if status == "scheduled" else "already_assigned"
        self._occupy(video["id"], channel_id, video.get("checksum"), video.get("source_url"), code, status)

    def find(self, video: Mapping[str, Any], channel: str, channel_name: str | None = None) -> Duplicate | None:
        vid, name = video["id"], channel_name or channel
        hit = self.pair.get((vid, channel))
        if hit:
            return Duplicate(hit[0], f"'{vid}' is already {hit[1]} on {name}", vid)
        for table, key, code, what in (
            (self.content, video.get("checksum"), "same_content", "the same content"),
            (self.source, video.get("source_url"), "same_source", "a video from the same source URL"),
        ):
            if not key:
                continue
            ids = table.get((channel, key))
            if not ids or (len(ids) == 1 and vid in ids):
                continue
            others = sorted(ids - {vid})
            if others:
                state = self.pair.get((others[0], channel), ("", "there"))[1]
                return Duplicate(code, f"{what} is already {state} on {name} as '{others[0]}'", others[0])
        return None


# -- schedules: the scheduling module owns the conflict rule and the writer ----------------------------


def schedule_conflicts(conn, channel_id: str, at: datetime, *, gap_seconds: int = MIN_SCHEDULE_GAP_SECONDS,
                       video_id: str | None = None) -> list[str]:
    """Live schedules on ``channel_id`` within ``gap_seconds`` of ``at`` (and the same video
    already scheduled there), described for a person; empty when the slot is free.

    The rule is :func:`orchestration.scheduling.find_conflicts` (past times are the caller's check).
    """
    from .scheduling import find_conflicts

    return [c.message for c in find_conflicts(conn, channel_id, at, video_id=video_id, gap_seconds=gap_seconds)]


def _schedules_changed() -> None:
    """Tell this process's scheduler that schedules changed, so it re-arms its exact-time job."""
    from .scheduling import notify_changed

    notify_changed()


def write_schedule(tx, *, channel_id: str, scheduled_at: datetime, video_id: str | None,
                   schedule_type: str = "independent", distribution_id: str | None = None,
                   coordination_group_id: str | None = None, wave_id: str | None = None,
                   now: datetime | None = None) -> str:
    """Insert one ``schedules`` row (status ``pending``) inside the caller's transaction,
    through the scheduling module's one writer (:func:`orchestration.scheduling.insert_schedule`)."""
    from .scheduling import insert_schedule

    return insert_schedule(tx, channel_id=channel_id, scheduled_at=scheduled_at, video_id=video_id,
                           schedule_type=schedule_type, distribution_id=distribution_id,
                           coordination_group_id=coordination_group_id, wave_id=wave_id, now=now)


# -- the repository --------------------------------------------------------------------------------


_SELECT = """
SELECT d.*, c.name AS channel_name
FROM distributions d
LEFT JOIN channels c ON c.id = d.channel_id
"""


def _schedules_for(conn, ids: Sequence[str]) -> dict[str, tuple[str, str, str]]:
    """The latest schedule (id, scheduled_at, status) of each distribution id.

    ``schedules.distribution_id`` has no index (yet), so many ids are served by one scan
    rather than one lookup each.
    """
    out: dict[str, tuple[str, str, str, str]] = {}
    if not ids:
        return {}
    if len(ids) > 200:
        rows = conn.execute("SELECT distribution_id, id, scheduled_at, status, created_at FROM schedules"
                            " WHERE distribution_id IS NOT NULL").fetchall()
    else:
        rows = conn.execute("SELECT distribution_id, id, scheduled_at, status, created_at FROM schedules"
                            f" WHERE distribution_id IN ({','.join('?' * len(ids))})", list(ids)).fetchall()
    for r in rows:
        old = out.get(r[0])
        if old is None or r[4] >= old[3]:
            out[r[0]] = (r[1], r[2], r[3], r[4])
    return {k: v[:3] for k, v in out.items()}


def _check_status(status: str) -> str:
    if status not in DISTRIBUTION_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(DISTRIBUTION_STATUSES)}, got {status!r}", "status")
    return status


def _check_method(method: str) -> str:
    if method not in DISTRIBUTION_METHODS:
        raise ValidationError(f"method must be one of {', '.join(DISTRIBUTION_METHODS)}, got {method!r}", "method")
    return method


def _is_datetime(value: Any) -> bool:
    return isinstance(value, datetime) or (isinstance(value, str) and ("T" in value or ":" in value))


def _when(value: Any, field: str, *, end: bool = False) -> str | None:
    """A statistics bound as registry text: datetimes (naive = UTC), dates (whole days) or ISO text."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip()) if "T" in value or ":" in value else date.fromisoformat(
                value.strip())
        except ValueError:
            raise ValidationError(f"{field} must be a date or a date-time, got {value!r}", field) from None
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, date):
        day = value + timedelta(days=1) if end else value
        return to_iso(datetime.combine(day, time(0), tzinfo=timezone.utc))
    raise ValidationError(f"{field} must be a date or a date-time, got {type(value).__name__}", field)


class DistributionRepository:
    """Reads and the duplicate check over ``distributions`` (seed 000's ``distribution_repo``)."""

    def __init__(self, db: Database):
        self.db = db

    def _many(self, where: str = "", params: Sequence[Any] = (), *, limit: int | None = None,
              conn=None) -> list[VideoDistribution]:
        sql = _SELECT + (f" WHERE {where}" if where else "") + " ORDER BY d.created_at, d.id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self.db.snapshot() as snap:
            conn = conn or snap
            rows = conn.execute(sql, params).fetchall()
            sched = _schedules_for(conn, [r["id"] for r in rows])
        out = []
        for r in rows:
            d = dict(r)
            d["schedule_id"], d["scheduled_at"], _ = sched.get(r["id"], (None, None, None))
            out.append(VideoDistribution.from_row(d))
        return out

    def get(self, distribution_id: str) -> VideoDistribution | None:
        rows = self._many("d.id = ?", (distribution_id,))
        return rows[0] if rows else None

    def get_many(self, ids: Sequence[str]) -> list[VideoDistribution]:
        """Distributions by id, in the order given (unknown ids are left out)."""
        found: dict[str, VideoDistribution] = {}
        for i in range(0, len(ids), 500):
            part = list(ids[i:i + 500])
            for d in self._many(f"d.id IN ({','.join('?' * len(part))})", part):
                found[d.id] = d
        return [found[i] for i in ids if i in found]

    def get_or_raise(self, distribution_id: str) -> VideoDistribution:
        dist = self.get(distribution_id)
        if dist is None:
            raise DistributionNotFoundError(distribution_id)
        return dist

    def get_by_video(self, video_id: str) -> list[VideoDistribution]:
        """Every distribution of a video, oldest first (its distribution history)."""
        return self._many("d.video_id = ?", (video_id,))

    def get_by_channel(self, channel_id: str, status: str | None = None) -> list[VideoDistribution]:
        cid = resolve_channel(self.db.conn, channel_id)["id"]
        if status is None:
            return self._many("d.channel_id = ?", (cid,))
        return self._many("d.channel_id = ? AND d.status = ?", (cid, _check_status(status)))

    def get_by_status(self, status: str) -> list[VideoDistribution]:
        return self._many("d.status = ?", (_check_status(status),))

    def get_by_method(self, method: str) -> list[VideoDistribution]:
        return self._many("d.method = ?", (_check_method(method),))

    def get_all(self, *, video_id: str | None = None, channel_id: str | None = None, status: str | None = None,
                method: str | None = None, forced: bool | None = None, start_date: Any = None,
                end_date: Any = None, limit: int | None = None) -> list[VideoDistribution]:
        """Distributions filtered by any of the arguments (the decision log)."""
        where, params = self._filters(video_id=video_id, channel_id=channel_id, status=status, method=method,
                                      forced=forced, start_date=start_date, end_date=end_date)
        return self._many(" AND ".join(where), params, limit=limit)

    def _filters(self, *, video_id=None, channel_id=None, status=None, method=None, forced=None, start_date=None,
                 end_date=None) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        if video_id is not None:
            where.append("d.video_id = ?")
            params.append(video_id)
        if channel_id is not None:
            where.append("d.channel_id = ?")
            params.append(resolve_channel(self.db.conn, channel_id)["id"])
        if status is not None:
            where.append("d.status = ?")
            params.append(_check_status(status))
        if method is not None:
            where.append("d.method = ?")
            params.append(_check_method(method))
        if forced is not None:
            where.append("d.forced = ?")
            params.append(int(bool(forced)))
        start, end = _when(start_date, "start_date"), _when(end_date, "end_date", end=True)
        if start and end and (start > end if _is_datetime(end_date) else start >= end):
            raise ValidationError("start_date is after end_date", "start_date")
        if start:
            where.append("d.created_at >= ?")
            params.append(start)
        if end:
            # a date as end means "through that day" (its bound is the next midnight); a date-time is inclusive
            where.append("d.created_at <= ?" if _is_datetime(end_date) else "d.created_at < ?")
            params.append(end)
        return where, params

    def find_duplicate(self, video_id: str, channel_id: str) -> Duplicate | None:
        """Why ``video_id`` would be a duplicate on the channel, or None."""
        channel = resolve_channel(self.db.conn, channel_id)
        row = self.db.query_one("SELECT id, checksum, source_url FROM videos WHERE id = ?", (video_id,))
        if row is None:
            raise VideoNotFoundError(video_id)
        with self.db.snapshot() as conn:
            occ = _Occupancy(conn, [channel["id"]])
        return occ.find(dict(row), channel["id"], channel["name"])

    def check_duplicate(self, video_id: str, channel_id: str) -> bool:
        """True when the video is already assigned, scheduled or published on the channel, or the
        same content or source URL is there under another id."""
        return self.find_duplicate(video_id, channel_id) is not None

    def get_statistics(self, channel_id: str | None = None, start_date: Any = None,
                       end_date: Any = None) -> dict[str, Any]:
        """Counts over distributions created in the period (all when no bounds).

        Returns:
            ``total``, ``by_status`` and ``by_method`` (every key present), ``success_rate``
            (percent published), ``published_count``, ``failed_count``, ``forced_count``,
            ``error_rate`` (percent failed), ``videos_per_channel`` and ``by_channel``
            (per channel: name, platform, total, videos, published, failed, success_rate).
        """
        cid = resolve_channel(self.db.conn, channel_id)["id"] if channel_id is not None else None
        where, params = self._filters(channel_id=cid, start_date=start_date, end_date=end_date)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with self.db.snapshot() as conn:
            by_status = dict.fromkeys(DISTRIBUTION_STATUSES, 0)
            by_method = dict.fromkeys(DISTRIBUTION_METHODS, 0)
            forced = 0
            for r in conn.execute(
                f"SELECT d.status, d.method, d.forced, COUNT(*) AS n FROM distributions d{clause}"
                " GROUP BY d.status, d.method, d.forced", params
            ):
                by_status[r["status"]] = by_status.get(r["status"], 0) + r["n"]
                by_method[r["method"]] = by_method.get(r["method"], 0) + r["n"]
                forced += r["n"] if r["forced"] else 0
            per_channel = {}
            for r in conn.execute(
                f"SELECT d.channel_id, c.name, c.platform, COUNT(*) AS total, COUNT(DISTINCT d.video_id) AS videos,"
                f" SUM(d.status = 'published') AS published, SUM(d.status = 'failed') AS failed,"
                f" COUNT(DISTINCT CASE WHEN d.status = 'published' THEN d.video_id END) AS videos_published"
                f" FROM distributions d LEFT JOIN channels c ON c.id = d.channel_id{clause}"
                " GROUP BY d.channel_id ORDER BY c.name COLLATE NOCASE", params
            ):
                per_channel[r["channel_id"]] = {
                    "channel_id": r["channel_id"], "name": r["name"], "platform": r["platform"],
                    "total": r["total"], "videos": r["videos"], "videos_published": r["videos_published"],
                    "published": r["published"], "failed": r["failed"],
                    "success_rate": _pct(r["published"], r["total"]),
                }
        total = sum(by_status.values())
        return {
            "total": total,
            "by_status": by_status,
            "by_method": by_method,
            "success_rate": _pct(by_status["published"], total),
            "published_count": by_status["published"],
            "failed_count": by_status["failed"],
            "forced_count": forced,
            "error_rate": _pct(by_status["failed"], total),
            "videos_per_channel": {cid: c["videos"] for cid, c in per_channel.items()},
            "by_channel": per_channel,
            "period": {"channel_id": cid,
                       "start_date": _when(start_date, "start_date"), "end_date": _when(end_date, "end_date", end=True)},
        }

    def set_status(self, distribution_id: str, status: str, *, error_message: str | None = None,
                   actor: str = "system") -> VideoDistribution:
        """Move a distribution to a new status (published and cancelled are final).

        For the publishing and scheduling code that learns what became of an assignment.
        """
        _check_status(status)
        with self.db.transaction() as tx:
            row = tx.execute("SELECT status FROM distributions WHERE id = ?", (distribution_id,)).fetchone()
            if row is None:
                raise DistributionNotFoundError(distribution_id)
            old = row["status"]
            if old in ("published", "cancelled") and status != old:
                raise ConflictError(f"Distribution '{distribution_id}' is {old}; it cannot become {status}.")
            tx.execute("UPDATE distributions SET status = ?, error_message = ?, updated_at = ? WHERE id = ?",
                       (status, error_message if status == "failed" else None, to_iso(utcnow()), distribution_id))
        dist = self.get_or_raise(distribution_id)
        if old != status or status == "failed":  # a failed retry is news even though the status stays
            self.db.audit.record(
                f"distribution.{status}", f"'{dist.video_id}' on {dist.channel_name or dist.channel_id}: {old} -> {status}"
                + (f" ({error_message})" if error_message and status == "failed" else ""),
                subject_type="distribution", subject_id=distribution_id, actor=actor,
                details={"old_status": old, "status": status, "error_message": error_message,
                         "video_id": dist.video_id, "channel_id": dist.channel_id},
            )
        return dist


def _pct(part: int | None, whole: int | None) -> float:
    return round(100.0 * (part or 0) / whole, 2) if whole else 0.0


# -- the service -----------------------------------------------------------------------------------


_BITS: list = []


def _popcount(row):
    """Set bits of each entry of a uint16 numpy array."""
    if not _BITS:
        import numpy as np

        _BITS.append(np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8))
    return _BITS[0][row & 0xFF] + _BITS[0][row >> 8]


# A JSON string literal of a str, as json.dumps writes it (the C escaper, without dumps' call overhead).
_json_str = json.encoder.encode_basestring_ascii


def _matching_channels(fails) -> list[list[int]]:
    """Each video's matching channels (column numbers of the zeros in its row of the failure matrix)."""
    import numpy as np

    rows, cols = np.nonzero(fails == 0)
    bounds = np.searchsorted(rows, np.arange(fails.shape[0] + 1)).tolist()
    cols = cols.tolist()
    return [cols[bounds[i]:bounds[i + 1]] for i in range(fails.shape[0])]


class _VerdictText:
    """The parts of assignment reasons that come from filter verdicts, made once per run and shared:
    a run repeats the same few thousand verdicts tens of thousands of times."""

    _MAX = 200_000  # verdicts remembered, whatever the registry holds

    def __init__(self):
        self._known: dict[FilterVerdict, tuple[str, str]] = {}  # verdict -> (JSON member, words member)

    def of(self, verdicts: Sequence[FilterVerdict]) -> tuple[list[str], list[str]]:
        """``(parts, words)``: the JSON members of the reason's ``filters`` entry and the audit
        event's ``"name": "words"`` members, for the filters a channel sets (one that it does not
        set passes by definition and is not listed)."""
        known = self._known
        if len(known) > self._MAX:
            known.clear()
        parts, words = [], []
        for v in verdicts:
            hit = known.get(v)
            if hit is None:
                entry = {"passed": v.passed, "active": True, "reason": v.reason, "margin": round(v.margin, 4)}
                name = _json_str(v.filter)
                hit = known[v] = (f"{name}: {json.dumps(entry)}", f"{name}: {_json_str(v.reason)}")
            parts.append(hit[0])
            words.append(hit[1])
        return parts, words


def _new_id() -> str:
    """A new distribution id: 32 hex digits like a uuid4's, but time-ordered (milliseconds first),
    so a run's thousands of inserts append to the primary-key index instead of landing all over it."""
    # random's module-level generator is reseeded in a forked child; secrets.token_hex asks the OS
    # each time, which a run making 70,000 ids notices
    return f"{time_module.time_ns() // 1_000_000:012x}{random.getrandbits(80):020x}"


def _pair_taken(tx, video_id: str, channel_id: str) -> bool:
    """Whether a live distribution of the video on the channel exists (checked inside a write transaction)."""
    return tx.execute(
        "SELECT 1 FROM distributions WHERE video_id = ? AND channel_id = ? AND status IN"
        " ('assigned', 'scheduled', 'published') LIMIT 1", (video_id, channel_id)).fetchone() is not None


def _pairs_taken(tx, video_ids: Iterable[str]) -> set[tuple[str, str]]:
    """The (video, channel) pairs of these videos that have a live distribution (inside a write transaction).

    One statement and one result row, whatever the batch's size."""
    found = tx.execute(
        # `+status`: look the videos up by their index; the status index would walk every assignment
        "SELECT group_concat(video_id || char(31) || channel_id, char(30)) FROM distributions"
        " WHERE video_id IN (SELECT value FROM json_each(?)) AND +status IN ('assigned', 'scheduled', 'published')",
        (json.dumps(list(video_ids)),)).fetchone()[0]
    return {tuple(pair.split(chr(31))) for pair in found.split(chr(30))} if found else set()


def _write_rows(db: Database, rows: list[tuple], events: list[tuple], actor: str) -> tuple[list[tuple], tuple]:
    """Write a batch of a run by filters: its assignments in one registry transaction. Returns the
    rows not written because another run assigned their pair meanwhile (checked under the write
    lock), and the arguments of :func:`_write_events` for the batch's events (without those rows').

    Rows are ``(id, video id, channel id, reason JSON, created, updated)``; events are
    ``AuditLog.record_many`` tuples, an assignment's with its distribution id as subject."""
    lost: list[tuple] = []
    if rows:
        with db.transaction() as tx:
            taken = _pairs_taken(tx, {row[1] for row in rows})
            if taken:
                lost = [row for row in rows if (row[1], row[2]) in taken]
                rows = [row for row in rows if (row[1], row[2]) not in taken]
                ids = {row[0] for row in lost}
                events = [e for e in events if e[3] not in ids]
            # the batch's rows share one rev (distributions have no insert trigger: see schema migration 4)
            tx.executemany(
                "INSERT INTO distributions (id, video_id, channel_id, method, reason, status, forced,"
                f" max_retries, created_at, updated_at, rev) VALUES (?,?,?, 'auto_filter', ?, 'assigned', 0,"
                f" {_MAX_RETRIES}, ?, ?, {int(next_rev(tx))})", rows)
    return lost, (events, actor)


def _write_events(db: Database, events: list[tuple], actor: str) -> None:
    """The audit events of a batch (after its rows), in one audit transaction."""
    if events:
        db.audit.record_many(events, actor=actor)


_WRITER = (f"{__name__}:_write_rows", f"{__name__}:_write_events")


def _utc(dt: datetime) -> datetime:
    """Naive datetimes are UTC (as everywhere in the API)."""
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


# What a run by filters reads of a video: the filters' inputs and the duplicate rules' keys.
_FILTER_COLUMNS = "id, status, checksum, source_url, width, height, duration, source_views, watermarked, tags"


def _load_videos(conn, video_id: str | None = None, columns: str = "*") -> list[dict[str, Any]]:
    from database.videos import _video_dict

    if video_id is not None:
        row = conn.execute(f"SELECT {columns} FROM videos WHERE id = ?", (video_id,)).fetchone()
        if row is None:
            raise VideoNotFoundError(video_id)
        return [_video_dict(row)]
    return [_video_dict(r) for r in conn.execute(
        f"SELECT {columns} FROM videos WHERE status = 'ready' ORDER BY created_at, id")]


def _as_list(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Channel):
        value = [value.id]
    try:
        items = list(value)
    except TypeError:
        raise ValidationError(f"{field} must be a list of channel ids or names", field) from None
    out: list[str] = []
    for item in items:
        item = item.id if isinstance(item, Channel) else item
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(f"{field} must hold channel ids or names (text), got {item!r}", field)
        out.append(item)
    return out


class VideoDistributionService:
    """Assigns videos to channels, records why, retries failures and counts results.

    Args:
        db: the registry.
        clock: "now" (UTC); tests inject their own.
        max_channels_per_video: the default cap for automatic distribution (None: every match).
        publisher: the ``Publisher`` used to publish and retry (default: one over ``db``).
        horizon_days: how far ahead ``auto_distribute_by_schedule`` looks for a free slot.
    """

    def __init__(self, db: Database, *, clock=utcnow, max_channels_per_video: int | None = None,
                 publisher=None, horizon_days: int = DEFAULT_HORIZON_DAYS):
        self.db = db
        self.clock = clock
        self.distribution_repo = DistributionRepository(db)
        self.channel_service = ChannelService(db, clock=clock)
        self.max_channels_per_video = self._check_max(max_channels_per_video)
        self.horizon_days = horizon_days
        self._publisher = publisher

    def _now(self) -> datetime:
        return _utc(self.clock())

    @property
    def publisher(self):
        if self._publisher is None:
            from .publishing import Publisher

            self._publisher = Publisher(self.db, clock=self.clock)
        return self._publisher

    @staticmethod
    def _check_max(value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(f"max_channels_per_video must be a whole number of at least 1, got {value!r}",
                                  "max_channels_per_video")
        return value

    def _channels(self, channel_ids: Any) -> list[Channel]:
        if channel_ids is None:
            return self.channel_service.list_channels()
        seen, out = set(), []
        for ref in _as_list(channel_ids, "channel_ids"):
            ch = self.channel_service.get_channel(ref)
            if ch.id not in seen:
                seen.add(ch.id)
                out.append(ch)
        return out

    def _audit(self, kind: str, message: str, *, subject_type: str | None = None, subject_id: str | None = None,
               actor: str = "system", details: dict[str, Any] | None = None) -> None:
        self.db.audit.record(kind, message, subject_type=subject_type, subject_id=subject_id, actor=actor,
                             details=details)

    def _insert(self, tx, *, video_id: str, channel_id: str, method: str, reason: dict[str, Any], status: str,
                forced: bool = False, now: datetime) -> str:
        did = _new_id()
        stamp = to_iso(now)
        tx.execute(
            "INSERT INTO distributions (id, video_id, channel_id, method, reason, status, forced, created_at,"
            " updated_at, rev) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (did, video_id, channel_id, method, json.dumps(reason, default=str), status, int(forced), stamp, stamp,
             next_rev(tx)),
        )
        return did

    def _skip_channels(self, channels: list[Channel], now: datetime, actor: str, run: str, *,
                       check_window: bool = True) -> tuple[list[Channel], list[dict[str, Any]]]:
        available, skipped = [], []
        for ch in channels:
            ok, why = ch.availability(now, check_window=check_window)
            if ok:
                available.append(ch)
                continue
            skipped.append({"video_id": None, "channel_id": ch.id, "code": "channel_unavailable", "reason": why})
            self._audit("distribution.channel_skipped", f"Skipped {ch.name}: {why}", subject_type="channel",
                        subject_id=ch.id, actor=actor, details={"run": run, "reason": why})
        return available, skipped

    # -- by content filters -----------------------------------------------------------------------

    def auto_distribute_by_filters(self, video_id: str | None = None, channel_ids: Iterable[str] | None = None,
                                   *, max_channels_per_video: int | None = None,
                                   actor: str = "system") -> DistributionList:
        """Assign ready videos to the available channels whose content filters they match.

        Args:
            video_id: only this video (default: every ready video).
            channel_ids: only these channels (ids or names; default: every channel).
            max_channels_per_video: a video is on at most this many channels (its live
                distributions, whatever their method, count), the best-ranked first (default:
                the service's setting; None assigns every match).
        Returns:
            The new distributions (status ``assigned``), with ``.skipped`` listing what was not
            assigned and why.
        Raises:
            VideoNotFoundError, ChannelNotFoundError, ValidationError — before anything changes.
        """
        limit = self._check_max(max_channels_per_video) or self.max_channels_per_video
        channels = self._channels(channel_ids)
        with gc_paused():  # a big run keeps ~10 objects per assignment alive: no cycles among them
            return self._distribute_by_filters(video_id, channels, limit, actor)

    def _distribute_by_filters(self, video_id: str | None, channels: list[Channel], limit: int | None,
                               actor: str) -> DistributionList:
        now = self._now()
        run = uuid.uuid4().hex[:12]
        available, unavailable = self._skip_channels(channels, now, actor, run)
        with contextlib.ExitStack() as stack:
            return self._distribute_available(video_id, available, unavailable, limit, actor, now, run, stack)

    def _distribute_available(self, video_id: str | None, available: list[Channel], unavailable: list[dict],
                              limit: int | None, actor: str, now: datetime, run: str,
                              stack: contextlib.ExitStack) -> DistributionList:
        stamp = to_iso(now)
        when = from_iso(stamp)
        writer = None
        if video_id is None and available:
            # A big run writes in a child process while this one builds the next batch (the two
            # take about as long); it starts now, to be ready when the first batch is.
            ready = self.db.query_one("SELECT COUNT(*) FROM videos WHERE status = 'ready'")[0]
            if ready * len(available) >= _WRITER_PROCESS_MIN:
                writer = stack.enter_context(WriterProcess(self.db, *_WRITER))
        with self.db.snapshot() as conn:
            videos = _load_videos(conn, video_id, _FILTER_COLUMNS)
            occ = _Occupancy(conn, [c.id for c in available])
            live_count = {r[0]: r[1] for r in conn.execute(
                "SELECT video_id, COUNT(DISTINCT channel_id) FROM distributions"
                " WHERE status IN ('assigned', 'scheduled', 'published') GROUP BY video_id")}
        skipped = SkipList(unavailable)
        # Which filters each video fails on each channel, for all pairs at once; only the matching
        # pairs are then judged in full (their verdicts, reasons and score).
        features = [video_features(v) for v in videos]
        fails = failure_matrix(features, [ch.content_filters for ch in available])
        matching_of = _matching_channels(fails)
        settings = [filter_settings(ch.content_filters) for ch in available]
        # The reasons are the run's bulk (tens of thousands): their JSON is put together here (what
        # json.dumps(reason) would write; a test compares them), each verdict's part once per run
        # (_VerdictText) and the per-channel parts once per channel.
        texts = _VerdictText()
        tail_json = f', "max_channels_per_video": {json.dumps(limit)}, "run": {json.dumps(run)}, "filters": {{'
        channel_json = {ch.id: (_json_str(ch.id), json.dumps(ch.priority)) for ch in available}
        created: list[VideoDistribution] = []
        counts = {"videos": len(videos), "assigned": 0, "no_match": 0, "duplicates": 0, "over_limit": 0,
                  "not_ready": 0}
        # Decisions are written in batches (_write_rows, _write_events): one registry transaction,
        # then their audit events.
        rows: list[tuple] = []
        events: list[tuple[str, str, str, str, Any]] = []  # kind, message, subject type and id, details
        lost: list[tuple] = []  # rows another run assigned meanwhile (not written)

        if writer is not None and sum(map(len, matching_of)) - sum(live_count.values()) < _WRITER_PROCESS_MIN:
            writer.finish()  # few new pairs after all (most are assigned already): written here
            writer = None
        if writer is None:
            stack.enter_context(bulk_writes(self.db))

        def flush() -> None:
            """The batch so far: its assignments in one registry transaction, then their audit events."""
            nonlocal rows, events
            batch, batch_events, rows, events = rows, events, [], []
            if writer is not None:
                writer.send(batch, batch_events, actor)
            else:
                gone, then = _write_rows(self.db, batch, batch_events, actor)
                _write_events(self.db, *then)
                lost.extend(gone)

        for i, video in enumerate(videos):
            vid = video["id"]
            if video["status"] != "ready":
                counts["not_ready"] += 1
                why = f"'{vid}' is {video['status']}, not ready to distribute"
                skipped.append({"video_id": vid, "channel_id": None, "code": "video_not_ready", "reason": why})
                events.append(("distribution.unassigned", why, "video", vid, {"run": run,
                                                                               "status": video["status"]}))
                continue
            matching = matching_of[i]
            no_match = len(available) - len(matching)
            counts["no_match"] += no_match
            candidates: list[tuple[float, Channel, tuple[FilterVerdict, ...]]] = []
            why_not: dict[str, dict[str, Any]] = {}  # channels whose filters it matches that do not take it
            judge = VideoJudge(features[i])
            for j in matching:
                ch = available[j]
                dup = occ.find(video, ch.id, ch.name)
                if dup is None and occ.prior:
                    state = occ.prior.get((vid, ch.id))
                    if state is not None:
                        dup = Duplicate(f"previously_{state}",
                                        f"an earlier distribution to {ch.name} was {state}"
                                        + ("; retry it instead" if state == "failed" else ""))
                if dup is not None:
                    counts["duplicates"] += 1
                    why_not[ch.id] = {"code": dup.code, "reason": dup.reason}
                    continue
                verdicts = judge.set_verdicts(ch.content_filters, settings[j])
                candidates.append((score_of(verdicts), ch, verdicts))
            if len(candidates) > 1:
                candidates.sort(key=lambda c: (-c[0], -c[1].priority, c[1].name.casefold(), c[1].id))
            already = live_count.get(vid, 0)
            chosen = candidates[:max(0, limit - already)] if limit else candidates
            for score, ch, _ in candidates[len(chosen):]:
                counts["over_limit"] += 1
                why_not[ch.id] = {"code": "over_limit", "score": score,
                                  "reason": f"ranked below the best {limit} channel(s) (max_channels_per_video)"
                                  + (f"; already on {already}" if already else "")}
            if chosen:
                vid_json = _json_str(vid)
                not_chosen = json.dumps(why_not) if why_not else "{}"
                n = len(candidates)
            for rank, (score, ch, verdicts) in enumerate(chosen, 1):
                summary = (f"matches {ch.name}'s filters (score {score:.3f}, rank {rank} of {n}, "
                           f"priority {ch.priority})")
                parts, words = texts.of(verdicts)
                ch_json, priority_json = channel_json[ch.id]
                summary_json = _json_str(summary)
                reason_json = (f'{{"method": "auto_filter", "summary": {summary_json}, "score": {score!r}, '
                               f'"rank": {rank}, "candidates": {n}, "channel_priority": {priority_json}'
                               f'{tail_json}{", ".join(parts)}}}}}')
                did = _new_id()
                rows.append((did, vid, ch.id, reason_json, stamp, stamp))
                occ.add(video, ch.id, "assigned")
                created.append(VideoDistribution._assigned_by_run(did, vid, ch.id, reason_json, when, ch.name))
                # The event says why in words: the summary and each filter's verdict (the margins
                # behind the score are in the distribution's reason). The channels whose filters
                # it fails are counted, and listed in `skipped` (and in the unassigned event when
                # no channel takes it): with a hundred channels, listing them in every
                # assignment would multiply the audit trail.
                events.append((
                    "distribution.assigned", f"'{vid}' assigned to {ch.name}: {summary}", "distribution", did,
                    f'{{"video_id": {vid_json}, "channel_id": {ch_json}, "method": "auto_filter", "reason": '
                    f'{{"summary": {summary_json}, "score": {score!r}, "rank": {rank}, "filters": '
                    f'{{{", ".join(words)}}}}}, "not_chosen": {not_chosen}, "no_match": {no_match}}}'))
            counts["assigned"] += len(chosen)
            live_count[vid] = already + len(chosen)
            declined = _NoMatch(vid, features[i], available, fails[i], why_not, no_match + len(why_not))
            if declined.size:
                skipped.append(declined)
            if not chosen and (video_id is not None or not already):
                events.append((
                    "distribution.unassigned",
                    f"'{vid}' was not assigned: " + ("no available channel" if not declined.size else
                                                     f"{declined.size} channel(s) declined"),
                    "video", vid, {"run": run, "declined": declined.size,
                                   "channels": declined.closest(_UNASSIGNED_DETAIL)},
                ))
            if len(rows) >= _BATCH or len(events) >= _BATCH:
                flush()
        flush()
        if writer is not None:
            lost.extend(row for gone in writer.finish() for row in gone)
        if lost:
            ids = {row[0] for row in lost}
            created[:] = [d for d in created if d.id not in ids]
            counts["assigned"] -= len(lost)
            counts["duplicates"] += len(lost)
            for row in lost:
                skipped.append({"video_id": row[1], "channel_id": row[2], "code": "already_assigned",
                                "reason": f"'{row[1]}' was assigned there by another run meanwhile"})

        self._audit("distribution.run", f"Distribution by filters: {counts['assigned']} assignment(s) for "
                    f"{counts['videos']} video(s) over {len(available)} available channel(s)",
                    actor=actor, details={"run": run, "method": "auto_filter", **counts,
                                          "channels_skipped": len(unavailable),
                                          "max_channels_per_video": limit})
        return DistributionList(created, skipped)

    # -- by posting schedule ----------------------------------------------------------------------

    def next_free_slot(self, channel_ref: str | Channel, after: datetime | None = None) -> datetime | None:
        """The channel's next free posting slot (UTC) after ``after`` (default now), or None."""
        ch = channel_ref if isinstance(channel_ref, Channel) else self.channel_service.get_channel(channel_ref)
        now = _utc(after) if after is not None else self._now()
        taken = self._slot_holders(self.db.conn, ch, now)
        return self._free_slot(ch, now, taken)

    def _slot_holders(self, conn, ch: Channel, now: datetime) -> list[datetime]:
        gap = max(ch.min_spacing_seconds, MIN_SCHEDULE_GAP_SECONDS)
        marks = ",".join("?" * len(_SLOT_HOLDING))
        # from the start of today (local) for the daily cap, minus the gap for spacing
        start = min(ch.day_bounds(now.astimezone(ch.zone).date())[0], now - timedelta(seconds=gap))
        return sorted(from_iso(r[0]) for r in conn.execute(
            f"SELECT scheduled_at FROM schedules WHERE channel_id = ? AND status IN ({marks}) AND scheduled_at >= ?",
            (ch.id, *_SLOT_HOLDING, to_iso(start))))

    def _free_slot(self, ch: Channel, now: datetime, taken: list[datetime]) -> datetime | None:
        sched = ch.posting_schedule
        if not sched.has_slots:
            return None
        tz = ch.zone
        gap = timedelta(seconds=max(ch.min_spacing_seconds, MIN_SCHEDULE_GAP_SECONDS))
        today = now.astimezone(tz).date()
        last = sched.last_available_day()
        for offset in range(self.horizon_days):
            day = today + timedelta(days=offset)
            if last is not None and day > last:
                return None
            if not sched.available_on(day):
                continue
            instants = [t for t in sched.slot_times(day, tz) if t > now]
            if not instants:
                continue
            if ch.daily_cap is not None:
                lo, hi = ch.day_bounds(day)
                if sum(1 for t in taken if lo <= t < hi) >= ch.daily_cap:
                    continue
            for t in instants:
                if all(abs(t - other) >= gap for other in taken):
                    return t
        return None

    def auto_distribute_by_schedule(self, channel_ids: Iterable[str] | None = None, *, slots_per_channel: int = 1,
                                    actor: str = "system") -> DistributionList:
        """Fill each channel's next free posting slot with a video, and schedule it.

        For each available channel with posting slots: the next slot (in the channel's zone,
        inside its availability windows, under its daily cap, clear of other schedules) gets a
        video already assigned to the channel and waiting, else the best-matching ready video
        not yet there. The ``schedules`` row is written (type ``independent``) and linked, and
        the distribution is ``scheduled``.

        Returns:
            The scheduled distributions, with ``.skipped`` saying which channels got nothing and why.
        """
        if isinstance(slots_per_channel, bool) or not isinstance(slots_per_channel, int) or slots_per_channel < 1:
            raise ValidationError("slots_per_channel must be a whole number of at least 1", "slots_per_channel")
        channels = [c for c in self._channels(channel_ids) if c.posting_schedule.has_slots]
        now = self._now()
        run = uuid.uuid4().hex[:12]
        with self.db.snapshot() as conn:
            available, skipped = self._skip_channels(channels, now, actor, run, check_window=False)
            videos = _load_videos(conn)
            occ = _Occupancy(conn, [c.id for c in available])
            waiting = self._waiting_assignments(conn, [c.id for c in available])
            live_count = {r[0]: r[1] for r in conn.execute(
                "SELECT video_id, COUNT(DISTINCT channel_id) FROM distributions"
                " WHERE status IN ('assigned', 'scheduled', 'published') GROUP BY video_id")}
        by_id = {v["id"]: v for v in videos}
        limit = self.max_channels_per_video
        if limit:  # a new pick must not put a video on more channels than the service allows
            videos = [v for v in videos if live_count.get(v["id"], 0) < limit]
        done: list[str] = []
        for ch in available:
            taken = self._slot_holders(self.db.conn, ch, now)
            for _ in range(slots_per_channel):
                slot = self._free_slot(ch, now, taken)
                if slot is None:
                    why = (f"{ch.name} has no free slot in the next {self.horizon_days} days inside its "
                           "availability windows and daily cap")
                    skipped.append({"video_id": None, "channel_id": ch.id, "code": "no_free_slot", "reason": why})
                    self._audit("distribution.channel_skipped", why, subject_type="channel", subject_id=ch.id,
                                actor=actor, details={"run": run, "reason": why})
                    break
                pick = self._pick_for_slot(ch, waiting.get(ch.id, []), videos, by_id, occ)
                local = slot.astimezone(ch.zone)
                slot_info = {"scheduled_at": to_iso(slot), "local_time": local.isoformat(timespec="minutes"),
                             "timezone": ch.timezone, "weekday": local.strftime("%a").lower()}
                if pick is None:
                    why = f"no ready video matches {ch.name} and is not already there"
                    skipped.append({"video_id": None, "channel_id": ch.id, "code": "no_video", "reason": why,
                                    "slot": slot_info})
                    self._audit("distribution.slot_unfilled", f"Slot {slot_info['local_time']} ({ch.timezone}) on "
                                f"{ch.name} left empty: {why}", subject_type="channel", subject_id=ch.id,
                                actor=actor, details={"run": run, "slot": slot_info})
                    break
                existing, video, result = pick
                with self.db.transaction() as tx:
                    clash = schedule_conflicts(tx, ch.id, slot, gap_seconds=ch.min_spacing_seconds)
                    if clash:  # another process took the slot since we looked
                        skipped.append({"video_id": video["id"], "channel_id": ch.id, "code": "slot_taken",
                                        "reason": "; ".join(clash)})
                        break
                    if existing is not None:
                        reason = dict(existing.assignment_reason)
                        reason["schedule"] = {**slot_info, "method": "auto_schedule", "run": run}
                        reason["summary"] = (f"{existing.assignment_reason.get('summary') or 'assigned'}; "
                                             f"scheduled for the {slot_info['local_time']} slot ({ch.timezone})")
                        did = existing.id
                        cur = tx.execute(
                            "UPDATE distributions SET status = 'scheduled', reason = ?, updated_at = ?"
                            " WHERE id = ? AND status = 'assigned'",
                            (json.dumps(reason, default=str), to_iso(now), did))
                        if cur.rowcount != 1:
                            continue  # changed meanwhile; try the next slot pick on the next run
                    else:
                        if _pair_taken(tx, video["id"], ch.id):
                            skipped.append({"video_id": video["id"], "channel_id": ch.id, "code": "already_assigned",
                                            "reason": f"'{video['id']}' was assigned to {ch.name} meanwhile"})
                            occ.add(video, ch.id, "assigned")
                            continue
                        reason = {
                            "method": "auto_schedule",
                            "summary": f"best match for {ch.name}'s {slot_info['local_time']} slot ({ch.timezone}), "
                                       f"score {result.score:.3f}",
                            "score": result.score, "slot": slot_info, "channel_priority": ch.priority,
                            "filters": {v.filter: {"passed": v.passed, "active": v.active, "reason": v.reason,
                                                   "margin": round(v.margin, 4)} for v in result.verdicts},
                            "run": run,
                        }
                        did = self._insert(tx, video_id=video["id"], channel_id=ch.id, method="auto_schedule",
                                           reason=reason, status="scheduled", now=now)
                    sid = write_schedule(tx, channel_id=ch.id, scheduled_at=slot, video_id=video["id"],
                                         schedule_type="independent", distribution_id=did, now=now)
                taken.append(slot)
                occ.add(video, ch.id, "scheduled")
                done.append(did)
                if existing is None:
                    live_count[video["id"]] = live_count.get(video["id"], 0) + 1
                    if limit and live_count[video["id"]] >= limit:
                        videos = [v for v in videos if v["id"] != video["id"]]
                self._audit("distribution.scheduled", f"'{video['id']}' scheduled on {ch.name} at "
                            f"{slot_info['local_time']} ({ch.timezone}): {reason['summary']}",
                            subject_type="distribution", subject_id=did, actor=actor,
                            details={"video_id": video["id"], "channel_id": ch.id, "schedule_id": sid,
                                     "reused_assignment": existing is not None, "reason": reason})
        self._audit("distribution.run", f"Distribution by schedule: {len(done)} slot(s) filled on "
                    f"{len(available)} available channel(s)", actor=actor,
                    details={"run": run, "method": "auto_schedule", "scheduled": len(done),
                             "channels": len(channels), "channels_skipped": len(channels) - len(available),
                             "slots_left_empty": sum(1 for s in skipped if s["code"] in ("no_video", "no_free_slot"))})
        if done:
            _schedules_changed()
        return DistributionList(self.distribution_repo.get_many(done), skipped)

    def _waiting_assignments(self, conn, channel_ids: list[str]) -> dict[str, list[VideoDistribution]]:
        """Assigned distributions with no live schedule, per channel, in the order they should go out."""
        if not channel_ids:
            return {}
        marks = ",".join("?" * len(channel_ids))
        dists = self.distribution_repo._many(f"d.status = 'assigned' AND d.channel_id IN ({marks})", channel_ids,
                                             conn=conn)
        live = {did for did, (_, _, status) in _schedules_for(conn, [d.id for d in dists]).items()
                if status in LIVE_SCHEDULE_STATUSES}
        out: dict[str, list[VideoDistribution]] = {}
        for d in dists:
            if d.id not in live:
                out.setdefault(d.channel_id, []).append(d)
        for dists in out.values():
            # the operator's choices first, then the best filter matches, then first come
            dists.sort(key=lambda d: (not d.forced, d.distribution_method != "manual",
                                      -float(d.assignment_reason.get("score") or 0.0)))
        return out

    def _pick_for_slot(self, ch: Channel, waiting: list[VideoDistribution], videos: list[dict[str, Any]],
                       by_id: dict[str, dict[str, Any]], occ: _Occupancy):
        while waiting:
            d = waiting.pop(0)
            video = by_id.get(d.video_id)
            if video is None:  # only ready videos are loaded
                continue
            if occ.pair.get((d.video_id, ch.id), ("",))[0] in ("already_published", "in_progress",
                                                                "already_scheduled"):
                continue  # it got there (or is headed there) another way meanwhile
            return d, video, match(video, ch.content_filters)
        best = None
        for video in videos:
            if (video["id"], ch.id) in occ.prior or occ.find(video, ch.id, ch.name) is not None:
                continue
            result = match(video, ch.content_filters)
            if result.matched and (best is None or result.score > best[2].score):
                best = (None, video, result)  # videos are oldest first: ties keep the oldest
        return best

    # -- by hand ----------------------------------------------------------------------------------

    def manual_distribute(self, video_id: str, channel_ids: Iterable[str], scheduled_at: datetime | None = None,
                          force: bool = False, *, actor: str = "operator", note: str | None = None) -> DistributionList:
        """Assign a video to channels the operator chose (and schedule it when ``scheduled_at`` is given).

        A duplicate, an unavailable channel or a schedule within a minute of another on the
        channel is skipped (see ``.skipped``) unless ``force`` is set; a forced assignment is
        marked ``forced`` and its reason records what it overrode, who forced it (``actor``)
        and why (``note``). A video whose duplicates are allowed passes the "already
        published / same content" rules without force.

        Raises:
            VideoNotFoundError, ChannelNotFoundError, ValidationError (past or invalid
            ``scheduled_at``, a video that is missing or invalid) — before anything changes.
        """
        if not isinstance(force, bool):
            raise ValidationError("force must be True or False", "force")
        if note is not None and (not isinstance(note, str) or len(note) > 1000):
            raise ValidationError("note must be text of at most 1000 characters", "note")
        now = self._now()
        if scheduled_at is not None:
            if not isinstance(scheduled_at, datetime):
                raise ValidationError(f"scheduled_at must be a date-time, got {type(scheduled_at).__name__}",
                                      "scheduled_at")
            scheduled_at = _utc(scheduled_at)
            if scheduled_at <= now:
                raise ValidationError(
                    f"scheduled_at {to_iso(scheduled_at)} is in the past (now is {to_iso(now)})", "scheduled_at")
        ids = _as_list(channel_ids, "channel_ids")
        if not ids:
            raise ValidationError("Choose at least one channel", "channel_ids")
        with self.db.snapshot() as conn:
            video = _load_videos(conn, video_id)[0]
        if video["status"] != "ready":
            raise ValidationError(
                f"Video '{video_id}' is {video['status']} and cannot be distributed"
                + (" (its file is missing)" if video["status"] == "missing" else ""), "video_id")
        channels = self._channels(ids)
        with self.db.snapshot() as conn:
            occ = _Occupancy(conn, [c.id for c in channels])
            waiting = {cid: [d for d in dists if d.video_id == video_id][:1]
                       for cid, dists in self._waiting_assignments(conn, [c.id for c in channels]).items()}
        group = uuid.uuid4().hex if scheduled_at is not None and len(channels) > 1 else None
        plan: list[tuple[Channel, dict[str, Any], VideoDistribution | None]] = []
        skipped: list[dict[str, Any]] = []
        for ch in channels:
            blockers: list[dict[str, str]] = []
            allowed_by_flag: list[dict[str, str]] = []
            reuse: VideoDistribution | None = None
            dup = occ.find(video, ch.id, ch.name)
            if dup is not None and dup.code == "already_assigned" and scheduled_at is not None and waiting.get(ch.id):
                # Assigned and waiting for a time: giving it one is not a duplicate, it is the next step.
                reuse, dup = waiting[ch.id][0], None
            if dup is not None:
                entry = {"rule": dup.code, "reason": dup.reason}
                (allowed_by_flag if dup.published_kind and video["duplicate_allowed"] else blockers).append(entry)
            ok, why = ch.availability(now)
            if not ok:
                blockers.append({"rule": "channel_unavailable", "reason": why})
            if scheduled_at is not None:
                for clash in schedule_conflicts(self.db.conn, ch.id, scheduled_at, gap_seconds=ch.min_spacing_seconds):
                    blockers.append({"rule": "schedule_conflict", "reason": clash})
            if blockers and not force:
                reason = "; ".join(b["reason"] for b in blockers)
                skipped.append({"video_id": video_id, "channel_id": ch.id, "code": blockers[0]["rule"],
                                "reason": reason + " (use force to override)"})
                continue
            result = match(video, ch.content_filters)
            words = "assigned by hand" + (f" by {actor}" if actor else "")
            if force:
                words = f"forced by {actor}" + (f" ({note})" if note else "")
                if blockers:
                    words += ", overriding: " + "; ".join(b["reason"] for b in blockers)
            reason = {
                "method": "manual", "summary": words, "by": actor, "note": note, "forced": force,
                "overrode": blockers if force else [], "duplicate_allowed": allowed_by_flag,
                "filters_matched": result.matched, "failed_filters": result.failed, "score": result.score,
            }
            if scheduled_at is not None:
                reason["scheduled_at"] = to_iso(scheduled_at)
                reason["local_time"] = scheduled_at.astimezone(ch.zone).isoformat(timespec="minutes")
            if reuse is not None:
                reason = {**reuse.assignment_reason, "schedule": {**reason, "method": "manual"},
                          "summary": f"{reuse.reason_text or 'assigned'}; time set by hand"
                                     + (f" by {actor}" if actor else "") + f" for {reason['local_time']}"}
            plan.append((ch, reason, reuse))
            occ.add(video, ch.id, "scheduled" if scheduled_at else "assigned")  # two refs to one channel
        made: list[tuple[str, Channel, dict[str, Any], str | None]] = []
        if plan:
            with self.db.transaction() as tx:
                for ch, reason, reuse in plan:
                    status = "scheduled" if scheduled_at is not None else "assigned"
                    if reuse is not None:
                        did = reuse.id
                        cur = tx.execute(
                            "UPDATE distributions SET status = 'scheduled', reason = ?, forced = MAX(forced, ?),"
                            " updated_at = ? WHERE id = ? AND status = 'assigned'",
                            (json.dumps(reason, default=str), int(force), to_iso(now), did))
                        if cur.rowcount != 1:
                            raise ConflictError(f"The assignment of '{video_id}' to {ch.name} changed meanwhile; "
                                                "try again.")
                    else:
                        if not force and not reason["duplicate_allowed"] and _pair_taken(tx, video_id, ch.id):
                            raise ConflictError(f"'{video_id}' was assigned to {ch.name} meanwhile; nothing was "
                                                "changed. Try again (or force it).")
                        did = self._insert(tx, video_id=video_id, channel_id=ch.id, method="manual", reason=reason,
                                           status=status, forced=force, now=now)
                    sid = None
                    if scheduled_at is not None:
                        sid = write_schedule(tx, channel_id=ch.id, scheduled_at=scheduled_at, video_id=video_id,
                                             schedule_type="simultaneous" if group else "independent",
                                             distribution_id=did, coordination_group_id=group, now=now)
                    made.append((did, ch, reason, sid))
        if any(sid for *_, sid in made):
            _schedules_changed()
        for did, ch, reason, sid in made:
            self._audit("distribution.forced" if force else "distribution.assigned",
                        f"'{video_id}' to {ch.name}: {reason['summary']}", subject_type="distribution",
                        subject_id=did, actor=actor,
                        details={"video_id": video_id, "channel_id": ch.id, "method": "manual", "forced": force,
                                 "schedule_id": sid, "reason": reason})
        for s in skipped:
            self._audit("distribution.skipped", f"'{video_id}' not assigned to {s['channel_id']}: {s['reason']}",
                        subject_type="video", subject_id=video_id, actor=actor, details=s)
        return DistributionList(self.distribution_repo.get_many([m[0] for m in made]), skipped)

    # -- outcomes, retries, cancellation ------------------------------------------------------------

    def publish_distribution(self, distribution_id: str, metadata: Mapping[str, Any] | None = None, *,
                             actor: str = "operator") -> VideoDistribution:
        """Publish an assigned or scheduled distribution now, through the publishing core.

        An unavailable channel or a failed upload marks it ``failed`` with the error (to be
        retried with :meth:`retry_failed_distribution`); success marks it ``published``.
        """
        dist = self.distribution_repo.get_or_raise(distribution_id)
        if dist.status not in ("assigned", "scheduled"):
            raise ConflictError(f"Distribution '{distribution_id}' is {dist.status}; only assigned or scheduled ones "
                                "are published this way.")
        ch = self.channel_service.get_channel(dist.channel_id)
        ok, why = ch.availability(self._now())
        if not ok:
            return self.distribution_repo.set_status(distribution_id, "failed",
                                                     error_message=f"channel unavailable: {why}", actor=actor)
        return self._publish(dist, ch, metadata, actor)

    def _publish(self, dist: VideoDistribution, ch: Channel, metadata, actor: str) -> VideoDistribution:
        from .transform import uploader_for

        if self.db.query_one("SELECT 1 FROM schedules WHERE distribution_id = ? AND status = 'executing'",
                             (dist.id,)):
            raise ConflictError(f"Distribution '{dist.id}' is being published by its schedule right now.")

        try:
            uploader = uploader_for(self.db, ch.as_row(), actor=actor)
        except (LookupError, TypeError, ValidationError) as exc:
            return self.distribution_repo.set_status(dist.id, "failed", error_message=str(exc), actor=actor)
        try:
            outcome = self.publisher.publish(dist.video_id, ch.id, metadata, manual=True, actor=actor,
                                             uploader=uploader)
        finally:
            try:
                uploader.close()
            except Exception:  # noqa: BLE001 - closing a browser must not hide the outcome
                log.exception("closing the uploader for %s failed", ch.id)
        if outcome.success:
            # its schedule has nothing left to do: published ahead of time
            stamp = to_iso(self._now())
            with self.db.transaction() as tx:
                tx.execute("UPDATE schedules SET status = 'completed', executed_at = ?, updated_at = ?,"
                           " error_message = NULL WHERE distribution_id = ? AND status IN ('pending', 'scheduled',"
                           " 'paused', 'failed', 'missed')", (stamp, stamp, dist.id))
            published = self.distribution_repo.set_status(dist.id, "published", actor=actor)
            if ch.transformation_profile is not None:
                self._cleanup_derived(actor)
            return published
        return self.distribution_repo.set_status(dist.id, "failed", error_message=outcome.reason, actor=actor)

    def _cleanup_derived(self, actor: str) -> None:
        from .transform import Transformer

        try:
            Transformer(self.db).cleanup(actor=actor)
        except Exception:  # noqa: BLE001 - a leftover file is harmless; the publication is what counts
            log.exception("cleaning up derived files failed")

    def retry_failed_distribution(self, distribution_id: str, metadata: Mapping[str, Any] | None = None, *,
                                  actor: str = "operator") -> VideoDistribution:
        """Try a failed distribution again (publish now), counting the retry.

        Returns:
            The distribution afterwards: ``published``, or ``failed`` with the new error and
            ``retry_count`` one higher.
        Raises:
            DistributionNotFoundError; ConflictError when it is not failed, when it already
            used all ``max_retries`` (nothing changes), or when its channel is unavailable
            (resume the channel first; nothing changes).
        """
        dist = self.distribution_repo.get_or_raise(distribution_id)
        if dist.status != "failed":
            raise ConflictError(f"Distribution '{distribution_id}' is {dist.status}, not failed; there is nothing "
                                "to retry.")
        if dist.retry_count >= dist.max_retries:
            msg = (f"Distribution '{distribution_id}' ('{dist.video_id}' on {dist.channel_name or dist.channel_id}) "
                   f"has been retried {dist.retry_count} times, the most allowed (max_retries={dist.max_retries}). "
                   f"Last error: {dist.error_message or 'unknown'}. Distribute it again by hand (force) or cancel it.")
            self._audit("distribution.retry_refused", msg, subject_type="distribution", subject_id=distribution_id,
                        actor=actor, details={"retry_count": dist.retry_count, "max_retries": dist.max_retries})
            raise ConflictError(msg)
        ch = self.channel_service.get_channel(dist.channel_id)
        ok, why = ch.availability(self._now())
        if not ok:
            raise ConflictError(f"Cannot retry now: {why}. Resume the channel first.")
        with self.db.transaction() as tx:
            cur = tx.execute(
                "UPDATE distributions SET retry_count = retry_count + 1, updated_at = ?"
                " WHERE id = ? AND status = 'failed' AND retry_count = ?",
                (to_iso(self._now()), distribution_id, dist.retry_count))
            if cur.rowcount != 1:
                raise ConflictError(f"Distribution '{distribution_id}' is being retried elsewhere.")
        self._audit("distribution.retried", f"Retry {dist.retry_count + 1}/{dist.max_retries} of '{dist.video_id}' "
                    f"on {ch.name}", subject_type="distribution", subject_id=distribution_id, actor=actor,
                    details={"retry_count": dist.retry_count + 1, "max_retries": dist.max_retries,
                             "previous_error": dist.error_message})
        return self._publish(self.distribution_repo.get_or_raise(distribution_id), ch, metadata, actor)

    def cancel_distribution(self, distribution_id: str, *, actor: str = "operator",
                            reason: str | None = None) -> VideoDistribution:
        """Cancel an assignment and its schedules that have not run; refused while it is publishing."""
        dist = self.distribution_repo.get_or_raise(distribution_id)
        if dist.status in ("published", "cancelled"):
            raise ConflictError(f"Distribution '{distribution_id}' is already {dist.status}.")
        now = to_iso(self._now())
        with self.db.transaction() as tx:
            if tx.execute("SELECT 1 FROM schedules WHERE distribution_id = ? AND status = 'executing'",
                          (distribution_id,)).fetchone():
                raise ConflictError(f"Distribution '{distribution_id}' is being published right now.")
            n = tx.execute("UPDATE schedules SET status = 'cancelled', updated_at = ? WHERE distribution_id = ? AND"
                           " status IN ('pending', 'scheduled', 'paused')", (now, distribution_id)).rowcount
            tx.execute("UPDATE distributions SET status = 'cancelled', updated_at = ? WHERE id = ?",
                       (now, distribution_id))
        self._audit("distribution.cancelled", f"'{dist.video_id}' on {dist.channel_name or dist.channel_id} cancelled"
                    + (f": {reason}" if reason else ""), subject_type="distribution", subject_id=distribution_id,
                    actor=actor, details={"old_status": dist.status, "schedules_cancelled": n, "reason": reason})
        return self.distribution_repo.get_or_raise(distribution_id)

    def sync_with_uploads(self, *, actor: str = "system") -> int:
        """Mark distributions ``published`` whose video is now published on their channel
        (however it got there: a schedule, a bulk upload, by hand); returns how many changed."""
        rows = self.db.query(
            "SELECT d.id FROM distributions d JOIN video_uploads u ON u.video_id = d.video_id AND"
            " u.channel_id = d.channel_id WHERE d.status IN ('assigned', 'scheduled', 'failed')"
            " AND u.upload_status = 'SUCCESS'")
        for r in rows:
            self.distribution_repo.set_status(r["id"], "published", actor=actor)
        return len(rows)

    # -- statistics -------------------------------------------------------------------------------

    def get_distribution_statistics(self, channel_id: str | None = None, start_date: Any = None,
                                    end_date: Any = None) -> dict[str, Any]:
        """Seed 000's statistics: ``total``, ``by_status``, ``by_method``, ``success_rate`` (percent
        published), ``published_count``, and per channel its videos and success rate.

        Args:
            channel_id: one channel (id, name or platform), or all.
            start_date, end_date: the period by assignment time; date-times are inclusive
                (naive = UTC), a date as ``end_date`` includes that whole day (UTC).
        """
        return self.distribution_repo.get_statistics(channel_id=channel_id, start_date=start_date,
                                                     end_date=end_date)


__all__ = [
    "DISTRIBUTION_METHODS", "DISTRIBUTION_STATUSES", "DistributionList", "DistributionNotFoundError",
    "DistributionRepository", "Duplicate", "LIVE_STATUSES", "VideoDistribution", "VideoDistributionService",
    "schedule_conflicts", "write_schedule",
]
