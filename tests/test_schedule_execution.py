"""Executing schedules: exactly once, with retries, the distribution in step, and nothing stuck after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from database import Database, VideoRegistry, utcnow
from orchestration import ChannelService, SchedulingService, VideoDistributionService
from orchestration.scheduler_jobs import ScheduleRunner
from orchestration.settings import Settings
from tests.scripted_uploader import wait_for_cancel
from uploaders import UploadResult

UTC = timezone.utc
PROJECT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


def real_videos(db, folder: Path, n: int, prefix: str = "v") -> list[str]:
    """``n`` registered videos backed by tiny real files (the upload rules check the file)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        f = folder / f"{prefix}{i:04}.mp4"
        f.write_bytes(os.urandom(64))
        st = f.stat()
        rows.append({"file_path": str(f), "checksum": os.urandom(32).hex(), "size_bytes": st.st_size,
                     "file_mtime_ns": st.st_mtime_ns})
    return VideoRegistry(db).register_videos(rows)


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def channels(db, clock):
    svc = ChannelService(db, clock=clock)
    return [svc.create_channel(f"channel-{i}", p, id=f"channel-{i}").id
            for i, p in enumerate(["TikTok", "YouTube", "Instagram"], 1)]


@pytest.fixture
def service(db, clock, channels):
    return SchedulingService(db, clock=clock, settings=Settings())


@pytest.fixture
def videos(db, tmp_path):
    return real_videos(db, tmp_path / "media", 5)


def status(db, sid: str) -> str:
    return db.query_one("SELECT status FROM schedules WHERE id = ?", (sid,))[0]


# -- the seed's execution examples ------------------------------------------------------------------------------------


def test_seed_execute_pending_schedules(service, channels, videos, clock, scripts, db):
    schedules = service.create_simultaneous_schedule(videos[0], channels, clock.now + timedelta(hours=1),
                                                     wave_id="wave-123")
    assert service.execute_pending_schedules() == []  # not due yet
    clock.advance(hours=1)
    results = service.execute_pending_schedules()
    assert sorted(r["schedule_id"] for r in results) == sorted(s.id for s in schedules)
    assert {r["status"] for r in results} == {"completed"} and all("error" not in r for r in results)
    assert [len(scripts[p].calls) for p in ("TikTok", "YouTube", "Instagram")] == [1, 1, 1]
    for s in service.get_schedules_by_wave("wave-123"):
        assert (s.status, s.attempts, s.executed_at, s.claimed_by) == ("completed", 1, clock.now, None)
    rows = db.query("SELECT upload_status FROM video_uploads WHERE video_id = ?", (videos[0],))
    assert [r[0] for r in rows] == ["SUCCESS"] * 3
    assert len(db.audit.events("schedule.completed")) == 3
    assert service.execute_pending_schedules(before=clock.now.replace(tzinfo=None)) == []  # exactly once


def test_only_due_runnable_schedules_run(service, videos, clock, scripts):
    later = service.create_independent_schedule("channel-1", clock.now + timedelta(hours=2), video_id=videos[0])
    paused = service.create_independent_schedule("channel-2", clock.now + timedelta(minutes=5), video_id=videos[1])
    cancelled = service.create_independent_schedule("channel-3", clock.now + timedelta(minutes=5),
                                                    video_id=videos[2])
    confirmed = service.create_independent_schedule("channel-1", clock.now + timedelta(minutes=5),
                                                    video_id=videos[3])
    service.pause_schedule(paused.id)
    service.cancel_schedule(cancelled.id)
    service.confirm_schedule(confirmed.id)
    clock.advance(minutes=10)
    assert [r["schedule_id"] for r in service.execute_pending_schedules()] == [confirmed.id]
    # "before" brings later ones forward, as in the seed's cron example
    assert [r["schedule_id"] for r in service.execute_pending_schedules(before=clock.now + timedelta(hours=3))] == [
        later.id]


def test_failures_retry_with_backoff_up_to_the_limit(service, channels, videos, clock, scripts, db):
    scripts["TikTok"].then(*[UploadResult.failed("network down") for _ in range(3)])
    s = service.create_independent_schedule("channel-1", clock.now + timedelta(minutes=1), video_id=videos[0])
    clock.advance(minutes=1)
    (r,) = service.execute_pending_schedules()
    assert (r["schedule_id"], r["status"], r["error"]) == (s.id, "failed", "network down")
    first = service.get_schedule(s.id)
    assert (first.status, first.attempts, first.error_message) == ("failed", 1, "network down")
    assert first.next_attempt_at > clock.now  # backoff
    assert service.execute_pending_schedules() == []  # not before its retry time

    for attempt in (2, 3):
        clock.advance(hours=2)
        (r,) = service.execute_pending_schedules()
        assert r["status"] == "failed"
        assert service.get_schedule(s.id).attempts == attempt
    final = service.get_schedule(s.id)
    assert final.next_attempt_at is None  # the limit (3) is reached: it stays failed
    clock.advance(days=1)
    assert service.execute_pending_schedules() == []
    assert len(scripts["TikTok"].calls) == 3
    assert "no further automatic attempt" in db.audit.events("schedule.failed")[-1]["message"]
    assert service.schedule_repo.get_all(status="failed")[0].id == s.id


