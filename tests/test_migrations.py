"""Schema versions: fresh files, the seed-003 layout, newer files, broken files."""

from __future__ import annotations

import sqlite3

import pytest

from database import (
    Database,
    MigrationError,
    RegistryCorruptError,
    RegistryVersionError,
    VideoRegistry,
)
from database.schema import REGISTRY_MIGRATIONS

SEED_003_SCHEMA = """
CREATE TABLE videos (
    id TEXT PRIMARY KEY, file_path TEXT, title TEXT, created_at TEXT,
    duration REAL, checksum TEXT, duplicate_allowed INTEGER DEFAULT 0
);
CREATE TABLE video_uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    video_id TEXT REFERENCES videos(id), platform TEXT, upload_status TEXT,
    upload_timestamp TEXT, platform_post_id TEXT, error_message TEXT, retry_count INTEGER DEFAULT 0,
    UNIQUE(video_id, platform)
);
"""


def make_seed_registry(path, uploads=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(SEED_003_SCHEMA)
    conn.executemany(
        "INSERT INTO videos VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            ("clip_001", "/clips/clip_001.mp4", "First", "2026-02-11T08:00:00", 31.5, "a" * 64, 0),
            ("clip_002", "/clips/clip_002.mp4", "Second", "2026-02-11T09:00:00", 12.0, "b" * 64, 1),
        ],
    )
    conn.executemany(
        "INSERT INTO video_uploads (video_id, platform, upload_status, upload_timestamp, platform_post_id,"
        " error_message, retry_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
        uploads or [
            ("clip_001", "Instagram", "SUCCESS", "2026-02-11T08:05:00", "ABC123", None, 0),
            ("clip_001", "TikTok", "FAILED", "2026-02-11T08:06:00", None, "timeout", 2),
            ("clip_002", "YouTube", "FAILED_FINAL", "2026-02-11T09:10:00", None, "quota", 4),
        ],
    )
    conn.commit()
    conn.close()


def user_version(path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_fresh_registry_has_schema_wal_and_default_channels(tmp_path):
    path = tmp_path / "database" / "videos.db"
    with Database.open(path) as db:
        assert db.query_one("PRAGMA journal_mode")[0] == "wal"
        assert db.query_one("PRAGMA foreign_keys")[0] == 1
        assert db.query_one("PRAGMA synchronous")[0] == 1  # NORMAL
        assert db.query_one("PRAGMA temp_store")[0] == 2  # MEMORY: statement journals off the disk
        assert db.query_one("PRAGMA busy_timeout")[0] >= 5000
        tables = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"videos", "channels", "video_uploads", "distributions", "schedules"} <= tables
        channels = [tuple(r) for r in db.query("SELECT id, platform, is_default FROM channels ORDER BY id")]
        assert channels == [("Instagram", "Instagram", 1), ("TikTok", "TikTok", 1), ("YouTube", "YouTube", 1)]
    assert user_version(path) == len(REGISTRY_MIGRATIONS)
    assert not (path.parent / "backups").exists()  # nothing to back up in a new file


def test_seed_003_registry_is_migrated_with_data_intact(tmp_path):
    path = tmp_path / "database" / "videos.db"
    make_seed_registry(path)
    with Database.open(path) as db:
        reg = VideoRegistry(db)
        v1 = reg.get_video("clip_001")
        assert (v1["title"], v1["duration"], v1["checksum"], v1["created_at"]) == (
            "First", 31.5, "a" * 64, "2026-02-11T08:00:00")
        assert v1["uploads"]["Instagram"]["upload_status"] == "SUCCESS"
        assert v1["uploads"]["Instagram"]["platform_post_id"] == "ABC123"
        assert v1["uploads"]["TikTok"]["retry_count"] == 2
        assert reg.get_video("clip_002")["duplicate_allowed"] is True
        assert reg.get_upload_status("clip_002", "YouTube")["upload_status"] == "FAILED_FINAL"
        assert not {"legacy_videos", "legacy_video_uploads"} & {
            r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type='table'")}
    backups = list((path.parent / "backups").iterdir())
    assert len(backups) == 1 and f"before-migration-v0-to-v{len(REGISTRY_MIGRATIONS)}" in backups[0].name
    old = sqlite3.connect(backups[0])
    try:  # the backup is the untouched original
        assert old.execute("SELECT COUNT(*) FROM video_uploads").fetchone()[0] == 3
        assert old.execute("PRAGMA user_version").fetchone()[0] == 0
    finally:
        old.close()


def test_failed_migration_changes_nothing(tmp_path):
    path = tmp_path / "database" / "videos.db"
    make_seed_registry(path, uploads=[("clip_001", "MySpace", "SUCCESS", None, "1", None, 0)])
    with pytest.raises(MigrationError, match="MySpace|unknown platform"):
        Database.open(path)
    assert user_version(path) == 0
    conn = sqlite3.connect(path)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"videos", "video_uploads"} <= names and "channels" not in names
        assert conn.execute("SELECT COUNT(*) FROM videos").fetchone()[0] == 2
    finally:
        conn.close()


