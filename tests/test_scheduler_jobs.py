"""The APScheduler wiring (ScheduleRunner and its job functions) and the settings it reads."""

from __future__ import annotations

import inspect
import json
import os
import socket
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from database import Database, ValidationError, VideoRegistry, utcnow
from orchestration import ChannelService, SchedulingService
from orchestration import scheduler_jobs as jobs
from orchestration.scheduler_jobs import ScheduleRunner
from orchestration.settings import Settings, load_settings

UTC = timezone.utc
QUIET = dict(execute_interval_seconds=3600, distribute_interval_seconds=3600, retry_interval_seconds=3600)


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


@pytest.fixture
def registry_path(tmp_path) -> Path:
    path = tmp_path / "data" / "database" / "videos.db"
    Database.open(path).close()
    return path


@pytest.fixture
def reg(registry_path):
    db = Database.open(registry_path)
    yield db
    db.close()


@pytest.fixture
def runner(registry_path):
    made: list[ScheduleRunner] = []

    def make(**settings) -> ScheduleRunner:
        r = ScheduleRunner(registry_path, settings=Settings(**{**QUIET, **settings}))
        made.append(r)
        return r

    yield make
    for r in made:
        r.stop()


def a_video(db, folder: Path, name: str = "clip") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    f = folder / f"{name}.mp4"
    f.write_bytes(os.urandom(64))
    st = f.stat()
    return VideoRegistry(db).register_videos([{"file_path": str(f), "checksum": os.urandom(32).hex(),
                                               "size_bytes": st.st_size, "file_mtime_ns": st.st_mtime_ns}])[0]


def status_of(db, sid: str) -> str:
    return db.query_one("SELECT status FROM schedules WHERE id = ?", (sid,))[0]


# -- the jobs ---------------------------------------------------------------------------------------------------------


def test_every_job_sets_coalesce_misfire_grace_and_max_instances(runner, reg, tmp_path, scripts):
    vid = a_video(reg, tmp_path / "media")
    SchedulingService(reg, settings=Settings()).create_independent_schedule(
        "TikTok", utcnow() + timedelta(hours=5), video_id=vid)
    r = runner(execute_interval_seconds=30, distribute_interval_seconds=3600, retry_interval_seconds=60)
    r.start()
    got = {j.id: j for j in r.scheduler.get_jobs()}
    assert set(got) == {jobs.EXECUTE_JOB, jobs.NEXT_JOB, jobs.DISTRIBUTE_JOB, jobs.RETRY_JOB}
    for job in got.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert isinstance(job.misfire_grace_time, int) and job.misfire_grace_time > 0
        # plain module-level functions over the registry path: nothing of Qt or Playwright
        assert inspect.isfunction(job.func) and job.func.__module__ == "orchestration.scheduler_jobs"
        assert job.args == (str(r.registry_path),)
    assert got[jobs.EXECUTE_JOB].trigger.interval == timedelta(seconds=30)
    assert got[jobs.DISTRIBUTE_JOB].trigger.interval == timedelta(hours=1)
    assert got[jobs.RETRY_JOB].trigger.interval == timedelta(seconds=60)
    # the one-shot waits for the exact time of the next schedule
    nxt = reg.query_one("SELECT scheduled_at FROM schedules")[0]
    assert got[jobs.NEXT_JOB].next_run_time == datetime.fromisoformat(nxt)


def test_the_one_shot_fires_at_the_schedules_time(runner, reg, tmp_path, scripts):
    vid = a_video(reg, tmp_path / "media")
    r = runner()  # the interval job would wait an hour: only the one-shot can run it
    r.start()
    svc = SchedulingService(reg, settings=Settings())
    at = utcnow() + timedelta(seconds=1)
    (s,) = svc.create_simultaneous_schedule(vid, ["TikTok"], at)  # re-arms the one-shot
    assert r.scheduler.get_job(jobs.NEXT_JOB).next_run_time == at
    wait_until(lambda: status_of(reg, s.id) == "completed")
    executed = svc.get_schedule(s.id).executed_at
    assert executed >= at and executed - at < timedelta(seconds=5)
    assert len(scripts["TikTok"].calls) == 1
    wait_until(lambda: r.status()["jobs"].get(jobs.NEXT_JOB, {}).get("runs") == 1)
    assert r.scheduler.get_job(jobs.NEXT_JOB) is None  # nothing else is due: no one-shot armed