def test_a_permanent_error_is_not_retried(service, videos, clock, scripts):
    scripts["TikTok"].then(UploadResult.failed("video rejected: copyright", "permanent"))
    s = service.create_independent_schedule("channel-1", clock.now + timedelta(minutes=1), video_id=videos[0])
    clock.advance(minutes=2)
    (r,) = service.execute_pending_schedules()
    assert r["status"] == "failed" and "copyright" in r["error"]
    assert service.get_schedule(s.id).next_attempt_at is None


def test_a_paused_channel_fails_the_schedule_with_a_retry(service, videos, clock, scripts, db):
    s = service.create_independent_schedule("channel-1", clock.now + timedelta(minutes=1), video_id=videos[0])
    ChannelService(db, clock=clock).pause_channel("channel-1", "rebranding")
    clock.advance(minutes=2)
    (r,) = service.execute_pending_schedules()
    assert r["status"] == "failed" and "rebranding" in r["error"]
    assert service.get_schedule(s.id).next_attempt_at is not None
    assert scripts["TikTok"].calls == []
    ChannelService(db, clock=clock).resume_channel("channel-1")
    clock.advance(hours=1)
    assert [x["status"] for x in service.execute_pending_schedules()] == ["completed"]


def test_the_distribution_follows_its_schedule(service, videos, clock, scripts, db):
    dist = VideoDistributionService(db, clock=clock)
    (ok,) = dist.manual_distribute(videos[0], ["channel-1"], scheduled_at=clock.now + timedelta(minutes=5))
    (bad,) = dist.manual_distribute(videos[1], ["channel-2"], scheduled_at=clock.now + timedelta(minutes=5))
    scripts["YouTube"].then(UploadResult.failed("quota", "permanent"))
    clock.advance(minutes=5)
    results = {r["schedule_id"]: r["status"] for r in service.execute_pending_schedules()}
    assert results == {ok.schedule_id: "completed", bad.schedule_id: "failed"}
    assert dist.distribution_repo.get(ok.id).status == "published"
    failed = dist.distribution_repo.get(bad.id)
    assert failed.status == "failed" and failed.error_message == "quota"


def test_an_empty_slot_takes_a_waiting_assignment(service, videos, clock, scripts, db):
    dist = VideoDistributionService(db, clock=clock)
    (waiting,) = dist.manual_distribute(videos[2], ["channel-1"])
    slot = service.create_independent_schedule("channel-1", clock.now + timedelta(minutes=5))
    empty = service.create_independent_schedule("channel-2", clock.now + timedelta(minutes=5))
    clock.advance(minutes=5)
    results = {r["schedule_id"]: r for r in service.execute_pending_schedules()}
    assert results[slot.id]["status"] == "completed"
    filled = service.get_schedule(slot.id)
    assert (filled.video_id, filled.distribution_id) == (videos[2], waiting.id)
    assert dist.distribution_repo.get(waiting.id).status == "published"
    assert results[empty.id]["status"] == "failed" and "empty slot" in results[empty.id]["error"]
    assert service.get_schedule(empty.id).next_attempt_at is None


def test_stopping_before_the_upload_publishes_gives_the_schedule_back(service, videos, clock, scripts):
    scripts["TikTok"].then(wait_for_cancel)
    s = service.create_independent_schedule("channel-1", clock.now + timedelta(minutes=1), video_id=videos[0])
    clock.advance(minutes=1)
    stop = threading.Event()
    out = []
    worker = threading.Thread(target=lambda: out.extend(service.execute_pending_schedules(cancel_event=stop)))
    worker.start()
    wait_until(lambda: scripts["TikTok"].calls)
    assert service.get_schedule(s.id).status == "executing"
    stop.set()
    worker.join(30)
    assert out == [{"schedule_id": s.id, "status": "pending",
                    "error": "stopped before publishing; it runs at the next execution"}]
    back = service.get_schedule(s.id)
    assert (back.status, back.attempts, back.claimed_by) == ("pending", 0, None)


def test_publish_missed_now(service, videos, clock, scripts):
    s = service.create_independent_schedule("channel-1", clock.now + timedelta(minutes=1), video_id=videos[0])
    clock.advance(hours=1)
    assert service.recover()["missed"] == [s.id]
    assert service.execute_pending_schedules() == []  # a missed schedule never runs by itself
    result = service.publish_missed_now(s.id)
    assert result == {"schedule_id": s.id, "status": "completed"}
    assert len(scripts["TikTok"].calls) == 1


# -- exactly once, whatever runs it -----------------------------------------------------------------------------------


