"""Distribution by content filters: 20,000 ready videos × 100 channels.

The channels are niches the way operators set them up (one to three topic tags each, plus
format rules: orientation, duration, resolution, views, watermarks, an excluded tag); the
videos carry one to three topics. The platforms' default channels are set inactive (an
operator with a hundred channels of their own). Each repeat runs on a fresh copy of the
registry with nothing assigned yet, so every match becomes an assignment.

Ours: ``VideoDistributionService(db).auto_distribute_by_filters()`` — the matching, the
scores and reasons, the duplicate rules, the writes (distributions and their audit events).
Baseline: the same matching as one SQL query (the channels' filters read with
``json_extract``; tags through ``json_each``), returning the matching (video, channel) pairs.
The run checks that both find exactly the same pairs.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from .common import Context, Result, fmt_time, interleave
from .data import channel_filters, video_rows

NAME = "distribute"
TITLE = "`auto_distribute_by_filters`: 20,000 videos × 100 channels"

MATCH_SQL = """
WITH f AS MATERIALIZED (
    SELECT c.id,
           CASE json_extract(c.content_filters, '$.min_resolution')
                WHEN '480p' THEN 480 WHEN '720p' THEN 720 WHEN '1080p' THEN 1080
                WHEN '1440p' THEN 1440 WHEN '2160p' THEN 2160 END AS min_res,
           json_extract(c.content_filters, '$.min_views') AS min_views,
           json_extract(c.content_filters, '$.max_duration') AS max_dur,
           json_extract(c.content_filters, '$.min_duration') AS min_dur,
           COALESCE(json_extract(c.content_filters, '$.exclude_watermarked'), 0) AS no_wm,
           json_extract(c.content_filters, '$.include_tags') AS inc,
           json_extract(c.content_filters, '$.exclude_tags') AS exc,
           COALESCE(json_extract(c.content_filters, '$.orientation'), 'any') AS orient
    FROM channels c
    WHERE c.status = 'active' AND c.login_state != 'required'
)
SELECT v.id, f.id
FROM videos v JOIN f
WHERE v.status = 'ready'
  AND (f.min_res IS NULL OR (v.width > 0 AND v.height > 0 AND MIN(v.width, v.height) >= f.min_res))
  AND (f.min_views IS NULL OR v.source_views >= f.min_views)
  AND (f.max_dur IS NULL OR v.duration <= f.max_dur)
  AND (f.min_dur IS NULL OR v.duration >= f.min_dur)
  AND (f.no_wm = 0 OR v.watermarked = 0)
  AND (f.orient = 'any' OR (f.orient = 'vertical' AND v.height > v.width)
       OR (f.orient = 'horizontal' AND v.width > v.height))
  AND (f.inc IS NULL OR json_array_length(f.inc) = 0 OR EXISTS (
        SELECT 1 FROM json_each(v.tags) t JOIN json_each(f.inc) i ON lower(t.value) = i.value))
  AND (f.exc IS NULL OR NOT EXISTS (
        SELECT 1 FROM json_each(v.tags) t JOIN json_each(f.exc) i ON lower(t.value) = i.value))
"""


def build(root: Path, n_videos: int, n_channels: int) -> Path:
    """A data directory with the videos and channels; returns it (the registry closed)."""
    from database import Database, VideoRegistry
    from database.paths import DataPaths
    from orchestration import ChannelService

    paths = DataPaths(root)
    db = Database.open(paths.registry)
    try:
        VideoRegistry(db).register_videos(video_rows(n_videos))
        svc = ChannelService(db)
        for p in ("YouTube", "TikTok", "Instagram"):
            svc.update_channel(p, status="inactive", actor="bench")
        for i, filters in enumerate(channel_filters(n_channels)):
            svc.create_channel(f"Niche {i:03d}", ("YouTube", "TikTok", "Instagram")[i % 3], content_filters=filters,
                               account=f"niche-{i}", priority=i % 5, actor="bench")
    finally:
        db.close()
    return root


def run(ctx: Context) -> list[Result]:
    from database import Database
    from database.paths import DataPaths
    from orchestration import VideoDistributionService
    from orchestration.bulk import wait_for_writers

    n_videos, n_channels = ctx.size(20_000, 300), ctx.size(100, 10)
    repeats = 1 if ctx.smoke else 3
    with ctx.workdir(NAME) as tmp:
        template = build(tmp / "template", n_videos, n_channels)
        copies = iter(range(1000))
        found: dict[str, set] = {}

        def fresh() -> Path:
            # a run's writer process copies the WALs back after the run returns: let it end
            # before the next timing, so it does not slow that one down
            wait_for_writers()
            for old in tmp.glob("copy*"):  # the last run's copy: its pages need not reach the disk
                shutil.rmtree(old, ignore_errors=True)
            dest = tmp / f"copy{next(copies)}"
            shutil.copytree(template, dest)
            return dest

        def ours(root: Path) -> None:
            db = Database.open(DataPaths(root).registry)
            try:
                made = VideoDistributionService(db).auto_distribute_by_filters()
                found["ours"] = {(d.video_id, d.channel_id) for d in made}
            finally:
                db.close()

        def base(root: Path) -> None:
            conn = sqlite3.connect(str(DataPaths(root).registry))
            try:
                found["base"] = set(conn.execute(MATCH_SQL).fetchall())
            finally:
                conn.close()

        t_ours, t_base = interleave(ours, base, repeats, setup_ours=fresh, setup_base=fresh)
        same = found["ours"] == found["base"]
        # the hourly job runs it again over the same registry: everything is assigned already
        again_root = fresh()
        ours(again_root)
        db = Database.open(DataPaths(again_root).registry)
        try:
            from .common import timed

            t_again, made = timed(lambda: VideoDistributionService(db).auto_distribute_by_filters())
            assert len(made) == 0
        finally:
            db.close()
    if not same:
        raise AssertionError(f"ours and the SQL baseline disagree: {len(found['ours'] - found['base'])} pairs only "
                             f"ours, {len(found['base'] - found['ours'])} only the baseline's")
    ratio = t_ours / t_base
    return [Result(
        TITLE, fmt_time(t_ours), fmt_time(t_base), f"{ratio:.2f}×", "≤ 3× its time, under 3 s",
        ratio <= 3 and t_ours < 3,
        f"{n_videos:,} videos × {n_channels} channels → {len(found['ours']):,} assignments (both find exactly the "
        f"same pairs); ours also writes each assignment with its reasons and audit event. Best of {repeats}, "
        f"interleaved, each on a fresh copy. Running it again over the assigned registry (the hourly job): "
        f"{fmt_time(t_again)}",
    )]
