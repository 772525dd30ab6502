"""The registry schema, as numbered migrations on ``PRAGMA user_version``.

Each migration runs inside its own ``BEGIN IMMEDIATE`` transaction (see
``Database._migrate``), so a failed step leaves the file at the previous version. Never
edit a released migration; add the next one.

Migration 1 creates the whole data model of DESIGN.md. It also adopts a registry left by
the original ASFS pipeline (seed 003's ``videos`` / ``video_uploads`` tables keyed by
platform name): the rows are kept, and each platform's uploads move to that platform's
default channel, whose id *is* the platform name.
"""

from __future__ import annotations

import sqlite3

PLATFORMS = ("YouTube", "TikTok", "Instagram")

UPLOAD_STATUSES = (
    "PENDING",
    "IN_PROGRESS",
    "SUCCESS",
    "FAILED",
    "FAILED_FINAL",
    "BLOCKED",
    "RATE_LIMITED",
    "UNKNOWN",
    "LOGIN_REQUIRED",
)

_status_list = ", ".join(f"'{s}'" for s in UPLOAD_STATUSES)
_platform_list = ", ".join(f"'{p}'" for p in PLATFORMS)

VIDEOS = """
CREATE TABLE videos (
    id                TEXT PRIMARY KEY,
    file_path         TEXT NOT NULL,
    title             TEXT,
    created_at        TEXT NOT NULL,
    duration          REAL,
    checksum          TEXT,
    duplicate_allowed INTEGER NOT NULL DEFAULT 0 CHECK (duplicate_allowed IN (0, 1)),
    width             INTEGER,
    height            INTEGER,
    fps               REAL,
    codec             TEXT,
    size_bytes        INTEGER,
    file_mtime_ns     INTEGER,
    source_url        TEXT,
    source_views      INTEGER,
    watermarked       INTEGER NOT NULL DEFAULT 0 CHECK (watermarked IN (0, 1)),
    tags              TEXT NOT NULL DEFAULT '[]',
    description       TEXT,
    thumbnail_path    TEXT,
    status            TEXT NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'missing', 'invalid')),
    updated_at        TEXT NOT NULL,
    rev               INTEGER NOT NULL DEFAULT 0
)
"""

CHANNELS = f"""
CREATE TABLE channels (
    id                     TEXT PRIMARY KEY,
    name                   TEXT NOT NULL UNIQUE COLLATE NOCASE,
    platform               TEXT NOT NULL CHECK (platform IN ({_platform_list})),
    account                TEXT,
    status                 TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'inactive')),
    status_reason          TEXT,
    is_default             INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    content_filters        TEXT NOT NULL DEFAULT '{{}}',
    posting_schedule       TEXT NOT NULL DEFAULT '{{}}',
    timezone               TEXT NOT NULL DEFAULT 'UTC',
    daily_cap              INTEGER CHECK (daily_cap IS NULL OR daily_cap >= 0),
    min_spacing_seconds    INTEGER NOT NULL DEFAULT 0 CHECK (min_spacing_seconds >= 0),
    priority               INTEGER NOT NULL DEFAULT 0,
    metadata_template      TEXT NOT NULL DEFAULT '{{}}',
    transformation_profile TEXT,
    github_repo_url        TEXT,
    base_url               TEXT,
    login_state            TEXT NOT NULL DEFAULT 'unknown' CHECK (login_state IN ('unknown', 'ok', 'required')),
    rate_limited_until     TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
)
"""

VIDEO_UPLOADS = f"""
CREATE TABLE video_uploads (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id           TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    channel_id         TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    platform           TEXT NOT NULL,
    upload_status      TEXT NOT NULL CHECK (upload_status IN ({_status_list})),
    upload_timestamp   TEXT,
    platform_post_id   TEXT,
    post_url           TEXT,
    error_message      TEXT,
    error_kind         TEXT CHECK (error_kind IS NULL OR error_kind IN
                           ('transient', 'rate_limited', 'login_required', 'permanent', 'duplicate', 'unknown')),
    retry_count        INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    next_attempt_at    TEXT,
    attempt_started_at TEXT,
    claimed_by         TEXT,
    manual             INTEGER NOT NULL DEFAULT 0,
    failure_artifacts  TEXT,
    updated_at         TEXT NOT NULL,
    rev                INTEGER NOT NULL DEFAULT 0,
    UNIQUE (video_id, channel_id)
)
"""