def many_due_schedules(db, folder: Path, *, n_videos: int = 100, n_channels: int = 10) -> None:
    """``n_videos × n_channels`` schedules (1,000 by default), all due now."""
    vids = real_videos(db, folder, n_videos)
    svc = ChannelService(db)
    chans = [svc.create_channel(f"race-{i}", "TikTok", id=f"race-{i}").id for i in range(n_channels)]
    real = utcnow()
    creator = SchedulingService(db, clock=lambda: real - timedelta(hours=4), settings=Settings())
    for i, v in enumerate(vids):
        creator.create_simultaneous_schedule(v, chans, real - timedelta(hours=3, seconds=-61 * i))


def test_two_threads_execute_1000_due_schedules_exactly_once(db, tmp_path, scripts):
    many_due_schedules(db, tmp_path / "media")
    barrier = threading.Barrier(2)
    results: list[list[dict]] = [[], []]

    def run(i: int) -> None:
        svc = SchedulingService(db, settings=Settings())
        barrier.wait()
        results[i] = svc.execute_pending_schedules()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    calls = Counter((Path(c["path"]).stem, c["channel"]) for c in scripts["TikTok"].calls)
    assert len(calls) == 1000 and max(calls.values()) == 1
    assert len(results[0]) + len(results[1]) == 1000
    assert results[0] and results[1]  # both really executed
    assert [tuple(r) for r in db.query("SELECT status, COUNT(*) FROM schedules GROUP BY status")] == [
        ("completed", 1000)]


def test_two_processes_execute_1000_due_schedules_exactly_once(tmp_path):
    path = tmp_path / "data" / "database" / "videos.db"
    with Database.open(path) as db:
        many_due_schedules(db, tmp_path / "media")
    ledger = tmp_path / "ledger.txt"
    procs = [subprocess.Popen([sys.executable, "-m", "tests.schedule_worker", "execute", str(path), str(ledger),
                               "TikTok"], cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    ran = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        assert "locked" not in err
        ran.append(int(out.split()[0]))
    lines = ledger.read_text().splitlines()
    counts = Counter(tuple(line.split("|")[:2]) for line in lines)
    assert len(counts) == 1000 and max(counts.values()) == 1, [k for k, v in counts.items() if v > 1]
    assert sum(ran) == 1000 and min(ran) > 0  # both processes executed some
    with Database.open(path) as db:
        assert [tuple(r) for r in db.query("SELECT status, COUNT(*) FROM schedules GROUP BY status")] == [
            ("completed", 1000)]
        assert [tuple(r) for r in db.query("SELECT upload_status, COUNT(*) FROM video_uploads GROUP BY 1")] == [
            ("SUCCESS", 1000)]


# -- a kill in the middle ----------------------------------------------------------------------------------------------


def test_a_kill_during_execution_leaves_nothing_stuck_after_the_next_start(tmp_path, scripts):
    path = tmp_path / "data" / "database" / "videos.db"
    real = utcnow()
    with Database.open(path) as db:
        ChannelService(db).create_channel("Victim", "TikTok", id="victim")
        ChannelService(db).create_channel("Next", "TikTok", id="next")
        vid, other = real_videos(db, tmp_path / "media", 2)
        creator = SchedulingService(db, clock=lambda: real - timedelta(hours=1), settings=Settings())
        hung = creator.create_independent_schedule("victim", real - timedelta(minutes=1), video_id=vid)
        queued = creator.create_independent_schedule("next", real - timedelta(seconds=30), video_id=other)
    marker = tmp_path / "uploading"
    proc = subprocess.Popen([sys.executable, "-m", "tests.schedule_worker", "hang", str(path), str(marker), "TikTok"],
                            cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: marker.exists() or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    with Database.open(path) as db:
        assert db.query_one("SELECT status FROM schedules WHERE id = ?", (hung.id,))[0] == "executing"
        assert db.query_one("SELECT upload_status FROM video_uploads")[0] == "IN_PROGRESS"

    # the next start: the upload's outcome is unknown (never retried blindly), the schedule is
    # failed with that reason, and the schedule the dead process never reached runs normally
    runner = ScheduleRunner(path, settings=Settings(execute_interval_seconds=3600, retry_interval_seconds=3600,
                                                    distribute_interval_seconds=3600))
    report = runner.start()
    try:
        assert report["interrupted"][0]["schedule_id"] == hung.id
        with Database.open(path) as db:
            wait_until(lambda: status(db, queued.id) == "completed", timeout=30)
            row = db.query_one("SELECT status, error_message, next_attempt_at FROM schedules WHERE id = ?",
                               (hung.id,))
            assert row["status"] == "failed" and "check the channel" in row["error_message"]
            assert row["next_attempt_at"] is None
            assert db.query_one("SELECT COUNT(*) FROM schedules WHERE status = 'executing'")[0] == 0
            assert db.query_one("SELECT upload_status FROM video_uploads WHERE video_id = ?", (vid,))[0] == "UNKNOWN"
            assert db.audit.events("schedule.recovered")
    finally:
        runner.stop()
    assert len(scripts["TikTok"].calls) == 1  # only the schedule the dead process never reached
