"""100,000 ``can_upload`` checks.

The registry holds 20,000 videos on 8 channels, a fifth of them already uploaded somewhere
(published, failed, in progress). Every video points at one of a few real small files whose
size and mtime match the registry, so each check takes the product's real path: the rules
query, then the file check on disk (stat, regular file, readable) — the same path a manual
upload takes. Ours: ``VideoRegistry(db).can_upload(video_id, channel_id)``. Baseline: one
indexed SELECT per check (the upload row of the pair, through the UNIQUE (video, channel)
index) on a plain ``sqlite3`` connection to the same file.
"""

from __future__ import annotations

import os
import random
import sqlite3

from .common import Context, Result, fmt_rate, fmt_time, interleave
from .data import video_rows

NAME = "can_upload"
TITLE = "100,000 `can_upload` checks"

TWIN_EVERY = 50  # one video in 25 shares its content with another (registered with duplicate_allowed)
STATUSES = ("SUCCESS", "SUCCESS", "FAILED", "FAILED_FINAL", "IN_PROGRESS", "PENDING", "RATE_LIMITED")


def run(ctx: Context) -> list[Result]:
    from database import Database, VideoRegistry, to_iso, utcnow
    from orchestration import ChannelService

    checks = ctx.size(100_000, 2_000)
    n_videos = ctx.size(20_000, 500)
    with ctx.workdir(NAME) as tmp:
        files = []
        for i in range(8):
            p = tmp / "media" / f"file_{i}.mp4"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(os.urandom(4096 + i))
            st = p.stat()
            files.append((str(p), st.st_size, st.st_mtime_ns))
        db = Database.open(tmp / "data" / "database" / "videos.db")
        try:
            reg = VideoRegistry(db)
            rows = video_rows(n_videos, files=files)
            for i in range(TWIN_EVERY, n_videos, TWIN_EVERY):  # re-uploads of the same file, allowed
                rows[i].update(checksum=rows[i - 1]["checksum"], duplicate_allowed=True)
            ids = reg.register_videos(rows)
            twins = db.query_one("SELECT COUNT(*) FROM videos WHERE content_twin = 1")[0]
            svc = ChannelService(db)
            channels = ["YouTube", "TikTok", "Instagram"] + [
                svc.create_channel(f"Bench {i}", ("YouTube", "TikTok", "Instagram")[i % 3], account=f"acct{i}").id
                for i in range(5)]
            rng = random.Random(3)
            now = to_iso(utcnow())
            with db.transaction() as tx:
                tx.executemany(
                    "INSERT OR IGNORE INTO video_uploads (video_id, channel_id, platform, upload_status, retry_count,"
                    " upload_timestamp, updated_at, rev)"
                    " SELECT ?, id, platform, ?, 1, ?, ?, 1 FROM channels WHERE id = ?",
                    [(rng.choice(ids), rng.choice(STATUSES), now, now, rng.choice(channels))
                     for _ in range(n_videos // 5)])
            pairs = [(rng.choice(ids), rng.choice(channels)) for _ in range(checks)]

            def ours() -> int:
                ok = 0
                can = reg.can_upload
                for vid, cid in pairs:
                    ok += can(vid, cid)[0]
                return ok

            raw = sqlite3.connect(str(db.path))

            def base() -> int:
                ok = 0
                ex = raw.execute
                for vid, cid in pairs:
                    row = ex("SELECT upload_status FROM video_uploads WHERE video_id = ? AND channel_id = ?",
                             (vid, cid)).fetchone()
                    ok += row is None or row[0] not in ("SUCCESS", "IN_PROGRESS")
                return ok

            allowed = ours()  # warm both (page cache, statement caches) and check the path taken
            base()
            t_ours, t_base = interleave(ours, base, 1 if ctx.smoke else 3)
            raw.close()
        finally:
            db.close()
    ratio = t_base / t_ours
    return [Result(
        TITLE, f"{fmt_rate(checks, t_ours, ' checks/s')} ({fmt_time(t_ours / checks)} each)",
        f"{fmt_rate(checks, t_base, ' checks/s')} ({fmt_time(t_base / checks)} each)",
        f"{ratio:.2f}", "≥ 0.25 of its rate", ratio >= 0.25,
        f"{checks:,} checks over {n_videos:,} videos × {len(channels)} channels ({allowed:,} allowed; {twins:,} "
        "videos share their content with another, so their checks also look for it on the channel); real files "
        "with matching size and mtime, so every check runs the rules query and the on-disk file check",
    )]