def test_status_pause_resume_and_heartbeat(runner, reg, tmp_path, scripts):
    r = runner(execute_interval_seconds=0.1)
    assert r.status()["state"] == "stopped"
    r.start()
    st = r.status()
    assert st["state"] == "running" and st["running"] and st["started_at"]
    assert set(st["jobs"]) >= {jobs.EXECUTE_JOB, jobs.DISTRIBUTE_JOB, jobs.RETRY_JOB}
    assert all(isinstance(st["jobs"][j]["next_run_time"], datetime) for j in (jobs.EXECUTE_JOB, jobs.RETRY_JOB))
    first = st["heartbeat"]
    wait_until(lambda: r.status()["jobs"][jobs.EXECUTE_JOB]["runs"] >= 2)
    assert r.status()["heartbeat"] > first
    assert r.status()["jobs"][jobs.EXECUTE_JOB]["last_status"] == "ok"

    r.pause()
    assert r.status()["state"] == "paused"
    vid = a_video(reg, tmp_path / "media")
    svc = SchedulingService(reg, settings=Settings())
    (s,) = svc.create_simultaneous_schedule(vid, ["YouTube"], utcnow() + timedelta(milliseconds=300))
    assert r.scheduler.get_job(jobs.NEXT_JOB) is not None  # armed, but held while paused
    assert status_of(reg, s.id) == "pending"
    r.resume()
    wait_until(lambda: status_of(reg, s.id) == "completed")
    r.stop()
    assert r.status()["state"] == "stopped"
    r.stop()  # twice is fine


def test_start_recovers_stuck_and_missed_schedules_first(runner, reg, tmp_path, scripts):
    vid, late_vid, old_vid = (a_video(reg, tmp_path / "media", n) for n in ("stuck", "late", "old"))
    real = utcnow()
    svc = SchedulingService(reg, clock=lambda: real - timedelta(hours=2), settings=Settings())
    stuck = svc.create_independent_schedule("TikTok", real - timedelta(minutes=3), video_id=vid)
    late = svc.create_independent_schedule("YouTube", real - timedelta(minutes=5), video_id=late_vid)
    old = svc.create_independent_schedule("Instagram", real - timedelta(hours=1), video_id=old_vid)
    # left executing by a process that is gone (same host, a pid that does not exist)
    reg.execute("UPDATE schedules SET status = 'executing', claimed_by = ? WHERE id = ?",
                (f"{socket.gethostname()}:999999999:1:x", stuck.id))
    r = runner()
    report = r.start()
    assert [i["schedule_id"] for i in report["interrupted"]] == [stuck.id]
    assert report["missed"] == [old.id]
    assert set(report["late"]) == {late.id, stuck.id}  # the stuck one never published: it runs late
    wait_until(lambda: status_of(reg, late.id) == "completed" and status_of(reg, stuck.id) == "completed")
    assert status_of(reg, old.id) == "missed"
    assert reg.query_one("SELECT COUNT(*) FROM schedules WHERE status = 'executing'")[0] == 0


def test_job_functions_run_on_their_own(registry_path, reg, tmp_path, scripts):
    ChannelService(reg).create_channel("Slots", "TikTok", posting_schedule={"daily": ["00:00", "12:00"]})
    a_video(reg, tmp_path / "media")
    out = jobs.distribute_job(str(registry_path))
    assert out["assigned"] >= 1 and out["scheduled"] == 1
    assert jobs.retry_uploads_job(str(registry_path)) == {"succeeded": 0, "failed": 0, "total": 0}
    res = jobs.execute_due_job(str(registry_path), settings=Settings())
    assert res["results"] == [] and res["next_due"] is not None


