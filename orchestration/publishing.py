"""The publishing core: one upload, "upload all pending", retries and crash recovery.

Correct under every failure before any browser is involved:

* an upload is claimed atomically (IN_PROGRESS) only when the registry's rules allow it, and
  every outcome is committed before the next upload starts;
* an uploader's failure is classified (transient / rate_limited / login_required /
  permanent) and the registry applies seed 003's retry counting, the channel's cool-down,
  or the channel's pause;
* an uploader that raises after it may have published is not trusted to have failed: the
  outcome is settled by looking on the channel (``find_existing``) or marked UNKNOWN;
* after a crash, :meth:`Publisher.recover` resolves every IN_PROGRESS row left by a dead
  process, and never retries an unknown outcome blindly.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

import uploaders
from database import (
    ASFSError,
    ChannelNotFoundError,
    Database,
    ErrorKind,
    UploadRecord,
    UploadRepository,
    UploadStatus,
    from_iso,
    to_iso,
    utcnow,
)
from database.channels import resolve_channel
from database.uploads import evaluate_upload
from uploaders import PlatformUploader, UploadCancelled, UploadResult

log = logging.getLogger("asfs.publishing")

HOST = socket.gethostname()

# Refusals that mean "this is a duplicate": the seed records them as BLOCKED.
_DUPLICATE_CODES = {"duplicate", "duplicate_content", "duplicate_source"}


@dataclass
class PublishOutcome:
    """What :meth:`Publisher.publish` did, for the caller to show."""

    video_id: str
    channel_id: str | None
    success: bool
    reason: str
    code: str
    status: str | None = None
    post_id: str | None = None
    post_url: str | None = None
    error_kind: str | None = None

    def __bool__(self) -> bool:
        return self.success


@dataclass
class BulkReport:
    total: int = 0
    outcomes: list[PublishOutcome] = field(default_factory=list)
    skipped: list[PublishOutcome] = field(default_factory=list)
    cancelled: bool = False

    @property
    def succeeded(self) -> int:
        return sum(1 for o in self.outcomes if o.success)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if not o.success)


# progress(event) with event["kind"] in {"start", "upload", "done", "overall"}
ProgressFn = Callable[[dict[str, Any]], None]


def _wait(seconds: float, cancel_event: threading.Event | None) -> bool:
    """Wait, waking early on cancel; True when cancelled."""
    if cancel_event is not None:
        return cancel_event.wait(seconds)
    time.sleep(seconds)
    return False


def _owner() -> str:
    return f"{HOST}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


# Claims this process holds right now: its own threads' uploads are alive, whatever the pid says.
_held: set[str] = set()
_held_lock = threading.Lock()


def owner_is_alive(owner: str | None) -> bool:
    """Whether the process that claimed an upload still runs (only knowable on this host)."""
    if not owner:
        return False
    parts = owner.split(":")
    if len(parts) < 2 or parts[0] != HOST:
        return True  # another machine's claim: not ours to judge
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        with _held_lock:
            return owner in _held
    return _pid_alive(pid)


class _SafeDict(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def resolve_metadata(call: Mapping[str, Any] | None, template: Mapping[str, Any] | None,
                     video: Mapping[str, Any]) -> dict[str, Any]:
    """Upload metadata: the call's values, else the channel's template, else the video's.

    Template strings may use the video's fields: ``"{title} #shorts"``.
    """
    call = dict(call or {})
    tpl = dict(template or {})
    fields = _SafeDict({k: ("" if v is None else v) for k, v in video.items() if not isinstance(v, (dict, list))})
    fields["tags"] = " ".join(f"#{t}" for t in video.get("tags") or [])

    def pick(*names: str, default: Any = None) -> Any:
        for source in (call, tpl):
            for name in names:
                if source.get(name) not in (None, ""):
                    value = source[name]
                    return value.format_map(fields) if source is tpl and isinstance(value, str) else value
        return default

    hashtags = pick("hashtags")
    if hashtags is None:
        hashtags = [f"#{t}" for t in video.get("tags") or []]
    if isinstance(hashtags, str):
        hashtags = hashtags.split()
    hashtags = [h if str(h).startswith("#") else f"#{h}" for h in hashtags]
    description = pick("description", "caption", default=video.get("description") or "")
    meta = {
        "title": pick("title", default=video.get("title") or video.get("id")),
        "description": description,
        "caption": pick("caption", "description", default=description),
        "hashtags": hashtags,
        "visibility": str(pick("visibility", default="public")).lower(),
        "made_for_kids": bool(pick("made_for_kids", default=False)),
    }
    for extra in ("scheduled_at", "tags"):
        if extra in call:
            meta[extra] = call[extra]
    if meta["visibility"] not in ("public", "unlisted", "private"):
        raise ValueError(f"visibility must be public, unlisted or private, not {meta['visibility']!r}")
    return meta


class Publisher:
    """Runs uploads through the registry's rules and records every outcome.

    Args:
        db: the registry.
        clock: returns "now" (UTC); tests inject their own.
        sleep: waits (seconds, cancel_event) -> bool cancelled; tests inject their own.
    """

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float, threading.Event | None], bool] | None = None,
                 uploads: UploadRepository | None = None):
        self.db = db
        self.uploads = uploads or UploadRepository(db)
        self.clock = clock
        self._sleep = sleep or _wait

    # -- one upload ------------------------------------------------------------------------

    def _channel(self, ref: str) -> dict[str, Any]:
        channel = dict(resolve_channel(self.db.conn, ref))
        # uploaders keep browser profiles and failure screenshots in this registry's data dir
        channel["data_dir"] = str(self.db.paths.root)
        return channel

    def _video(self, video_id: str) -> dict[str, Any] | None:
        from database.videos import _video_dict

        row = self.db.query_one("SELECT * FROM videos WHERE id = ?", (video_id,))
        return _video_dict(row) if row else None

    def _refuse(self, video_id: str, channel: Mapping[str, Any] | None, reason: str, code: str,
                actor: str) -> PublishOutcome:
        channel_id = channel["id"] if channel else None
        status = None
        if channel and code in _DUPLICATE_CODES:
            status = self.uploads.mark_blocked(video_id, channel_id, reason).upload_status
        self.db.audit.record(
            "upload.refused", reason, subject_type="upload", subject_id=f"{video_id}@{channel_id}",
            actor=actor, details={"video_id": video_id, "channel_id": channel_id, "code": code},
        )
        log.warning("upload of %s to %s refused: %s", video_id, channel_id, reason)
        return PublishOutcome(video_id, channel_id, False, reason, code, status=status)

    def publish(
        self,
        video_id: str,
        channel_ref: str,
        metadata: Mapping[str, Any] | None = None,
        *,
        manual: bool = True,
        actor: str = "operator",
        cancel_event: threading.Event | None = None,
        progress: Callable[[float, str], None] | None = None,
        uploader: PlatformUploader | None = None,
    ) -> PublishOutcome:
        """Upload one video to one channel (a platform name means its default channel).

        Returns an outcome whose ``reason`` says what happened; it is False when anything
        stopped the upload, and the reason is recorded in the audit trail.
        """
        try:
            channel = self._channel(channel_ref)
        except ChannelNotFoundError as exc:
            return self._refuse(video_id, None, str(exc), "unknown_channel", actor)
        video = self._video(video_id)
        if video is None:
            return self._refuse(video_id, channel, f"Video '{video_id}' is not in the registry.",
                                "unknown_video", actor)
        if not manual:
            capped = self._cap_reason(channel)
            if capped:
                return self._refuse(video_id, channel, capped, "daily_cap", actor)
        try:
            meta = resolve_metadata(metadata, _json(channel.get("metadata_template")), video)
        except ValueError as exc:
            return self._refuse(video_id, channel, str(exc), "bad_metadata", actor)

        from database.videos import VideoRegistry

        owner = _owner()
        record, verdict = self.uploads.claim(
            video_id, channel["id"], owner=owner, manual=manual, now=self.clock(),
            verify_checksum=VideoRegistry(self.db)._verify_checksum,
        )
        if record is None:
            return self._refuse(video_id, channel, verdict.reason, verdict.code, actor)
        if verdict.code != "ok":
            self.db.audit.record(
                "upload.override", verdict.reason, subject_type="upload",
                subject_id=f"{video_id}@{channel['id']}", actor=actor,
                details={"video_id": video_id, "channel_id": channel["id"], "code": verdict.code},
            )
        with _held_lock:
            _held.add(owner)
        try:
            return self._run(record, channel, video, meta, owner, cancel_event, progress, uploader)
        finally:
            with _held_lock:
                _held.discard(owner)

    def _run(self, record: UploadRecord, channel: Mapping[str, Any], video: Mapping[str, Any],
             meta: dict[str, Any], owner: str, cancel_event, progress, uploader) -> PublishOutcome:
        """Call the uploader for a claimed upload and record exactly one outcome."""
        own_uploader = uploader is None
        try:
            try:
                up = uploader or uploaders.get(channel["id"], channel)
            except (LookupError, TypeError) as exc:
                result = UploadResult.failed(str(exc), "permanent")
            else:
                up.cancel_event = cancel_event
                up.progress_callback = progress
                try:
                    result = self._attempt(up, video, meta)
                finally:
                    if own_uploader:
                        up.close()
        except UploadCancelled:
            rec = self.uploads.release(record, owner=owner, reason="cancelled before publishing")
            return PublishOutcome(record.video_id, record.channel_id, False, "Cancelled before publishing.",
                                  "cancelled", status=rec.upload_status)
        except BaseException as exc:
            # KeyboardInterrupt or a bug in our own code after the claim: do not leave the row
            # IN_PROGRESS; the upload may have happened, so its outcome is unknown.
            self.uploads.mark_unknown(record, message=f"interrupted: {type(exc).__name__}: {exc}")
            raise
        return self._record(record, owner, result, meta)

    def _attempt(self, up: PlatformUploader, video: Mapping[str, Any], meta: dict[str, Any]) -> UploadResult:
        login = up.check_login()
        if login is False:
            return UploadResult.failed("The channel is not logged in; log in to this account again.",
                                       "login_required")
        if up.cancel_requested():
            raise UploadCancelled()
        try:
            result = up.upload(video["file_path"], dict(meta))
        except UploadCancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - any uploader bug is reported, not propagated
            log.exception("uploader raised for %s", video["id"])
            return self._settle_after_crash(up, video, f"{type(exc).__name__}: {exc}")
        if not isinstance(result, UploadResult):
            return self._settle_after_crash(up, video, f"uploader returned {type(result).__name__}, not UploadResult")
        return result

    def _settle_after_crash(self, up: PlatformUploader, video: Mapping[str, Any], message: str) -> UploadResult:
        """The uploader raised: it may have published first. Look before deciding."""
        try:
            found = up.find_existing(video)
        except Exception:  # noqa: BLE001
            found = None
        if found is not None and found.success:
            return found
        if found is not None:
            return UploadResult.failed(message, "transient")
        return UploadResult(success=False, error_message=f"outcome unknown — check the channel ({message})",
                            error_kind="transient", details={"unknown": True})

    def _record(self, record: UploadRecord, owner: str, result: UploadResult, meta: dict[str, Any]) -> PublishOutcome:
        now = self.clock()
        if result.success:
            rec = self.uploads.record_success(record, post_id=result.platform_post_id, post_url=result.post_url,
                                              owner=owner, metadata=meta, now=now)
            return PublishOutcome(rec.video_id, rec.channel_id, True,
                                  f"Published as {result.platform_post_id or '(no id)'}", "ok",
                                  status=rec.upload_status, post_id=rec.platform_post_id, post_url=rec.post_url)
        if result.details.get("unknown"):
            rec = self.uploads.mark_unknown(record, message=result.error_message, now=now)
            return PublishOutcome(rec.video_id, rec.channel_id, False, result.error_message, "outcome_unknown",
                                  status=rec.upload_status, error_kind="unknown")
        rec = self.uploads.record_failure(record, kind=result.error_kind, message=result.error_message,
                                          owner=owner, retry_after=result.retry_after,
                                          artifacts=result.artifacts, metadata=meta, now=now)
        if result.error_kind == ErrorKind.LOGIN_REQUIRED.value:
            self.db.audit.record(
                "channel.paused", f"{record.channel_id} paused: login required", subject_type="channel",
                subject_id=record.channel_id, details={"reason": result.error_message},
            )
        return PublishOutcome(rec.video_id, rec.channel_id, False, result.error_message, result.error_kind,
                              status=rec.upload_status, error_kind=result.error_kind)

    # -- caps and spacing --------------------------------------------------------------------

    def _day_start_utc(self, channel: Mapping[str, Any]) -> datetime:
        tz = ZoneInfo(channel.get("timezone") or "UTC")
        local = self.clock().astimezone(tz)
        return local.replace(hour=0, minute=0, second=0, microsecond=0)

    def uploads_today(self, channel: Mapping[str, Any]) -> int:
        return self.db.query_one(
            "SELECT COUNT(*) FROM video_uploads WHERE channel_id = ? AND upload_status IN"
            " ('SUCCESS', 'IN_PROGRESS', 'UNKNOWN') AND upload_timestamp >= ?",
            (channel["id"], to_iso(self._day_start_utc(channel))),
        )[0]

    def _cap_reason(self, channel: Mapping[str, Any]) -> str | None:
        cap = channel.get("daily_cap")
        if cap is not None and self.uploads_today(channel) >= cap:
            return f"{channel['name']} has reached its daily cap of {cap} uploads."
        return None

    def _spacing_wait(self, channel: Mapping[str, Any]) -> float:
        spacing = channel.get("min_spacing_seconds") or 0
        if spacing <= 0:
            return 0.0
        row = self.db.query_one(
            "SELECT MAX(upload_timestamp) FROM video_uploads WHERE channel_id = ?"
            " AND upload_status IN ('SUCCESS', 'IN_PROGRESS', 'UNKNOWN')", (channel["id"],))
        last = from_iso(row[0]) if row and row[0] else None
        if last is None:
            return 0.0
        return max(0.0, (last + timedelta(seconds=spacing) - self.clock()).total_seconds())

    # -- many uploads ---------------------------------------------------------------------------

    def pending_pairs(self, channel_ids: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """Every (video, channel) the automatic rules allow now and that is not done yet.

        Only active channels; the default channel of each platform plus every other active
        channel. A pair is pending when the video has no upload there yet, or it is PENDING,
        BLOCKED (and now allowed), or FAILED / RATE_LIMITED with its retry time come.
        """
        now = self.clock()
        params: list[Any] = []
        where = "c.status = 'active'"
        if channel_ids is not None:
            ids = [self._channel(c)["id"] for c in channel_ids]
            if not ids:
                return []
            where += f" AND c.id IN ({','.join('?' * len(ids))})"
            params += ids
        rows = self.db.query(
            f"""
            SELECT v.id AS video_id, c.id AS channel_id
            FROM videos v CROSS JOIN channels c
            LEFT JOIN video_uploads u ON u.video_id = v.id AND u.channel_id = c.id
            WHERE {where} AND v.status = 'ready'
              AND (u.id IS NULL OR u.upload_status IN ('PENDING', 'BLOCKED')
                   OR (u.upload_status IN ('FAILED', 'RATE_LIMITED')
                       AND (u.next_attempt_at IS NULL OR u.next_attempt_at <= ?)))
            ORDER BY c.priority DESC, c.id, v.created_at, v.id
            """,
            params + [to_iso(now)],
        )
        out = []
        for r in rows:
            verdict = evaluate_upload(self.db.conn, r["video_id"], r["channel_id"], manual=False, now=now)
            if verdict.allowed:
                out.append((r["video_id"], r["channel_id"]))
        return out

    def upload_all_pending(
        self,
        *,
        channel_ids: Iterable[str] | None = None,
        pairs: Iterable[tuple[str, str]] | None = None,
        max_parallel: int = 4,
        progress: ProgressFn | None = None,
        cancel_event: threading.Event | None = None,
        actor: str = "operator",
    ) -> BulkReport:
        """Upload every pending (video, channel): one at a time per channel, channels in parallel.

        Honours each channel's daily cap and minimum spacing. Setting ``cancel_event`` stops
        new uploads and asks running ones to stop before publishing; when this returns,
        nothing it claimed is IN_PROGRESS.
        """
        if max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")
        todo = list(pairs) if pairs is not None else self.pending_pairs(channel_ids)
        cancel_event = cancel_event or threading.Event()
        report = BulkReport(total=len(todo))
        by_channel: dict[str, list[str]] = defaultdict(list)
        for vid, cid in todo:
            by_channel[cid].append(vid)
        lock = threading.Lock()
        done = [0]

        def emit(event: dict[str, Any]) -> None:
            if progress:
                try:
                    progress(event)
                except Exception:  # noqa: BLE001 - a broken progress display must not stop uploads
                    log.exception("progress callback failed")

        def finished(outcome: PublishOutcome, skipped: bool = False) -> None:
            with lock:
                (report.skipped if skipped else report.outcomes).append(outcome)
                done[0] += 1
                n = done[0]
            emit({"kind": "done", "outcome": outcome, "skipped": skipped,
                  "video_id": outcome.video_id, "channel_id": outcome.channel_id})
            emit({"kind": "overall", "done": n, "total": report.total})

        def run_channel(channel_id: str, videos: list[str]) -> None:
            channel = self._channel(channel_id)
            # One uploader (one browser) for the channel's uploads in a row, made, used and closed in
            # this thread; after a failure the next upload gets a fresh one.
            up: PlatformUploader | None = None
            try:
                for vid in videos:
                    if cancel_event.is_set():
                        finished(PublishOutcome(vid, channel_id, False, "Cancelled before it started.", "cancelled"),
                                 True)
                        continue
                    capped = self._cap_reason(channel)
                    if capped:
                        finished(PublishOutcome(vid, channel_id, False, capped, "daily_cap"), True)
                        continue
                    wait = self._spacing_wait(channel)
                    if wait > 0 and self._sleep(wait, cancel_event):
                        finished(PublishOutcome(vid, channel_id, False, "Cancelled before it started.", "cancelled"),
                                 True)
                        continue
                    emit({"kind": "start", "video_id": vid, "channel_id": channel_id})

                    def upload_progress(fraction: float, stage: str, _v=vid) -> None:
                        emit({"kind": "upload", "video_id": _v, "channel_id": channel_id,
                              "fraction": fraction, "stage": stage})

                    if up is None:
                        try:
                            up = uploaders.get(channel["id"], channel)
                        except (LookupError, TypeError):
                            up = None  # publish() reports it
                    outcome = self.publish(vid, channel_id, manual=False, actor=actor,
                                           cancel_event=cancel_event, progress=upload_progress, uploader=up)
                    if not outcome.success and up is not None:
                        up.close()
                        up = None
                    finished(outcome, skipped=outcome.code in ("cancelled",) and outcome.status is None)
            finally:
                if up is not None:
                    up.close()

        emit({"kind": "overall", "done": 0, "total": report.total})
        workers = max(1, min(max_parallel, len(by_channel)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="asfs-publish") as pool:
            futures = [pool.submit(run_channel, cid, vids) for cid, vids in by_channel.items()]
            for f in futures:
                f.result()
        report.cancelled = cancel_event.is_set()
        self.db.audit.record(
            "upload.bulk", f"Upload all pending: {report.succeeded} published, {report.failed} failed, "
            f"{len(report.skipped)} skipped{' (cancelled)' if report.cancelled else ''}",
            actor=actor, details={"total": report.total, "succeeded": report.succeeded,
                                  "failed": report.failed, "skipped": len(report.skipped),
                                  "cancelled": report.cancelled},
        )
        return report

    def retry_due(self, *, max_parallel: int = 4, progress: ProgressFn | None = None,
                  cancel_event: threading.Event | None = None) -> BulkReport:
        """Re-run FAILED (and cooled-down RATE_LIMITED) uploads whose next attempt has come."""
        due = [(r.video_id, r.channel_id) for r in self.uploads.due_retries(self.clock())]
        return self.upload_all_pending(pairs=due, max_parallel=max_parallel, progress=progress,
                                       cancel_event=cancel_event, actor="retry")

    # -- crash recovery ---------------------------------------------------------------------------

    def recover(self) -> list[PublishOutcome]:
        """Resolve IN_PROGRESS uploads whose process is gone (run at start-up).

        Settled through the uploader's ``find_existing`` when it can tell; otherwise UNKNOWN
        ("outcome unknown — check the channel"), which is never retried automatically.
        """
        out = []
        for rec in self.uploads.with_status(UploadStatus.IN_PROGRESS):
            if owner_is_alive(rec.claimed_by):
                continue
            video = self._video(rec.video_id) or {"id": rec.video_id}
            found: UploadResult | None = None
            try:
                channel = self._channel(rec.channel_id)
                up = uploaders.get(channel["id"], channel)
                try:
                    found = up.find_existing(video)
                finally:
                    up.close()
            except Exception:  # noqa: BLE001 - no uploader, or it cannot look: unknown
                found = None
            if found is not None and found.success:
                new = self.uploads.record_success(rec, post_id=found.platform_post_id, post_url=found.post_url,
                                                  owner=None)
                reason = f"Found on the channel after a restart: {found.platform_post_id}"
            elif found is not None:
                new = self.uploads.release(rec, owner=None, reason="interrupted; not on the channel, will retry")
                reason = "Interrupted before publishing; it is not on the channel."
            else:
                new = self.uploads.mark_unknown(
                    rec, message="outcome unknown — the app stopped during this upload; check the channel")
                reason = new.error_message
            self.db.audit.record("upload.recovered", reason, subject_type="upload",
                                 subject_id=f"{rec.video_id}@{rec.channel_id}",
                                 details={"status": new.upload_status, "claimed_by": rec.claimed_by})
            out.append(PublishOutcome(rec.video_id, rec.channel_id, new.upload_status == "SUCCESS", reason,
                                      "recovered", status=new.upload_status, post_id=new.platform_post_id))
        return out

    def settle_unknown(self, video_id: str, channel_ref: str, *, published: bool, post_id: str | None = None,
                       post_url: str | None = None, actor: str = "operator") -> UploadRecord:
        """The operator checked the channel: the unknown upload is there (or is not)."""
        channel = self._channel(channel_ref)
        rec = self.uploads.get(video_id, channel["id"])
        if rec is None:
            raise ASFSError(f"'{video_id}' has no upload on {channel['name']} to settle.")
        new = self.uploads.settle_unknown(rec, published=published, post_id=post_id, post_url=post_url)
        self.db.audit.record("upload.settled", f"{'found' if published else 'not found'} on {channel['name']}",
                             subject_type="upload", subject_id=f"{video_id}@{channel['id']}", actor=actor,
                             details={"published": published, "post_id": post_id})
        return new


def _json(text: str | None) -> dict[str, Any]:
    import json

    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def recover_in_background(registry_path, on_done: Callable[[list[PublishOutcome]], None] | None = None
                          ) -> threading.Thread:
    """Run :meth:`Publisher.recover` on its own thread and connection (used at start-up)."""

    def work() -> None:
        db = Database.open(registry_path)
        try:
            outcomes = Publisher(db).recover()
            for o in outcomes:
                log.warning("recovered %s on %s: %s", o.video_id, o.channel_id, o.reason)
            if on_done:
                on_done(outcomes)
        except Exception:  # noqa: BLE001 - start-up must go on; the rows stay visible as IN_PROGRESS
            log.exception("start-up recovery failed")
        finally:
            db.close()

    thread = threading.Thread(target=work, name="asfs-recover", daemon=True)
    thread.start()
    return thread
