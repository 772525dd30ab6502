"""The video registry: seed 003's ``VideoRegistry`` API over the ``videos`` table.

Every video is registered once per content: registering a file whose SHA-256 is already in
the registry returns the existing id (unless the caller explicitly allows a duplicate).
Where the seed says ``platform``, a platform name (its default channel) or a channel id or
name is accepted.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping

from .channels import resolve_channel
from .connection import Database, to_iso, utcnow
from .errors import ValidationError, VideoFileError, VideoIdConflictError, VideoNotFoundError
from .uploads import UploadRecord, UploadRepository, evaluate_upload

_ID_OK = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_ID_LEN = 80
_CHUNK = 900  # stays under SQLite's host-parameter limit on old builds

# Columns a caller may provide when registering; everything else is derived.
VIDEO_FIELDS = (
    "id", "file_path", "title", "created_at", "duration", "checksum", "duplicate_allowed",
    "width", "height", "fps", "codec", "size_bytes", "file_mtime_ns", "source_url",
    "source_views", "watermarked", "tags", "description", "thumbnail_path", "status",
)


def slug_id(stem: str) -> str:
    """A readable video id from a file name: 'My clip #1' -> 'My_clip_1'."""
    s = _ID_OK.sub("_", stem).strip("._-")[:MAX_ID_LEN]
    return s or "video"


def _video_dict(row) -> dict[str, Any]:
    d = dict(row)
    d.pop("content_twin", None)  # the upload rules' bookkeeping, not a property of the video
    d["tags"] = json.loads(d.get("tags") or "[]")
    d["duplicate_allowed"] = bool(d.get("duplicate_allowed"))
    d["watermarked"] = bool(d.get("watermarked"))
    return d


def _upload_dict(rec: UploadRecord, channel_name: str | None = None) -> dict[str, Any]:
    d = rec.to_dict()
    d["channel_name"] = channel_name
    return d


@dataclass(frozen=True)
class Registration:
    """What registering a file did: the id, and whether a new row was made."""

    video_id: str
    created: bool
    file_path: str


def _validate_row(row: Mapping[str, Any], index: int | None = None) -> dict[str, Any]:
    where = f"row {index}: " if index is not None else ""
    unknown = set(row) - set(VIDEO_FIELDS)
    if unknown:
        raise ValidationError(f"{where}unknown field(s) {', '.join(sorted(unknown))}", sorted(unknown)[0])
    path = row.get("file_path")
    if not path or not str(path).strip():
        raise ValidationError(f"{where}file_path is required", "file_path")
    out = dict(row)
    out["file_path"] = str(path)
    for key in ("duration", "fps"):
        v = out.get(key)
        if v is not None:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v < 0:
                raise ValidationError(f"{where}{key} must be a non-negative number, got {v!r}", key)
    for key in ("width", "height", "size_bytes", "source_views", "file_mtime_ns"):
        v = out.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ValidationError(f"{where}{key} must be a non-negative whole number, got {v!r}", key)
    tags = out.get("tags")
    if tags is None:
        out["tags"] = "[]"
    elif isinstance(tags, str):
        out["tags"] = json.dumps([t.strip() for t in tags.split(",") if t.strip()])
    elif isinstance(tags, (list, tuple)) and all(isinstance(t, str) for t in tags):
        out["tags"] = json.dumps(list(tags))
    else:
        raise ValidationError(f"{where}tags must be a list of strings", "tags")
    vid = out.get("id")
    if vid is not None and (not isinstance(vid, str) or not vid.strip() or len(vid) > 200):
        raise ValidationError(f"{where}id must be a non-empty string of at most 200 characters", "id")
    status = out.get("status") or "ready"
    if status not in ("ready", "missing", "invalid"):
        raise ValidationError(f"{where}status must be ready, missing or invalid", "status")
    out["status"] = status
    out["duplicate_allowed"] = int(bool(out.get("duplicate_allowed")))
    out["watermarked"] = int(bool(out.get("watermarked")))
    return out


class VideoRegistry:
    """Seed 003's registry API.

    Args:
        db: the registry; None opens the default one (``database/videos.db`` in the data dir).
    """

    def __init__(self, db: Database | None = None):
        self.db = db or Database.open()
        self.uploads = UploadRepository(self.db)

    # -- registration ---------------------------------------------------------------------

    def register_video(
        self,
        file_path: str | os.PathLike,
        title: str | None = None,
        video_id: str | None = None,
        duplicate_allowed: bool = False,
        **details: Any,
    ) -> str:
        """Register a video file (probe, checksum, thumbnail) and return its id.

        Registering content that is already there returns the existing id.
        """
        return self.register_file(file_path, title=title, video_id=video_id,
                                  duplicate_allowed=duplicate_allowed, **details).video_id

    def register_file(
        self,
        file_path: str | os.PathLike,
        *,
        title: str | None = None,
        video_id: str | None = None,
        duplicate_allowed: bool = False,
        tags: Iterable[str] | None = None,
        watermarked: bool = False,
        source_url: str | None = None,
        source_views: int | None = None,
        description: str | None = None,
        checksum: str | None = None,
        media=None,
        thumbnail: bool = True,
        actor: str = "system",
        hash_progress=None,
    ) -> Registration:
        """Register one file; the full form behind :meth:`register_video`.

        Args:
            media: a ``MediaInfo`` already probed (skips probing).
            checksum: a SHA-256 already computed (skips hashing).
            thumbnail: write a thumbnail PNG into the data directory's ``thumbnails/``.
            hash_progress: ``f(done, total)`` while the file is hashed.
        Raises:
            VideoFileError: missing, unreadable, empty or not a video; nothing is written.
            VideoIdConflictError: ``video_id`` is taken by different content.
        """
        from . import media as media_mod

        path = Path(file_path).expanduser()
        if not path.exists():
            raise VideoFileError(str(path), "file not found")
        path = path.resolve()
        info = media or media_mod.probe_video(path)
        digest = checksum or media_mod.sha256_file(path, progress=hash_progress)
        if video_id is not None and (not isinstance(video_id, str) or not video_id.strip()):
            raise ValidationError("video_id must be a non-empty string", "video_id")

        existing = self.db.query_one(
            "SELECT id, file_path FROM videos WHERE checksum = ? ORDER BY created_at LIMIT 1", (digest,)
        )
        if video_id is not None:
            same = self.db.query_one("SELECT id, checksum, file_path FROM videos WHERE id = ?", (video_id,))
            if same is not None:
                if same["checksum"] == digest:
                    return Registration(video_id, False, same["file_path"])
                raise VideoIdConflictError(video_id, same["file_path"])
        if existing is not None and not duplicate_allowed:
            return Registration(existing["id"], False, existing["file_path"])

        now = to_iso(utcnow())
        row = _validate_row({
            "file_path": str(path),
            "title": title if title is not None else path.stem,
            "duration": info.duration,
            "checksum": digest,
            "duplicate_allowed": duplicate_allowed,
            "width": info.width,
            "height": info.height,
            "fps": info.fps,
            "codec": info.codec,
            "size_bytes": info.size_bytes,
            "file_mtime_ns": info.mtime_ns,
            "source_url": source_url,
            "source_views": source_views,
            "watermarked": watermarked,
            "tags": list(tags or []),
            "description": description,
        })
        with self.db.transaction() as tx:
            vid = video_id or self._free_id(tx, slug_id(path.stem))
            if video_id is not None and tx.execute("SELECT 1 FROM videos WHERE id = ?", (vid,)).fetchone():
                raise VideoIdConflictError(vid, str(path))  # taken meanwhile by another process
            if not duplicate_allowed:
                again = tx.execute("SELECT id, file_path FROM videos WHERE checksum = ? LIMIT 1", (digest,)).fetchone()
                if again is not None:  # another process registered it meanwhile
                    return Registration(again["id"], False, again["file_path"])
            row.update(id=vid, created_at=now, updated_at=now, rev=self.uploads._next_rev(tx))
            cols = ", ".join(row)
            tx.execute(f"INSERT INTO videos ({cols}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))
        if thumbnail:
            self._make_thumbnail(vid, path, info)
        self.db.audit.record(
            "video.registered", f"Registered {path.name} as '{vid}'",
            subject_type="video", subject_id=vid, actor=actor,
            details={"file_path": str(path), "checksum": digest, "duplicate_allowed": bool(duplicate_allowed),
                     "duplicate_of": existing["id"] if existing is not None else None},
        )
        return Registration(vid, True, str(path))

    def _make_thumbnail(self, video_id: str, path: Path, info) -> None:
        from . import media as media_mod

        out = self.db.paths.thumbnails / f"{video_id}.png"
        try:
            media_mod.make_thumbnail(path, out)
        except VideoFileError:
            return  # a missing thumbnail is cosmetic; the video itself probed fine
        with self.db.transaction() as tx:
            tx.execute("UPDATE videos SET thumbnail_path = ? WHERE id = ?", (str(out), video_id))

    @staticmethod
    def _free_id(conn, base: str) -> str:
        taken = {r[0] for r in conn.execute(
            "SELECT id FROM videos WHERE id = ? OR id LIKE ? ESCAPE '\\'",
            (base, base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "\\_%"),
        )}
        if base not in taken:
            return base
        n = 2
        while f"{base}_{n}" in taken:
            n += 1
        return f"{base}_{n}"

    def register_videos(self, rows: Iterable[Mapping[str, Any]], *, actor: str = "system") -> list[str]:
        """Register many already-probed videos in one transaction; returns their ids in order.

        Each row holds ``file_path`` and any of the ``videos`` columns (``checksum``,
        ``duration``, ``width``...). Rows whose checksum is already registered (or repeated in
        the batch) resolve to the existing id unless ``duplicate_allowed`` is set. A bad row
        raises :class:`ValidationError` naming it, and nothing is written.
        """
        clean = [_validate_row(r, i) for i, r in enumerate(rows)]
        if not clean:
            return []
        now = to_iso(utcnow())
        ids: list[str | None] = [None] * len(clean)
        with self.db.transaction() as tx:
            checksums = sorted({r["checksum"] for r in clean if r.get("checksum")})
            known: dict[str, str] = {}
            for i in range(0, len(checksums), _CHUNK):
                part = checksums[i:i + _CHUNK]
                for cid, csum in tx.execute(
                    f"SELECT id, checksum FROM videos WHERE checksum IN ({','.join('?' * len(part))})", part
                ):
                    known.setdefault(csum, cid)
            wanted = [r.get("id") or slug_id(Path(r["file_path"]).stem) for r in clean]
            taken: set[str] = set()
            uniq = sorted(set(wanted))
            for i in range(0, len(uniq), _CHUNK):
                part = uniq[i:i + _CHUNK]
                taken.update(r[0] for r in tx.execute(
                    f"SELECT id FROM videos WHERE id IN ({','.join('?' * len(part))})", part))
            rev = self.uploads._next_rev(tx)
            batch = []
            for i, (r, want) in enumerate(zip(clean, wanted)):
                csum = r.get("checksum")
                if csum and csum in known and not r["duplicate_allowed"]:
                    ids[i] = known[csum]
                    continue
                if r.get("id"):
                    if want in taken:
                        raise VideoIdConflictError(want, r["file_path"])
                    vid = want
                else:
                    vid = want
                    if vid in taken:
                        vid = self._free_id_in(tx, want, taken)
                taken.add(vid)
                if csum:
                    known.setdefault(csum, vid)
                ids[i] = vid
                batch.append((
                    vid, r["file_path"], r.get("title") if r.get("title") is not None else Path(r["file_path"]).stem,
                    r.get("created_at") or now, r.get("duration"), csum, r["duplicate_allowed"],
                    r.get("width"), r.get("height"), r.get("fps"), r.get("codec"), r.get("size_bytes"),
                    r.get("file_mtime_ns"), r.get("source_url"), r.get("source_views"), r["watermarked"],
                    r["tags"], r.get("description"), r.get("thumbnail_path"), r["status"], now, rev,
                ))
            tx.executemany(
                "INSERT INTO videos (id, file_path, title, created_at, duration, checksum, duplicate_allowed,"
                " width, height, fps, codec, size_bytes, file_mtime_ns, source_url, source_views, watermarked,"
                " tags, description, thumbnail_path, status, updated_at, rev)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                batch,
            )
        self.db.audit.record(
            "video.registered_bulk", f"Registered {len(batch)} videos ({len(clean) - len(batch)} already known)",
            subject_type="video", actor=actor, details={"created": len(batch), "rows": len(clean)},
        )
        return [i for i in ids if i is not None]

    def _free_id_in(self, conn, base: str, taken: set[str]) -> str:
        taken |= {r[0] for r in conn.execute(
            "SELECT id FROM videos WHERE id LIKE ? ESCAPE '\\'",
            (base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "\\_%",),
        )}
        n = 2
        while f"{base}_{n}" in taken:
            n += 1
        return f"{base}_{n}"

    # -- reading ----------------------------------------------------------------------------

    def get_video(self, video_id: str) -> dict[str, Any]:
        """One video with its ``uploads`` (a dict keyed by channel id)."""
        with self.db.snapshot() as conn:
            row = conn.execute("SELECT * FROM videos WHERE id = ?", (video_id,)).fetchone()
            if row is None:
                raise VideoNotFoundError(video_id)
            video = _video_dict(row)
            video["uploads"] = {
                r["channel_id"]: _upload_dict(UploadRecord.from_row(r), r["channel_name"])
                for r in conn.execute(
                    "SELECT u.*, c.name AS channel_name FROM video_uploads u JOIN channels c ON c.id = u.channel_id"
                    " WHERE u.video_id = ? ORDER BY u.channel_id", (video_id,))
            }
        return video

    def get_all_videos(self) -> list[dict[str, Any]]:
        """Every video, newest first, each with its ``uploads`` keyed by channel id.

        The default channels' ids are the platform names, so ``video['uploads']['Instagram']``
        is the upload to Instagram's default channel.
        """
        with self.db.snapshot() as conn:
            videos = [_video_dict(r) for r in conn.execute("SELECT * FROM videos ORDER BY created_at DESC, id")]
            by_id = {v["id"]: v for v in videos}
            for v in videos:
                v["uploads"] = {}
            for r in conn.execute(
                "SELECT u.*, c.name AS channel_name FROM video_uploads u JOIN channels c ON c.id = u.channel_id"
            ):
                v = by_id.get(r["video_id"])
                if v is not None:
                    v["uploads"][r["channel_id"]] = _upload_dict(UploadRecord.from_row(r), r["channel_name"])
        return videos

    def count(self) -> int:
        return self.db.query_one("SELECT COUNT(*) FROM videos")[0]

    def find_by_checksum(self, checksum: str) -> list[str]:
        return [r[0] for r in self.db.query("SELECT id FROM videos WHERE checksum = ? ORDER BY created_at", (checksum,))]

    def get_upload_status(self, video_id: str, platform: str) -> dict[str, Any]:
        """The upload state of a video on a platform's default channel (or a channel).

        Returns a dict with ``upload_status`` (None when never uploaded there),
        ``upload_timestamp``, ``platform_post_id``, ``post_url``, ``error_message``,
        ``error_kind``, ``retry_count``, ``next_attempt_at``, ``channel_id``, ``platform``.
        """
        if self.db.query_one("SELECT 1 FROM videos WHERE id = ?", (video_id,)) is None:
            raise VideoNotFoundError(video_id)
        channel = resolve_channel(self.db.conn, platform)
        rec = self.uploads.get(video_id, channel["id"])
        if rec is None:
            return {
                "video_id": video_id, "channel_id": channel["id"], "channel_name": channel["name"],
                "platform": channel["platform"], "upload_status": None, "upload_timestamp": None,
                "platform_post_id": None, "post_url": None, "error_message": None, "error_kind": None,
                "retry_count": 0, "next_attempt_at": None,
            }
        return _upload_dict(rec, channel["name"])

    def can_upload(self, video_id: str, platform: str, *, automatic: bool = False,
                   now: datetime | None = None) -> tuple[bool, str]:
        """Whether the video may be uploaded to the platform (or channel) now, and why.

        Args:
            automatic: judge as a scheduled or bulk upload would (retry timers, FAILED_FINAL,
                paused channels); the default judges an operator's manual upload.
        Returns:
            ``(True, "OK")`` or ``(False, reason)`` with a reason a person understands.
        """
        # A channel id (a default channel's id is its platform's name) needs no lookup of its own:
        # the rules query finds the channel. Anything else is resolved first.
        verdict = evaluate_upload(self.db.conn, video_id, platform, manual=not automatic, now=now,
                                  verify_checksum=self._verify_checksum)
        if verdict.code != "unknown_channel":
            return verdict.as_tuple()
        channel = resolve_channel(self.db.conn, platform)
        verdict = evaluate_upload(self.db.conn, video_id, channel["id"], manual=not automatic, now=now,
                                  verify_checksum=self._verify_checksum)
        return verdict.as_tuple()

    def check_upload(self, video_id: str, platform: str, *, automatic: bool = False, now: datetime | None = None):
        """Like :meth:`can_upload`, returning the full :class:`~database.uploads.Verdict` (with a code)."""
        channel = resolve_channel(self.db.conn, platform)
        return evaluate_upload(self.db.conn, video_id, channel["id"], manual=not automatic, now=now,
                               verify_checksum=self._verify_checksum)

    def _verify_checksum(self, video_id: str, path: str) -> bool:
        """Re-hash a file whose mtime changed; remember the new mtime when the content is the same."""
        from . import media as media_mod

        row = self.db.query_one("SELECT checksum FROM videos WHERE id = ?", (video_id,))
        try:
            same = media_mod.sha256_file(path) == row["checksum"]
        except VideoFileError:
            return False
        if same:
            with self.db.transaction() as tx:
                tx.execute("UPDATE videos SET file_mtime_ns = ? WHERE id = ?", (os.stat(path).st_mtime_ns, video_id))
        return same

    # -- changes ----------------------------------------------------------------------------

    def set_duplicate_allowed(self, video_id: str, allowed: bool, *, actor: str = "operator",
                              reason: str | None = None) -> None:
        """Allow (or stop allowing) this video to be uploaded again where it already is."""
        if not isinstance(allowed, bool) and allowed not in (0, 1):
            raise ValidationError("allowed must be True or False", "allowed")
        with self.db.transaction() as tx:
            old = tx.execute("SELECT duplicate_allowed FROM videos WHERE id = ?", (video_id,)).fetchone()
            if old is None:
                raise VideoNotFoundError(video_id)
            tx.execute(
                "UPDATE videos SET duplicate_allowed = ?, updated_at = ?, rev = ? WHERE id = ?",
                (int(bool(allowed)), to_iso(utcnow()), self.uploads._next_rev(tx), video_id),
            )
        if bool(old[0]) != bool(allowed):
            self.db.audit.record(
                "video.duplicate_allowed" if allowed else "video.duplicate_disallowed",
                f"Duplicates {'allowed' if allowed else 'no longer allowed'} for '{video_id}'"
                + (f": {reason}" if reason else ""),
                subject_type="video", subject_id=video_id, actor=actor,
                details={"allowed": bool(allowed), "reason": reason},
            )

    def changed_since(self, rev: int) -> dict[str, Any]:
        """Videos and uploads changed after ``rev``, and the rev to ask from next time."""
        with self.db.snapshot() as conn:
            current = conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0]
            videos = [_video_dict(r) for r in conn.execute("SELECT * FROM videos WHERE rev > ? ORDER BY rev", (rev,))]
            uploads = [UploadRecord.from_row(r) for r in conn.execute(
                "SELECT * FROM video_uploads WHERE rev > ? ORDER BY rev", (rev,))]
        return {"rev": current, "videos": videos, "uploads": uploads}
