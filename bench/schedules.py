"""Executing 10,000 due schedules with an instant uploader.

10,000 videos (pointing at real small files, so the publisher's file check passes) are each
scheduled on one of 10 channels, all due a minute ago. Every platform's uploader is a trivial
``PlatformUploader`` that publishes at once (registered with ``uploaders.register``), so the
figure is the cost of our bookkeeping: the claim, the upload rules, the upload's state
changes, the audit trail and the JSON-lines upload log, each committed before the next step.

Ours: ``SchedulingService(db).execute_pending_schedules()``. Baseline: the bare claim/record
SQL on a plain ``sqlite3`` connection — per schedule, a conditional UPDATE claiming it (its own
``BEGIN IMMEDIATE`` transaction), the uploader call, then one transaction recording the
upload's SUCCESS row and the schedule's completion. Each repeat runs on a fresh copy.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path

from .common import Context, Result, fmt_rate, fmt_time, interleave
from .data import video_rows

NAME = "schedules"
TITLE = "`execute_pending_schedules`: 10,000 due, instant uploader"


def _instant_uploader_class():
    from uploaders import PlatformUploader, UploadResult

    class InstantUploader(PlatformUploader):
        """Publishes at once; the post id is new each time."""

        def upload(self, video_path, metadata):
            return UploadResult(True, platform_post_id=uuid.uuid4().hex[:11], post_url="https://example.invalid/p")

    return InstantUploader


def build(root: Path, n: int, n_channels: int) -> Path:
    from database import Database, VideoRegistry, to_iso, utcnow
    from database.paths import DataPaths
    from orchestration import ChannelService

    paths = DataPaths(root)
    files = []
    for i in range(8):
        p = root / "media" / f"file_{i}.mp4"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(2048 + i))
        st = p.stat()
        files.append((str(p), st.st_size, st.st_mtime_ns))
    db = Database.open(paths.registry)
    try:
        ids = VideoRegistry(db).register_videos(video_rows(n, files=files, prefix="sched"))
        svc = ChannelService(db)
        channels = [svc.create_channel(f"Sched {i}", ("YouTube", "TikTok", "Instagram")[i % 3],
                                       account=f"sched-{i}", actor="bench").id for i in range(n_channels)]
        now = utcnow()
        due = to_iso(now - timedelta(minutes=1))
        stamp = to_iso(now)
        with db.transaction() as tx:
            tx.executemany(
                "INSERT INTO schedules (id, video_id, channel_id, scheduled_at, schedule_type, status, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, 'independent', 'pending', ?, ?)",
                [(uuid.uuid4().hex, vid, channels[i % n_channels], due, stamp, stamp) for i, vid in enumerate(ids)])
    finally:
        db.close()
    return root


def _baseline(root: Path, upload) -> int:
    from database.paths import DataPaths

    conn = sqlite3.connect(str(DataPaths(root).registry), isolation_level=None)
    done = 0
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        due = conn.execute(
            "SELECT s.id, s.video_id, s.channel_id, c.platform, v.file_path FROM schedules s"
            " JOIN channels c ON c.id = s.channel_id JOIN videos v ON v.id = s.video_id"
            " WHERE s.status IN ('pending', 'scheduled') AND s.scheduled_at <= ? ORDER BY s.scheduled_at, s.id",
            ("9999",)).fetchall()
        for sid, vid, cid, platform, path in due:
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute("UPDATE schedules SET status = 'executing', claimed_by = 'bench', attempts = attempts + 1"
                               " WHERE id = ? AND status IN ('pending', 'scheduled')", (sid,))
            conn.execute("COMMIT")
            if cur.rowcount != 1:
                continue
            result = upload(path, {})
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO video_uploads (video_id, channel_id, platform, upload_status, platform_post_id,"
                " post_url, upload_timestamp, updated_at, rev) VALUES (?, ?, ?, 'SUCCESS', ?, ?, datetime(), datetime(),"
                " 1)", (vid, cid, platform, result.platform_post_id, result.post_url))
            conn.execute("UPDATE schedules SET status = 'completed', claimed_by = NULL, executed_at = datetime()"
                         " WHERE id = ?", (sid,))
            conn.execute("COMMIT")
            done += 1
    finally:
        conn.close()
    return done


def run(ctx: Context) -> list[Result]:
    import uploaders
    from database import Database
    from database.paths import DataPaths
    from orchestration import SchedulingService

    n, n_channels = ctx.size(10_000, 100), ctx.size(10, 3)
    repeats = 1 if ctx.smoke else 2
    instant = _instant_uploader_class()
    saved = uploaders.registered()
    for platform in ("YouTube", "TikTok", "Instagram"):
        uploaders.register(platform, lambda channel: instant())
    counts: dict[str, int] = {}
    try:
        with ctx.workdir(NAME) as tmp:
            template = build(tmp / "template", n, n_channels)
            copies = iter(range(1000))

            def fresh() -> Path:
                dest = tmp / f"copy{next(copies)}"
                shutil.copytree(template, dest)
                return dest

            def ours(root: Path) -> None:
                db = Database.open(DataPaths(root).registry)
                try:
                    results = SchedulingService(db).execute_pending_schedules()
                    counts["ours"] = sum(r["status"] == "completed" for r in results)
                finally:
                    db.close()

            def base(root: Path) -> None:
                counts["base"] = _baseline(root, instant().upload)

            t_ours, t_base = interleave(ours, base, repeats, setup_ours=fresh, setup_base=fresh)
    finally:
        for key in list(uploaders.registered()):
            uploaders.register(key, None)
        for key, factory in saved.items():
            uploaders.register(key, factory)
    if counts["ours"] != n or counts["base"] != n:
        raise AssertionError(f"expected {n} completed schedules, got ours {counts['ours']}, baseline {counts['base']}")
    rate = n / t_ours
    return [Result(
        TITLE, f"{fmt_rate(n, t_ours, ' schedules/s')} ({fmt_time(t_ours)})",
        f"{fmt_rate(n, t_base, ' schedules/s')} ({fmt_time(t_base)})",
        f"{t_base / t_ours:.2f}", "≥ 1,000 schedules/s", rate >= 1000,
        f"{n:,} schedules over {n_channels} channels, all completed; ours includes the upload rules, the file check, "
        f"every state change's audit event and the JSON-lines log; best of {repeats}, interleaved, fresh copies. "
        "The ratio is for information (the target is the rate)",
    )]
