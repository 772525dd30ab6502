"""Upload state: the status set, the legal transitions, retry counting and the upload rules.

This is the one place that decides whether a video may go to a channel and what a result
does to the record. The seed 003 status set is kept and extended by two states the truth
needs:

``UNKNOWN``
    The process died (or lost the browser) after the upload may have reached the platform.
    Retrying blindly could publish twice, so it is never retried automatically: it is settled
    by looking on the channel (``find_existing``) or by the operator.
``LOGIN_REQUIRED``
    The channel's session expired. A retry cannot help; the operator must log in. The channel
    is paused with that reason at the same moment.

Retry counting follows seed 003 exactly: each failure adds one to ``retry_count``; the first
three failures leave the upload ``FAILED`` (retried automatically after an exponential
backoff with jitter), the fourth makes it ``FAILED_FINAL``. A permanent error is
``FAILED_FINAL`` at once. ``FAILED_FINAL`` blocks automatic retries but not a manual upload.
"""

from __future__ import annotations

import os
import random
import sqlite3
import stat
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Iterable, NamedTuple

from .connection import Database, from_iso, to_iso, utcnow
from .errors import IllegalTransitionError, VideoNotFoundError


class UploadStatus(str, Enum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    FAILED_FINAL = "FAILED_FINAL"
    BLOCKED = "BLOCKED"
    RATE_LIMITED = "RATE_LIMITED"
    UNKNOWN = "UNKNOWN"
    LOGIN_REQUIRED = "LOGIN_REQUIRED"

    def __str__(self) -> str:
        return self.value


_BY_VALUE = {s.value: s for s in UploadStatus}


class ErrorKind(str, Enum):
    TRANSIENT = "transient"  # network, timeout, platform hiccup: retry with backoff
    RATE_LIMITED = "rate_limited"  # cool the channel down until the platform allows again
    LOGIN_REQUIRED = "login_required"  # pause the channel and ask the operator
    PERMANENT = "permanent"  # the platform refused this video: FAILED_FINAL at once
    DUPLICATE = "duplicate"  # blocked by the duplicate rules before anything ran
    UNKNOWN = "unknown"  # the outcome could not be observed

    def __str__(self) -> str:
        return self.value


S = UploadStatus

# Where an upload may go from each state; None is "no record yet" (never tried there).
_AUTOMATIC: dict[UploadStatus | None, frozenset[UploadStatus]] = {
    None: frozenset({S.PENDING, S.IN_PROGRESS, S.BLOCKED}),
    S.PENDING: frozenset({S.IN_PROGRESS, S.BLOCKED}),
    # IN_PROGRESS -> PENDING is a release: cancelled before anything irreversible happened.
    S.IN_PROGRESS: frozenset(
        {S.SUCCESS, S.FAILED, S.FAILED_FINAL, S.RATE_LIMITED, S.LOGIN_REQUIRED, S.UNKNOWN, S.PENDING}
    ),
    S.FAILED: frozenset({S.IN_PROGRESS, S.PENDING, S.BLOCKED}),
    S.RATE_LIMITED: frozenset({S.IN_PROGRESS, S.PENDING, S.BLOCKED}),
    S.BLOCKED: frozenset({S.IN_PROGRESS, S.PENDING}),
    S.LOGIN_REQUIRED: frozenset({S.PENDING}),
    # settling an unknown outcome: found on the channel, or confirmed absent
    S.UNKNOWN: frozenset({S.SUCCESS, S.PENDING}),
    S.FAILED_FINAL: frozenset(),
    # a published video goes out again only by an explicit duplicate upload (checked by the rules)
    S.SUCCESS: frozenset({S.IN_PROGRESS}),
}
# What only an operator's explicit action may do on top of the automatic moves.
_MANUAL_EXTRA: dict[UploadStatus | None, frozenset[UploadStatus]] = {
    S.FAILED_FINAL: frozenset({S.IN_PROGRESS, S.PENDING}),
    S.LOGIN_REQUIRED: frozenset({S.IN_PROGRESS}),
    S.UNKNOWN: frozenset({S.IN_PROGRESS}),
}


def _status(value: str | UploadStatus | None) -> UploadStatus | None:
    # a dict lookup first: the rules ask this for every check, and Enum() is slow
    return None if value is None else _BY_VALUE.get(value) or UploadStatus(value)


def can_transition(old: str | UploadStatus | None, new: str | UploadStatus, *, manual: bool = False) -> bool:
    o, n = _status(old), UploadStatus(new)
    if n in _AUTOMATIC.get(o, frozenset()):
        return True
    return manual and n in _MANUAL_EXTRA.get(o, frozenset())


def check_transition(
    old: str | UploadStatus | None, new: str | UploadStatus, *, manual: bool = False, context: str = ""
) -> None:
    """Raise :class:`IllegalTransitionError` unless ``old -> new`` is allowed."""
    if not can_transition(old, new, manual=manual):
        o = _status(old)
        hint = context
        if not manual and UploadStatus(new) in _MANUAL_EXTRA.get(o, frozenset()):
            hint = (hint + "; " if hint else "") + "only a manual upload may do that"
        raise IllegalTransitionError(o.value if o else None, UploadStatus(new).value, hint)


@dataclass(frozen=True)
class RetryPolicy:
    """Seed 003's retry counting with exponential backoff and jitter.

    Args:
        max_retries: failures that stay FAILED; the next one is FAILED_FINAL (seed: 3).
        base_delay: seconds before the first retry; doubled for each further failure.
        max_delay: the longest wait between retries.
        jitter: +/- this fraction of the delay, so many failed uploads do not retry in lockstep.
        rate_limit_cooldown: how long a channel rests when the platform gave no time.
    """

    max_retries: int = 3
    base_delay: float = 60.0
    max_delay: float = 3600.0
    jitter: float = 0.25
    rate_limit_cooldown: float = 3600.0

    def backoff(self, retry_count: int, rng: random.Random | None = None) -> timedelta:
        """The wait before retry number ``retry_count`` (1 = after the first failure)."""
        n = max(1, retry_count)
        delay = min(self.max_delay, self.base_delay * (2 ** (n - 1)))
        r = (rng or random).uniform(-self.jitter, self.jitter)
        return timedelta(seconds=max(1.0, delay * (1 + r)))

    def after_failure(
        self,
        retry_count: int,
        kind: ErrorKind | str,
        now: datetime,
        *,
        retry_after: datetime | None = None,
        rng: random.Random | None = None,
    ) -> tuple[UploadStatus, int, datetime | None]:
        """What a failure does: the new status, retry count and next attempt time."""
        kind = ErrorKind(kind)
        if kind is ErrorKind.RATE_LIMITED:
            until = retry_after or now + timedelta(seconds=self.rate_limit_cooldown)
            return S.RATE_LIMITED, retry_count, until
        if kind is ErrorKind.LOGIN_REQUIRED:
            return S.LOGIN_REQUIRED, retry_count, None
        if kind is ErrorKind.UNKNOWN:
            return S.UNKNOWN, retry_count, None
        count = retry_count + 1
        if kind is ErrorKind.PERMANENT or count > self.max_retries:
            return S.FAILED_FINAL, count, None
        return S.FAILED, count, now + self.backoff(count, rng)


DEFAULT_POLICY = RetryPolicy()
_JITTER = random.Random()  # retry jitter for repositories not given their own generator


_RECORD_FIELDS: set[str] = set()  # UploadRecord's field names, filled on first use


@dataclass
class UploadRecord:
    """The current state of one video on one channel (a ``video_uploads`` row)."""

    id: int
    video_id: str
    channel_id: str
    platform: str
    upload_status: str
    upload_timestamp: str | None = None
    platform_post_id: str | None = None
    post_url: str | None = None
    error_message: str | None = None
    error_kind: str | None = None
    retry_count: int = 0
    next_attempt_at: str | None = None
    attempt_started_at: str | None = None
    claimed_by: str | None = None
    manual: int = 0
    failure_artifacts: str | None = None
    updated_at: str | None = None
    rev: int = 0

    @classmethod
    def from_row(cls, row: sqlite3.Row | None) -> "UploadRecord | None":
        if row is None:
            return None
        if not _RECORD_FIELDS:
            _RECORD_FIELDS.update(f.name for f in fields(UploadRecord))
        return cls(**{k: row[k] for k in row.keys() if k in _RECORD_FIELDS})

    @property
    def status(self) -> UploadStatus:
        return UploadStatus(self.upload_status)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Verdict(NamedTuple):
    """The answer of the upload rules: allowed or not, why, and a machine-readable code."""

    allowed: bool
    reason: str
    code: str

    def as_tuple(self) -> tuple[bool, str]:
        return self.allowed, self.reason


# CROSS JOIN fixes the join order of the duplicate lookups: same checksum (or source URL) first,
# through its index, then that video's upload on the channel. Left to itself the planner walks
# every published upload of the channel instead, which grows with the registry (issue 10). Only the
# columns every check reads (each costs time on every check; rarer ones are read when needed), and
# rowids rather than ids to tell the other videos apart (the index has them; no table lookup).
_RULES_SQL = """
SELECT v.file_path, v.size_bytes, v.file_mtime_ns, v.duplicate_allowed, v.status AS video_status,
       u.upload_status, u.next_attempt_at, u.retry_count,
       c.name AS channel_name, c.status AS channel_status, c.status_reason, c.rate_limited_until,
       CASE WHEN v.content_twin THEN  -- only videos whose checksum another video has (schema.py)
       (SELECT v2.id || char(31) || u2.upload_status
          FROM videos v2 CROSS JOIN video_uploads u2 ON u2.video_id = v2.id AND u2.channel_id = c.id
         WHERE v2.checksum = v.checksum AND v2.rowid != v.rowid
           AND u2.upload_status IN ('SUCCESS', 'IN_PROGRESS', 'UNKNOWN') LIMIT 1) END AS same_content,
       CASE WHEN v.source_url IS NOT NULL THEN  -- most files have none: no lookup at all
       (SELECT v3.id || char(31) || u3.upload_status
          FROM videos v3 CROSS JOIN video_uploads u3 ON u3.video_id = v3.id AND u3.channel_id = c.id
         WHERE v3.source_url = v.source_url AND v3.rowid != v.rowid
           AND u3.upload_status IN ('SUCCESS', 'IN_PROGRESS', 'UNKNOWN') LIMIT 1) END AS same_source
FROM videos v
JOIN channels c ON c.id = ?2
LEFT JOIN video_uploads u ON u.video_id = v.id AND u.channel_id = c.id
WHERE v.id = ?1
"""

_OK = Verdict(True, "OK", "ok")
_UID = os.getuid() if hasattr(os, "getuid") else -1  # os.access checks with the real user id

_DUP_WORD = {"SUCCESS": "published", "IN_PROGRESS": "being uploaded", "UNKNOWN": "possibly published"}


def next_rev(conn: sqlite3.Connection) -> int:
    """A new value of the registry's change counter, for the rows a write transaction stamps itself
    (rows written without one get theirs from the schema's rev triggers, two statements each)."""
    # one statement, run to its end (fetchall) so nothing is left pending in the transaction
    return conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'rev' RETURNING value").fetchall()[0][0]


def file_state(path: str, size: int | None, mtime_ns: int | None) -> str:
    """'ok', 'missing', 'unreadable', 'changed' (size differs) or 'touched' (only mtime differs)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "unreadable"
    if not stat.S_ISREG(st.st_mode):  # what os.path.isfile asks, without a second stat
        return "missing"
    if size is not None and st.st_size != size:
        return "changed"
    if mtime_ns is not None and st.st_mtime_ns != mtime_ns:
        return "touched"
    # The owner's read bit decides for the owner (ACLs included: the owner's entry is those bits), so
    # the common case, the operator's own file, needs no second system call.
    if st.st_uid == _UID and st.st_mode & stat.S_IRUSR:
        return "ok"
    return "ok" if os.access(path, os.R_OK) else "unreadable"


def evaluate_upload(
    conn: sqlite3.Connection,
    video_id: str,
    channel_id: str,
    *,
    manual: bool = True,
    now: datetime | None = None,
    check_file: bool = True,
    verify_checksum=None,
) -> Verdict:
    """Decide whether ``video_id`` may be uploaded to ``channel_id`` now.

    Args:
        manual: an operator's explicit upload (may retry FAILED_FINAL, ignores retry timers).
        check_file: look at the file on disk (skipped inside write locks; checked just before).
        verify_checksum: ``f(video_id, path) -> bool``, called when only the file's mtime
            changed, to tell a touched file from a modified one.
    """
    # Numbered parameters bind faster than names; a plain tuple row instead of the connection's
    # sqlite3.Row saves a third of the query's time (issue 10).
    cur = conn.cursor()
    cur.row_factory = None
    row = cur.execute(_RULES_SQL, (video_id, channel_id)).fetchone()
    if row is None:
        if conn.execute("SELECT 1 FROM videos WHERE id = ?", (video_id,)).fetchone() is None:
            return Verdict(False, f"Video '{video_id}' is not in the registry.", "unknown_video")
        return Verdict(False, f"Channel '{channel_id}' does not exist.", "unknown_channel")
    # Unpacked once, in _RULES_SQL's column order: this runs for every check (issue 10).
    (file_path, size_bytes, mtime_ns, duplicate_allowed, video_status, upload_status, next_attempt_at,
     retry_count, channel, channel_status, status_reason, rate_limited_until, same_content, same_source) = row

    if video_status == "invalid":
        return Verdict(False, f"Video '{video_id}' was marked invalid and cannot be uploaded.", "invalid_video")
    if check_file:
        state = file_state(file_path, size_bytes, mtime_ns)
        if state == "missing":
            return Verdict(False, f"Video file not found: {file_path}", "file_missing")
        if state == "unreadable":
            return Verdict(False, f"Video file cannot be read (permissions?): {file_path}", "file_unreadable")
        if state == "touched" and verify_checksum is not None and conn.execute(
                "SELECT checksum FROM videos WHERE id = ?", (video_id,)).fetchone()[0]:
            state = "ok" if verify_checksum(video_id, file_path) else "changed"
        if state == "changed":
            return Verdict(
                False,
                f"Video file changed since it was registered (checksum no longer matches): {file_path}",
                "file_changed",
            )

    status = _status(upload_status)
    dup_ok = bool(duplicate_allowed)
    if status is S.IN_PROGRESS:
        return Verdict(False, f"An upload of '{video_id}' to {channel} is already in progress.", "in_progress")
    if status is S.SUCCESS and not dup_ok:
        post_id = conn.execute("SELECT platform_post_id FROM video_uploads WHERE video_id = ? AND channel_id = ?",
                               (video_id, channel_id)).fetchone()[0]
        post = f" (post {post_id})" if post_id else ""
        return Verdict(
            False,
            f"Duplicate: '{video_id}' is already published on {channel}{post}. "
            "Allow duplicates for this video to upload it again.",
            "duplicate",
        )
    if status is S.UNKNOWN and not manual:
        return Verdict(
            False,
            f"The last upload of '{video_id}' to {channel} has an unknown outcome; "
            "check the channel before uploading again.",
            "outcome_unknown",
        )
    if (same_content or same_source) and not dup_ok:
        other, what, code = ((same_content, "The same content", "duplicate_content") if same_content else
                             (same_source, "A video from the same source URL", "duplicate_source"))
        other_id, other_status = other.split(chr(31))
        return Verdict(
            False,
            f"Duplicate: {what} is already {_DUP_WORD.get(other_status, other_status)} "
            f"on {channel} as '{other_id}'. Allow duplicates for this video to upload it anyway.",
            code,
        )

    until = from_iso(rate_limited_until) if rate_limited_until else None
    if until and until > (now := now or utcnow()):
        return Verdict(
            False,
            f"{channel} is rate limited until {until.strftime('%Y-%m-%d %H:%M UTC')}; "
            "no upload starts there before then.",
            "rate_limited",
        )
    if not manual:
        if channel_status != "active":
            why = f" ({status_reason})" if status_reason else ""
            return Verdict(False, f"{channel} is {channel_status}{why}.", "channel_unavailable")
        if status is S.FAILED_FINAL:
            return Verdict(
                False,
                f"'{video_id}' failed on {channel} after {retry_count} attempts (FAILED_FINAL); "
                "only a manual upload retries it.",
                "failed_final",
            )
        if status is S.LOGIN_REQUIRED:
            return Verdict(False, f"{channel} needs the operator to log in again.", "login_required")
        nxt = from_iso(next_attempt_at) if next_attempt_at else None
        if status in (S.FAILED, S.RATE_LIMITED) and nxt and nxt > (now := now or utcnow()):
            return Verdict(
                False,
                f"'{video_id}' on {channel} waits for its retry at {nxt.strftime('%Y-%m-%d %H:%M:%S UTC')}.",
                "retry_not_due",
            )
    if status is S.FAILED_FINAL:
        return Verdict(True, f"Manual upload after FAILED_FINAL ({retry_count} attempts).", "ok_manual_override")
    if status is S.SUCCESS:
        return Verdict(True, "Already published there; duplicates are allowed for this video.", "ok_duplicate_allowed")
    return _OK


class UploadRepository:
    """Reads and changes ``video_uploads`` rows, only through legal transitions."""

    def __init__(self, db: Database, policy: RetryPolicy = DEFAULT_POLICY, rng: random.Random | None = None):
        self.db = db
        self.policy = policy
        # one shared generator: seeding a new one reads the OS's entropy, and a repository is
        # made for every upload a schedule runs
        self.rng = rng or _JITTER

    # -- reads ----------------------------------------------------------------------------

    def get(self, video_id: str, channel_id: str) -> UploadRecord | None:
        return UploadRecord.from_row(
            self.db.query_one(
                "SELECT * FROM video_uploads WHERE video_id = ? AND channel_id = ?", (video_id, channel_id)
            )
        )

    def for_video(self, video_id: str) -> list[UploadRecord]:
        rows = self.db.query("SELECT * FROM video_uploads WHERE video_id = ? ORDER BY channel_id", (video_id,))
        return [UploadRecord.from_row(r) for r in rows]

    def with_status(self, *statuses: str | UploadStatus) -> list[UploadRecord]:
        marks = ", ".join("?" for _ in statuses)
        rows = self.db.query(
            f"SELECT * FROM video_uploads WHERE upload_status IN ({marks}) ORDER BY id",
            [str(s) for s in statuses],
        )
        return [UploadRecord.from_row(r) for r in rows]

    def due_retries(self, now: datetime | None = None) -> list[UploadRecord]:
        """FAILED and RATE_LIMITED uploads whose next attempt has come."""
        rows = self.db.query(
            "SELECT * FROM video_uploads WHERE upload_status IN ('FAILED', 'RATE_LIMITED')"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY next_attempt_at, id",
            (to_iso(now or utcnow()),),
        )
        return [UploadRecord.from_row(r) for r in rows]

    def changed_since(self, rev: int) -> list[UploadRecord]:
        rows = self.db.query("SELECT * FROM video_uploads WHERE rev > ? ORDER BY rev", (rev,))
        return [UploadRecord.from_row(r) for r in rows]

    # -- transitions ----------------------------------------------------------------------

    def _next_rev(self, conn: sqlite3.Connection) -> int:
        return next_rev(conn)

    def _platform(self, conn: sqlite3.Connection, channel_id: str) -> str:
        row = conn.execute("SELECT platform FROM channels WHERE id = ?", (channel_id,)).fetchone()
        if row is None:
            from .errors import ChannelNotFoundError

            raise ChannelNotFoundError(channel_id)
        return row[0]

    def claim(
        self,
        video_id: str,
        channel_id: str,
        *,
        owner: str,
        manual: bool = False,
        now: datetime | None = None,
        verify_checksum=None,
    ) -> tuple[UploadRecord | None, Verdict]:
        """Take the upload for ``owner`` (status IN_PROGRESS) if the rules allow it.

        The check and the conditional UPDATE run in one ``BEGIN IMMEDIATE`` transaction, so
        of two processes claiming the same upload exactly one wins. Returns the claimed record
        (None when refused) and the verdict that explains why.
        """
        now = now or utcnow()
        # The file check may hash the file, so it runs before taking the write lock.
        pre = evaluate_upload(self.db.conn, video_id, channel_id, manual=manual, now=now,
                              verify_checksum=verify_checksum)
        if not pre.allowed:
            return None, pre
        with self.db.transaction() as tx:
            verdict = evaluate_upload(tx, video_id, channel_id, manual=manual, now=now, check_file=False)
            if not verdict.allowed:
                return None, verdict
            current = tx.execute(
                "SELECT upload_status FROM video_uploads WHERE video_id = ? AND channel_id = ?",
                (video_id, channel_id),
            ).fetchone()
            old = current[0] if current else None
            check_transition(old, S.IN_PROGRESS, manual=manual)
            rev = self._next_rev(tx)
            stamp = to_iso(now)
            # RETURNING gives the new row in the same statement (no second read)
            if current is None:
                rows = tx.execute(
                    "INSERT INTO video_uploads (video_id, channel_id, platform, upload_status, upload_timestamp,"
                    " attempt_started_at, claimed_by, manual, updated_at, rev)"
                    " VALUES (?, ?, ?, 'IN_PROGRESS', ?, ?, ?, ?, ?, ?) RETURNING *",
                    (video_id, channel_id, self._platform(tx, channel_id), stamp, stamp, owner, int(manual), stamp, rev),
                ).fetchall()
            else:
                rows = tx.execute(
                    "UPDATE video_uploads SET upload_status = 'IN_PROGRESS', upload_timestamp = ?,"
                    " attempt_started_at = ?, claimed_by = ?, manual = ?, error_message = NULL,"
                    " error_kind = NULL, next_attempt_at = NULL, updated_at = ?, rev = ?"
                    " WHERE video_id = ? AND channel_id = ? AND upload_status = ? RETURNING *",
                    (stamp, stamp, owner, int(manual), stamp, rev, video_id, channel_id, old),
                ).fetchall()
                if len(rows) != 1:  # cannot happen under the write lock; kept as a guard
                    return None, Verdict(False, "Another process took this upload first.", "lost_race")
            record = UploadRecord.from_row(rows[0])
        self._audit(record, note="claimed" + (" (manual)" if manual else ""))
        return record, verdict

    def _finish(
        self,
        record: UploadRecord,
        new_status: UploadStatus,
        *,
        owner: str | None,
        sets: dict[str, Any],
        metadata: dict | None = None,
        manual: bool = False,
        channel_sets: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> UploadRecord:
        now = now or utcnow()
        with self.db.transaction() as tx:
            row = tx.execute(
                "SELECT upload_status, claimed_by FROM video_uploads WHERE id = ?", (record.id,)
            ).fetchone()
            if row is None:
                raise VideoNotFoundError(record.video_id)
            check_transition(row[0], new_status, manual=manual,
                             context=f"{record.video_id} on {record.channel_id}")
            if owner is not None and row[0] == S.IN_PROGRESS and row[1] != owner:
                raise IllegalTransitionError(
                    row[0], new_status.value,
                    f"the upload is held by {row[1]}, not {owner}",
                )
            rev = self._next_rev(tx)
            values = dict(sets, upload_status=new_status.value, updated_at=to_iso(now), rev=rev)
            assignments = ", ".join(f"{k} = :{k}" for k in values)
            rows = tx.execute(
                f"UPDATE video_uploads SET {assignments} WHERE id = :_id AND upload_status = :_old RETURNING *",
                dict(values, _id=record.id, _old=row[0]),
            ).fetchall()
            if channel_sets:
                # only a real change touches the channel row (every success says login_state "ok")
                assignments = ", ".join(f"{k} = :{k}" for k in channel_sets)
                unchanged = " AND ".join(f"{k} IS :{k}" for k in channel_sets)
                tx.execute(
                    f"UPDATE channels SET {assignments}, updated_at = :_now WHERE id = :_cid AND NOT ({unchanged})",
                    dict(channel_sets, _now=to_iso(now), _cid=record.channel_id),
                )
            updated = UploadRecord.from_row(rows[0])
        self._audit(updated, metadata=metadata)
        return updated

    def record_success(
        self, record: UploadRecord, *, post_id: str | None, post_url: str | None = None,
        owner: str | None = None, metadata: dict | None = None, now: datetime | None = None,
    ) -> UploadRecord:
        """IN_PROGRESS (or a settled UNKNOWN) -> SUCCESS with the platform's post id."""
        now = now or utcnow()
        return self._finish(
            record, S.SUCCESS, owner=owner, metadata=metadata, now=now,
            sets=dict(platform_post_id=post_id, post_url=post_url, error_message=None, error_kind=None,
                      next_attempt_at=None, claimed_by=None, upload_timestamp=to_iso(now)),
            channel_sets=dict(login_state="ok"),
        )

    def record_failure(
        self, record: UploadRecord, *, kind: ErrorKind | str, message: str, owner: str | None = None,
        retry_after: datetime | None = None, artifacts: str | None = None,
        metadata: dict | None = None, now: datetime | None = None,
    ) -> UploadRecord:
        """Apply a failed attempt: retry counting, backoff, cool-down or channel pause."""
        now = now or utcnow()
        kind = ErrorKind(kind)
        current = self.get(record.video_id, record.channel_id) or record
        status, count, nxt = self.policy.after_failure(
            current.retry_count, kind, now, retry_after=retry_after, rng=self.rng
        )
        channel_sets: dict[str, Any] | None = None
        if kind is ErrorKind.RATE_LIMITED:
            channel_sets = dict(rate_limited_until=to_iso(nxt))
        elif kind is ErrorKind.LOGIN_REQUIRED:
            channel_sets = dict(login_state="required", status="paused",
                                status_reason="login required: log in to this account again")
        return self._finish(
            record, status, owner=owner, metadata=metadata, now=now, channel_sets=channel_sets,
            sets=dict(error_message=message, error_kind=kind.value, retry_count=count,
                      next_attempt_at=to_iso(nxt), claimed_by=None, failure_artifacts=artifacts),
        )

    def mark_unknown(self, record: UploadRecord, *, message: str, now: datetime | None = None) -> UploadRecord:
        """An IN_PROGRESS upload whose outcome cannot be known (after a crash)."""
        return self._finish(
            record, S.UNKNOWN, owner=None, now=now,
            sets=dict(error_message=message, error_kind=ErrorKind.UNKNOWN.value, claimed_by=None),
        )

    def release(self, record: UploadRecord, *, owner: str | None, reason: str, now: datetime | None = None) -> UploadRecord:
        """Give back a claim before anything irreversible happened (cancel): back to PENDING."""
        return self._finish(
            record, S.PENDING, owner=owner, now=now,
            sets=dict(error_message=reason, error_kind=None, claimed_by=None, attempt_started_at=None),
        )

    def settle_unknown(
        self, record: UploadRecord, *, published: bool, post_id: str | None = None,
        post_url: str | None = None, now: datetime | None = None,
    ) -> UploadRecord:
        """Resolve an UNKNOWN outcome: found on the channel (SUCCESS) or not there (PENDING)."""
        if published:
            return self._finish(
                record, S.SUCCESS, owner=None, now=now,
                sets=dict(platform_post_id=post_id, post_url=post_url, error_message=None, error_kind=None),
            )
        return self._finish(
            record, S.PENDING, owner=None, now=now,
            sets=dict(error_message="settled: the upload is not on the channel", error_kind=None),
        )

    def requeue_login_required(self, channel_id: str, *, now: datetime | None = None) -> int:
        """The operator logged the channel in again: its LOGIN_REQUIRED uploads go back to PENDING.

        Returns how many moved (one that another process moved meanwhile is left alone).
        """
        rows = self.db.query(
            "SELECT * FROM video_uploads WHERE channel_id = ? AND upload_status = 'LOGIN_REQUIRED' ORDER BY id",
            (channel_id,))
        moved = 0
        for row in rows:
            try:
                self._finish(UploadRecord.from_row(row), S.PENDING, owner=None, now=now,
                             sets=dict(error_message=None, error_kind=None, next_attempt_at=None))
            except IllegalTransitionError:
                continue
            moved += 1
        return moved

    def mark_blocked(self, video_id: str, channel_id: str, reason: str, *, now: datetime | None = None) -> UploadRecord:
        """Record that an attempt was refused by the duplicate rules (status BLOCKED)."""
        now = now or utcnow()
        with self.db.transaction() as tx:
            current = tx.execute(
                "SELECT upload_status FROM video_uploads WHERE video_id = ? AND channel_id = ?",
                (video_id, channel_id),
            ).fetchone()
            old = current[0] if current else None
            if old in (S.SUCCESS.value, S.IN_PROGRESS.value, S.UNKNOWN.value):
                # The record already says what is true there; keep it, the audit notes the refusal.
                rec = self.get(video_id, channel_id)
                self._audit(rec, status_override="BLOCKED", note=reason)
                return rec
            check_transition(old, S.BLOCKED)
            rev = self._next_rev(tx)
            tx.execute(
                "INSERT INTO video_uploads (video_id, channel_id, platform, upload_status, error_message,"
                " error_kind, updated_at, rev) VALUES (?, ?, ?, 'BLOCKED', ?, 'duplicate', ?, ?)"
                " ON CONFLICT (video_id, channel_id) DO UPDATE SET upload_status = 'BLOCKED',"
                " error_message = excluded.error_message, error_kind = 'duplicate',"
                " updated_at = excluded.updated_at, rev = excluded.rev",
                (video_id, channel_id, self._platform(tx, channel_id), reason, to_iso(now), rev),
            )
            rec = UploadRecord.from_row(
                tx.execute("SELECT * FROM video_uploads WHERE video_id = ? AND channel_id = ?",
                           (video_id, channel_id)).fetchone()
            )
        self._audit(rec)
        return rec

    # -- audit ------------------------------------------------------------------------------

    def _audit(self, record: UploadRecord | None, *, metadata: dict | None = None,
               status_override: str | None = None, note: str | None = None) -> None:
        if record is None:
            return
        self.db.audit.record_upload(
            video_id=record.video_id,
            platform=record.platform,
            channel_id=record.channel_id,
            status=status_override or record.upload_status,
            upload_id=record.platform_post_id,
            retry_count=record.retry_count,
            error_message=note if status_override else record.error_message,
            error_kind=record.error_kind,
            metadata=metadata or {},
        )


def statuses(values: Iterable[str]) -> list[UploadStatus]:
    return [UploadStatus(v) for v in values]
