"""Register 100,000 already-probed videos in bulk.

Ours: ``VideoRegistry(db).register_videos(rows)`` (validation, duplicate and id checks, one
transaction, the audit record). Baseline: a raw ``sqlite3`` ``executemany`` of the same rows
into the same schema (same file settings: WAL, synchronous=NORMAL, the same indexes and
triggers), one transaction. Each repeat starts from a fresh registry.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .common import Context, Result, fmt_rate, fmt_time, interleave
from .data import video_rows

NAME = "register"
TITLE = "register 100,000 videos (metadata, bulk)"

_COLS = ("id, file_path, title, created_at, duration, checksum, duplicate_allowed, width, height, fps, codec,"
         " size_bytes, source_views, watermarked, tags, status, updated_at, rev")
_SQL = f"INSERT INTO videos ({_COLS}) VALUES ({', '.join('?' * 18)})"


def _baseline(path: Path, rows: list[dict]) -> None:
    import json

    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("BEGIN IMMEDIATE")
        now = "2026-05-01T00:00:00.000000+00:00"
        conn.executemany(_SQL, (
            (Path(r["file_path"]).stem, r["file_path"], r["title"], r["created_at"], r["duration"], r["checksum"], 0,
             r["width"], r["height"], r["fps"], r["codec"], r["size_bytes"], r["source_views"], int(r["watermarked"]),
             json.dumps(r["tags"]), "ready", now, 1)
            for r in rows))
        conn.execute("COMMIT")
    finally:
        conn.close()


def run(ctx: Context) -> list[Result]:
    from database import Database, VideoRegistry

    n = ctx.size(100_000, 2_000)
    rows = video_rows(n)
    with ctx.workdir(NAME) as tmp:
        counter = [0]

        def fresh() -> Path:
            counter[0] += 1
            path = tmp / f"r{counter[0]}" / "videos.db"
            Database.open(path).close()  # the schema, made untimed
            return path

        def ours(path: Path) -> None:
            db = Database.open(path)
            try:
                ids = VideoRegistry(db).register_videos(rows)
                assert len(ids) == n
            finally:
                db.close()

        def base(path: Path) -> None:
            _baseline(path, rows)

        t_ours, t_base = interleave(ours, base, 1 if ctx.smoke else 3, setup_ours=fresh, setup_base=fresh)
    ratio = t_base / t_ours
    return [Result(
        TITLE, f"{fmt_rate(n, t_ours, ' rows/s')} ({fmt_time(t_ours)})",
        f"{fmt_rate(n, t_base, ' rows/s')} ({fmt_time(t_base)})",
        f"{ratio:.2f}", "≥ 0.5 of its throughput", ratio >= 0.5,
        f"{n:,} rows; best of {1 if ctx.smoke else 3}, interleaved; both include opening the registry",
    )]