DISTRIBUTIONS = """
CREATE TABLE distributions (
    id            TEXT PRIMARY KEY,
    video_id      TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    channel_id    TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    method        TEXT NOT NULL CHECK (method IN ('auto_filter', 'auto_schedule', 'manual')),
    reason        TEXT NOT NULL DEFAULT '{}',
    status        TEXT NOT NULL DEFAULT 'assigned'
                  CHECK (status IN ('assigned', 'scheduled', 'published', 'failed', 'cancelled')),
    retry_count   INTEGER NOT NULL DEFAULT 0,
    max_retries   INTEGER NOT NULL DEFAULT 3,
    error_message TEXT,
    forced        INTEGER NOT NULL DEFAULT 0 CHECK (forced IN (0, 1)),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
)
"""

SCHEDULES = """
CREATE TABLE schedules (
    id                    TEXT PRIMARY KEY,
    video_id              TEXT REFERENCES videos(id) ON DELETE CASCADE,
    channel_id            TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    scheduled_at          TEXT NOT NULL,
    schedule_type         TEXT NOT NULL CHECK (schedule_type IN ('simultaneous', 'staggered', 'independent')),
    coordination_group_id TEXT,
    wave_id               TEXT,
    status                TEXT NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'scheduled', 'paused', 'executing', 'completed',
                                            'failed', 'cancelled', 'missed')),
    attempts              INTEGER NOT NULL DEFAULT 0,
    next_attempt_at       TEXT,
    error_message         TEXT,
    distribution_id       TEXT REFERENCES distributions(id) ON DELETE SET NULL,
    claimed_by            TEXT,
    executed_at           TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
)
"""

META = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value
)
"""

INDEXES = (
    # duplicate rules look up the same content and the same source under other ids
    "CREATE INDEX idx_videos_checksum ON videos(checksum)",
    "CREATE INDEX idx_videos_source_url ON videos(source_url) WHERE source_url IS NOT NULL",
    "CREATE INDEX idx_videos_rev ON videos(rev)",
    "CREATE INDEX idx_videos_created ON videos(created_at)",
    "CREATE UNIQUE INDEX idx_channels_default ON channels(platform) WHERE is_default = 1",
    "CREATE INDEX idx_channels_status ON channels(status)",
    "CREATE INDEX idx_uploads_channel_status ON video_uploads(channel_id, upload_status)",
    "CREATE INDEX idx_uploads_status_next ON video_uploads(upload_status, next_attempt_at)",
    "CREATE INDEX idx_uploads_rev ON video_uploads(rev)",
    "CREATE INDEX idx_dist_video_channel ON distributions(video_id, channel_id)",
    "CREATE INDEX idx_dist_channel_status ON distributions(channel_id, status)",
    "CREATE INDEX idx_dist_status ON distributions(status)",
    "CREATE INDEX idx_dist_created ON distributions(created_at)",
    "CREATE INDEX idx_sched_status_time ON schedules(status, scheduled_at)",
    "CREATE INDEX idx_sched_channel_time ON schedules(channel_id, scheduled_at)",
    "CREATE INDEX idx_sched_video_channel ON schedules(video_id, channel_id)",
    "CREATE INDEX idx_sched_wave ON schedules(wave_id) WHERE wave_id IS NOT NULL",
    "CREATE INDEX idx_sched_group ON schedules(coordination_group_id) WHERE coordination_group_id IS NOT NULL",
)


# Any write that did not stamp a new rev itself gets one here, so the window's
# "what changed since rev N" query is exact even for writers that forget.
def _rev_triggers(table: str) -> tuple[str, str]:
    """The rev triggers of ``table``: on update, and on insert without a rev."""
    body = f"""
    BEGIN
        UPDATE meta SET value = value + 1 WHERE key = 'rev';
        UPDATE {table} SET rev = (SELECT value FROM meta WHERE key = 'rev') WHERE id = NEW.id;
    END
    """
    return (f"CREATE TRIGGER {table}_rev AFTER UPDATE ON {table} WHEN NEW.rev IS OLD.rev" + body,
            f"CREATE TRIGGER {table}_rev_insert AFTER INSERT ON {table} WHEN NEW.rev = 0" + body)


REV_TRIGGERS = (*_rev_triggers("videos"), *_rev_triggers("video_uploads"))


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _table_exists(conn: sqlite3.Connection, table: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        is not None
    )


def _create_default_channels(conn: sqlite3.Connection, now: str) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO channels (id, name, platform, is_default, created_at, updated_at)"
        " VALUES (?, ?, ?, 1, ?, ?)",
        [(p, p, p, now, now) for p in PLATFORMS],
    )


def migration_1_initial(conn: sqlite3.Connection) -> None:
    """The whole data model; adopts seed 003's tables when it finds them."""
    from .connection import to_iso, utcnow

    now = to_iso(utcnow())
    legacy_videos = _table_exists(conn, "videos")
    legacy_uploads = _table_exists(conn, "video_uploads")
    if legacy_videos:
        conn.execute("ALTER TABLE videos RENAME TO legacy_videos")
    if legacy_uploads:
        conn.execute("ALTER TABLE video_uploads RENAME TO legacy_video_uploads")

    for ddl in (META, VIDEOS, CHANNELS, VIDEO_UPLOADS, DISTRIBUTIONS, SCHEDULES):
        conn.execute(ddl)
    conn.execute("INSERT INTO meta (key, value) VALUES ('rev', 0)")
    _create_default_channels(conn, now)

    if legacy_videos:
        cols = _columns(conn, "legacy_videos")

        def col(name: str, default: str = "NULL") -> str:
            return name if name in cols else default

        conn.execute(
            f"""
            INSERT INTO videos (id, file_path, title, created_at, duration, checksum,
                                duplicate_allowed, updated_at, rev)
            SELECT id, {col('file_path', "''")}, {col('title')},
                   COALESCE({col('created_at')}, :now), {col('duration')}, {col('checksum')},
                   COALESCE({col('duplicate_allowed', '0')}, 0) != 0, :now, 1
            FROM legacy_videos
            """,
            {"now": now},
        )
    if legacy_uploads:
        cols = _columns(conn, "legacy_video_uploads")

        def ucol(name: str, default: str = "NULL") -> str:
            return name if name in cols else default

        # Statuses outside the seed set are kept visible as UNKNOWN rather than dropped.
        conn.execute(
            f"""
            INSERT INTO video_uploads (video_id, channel_id, platform, upload_status,
                                       upload_timestamp, platform_post_id, error_message,
                                       retry_count, updated_at, rev)
            SELECT u.video_id, c.id, c.platform,
                   CASE WHEN UPPER(u.upload_status) IN ({_status_list})
                        THEN UPPER(u.upload_status) ELSE 'UNKNOWN' END,
                   {ucol('upload_timestamp')}, {ucol('platform_post_id')}, {ucol('error_message')},
                   COALESCE({ucol('retry_count', '0')}, 0), :now, 1
            FROM legacy_video_uploads u
            JOIN channels c ON c.is_default = 1 AND LOWER(c.platform) = LOWER(u.platform)
            WHERE u.video_id IN (SELECT id FROM videos)
            """,
            {"now": now},
        )
        dropped = conn.execute(
            """
            SELECT COUNT(*) FROM legacy_video_uploads u
            WHERE NOT EXISTS (SELECT 1 FROM channels c
                              WHERE c.is_default = 1 AND LOWER(c.platform) = LOWER(u.platform))
               OR u.video_id NOT IN (SELECT id FROM videos)
            """
        ).fetchone()[0]
        if dropped:
            bad = sorted({r[0] for r in conn.execute(
                "SELECT DISTINCT platform FROM legacy_video_uploads WHERE LOWER(platform) NOT IN ("
                + ", ".join(f"'{p.lower()}'" for p in PLATFORMS) + ")")})
            # Refuse rather than lose rows silently; the transaction rolls back.
            raise sqlite3.IntegrityError(
                f"{dropped} legacy upload rows name an unknown platform ({', '.join(map(str, bad)) or 'none'}) "
                "or an unknown video; fix or remove them and open the registry again."
            )
        # The old uploads table references the old videos table: drop it first.
        conn.execute("DROP TABLE legacy_video_uploads")
    if legacy_videos:
        conn.execute("DROP TABLE legacy_videos")
    if legacy_videos or legacy_uploads:
        conn.execute("UPDATE meta SET value = 1 WHERE key = 'rev'")

    for ddl in INDEXES + REV_TRIGGERS:
        conn.execute(ddl)


