"""The audit trail: ``audit/events.db`` and the JSON-lines upload log ``logs/uploads.log``.

``upload_events`` holds every upload state change (seed 003); ``events`` holds every other
decision or state change the system makes (a distribution and why, a forced override and who
forced it, a channel paused, a schedule missed). Both tables are append-only: triggers refuse
UPDATE and DELETE, so the history cannot be rewritten by a bug.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from database.connection import Database, to_iso, utcnow
from database.paths import DataPaths

log = logging.getLogger(__name__)

UPLOAD_EVENTS = """
CREATE TABLE upload_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp     TEXT NOT NULL,
    video_id      TEXT NOT NULL,
    platform      TEXT NOT NULL,
    channel_id    TEXT,
    status        TEXT NOT NULL,
    upload_id     TEXT,
    retry_count   INTEGER NOT NULL DEFAULT 0,
    error_message TEXT,
    error_kind    TEXT,
    metadata      TEXT NOT NULL DEFAULT '{}',
    pid           INTEGER
)
"""

EVENTS = """
CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    subject_type TEXT,
    subject_id   TEXT,
    actor        TEXT NOT NULL DEFAULT 'system',
    message      TEXT NOT NULL DEFAULT '',
    details      TEXT NOT NULL DEFAULT '{}',
    pid          INTEGER
)
"""


def _audit_v1(conn: sqlite3.Connection) -> None:
    conn.execute(UPLOAD_EVENTS)
    conn.execute(EVENTS)
    for stmt in (
        "CREATE INDEX idx_upload_events_video ON upload_events(video_id, id)",
        "CREATE INDEX idx_upload_events_channel ON upload_events(channel_id, id)",
        "CREATE INDEX idx_events_kind ON events(kind, id)",
        "CREATE INDEX idx_events_subject ON events(subject_type, subject_id, id)",
        "CREATE INDEX idx_events_time ON events(timestamp)",
    ):
        conn.execute(stmt)
    for table in ("upload_events", "events"):
        for op in ("UPDATE", "DELETE"):
            conn.execute(
                f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


AUDIT_MIGRATIONS = [_audit_v1]

# json.dumps(x, default=str) builds a new encoder each call; one shared encoder writes the same text.
_encode = json.JSONEncoder(default=str).encode

_log_writers: dict[Path, "_JsonLines"] = {}
_log_lock = threading.Lock()


class _JsonLines:
    """``logs/uploads.log``: one JSON object per line, rotated by size like logging's
    ``RotatingFileHandler`` (``uploads.log.1`` ... ``.N``), without its cost per line (a log
    record, a formatter, two ``stat`` calls and a flush): each line is one ``write`` to a file
    opened for appending, so lines from several threads or processes never interleave.

    One writer per file in a process (``AuditLog`` objects on the same data folder share it)."""

    def __init__(self, path: Path, max_bytes: int, backups: int):
        self.path, self.max_bytes, self.backups = path, max_bytes, backups
        self._lock = threading.Lock()
        self._file = None

    def write(self, text: str) -> None:
        data = (text + "\n").encode("utf-8")
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(self.path, "ab", buffering=0)
            if self.max_bytes > 0 and self.backups > 0:
                size = os.fstat(self._file.fileno()).st_size
                if size and size + len(data) > self.max_bytes:
                    self._rotate()
            self._file.write(data)

    def _rotate(self) -> None:
        self._file.close()
        self._file = None
        for i in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{i}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{i + 1}"))
        if self.path.exists():
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._file = open(self.path, "ab", buffering=0)


def _seed_timestamp(dt: datetime) -> str:
    # Seed 003's log format: naive UTC ISO-8601 with microseconds ("2026-02-11T08:00:00.000000").
    return dt.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


class AuditLog:
    """Append-only record of what happened and why.

    Args:
        paths: the data directory layout (or its root folder).
        max_log_bytes: size at which ``logs/uploads.log`` is rotated.
        log_backups: how many rotated logs to keep.
    """

    def __init__(self, paths: DataPaths | str | os.PathLike, *, max_log_bytes: int = 10 * 1024 * 1024,
                 log_backups: int = 5):
        self.paths = paths if isinstance(paths, DataPaths) else DataPaths(Path(paths))
        self.db = Database(self.paths.audit, AUDIT_MIGRATIONS, name="audit database")
        self.log_path = self.paths.upload_log
        self._json_log = self._writer(max_log_bytes, log_backups)

    def _writer(self, max_bytes: int, backups: int) -> _JsonLines:
        path = self.log_path.resolve()
        with _log_lock:
            writer = _log_writers.get(path)
            if writer is None:
                writer = _log_writers[path] = _JsonLines(path, max_bytes, backups)
        return writer

    # -- writing ----------------------------------------------------------------------------

    def record_upload(
        self,
        *,
        video_id: str,
        platform: str,
        status: str,
        channel_id: str | None = None,
        upload_id: str | None = None,
        retry_count: int = 0,
        error_message: str | None = None,
        error_kind: str | None = None,
        metadata: dict[str, Any] | None = None,
        timestamp: datetime | None = None,
    ) -> int:
        """Record one upload state change in ``upload_events`` and as a JSON line."""
        when = timestamp or utcnow()
        meta = dict(metadata or {})
        with self.db.transaction() as tx:
            cur = tx.execute(
                "INSERT INTO upload_events (timestamp, video_id, platform, channel_id, status, upload_id,"
                " retry_count, error_message, error_kind, metadata, pid) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (to_iso(when), video_id, platform, channel_id, status, upload_id, retry_count,
                 error_message, error_kind, json.dumps(meta, default=str), os.getpid()),
            )
            event_id = cur.lastrowid
        if channel_id and channel_id != platform:
            meta.setdefault("channel_id", channel_id)
        line = {
            "timestamp": _seed_timestamp(when),
            "video_id": video_id,
            "platform": platform,
            "status": status,
            "upload_id": upload_id,
            "retry_count": retry_count,
            "error_message": error_message,
            "metadata": meta,
        }
        try:
            self._json_log.write(json.dumps(line, ensure_ascii=False, default=str))
        except Exception:  # the database row above is the record; the log line is a copy
            log.exception("could not write %s", self.log_path)
        return event_id

    def record_many(self, events, *, actor: str = "system", timestamp: datetime | None = None) -> None:
        """Record many events in one transaction (a distribution run makes thousands).

        Args:
            events: ``(kind, message, subject_type, subject_id, details)`` tuples; ``details`` is a
                dict, or its JSON text when the caller already has it.
        """
        stamp, pid = to_iso(timestamp or utcnow()), os.getpid()
        with self.db.transaction() as tx:
            tx.executemany(
                "INSERT INTO events (timestamp, kind, subject_type, subject_id, actor, message, details, pid)"
                " VALUES (?,?,?,?,?,?,?,?)",
                [(stamp, kind, subject_type, subject_id, actor, message,
                  details if isinstance(details, str) else _encode(details or {}), pid)
                 for kind, message, subject_type, subject_id, details in events])

    def record(
        self,
        kind: str,
        message: str = "",
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        actor: str = "system",
        details: dict[str, Any] | None = None,
        timestamp: datetime | None = None,
    ) -> int:
        """Record a decision or state change (``kind`` like ``video.registered``)."""
        with self.db.transaction() as tx:
            cur = tx.execute(
                "INSERT INTO events (timestamp, kind, subject_type, subject_id, actor, message, details, pid)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (to_iso(timestamp or utcnow()), kind, subject_type, subject_id, actor, message,
                 _encode(details or {}), os.getpid()),
            )
            return cur.lastrowid

    # -- reading ----------------------------------------------------------------------------

    def upload_events(self, video_id: str | None = None, channel_id: str | None = None,
                      limit: int | None = None) -> list[dict[str, Any]]:
        where, params = [], []
        if video_id is not None:
            where.append("video_id = ?")
            params.append(video_id)
        if channel_id is not None:
            where.append("channel_id = ?")
            params.append(channel_id)
        sql = "SELECT * FROM upload_events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [self._row(r) for r in self.db.query(sql, params)]

    def events(self, kind: str | None = None, *, subject_type: str | None = None,
               subject_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        where, params = [], []
        if kind is not None:
            # "video.*" selects a family of kinds
            if kind.endswith("*"):
                where.append("kind LIKE ?")
                params.append(kind[:-1] + "%")
            else:
                where.append("kind = ?")
                params.append(kind)
        if subject_type is not None:
            where.append("subject_type = ?")
            params.append(subject_type)
        if subject_id is not None:
            where.append("subject_id = ?")
            params.append(subject_id)
        sql = "SELECT * FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [self._row(r, "details") for r in self.db.query(sql, params)]

    @staticmethod
    def _row(row: sqlite3.Row, json_field: str = "metadata") -> dict[str, Any]:
        d = dict(row)
        d[json_field] = json.loads(d[json_field] or "{}")
        return d

    def close(self) -> None:
        self.db.close()


__all__ = ["AuditLog", "AUDIT_MIGRATIONS"]