def test_an_error_in_a_job_is_recorded_and_does_not_spin(runner, reg):
    calls = []

    def broken(*args, **kwargs):
        calls.append(time.monotonic())
        raise RuntimeError("boom")

    r = runner()
    r.start()
    r.scheduler.modify_job(jobs.EXECUTE_JOB, func=broken, next_run_time=utcnow())
    wait_until(lambda: r.status()["jobs"][jobs.EXECUTE_JOB].get("last_status") == "error")
    info = r.status()["jobs"][jobs.EXECUTE_JOB]
    assert info["last_error"] == "RuntimeError: boom" and info["errors"] == 1
    assert len(calls) == 1


def test_a_job_event_reported_under_apschedulers_lock_does_not_deadlock_resume(runner, reg):
    # APScheduler reports a job that finished at once from inside _process_jobs, holding its
    # job-store lock; meanwhile resume() holds the runner's lock and asks APScheduler for a job.
    # The listener must not wait for the runner's lock there (CI once hung on exactly this).
    import threading

    from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent

    r = runner()
    r.start()
    event = JobExecutionEvent(EVENT_JOB_EXECUTED, jobs.NEXT_JOB, "default", utcnow(), retval={"next_due": None})
    reported = threading.Event()

    def apscheduler_side() -> None:
        with r.scheduler._jobstores_lock:
            r._on_event(event)
            reported.set()

    with r._state_lock:  # what resume() holds while it asks APScheduler for the job
        t = threading.Thread(target=apscheduler_side, daemon=True)
        t.start()
        assert reported.wait(5), "the listener waited for the runner's lock under APScheduler's"
    t.join(5)
    # the re-arm still happens, on the runner's own thread
    wait_until(lambda: r.status()["jobs"].get(jobs.NEXT_JOB, {}).get("runs") == 1)
    wait_until(lambda: r.next_schedule_at is None and r.scheduler.get_job(jobs.NEXT_JOB) is None)


# -- settings ----------------------------------------------------------------------------------------------------


def test_settings_defaults_file_and_environment(tmp_path):
    s = load_settings(tmp_path, environ={})
    assert (s.execute_interval_seconds, s.distribute_interval_seconds, s.retry_interval_seconds,
            s.missed_grace_seconds, s.schedule_max_attempts, s.github_token, s.github_api_url) == (
        30, 3600, 60, 900, 3, None, "https://api.github.com")
    (tmp_path / "settings.json").write_text(json.dumps({
        "execute_interval_seconds": 10, "missed_grace_seconds": 60, "github_token": "file-token",
        "github_api_url": "http://127.0.0.1:9/", "window": {"ignored": True}}))
    s = load_settings(tmp_path, environ={})
    assert (s.execute_interval_seconds, s.missed_grace_seconds, s.github_token, s.github_api_url) == (
        10, 60, "file-token", "http://127.0.0.1:9")
    assert load_settings(tmp_path, environ={"ASFS_GITHUB_TOKEN": "env-token"}).github_token == "env-token"
    assert load_settings(tmp_path / "settings.json", environ={}).execute_interval_seconds == 10
    assert "file-token" not in json.dumps(s.to_dict())


@pytest.mark.parametrize("key,value", [
    ("execute_interval_seconds", "30"), ("execute_interval_seconds", 0), ("schedule_max_attempts", 2.5),
    ("missed_grace_seconds", -1), ("retry_interval_seconds", True), ("github_api_url", "ftp://x"),
    ("github_token", 42),
])
def test_a_bad_setting_names_its_key(tmp_path, key, value):
    (tmp_path / "settings.json").write_text(json.dumps({key: value}))
    with pytest.raises(ValidationError) as err:
        load_settings(tmp_path, environ={})
    assert err.value.field == key and key in str(err.value)


def test_a_settings_file_that_is_not_json_is_refused(tmp_path):
    (tmp_path / "settings.json").write_text("{nope")
    with pytest.raises(ValidationError) as err:
        load_settings(tmp_path, environ={})
    assert err.value.field == "settings.json"
    with pytest.raises(ValidationError):
        Settings().replace(schedule_max_attempts=0)
