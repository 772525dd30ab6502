"""A SIGKILL in the middle of an upload loses no record; two processes never publish twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from database import Database, VideoRegistry
from orchestration.publishing import Publisher
from uploaders import UploadResult

PROJECT = Path(__file__).resolve().parent.parent


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.publish_worker", *args], cwd=PROJECT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_file(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker exited early: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError("worker never reached the upload")
        time.sleep(0.02)


@pytest.fixture
def killed_mid_upload(tmp_path, make_clip):
    """A registry whose video was being uploaded to YouTube when its process was SIGKILLed."""
    path = tmp_path / "data" / "database" / "videos.db"
    with Database.open(path) as db:
        vid = VideoRegistry(db).register_video(str(make_clip("victim.mp4")))
    marker = tmp_path / "uploading"
    proc = spawn("hang", str(path), vid, "YouTube", str(marker))
    try:
        wait_for_file(marker, proc)
        db = Database.open(path)
        # while the uploader is alive, start-up recovery in another process leaves its claim alone
        assert Publisher(db).recover() == []
        assert db.query_one("SELECT upload_status FROM video_uploads")[0] == "IN_PROGRESS"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    yield db, vid, proc.pid
    db.close()


def test_kill_mid_upload_keeps_the_record_and_restart_marks_it_unknown(killed_mid_upload):
    db, vid, pid = killed_mid_upload
    assert db.query_one("PRAGMA integrity_check")[0] == "ok"
    row = db.query_one("SELECT upload_status, claimed_by FROM video_uploads WHERE video_id = ?", (vid,))
    assert row["upload_status"] == "IN_PROGRESS" and f":{pid}:" in row["claimed_by"]
    assert [e["status"] for e in db.audit.upload_events(video_id=vid)] == ["IN_PROGRESS"]

    outcomes = Publisher(db).recover()  # what the next start-up does
    assert [(o.video_id, o.status) for o in outcomes] == [(vid, "UNKNOWN")]
    reg = VideoRegistry(db)
    st = reg.get_upload_status(vid, "YouTube")
    assert st["upload_status"] == "UNKNOWN" and "check the channel" in st["error_message"]
    ok, reason = reg.can_upload(vid, "YouTube", automatic=True)
    assert not ok and "unknown outcome" in reason  # never retried blindly
    assert Publisher(db).pending_pairs(["YouTube"]) == []
    assert db.audit.events("upload.recovered")[-1]["details"]["status"] == "UNKNOWN"
    assert Publisher(db).recover() == []  # nothing left to resolve


def test_restart_settles_through_find_existing(killed_mid_upload, scripts):
    db, vid, _ = killed_mid_upload
    scripts["YouTube"].existing = lambda video: UploadResult(True, "yt-found-1", post_url="https://youtu.be/found1")
    outcomes = Publisher(db).recover()
    assert [(o.video_id, o.status, o.post_id) for o in outcomes] == [(vid, "SUCCESS", "yt-found-1")]
    assert VideoRegistry(db).get_upload_status(vid, "YouTube")["post_url"] == "https://youtu.be/found1"


def test_restart_retries_when_the_channel_shows_it_never_arrived(killed_mid_upload, scripts):
    db, vid, _ = killed_mid_upload
    scripts["YouTube"].existing = lambda video: UploadResult(False, error_message="not there")
    assert [o.status for o in Publisher(db).recover()] == ["PENDING"]
    assert Publisher(db).pending_pairs(["YouTube"]) == [(vid, "YouTube")]


def test_two_processes_upload_all_pending_publish_each_pair_once(tmp_path):
    path = tmp_path / "data" / "database" / "videos.db"
    media = tmp_path / "media"
    media.mkdir()
    rows = []
    for i in range(20):
        f = media / f"v{i:02}.mp4"
        f.write_bytes(os.urandom(256))
        st = f.stat()
        rows.append({"file_path": str(f), "checksum": f"{i:064x}", "size_bytes": st.st_size,
                     "file_mtime_ns": st.st_mtime_ns})
    with Database.open(path) as db:
        VideoRegistry(db).register_videos(rows)
    ledger = tmp_path / "ledger.txt"
    procs = [spawn("bulk", str(path), str(ledger), "2") for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        assert "locked" not in err
    published = [tuple(line.split("|")[:2]) for line in ledger.read_text().splitlines()]
    counts = Counter(published)
    assert len(counts) == 60  # 20 videos x 3 default channels
    assert max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
    pids = {line.split("|")[2] for line in ledger.read_text().splitlines()}
    assert len(pids) == 2  # both processes really published
    with Database.open(path) as db:
        rows = db.query("SELECT upload_status, COUNT(*) FROM video_uploads GROUP BY upload_status")
        assert [tuple(r) for r in rows] == [("SUCCESS", 60)]


def test_start_up_recovery_runs_in_the_background(killed_mid_upload):
    from orchestration.publishing import recover_in_background

    db, vid, _ = killed_mid_upload
    seen = []
    thread = recover_in_background(db.path, on_done=seen.append)
    thread.join(30)
    assert not thread.is_alive()
    assert [(o.video_id, o.status) for o in seen[0]] == [(vid, "UNKNOWN")]
    assert VideoRegistry(db).get_upload_status(vid, "YouTube")["upload_status"] == "UNKNOWN"


def test_app_refuses_a_registry_from_a_newer_version(tmp_path):
    import sqlite3

    data = tmp_path / "data"
    Database.open(data / "database" / "videos.db").close()
    conn = sqlite3.connect(data / "database" / "videos.db")
    conn.execute("PRAGMA user_version = 42")
    conn.commit()
    conn.close()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, str(PROJECT / "app.py"), "--data-dir", str(data),
                             "--screenshot", str(tmp_path / "shots")],
                            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "newer ASFS" in result.stderr and "Traceback" not in result.stderr


def test_recovery_leaves_this_process_s_running_uploads_alone(db, registry, make_clip, scripts):
    """A second thread starting up (e.g. the scheduler) must not mark a live upload UNKNOWN."""
    import threading

    vid = registry.register_video(str(make_clip("live.mp4")))
    inside, release = threading.Event(), threading.Event()

    def slow(up, path, md):
        inside.set()
        release.wait(30)
        return UploadResult(True, "live-1")

    scripts["TikTok"].then(slow)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("o", Publisher(db).publish(vid, "TikTok")))
    t.start()
    try:
        assert inside.wait(30)
        assert Publisher(db).recover() == []
        assert VideoRegistry(db).get_upload_status(vid, "TikTok")["upload_status"] == "IN_PROGRESS"
    finally:
        release.set()
        t.join(30)
    assert result["o"].success
    # a claim by this pid that no thread holds any more (a leftover) is resolved
    db.execute("UPDATE video_uploads SET upload_status = 'IN_PROGRESS', claimed_by = ?",
               (f"{__import__('socket').gethostname()}:{os.getpid()}:1:dead",))
    assert [o.status for o in Publisher(db).recover()] == ["UNKNOWN"]