def migration_2_schedule_distribution_index(conn: sqlite3.Connection) -> None:
    """Distribution bookkeeping looks up the schedule that carries each distribution."""
    conn.execute("CREATE INDEX IF NOT EXISTS idx_sched_distribution ON schedules(distribution_id)")


# ``content_twin`` is 1 on every video whose checksum another video also has (registered with
# duplicate_allowed). The upload rules look for the same content on the channel only on those rows,
# which saves an index search on each check of the rest (issue 10). A stale 1 only costs that
# search; a stale 0 would let a duplicate through, so the triggers set it on any write that can
# make a twin, and clear it only when a checksum is left alone again.
TWIN_TRIGGERS = (
    """
    CREATE TRIGGER videos_twin_insert AFTER INSERT ON videos
    WHEN NEW.checksum IS NOT NULL
     AND EXISTS (SELECT 1 FROM videos WHERE checksum = NEW.checksum AND rowid != NEW.rowid)
    BEGIN
        UPDATE videos SET content_twin = 1 WHERE checksum = NEW.checksum AND content_twin = 0;
    END
    """,
    """
    CREATE TRIGGER videos_twin_checksum AFTER UPDATE OF checksum ON videos
    WHEN NEW.checksum IS NOT OLD.checksum
    BEGIN
        UPDATE videos SET content_twin = 0
         WHERE checksum = OLD.checksum AND content_twin = 1
           AND (SELECT COUNT(*) FROM videos WHERE checksum = OLD.checksum) = 1;
        UPDATE videos SET content_twin = (SELECT COUNT(*) > 1 FROM videos WHERE checksum = NEW.checksum)
         WHERE rowid = NEW.rowid OR checksum = NEW.checksum;
    END
    """,
    """
    CREATE TRIGGER videos_twin_delete AFTER DELETE ON videos WHEN OLD.content_twin = 1
    BEGIN
        UPDATE videos SET content_twin = 0
         WHERE checksum = OLD.checksum AND (SELECT COUNT(*) FROM videos WHERE checksum = OLD.checksum) = 1;
    END
    """,
)


def migration_3_content_twin(conn: sqlite3.Connection) -> None:
    """A per-video flag: does another video have the same checksum (see TWIN_TRIGGERS)."""
    conn.execute(
        "ALTER TABLE videos ADD COLUMN content_twin INTEGER NOT NULL DEFAULT 0 CHECK (content_twin IN (0, 1))")
    conn.execute(
        "UPDATE videos SET content_twin = 1 WHERE checksum IN"
        " (SELECT checksum FROM videos WHERE checksum IS NOT NULL GROUP BY checksum HAVING COUNT(*) > 1)")
    for ddl in TWIN_TRIGGERS:
        conn.execute(ddl)


def migration_4_distribution_schedule_rev(conn: sqlite3.Connection) -> None:
    """Distributions and schedules get the registry's change counter (``rev``), as videos and uploads
    have: the window asks for "what changed since rev N" through an index. Their ``updated_at``
    could not say it: a run stamps all its assignments with one time over several commits, so
    ">= the newest time seen" read the whole run again on every refresh, and "the newest time"
    itself was a scan of the table.

    Distributions get only the update trigger. Any insert trigger, even one whose WHEN is false,
    makes SQLite keep a statement journal for every INSERT, and a run by filters inserts tens of
    thousands of rows (10x the page writes, +0.8 s); the two places that insert distributions
    stamp the rev themselves (``orchestration/distribution.py``)."""
    for table, index in (("distributions", "idx_dist_rev"), ("schedules", "idx_sched_rev")):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN rev INTEGER NOT NULL DEFAULT 0")
        conn.execute(f"CREATE INDEX {index} ON {table}(rev)")
    on_update, _on_insert = _rev_triggers("distributions")
    for ddl in (on_update, *_rev_triggers("schedules")):
        conn.execute(ddl)


REGISTRY_MIGRATIONS = [migration_1_initial, migration_2_schedule_distribution_index, migration_3_content_twin,
                       migration_4_distribution_schedule_rev]