def test_newer_registry_is_refused_and_untouched(tmp_path):
    path = tmp_path / "database" / "videos.db"
    Database.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(RegistryVersionError) as info:
        Database.open(path)
    msg = str(info.value)
    assert "newer ASFS" in msg and "99" in msg and str(path) in msg
    assert path.read_bytes() == before


def test_not_a_database_is_refused(tmp_path):
    path = tmp_path / "videos.db"
    path.write_bytes(b"this is a text file, not SQLite" * 100)
    with pytest.raises(RegistryCorruptError, match="not a"):
        Database.open(path)


def test_a_later_migration_keeps_data_and_backs_up(tmp_path):
    path = tmp_path / "database" / "videos.db"
    with Database.open(path) as db:
        VideoRegistry(db).register_videos([{"file_path": "/x.mp4", "checksum": "c" * 64, "title": "keep me"}])

    def add_rating(conn):
        conn.execute("ALTER TABLE videos ADD COLUMN rating INTEGER NOT NULL DEFAULT 3")

    with Database(path, REGISTRY_MIGRATIONS + [add_rating]) as db:
        row = db.query_one("SELECT title, rating FROM videos WHERE id = 'x'")
        assert tuple(row) == ("keep me", 3)
    assert user_version(path) == len(REGISTRY_MIGRATIONS) + 1
    n = len(REGISTRY_MIGRATIONS)
    assert any(f"v{n}-to-v{n + 1}" in p.name for p in (path.parent / "backups").iterdir())
    # and the older code now refuses the file instead of misreading it
    with pytest.raises(RegistryVersionError):
        Database.open(path)


def test_connections_are_per_thread_and_closed(tmp_path):
    import threading

    db = Database.open(tmp_path / "videos.db")
    seen = []
    t = threading.Thread(target=lambda: seen.append(db.conn))
    t.start()
    t.join()
    assert seen[0] is not db.conn
    db.close()
    with pytest.raises(sqlite3.ProgrammingError):
        seen[0].execute("SELECT 1")
    with pytest.raises(RuntimeError, match="closed"):
        threading.Thread(target=lambda: db.conn).run()


def test_failed_transaction_rolls_back(tmp_path):
    with Database.open(tmp_path / "videos.db") as db:
        with pytest.raises(ZeroDivisionError):
            with db.transaction() as tx:
                tx.execute("UPDATE channels SET priority = 5")
                1 / 0
        assert db.query_one("SELECT MAX(priority) FROM channels")[0] == 0


def test_version_1_registry_gets_the_later_steps(tmp_path):
    path = tmp_path / "database" / "videos.db"
    with Database(path, REGISTRY_MIGRATIONS[:1]) as db:
        VideoRegistry(db).register_videos([{"file_path": "/x.mp4", "checksum": "d" * 64}])
    with Database.open(path) as db:
        names = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "idx_sched_distribution" in names
        assert VideoRegistry(db).count() == 1
    assert user_version(path) == len(REGISTRY_MIGRATIONS)


def test_version_4_gives_distributions_and_schedules_the_change_counter(tmp_path):
    path = tmp_path / "database" / "videos.db"
    now = "2026-11-01T00:00:00+00:00"
    with Database(path, REGISTRY_MIGRATIONS[:3]) as old:
        with old.transaction() as tx:
            tx.execute("INSERT INTO videos (id, file_path, created_at, updated_at) VALUES ('v', '/v.mp4', ?, ?)",
                       (now, now))
            tx.execute("INSERT INTO distributions (id, video_id, channel_id, method, created_at, updated_at)"
                       " VALUES ('d', 'v', 'TikTok', 'manual', ?, ?)", (now, now))
    with Database.open(path) as db:
        rev = lambda: db.query_one("SELECT value FROM meta WHERE key = 'rev'")[0]  # noqa: E731
        assert db.query_one("SELECT rev FROM distributions WHERE id = 'd'")[0] == 0  # older rows: read in full
        before = rev()
        with db.transaction() as tx:
            tx.execute("UPDATE distributions SET status = 'failed' WHERE id = 'd'")
            tx.execute("INSERT INTO schedules (id, channel_id, scheduled_at, schedule_type, distribution_id,"
                       " created_at, updated_at) VALUES ('s', 'TikTok', ?, 'independent', 'd', ?, ?)", (now, now, now))
        assert before < db.query_one("SELECT rev FROM distributions WHERE id = 'd'")[0] <= rev()
        assert before < db.query_one("SELECT rev FROM schedules WHERE id = 's'")[0] <= rev()
        plan = " ".join(r[3] for r in db.query("EXPLAIN QUERY PLAN SELECT id FROM distributions WHERE rev > 5"))
        assert "idx_dist_rev" in plan
