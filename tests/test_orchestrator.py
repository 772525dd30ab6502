"""CentralOrchestrationService (seed 004) on a real registry: life cycle, coordination, waves,
pipeline triggers, monitoring, the dashboard and distribution."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

import pytest

from database import (
    ChannelNotFoundError,
    ConflictError,
    UploadRepository,
    ValidationError,
    VideoNotFoundError,
    VideoRegistry,
)
from orchestration import CentralOrchestrationService, ChannelService, SchedulingService
from orchestration.scheduling import ScheduleConflictError
from orchestration.settings import Settings
from tests.test_github_dispatch import FakeGitHub

UTC = timezone.utc
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # a Friday
QUIET = dict(execute_interval_seconds=3600, distribute_interval_seconds=3600, retry_interval_seconds=3600)
TABLES = ("videos", "channels", "video_uploads", "distributions", "schedules")


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


def snapshot(db) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in db.query(f"SELECT * FROM {t} ORDER BY rowid")] for t in TABLES}


def kinds(db) -> list[str]:
    return [e["kind"] for e in db.audit.events()]


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def service(db, clock):
    svc = CentralOrchestrationService(db, clock, settings=Settings(**QUIET))
    yield svc
    svc.stop()


@pytest.fixture
def video(db, tmp_path):
    """video(name): a registered video whose file exists (so it can really be published)."""

    def make(name: str = "clip", **extra) -> str:
        folder = tmp_path / "media"
        folder.mkdir(exist_ok=True)
        f = folder / f"{name}.mp4"
        f.write_bytes(os.urandom(64))
        st = f.stat()
        return VideoRegistry(db).register_videos([{
            "id": name, "file_path": str(f), "checksum": os.urandom(32).hex(), "size_bytes": st.st_size,
            "file_mtime_ns": st.st_mtime_ns, "width": 1080, "height": 1920, "duration": 30.0, **extra}])[0]

    return make


@pytest.fixture
def channels(db, clock):
    svc = ChannelService(db, clock=clock)
    return [svc.create_channel(name, "TikTok", id=cid) for cid, name in (("c1", "One"), ("c2", "Two"), ("c3", "Three"))]


# -- life cycle -----------------------------------------------------------------------------------------------


def test_start_pause_resume_stop_and_status(service, db):
    st = service.get_status()
    assert (st["status"], st["running"], st["paused"], st["jobs"]) == ("stopped", False, False, [])

    out = service.start()
    assert out["status"] == "running" and out["recovery"] == {"uploads_recovered": 0, "interrupted": 0, "missed": 0,
                                                               "late": 0}
    assert service.start()["already"] is True
    st = service.get_status()
    assert st["running"] and not st["paused"] and st["alive"]
    assert {j["id"] for j in st["jobs"]} >= {"execute", "distribute", "retry"}
    assert all(j["next_run_time"] for j in st["jobs"])
    assert st["heartbeat"] and st["since"] == NOW.isoformat(timespec="microseconds")

    paused = service.pause()
    assert (paused["status"], paused["paused"], paused["running"]) == ("paused", True, True)
    assert service.runner.status()["state"] == "paused"
    assert service.get_status()["alive"]  # paused on purpose is not dead
    with pytest.raises(ConflictError, match="paused"):
        service.distribute_videos()
    with pytest.raises(ConflictError, match="paused"):
        service.trigger_pipeline("TikTok")

    resumed = service.resume()
    assert (resumed["status"], resumed["paused"]) == ("running", False)
    assert service.runner.status()["state"] == "running"

    stopped = service.stop()
    assert (stopped["status"], stopped["running"], stopped["executing"]) == ("stopped", False, 0)
    assert service.get_status()["jobs"] == []
    assert kinds(db)[-4:] == ["orchestration.started", "orchestration.paused", "orchestration.resumed",
                              "orchestration.stopped"]


def test_seed_sequence_pause_after_stop_holds_the_next_start(service):
    # seed 004 calls start, stop, pause, resume, get_status in that order: none of them may raise
    service.start()
    service.stop()
    assert service.pause()["status"] == "paused"
    assert service.resume()["status"] == "stopped"
    assert service.get_status()["running"] is False
    # a stopped system that is paused comes up paused
    service.pause()
    out = service.start()
    assert (out["status"], out["running"], out["paused"]) == ("paused", True, True)
    assert service.runner.status()["state"] == "paused"


def test_pause_holds_execution_and_resume_continues(db, clock, video, scripts):
    # a schedule already due when the runner starts (the one-shot would fire at once)
    vid = video("due")
    s = SchedulingService(db, clock, settings=Settings()).create_independent_schedule("TikTok", NOW + timedelta(
        minutes=1), video_id=vid)
    clock.advance(minutes=2)
    svc = CentralOrchestrationService(db, clock, settings=Settings(**QUIET))
    try:
        svc.pause()
        svc.start()
        assert svc.get_status()["paused"]
        assert svc.runner.stop_event.is_set()  # a job that fires anyway returns without executing
        from orchestration.scheduler_jobs import execute_due_job

        held = execute_due_job(db.path, settings=svc.settings, clock=clock, stop_event=svc.runner.stop_event,
                               lock=svc.runner.publish_lock)
        assert held["stopped"] and db.query_one("SELECT status FROM schedules WHERE id = ?", (s.id,))[0] == "pending"
        svc.resume()
        wait_until(lambda: db.query_one("SELECT status FROM schedules WHERE id = ?", (s.id,))[0] == "completed")
        assert svc.stop()["executing"] == 0
    finally:
        svc.stop()


# -- coordinate_publication ---------------------------------------------------------------------------------------


def test_coordinate_simultaneous_and_staggered(service, db, video, channels):
    vid = video("v1")
    at = NOW + timedelta(hours=2)
    out = service.coordinate_publication(vid, ["c1", "c2", "c3"], "simultaneous", scheduled_at=at)
    assert out["count"] == 3 and out["timing"] == "simultaneous"
    assert {s["scheduled_at"] for s in out["schedules"]} == {at.isoformat(timespec="microseconds")}
    assert {s["coordination_group_id"] for s in out["schedules"]} == {out["coordination_group_id"]}
    assert {s["schedule_type"] for s in out["schedules"]} == {"simultaneous"}

    v2 = video("v2")
    out = service.coordinate_publication(v2, ["c3", "c1"], "staggered", scheduled_at=at.replace(tzinfo=None)
                                         + timedelta(hours=1), delay_seconds=600)
    times = [(s["channel_id"], s["scheduled_at"]) for s in out["schedules"]]
    assert times == [("c3", (at + timedelta(hours=1)).isoformat(timespec="microseconds")),
                     ("c1", (at + timedelta(hours=1, minutes=10)).isoformat(timespec="microseconds"))]
    assert "orchestration.publication_coordinated" in kinds(db)


def test_coordinate_defaults_to_a_minute_from_now(service, video, channels):
    out = service.coordinate_publication(video(), ["c1"], "simultaneous")
    assert out["schedules"][0]["scheduled_at"] == (NOW + timedelta(minutes=1)).isoformat(timespec="microseconds")


def test_coordinate_independent_uses_each_channels_own_next_slot(service, db, video, clock):
    svc = ChannelService(db, clock=clock)
    svc.create_channel("Berlin", "TikTok", id="ber", timezone="Europe/Berlin", posting_schedule={"daily": ["09:00"]})
    svc.create_channel("NewYork", "YouTube", id="ny", timezone="America/New_York",
                       posting_schedule={"sat": ["10:30"]})
    out = service.coordinate_publication(video(), ["ber", "ny"], "independent")
    got = {s["channel_id"]: s["scheduled_at"] for s in out["schedules"]}
    # NOW is Friday 12:00 UTC: Berlin's 09:00 (UTC+1) has passed -> Saturday 08:00 UTC; New York (UTC-4) Saturday 14:30
    assert got == {"ber": "2026-03-21T08:00:00.000000+00:00", "ny": "2026-03-21T14:30:00.000000+00:00"}
    assert {s["schedule_type"] for s in out["schedules"]} == {"independent"}


def test_coordinate_refuses_bad_input_and_conflicts_changing_nothing(service, db, video, channels):
    vid = video()
    before = snapshot(db)
    with pytest.raises(VideoNotFoundError):
        service.coordinate_publication("nope", ["c1"], "simultaneous")
    with pytest.raises(ChannelNotFoundError):
        service.coordinate_publication(vid, ["c1", "nope"], "simultaneous")
    with pytest.raises(ValidationError) as e:
        service.coordinate_publication(vid, ["c1"], "sideways")
    assert e.value.field == "timing"
    with pytest.raises(ValidationError) as e:
        service.coordinate_publication(vid, ["c1"], "staggered", delay_seconds=-5)
    assert e.value.field == "delay_seconds"
    with pytest.raises(ScheduleConflictError) as e:
        service.coordinate_publication(vid, ["c1", "c2"], "simultaneous", scheduled_at=NOW - timedelta(minutes=5))
    assert {c.kind for c in e.value.conflicts} == {"past"} and len(e.value.conflicts) == 2
    with pytest.raises(ScheduleConflictError) as e:
        service.coordinate_publication(vid, ["c1"], "independent")  # c1 has no posting slots
    assert e.value.conflicts[0].kind == "no_slot" and "One" in str(e.value)
    assert snapshot(db) == before

    service.coordinate_publication(vid, ["c1"], "simultaneous", scheduled_at=NOW + timedelta(hours=1))
    before = snapshot(db)
    with pytest.raises(ScheduleConflictError) as e:  # the same video on c1 again: all or nothing
        service.coordinate_publication(vid, ["c2", "c1"], "simultaneous", scheduled_at=NOW + timedelta(hours=3))
    assert [c.kind for c in e.value.conflicts] == ["same_video"]
    assert snapshot(db) == before


# -- waves ------------------------------------------------------------------------------------------------------


def test_wave_staggered_spreads_videos_and_channels(service, db, video, channels):
    vids = [video(f"w{i}") for i in range(2)]
    t0 = NOW + timedelta(hours=1)
    out = service.schedule_wave_publication(vids, ["c1", "c2", "c3"], {"timing": "staggered", "scheduled_at": t0,
                                                                      "delay_seconds": 600})
    assert (out["video_count"], out["channel_count"], out["schedule_count"]) == (2, 3, 6)
    got = {(s["video_id"], s["channel_id"]): s["scheduled_at"] for s in out["schedules"]}
    for i, v in enumerate(vids):
        for j, c in enumerate(["c1", "c2", "c3"]):
            assert got[(v, c)] == (t0 + timedelta(seconds=(i * 3 + j) * 600)).isoformat(timespec="microseconds")
    assert {s["wave_id"] for s in out["schedules"]} == {out["wave_id"]}
    assert len(SchedulingService(db).get_schedules_by_wave(out["wave_id"])) == 6
    assert out["first_at"] == t0.isoformat(timespec="microseconds")
    events = db.audit.events("orchestration.wave_scheduled")
    assert events and events[-1]["subject_id"] == out["wave_id"]


def test_wave_simultaneous_posts_each_video_everywhere_at_once(service, video, channels):
    vids = [video(f"s{i}") for i in range(3)]
    t0 = NOW + timedelta(hours=1)
    out = service.schedule_wave_publication(vids, ["c1", "c2"], {"scheduled_at": t0.isoformat(), "delay_seconds": 1800,
                                                                  "wave_id": "launch"})
    assert out["wave_id"] == "launch" and out["timing"] == "simultaneous"
    got = {(s["video_id"], s["channel_id"]): s["scheduled_at"] for s in out["schedules"]}
    for i, v in enumerate(vids):
        at = (t0 + timedelta(seconds=i * 1800)).isoformat(timespec="microseconds")
        assert got[(v, "c1")] == got[(v, "c2")] == at
    with pytest.raises(ConflictError, match="launch"):
        service.schedule_wave_publication([video("other")], ["c3"], {"wave_id": "launch"})


def test_wave_independent_takes_each_channels_next_slots(service, db, video, clock):
    ChannelService(db, clock=clock).create_channel("Slots", "TikTok", id="sl",
                                                   posting_schedule={"daily": ["09:00", "18:00"]})
    vids = [video("i0"), video("i1"), video("i2")]
    out = service.schedule_wave_publication(vids, ["sl"], {"timing": "independent"})
    assert [s["scheduled_at"][:16] for s in out["schedules"]] == ["2026-03-20T18:00", "2026-03-21T09:00",
                                                                  "2026-03-21T18:00"]


def test_wave_refuses_a_daily_cap_or_conflict_naming_the_channel_all_or_nothing(service, db, video, channels,
                                                                               clock):
    ChannelService(db, clock=clock).update_channel("c2", daily_cap=1)
    vids = [video("a"), video("b")]
    before = snapshot(db)
    with pytest.raises(ScheduleConflictError) as e:
        service.schedule_wave_publication(vids, ["c1", "c2"], {"timing": "staggered", "delay_seconds": 600})
    assert [c.kind for c in e.value.conflicts] == ["daily_cap"]
    assert "Two" in str(e.value) and "daily cap of 1" in str(e.value)
    assert snapshot(db) == before

    existing = service.coordinate_publication(vids[0], ["c3"], "simultaneous", scheduled_at=NOW + timedelta(hours=5))
    before = snapshot(db)
    with pytest.raises(ScheduleConflictError) as e:  # c3 already has a post at +5h: the wave's 5h00m20s is too close
        service.schedule_wave_publication([vids[1]], ["c1", "c3"], {
            "timing": "simultaneous", "scheduled_at": NOW + timedelta(hours=5, seconds=20)})
    assert [c.kind for c in e.value.conflicts] == ["too_close"]
    assert "Three" in str(e.value) and existing["schedules"][0]["id"] in str(e.value)
    assert snapshot(db) == before


def test_wave_validates_its_input(service, video, channels):
    v = video()
    with pytest.raises(ValidationError) as e:
        service.schedule_wave_publication([v, v], ["c1"], {})
    assert e.value.field == "video_ids"
    with pytest.raises(ValidationError) as e:
        service.schedule_wave_publication([v], ["c1"], {"timing": "simultaneous", "speed": 3})
    assert e.value.field == "wave_config.speed"
    with pytest.raises(ValidationError) as e:
        service.schedule_wave_publication([v], ["c1"], {"timing": "now"})
    assert e.value.field == "wave_config.timing"
    with pytest.raises(ValidationError) as e:
        service.schedule_wave_publication([], ["c1"], {})
    assert e.value.field == "video_ids"
    with pytest.raises(VideoNotFoundError):
        service.schedule_wave_publication([v, "ghost"], ["c1"], {})
    with pytest.raises(ValidationError) as e:
        service.schedule_wave_publication([v], ["c1"], {"scheduled_at": "next tuesday"})
    assert e.value.field == "wave_config.scheduled_at"


# -- trigger_pipeline --------------------------------------------------------------------------------------------


@pytest.fixture
def github():
    fake = FakeGitHub()
    yield fake
    fake.close()


def test_trigger_dispatches_to_github_actions_when_the_channel_has_a_repository(db, clock, video, github):
    ChannelService(db, clock=clock).create_channel("Repo", "TikTok", id="repo",
                                                   github_repo_url="https://github.com/acme/shorts")
    vid = video()
    svc = CentralOrchestrationService(db, clock, settings=Settings(github_token="tok", github_api_url=github.url))
    out = svc.trigger_pipeline("repo", vid)
    assert (out["method"], out["status"], out["repository"]) == ("github_actions", "dispatched", "acme/shorts")
    (req,) = github.requests
    assert req["path"] == "/repos/acme/shorts/dispatches"
    assert req["headers"]["Authorization"] == "Bearer tok"
    assert req["json"] == {"event_type": "process-video",
                           "client_payload": {"channel_id": "repo", "video_id": vid, "trigger": "manual"}}
    assert db.audit.events("orchestration.pipeline_triggered")[-1]["subject_id"] == "repo"


def test_trigger_runs_the_local_queue(service, db, video, scripts):
    vid = video()
    out = service.trigger_pipeline("TikTok", vid)
    assert (out["method"], out["status"], out["items"]) == ("local_queue", "queued", 1)
    job = service.wait_for_pipeline(out["job_id"], timeout=30)
    assert job["status"] == "completed", job
    assert UploadRepository(db).get(vid, "TikTok").upload_status == "SUCCESS"
    assert db.query_one("SELECT status FROM distributions WHERE video_id = ?", (vid,))[0] == "published"
    assert "orchestration.pipeline_finished" in kinds(db)
    # published already: a second trigger is a duplicate
    with pytest.raises(ConflictError, match="already published"):
        service.trigger_pipeline("TikTok", vid)
    # nothing waiting for the channel: idle
    assert service.trigger_pipeline("TikTok")["status"] == "idle"


def test_trigger_without_video_publishes_the_channels_waiting_assignments(service, db, video, scripts):
    from orchestration import VideoDistributionService

    a, b = video("a"), video("b")
    VideoDistributionService(db).manual_distribute(a, ["YouTube"])
    VideoDistributionService(db).manual_distribute(b, ["YouTube"])
    out = service.trigger_pipeline("YouTube")
    assert out["items"] == 2
    job = service.wait_for_pipeline(out["job_id"], timeout=30)
    assert [r["status"] for r in job["results"]] == ["published", "published"]


def test_trigger_refuses_unknown_ids_and_unavailable_channels(service, db, video, clock):
    with pytest.raises(ChannelNotFoundError):
        service.trigger_pipeline("nope")
    with pytest.raises(VideoNotFoundError):
        service.trigger_pipeline("TikTok", "nope")
    ChannelService(db, clock=clock).pause_channel("TikTok", "holiday")
    with pytest.raises(ConflictError, match="holiday"):
        service.trigger_pipeline("TikTok", video())


def test_paused_queue_holds_a_job_until_resumed(service, db, video, scripts):
    vid = video()
    lock = service.runner.publish_lock
    lock.acquire()  # a publication "in progress": the job queues behind it
    try:
        out = service.trigger_pipeline("Instagram", vid)
        service.pause_wait_seconds = 0
        service.pause()
    finally:
        lock.release()
    time.sleep(0.3)  # a negative check: the worker may take the lock now, and paused it must give it back
    assert service.pipeline_job(out["job_id"])["results"] == []
    assert UploadRepository(db).get(vid, "Instagram") is None
    service.resume()
    assert service.wait_for_pipeline(out["job_id"], timeout=30)["status"] == "completed"


# -- monitoring and the dashboard ---------------------------------------------------------------------------------


def _publish_through_schedule(db, clock, vid, channel, at, delay):
    sched = SchedulingService(db, clock, settings=Settings())
    s = sched.create_independent_schedule(channel, at, video_id=vid)
    clock.now = at + delay
    (result,) = sched.execute_pending_schedules()
    return s, result


def test_monitor_channels_reports_health_statistics_and_last_publication(service, db, clock, video, scripts):
    from uploaders import UploadResult

    ChannelService(db, clock=clock).update_channel("YouTube", login_state="required")
    db.execute("UPDATE channels SET rate_limited_until = ? WHERE id = 'Instagram'",
               ((NOW + timedelta(hours=2)).isoformat(),))
    scripts["TikTok"].then(UploadResult.failed("network hiccup", "transient"))
    vid, ok = video("m1"), video("m2")
    from orchestration import Publisher

    Publisher(db, clock=clock).publish(vid, "TikTok")
    Publisher(db, clock=clock).publish(ok, "TikTok")
    by_name = {c["name"]: c for c in service.monitor_channels()}
    assert set(by_name) == {"YouTube", "TikTok", "Instagram"}
    yt, ig, tt = by_name["YouTube"], by_name["Instagram"], by_name["TikTok"]
    assert yt["health"]["login_required"] and yt["health"]["state"] == "critical"
    assert ig["health"]["cooling_down"] and ig["health"]["cool_down_seconds_left"] == 7200
    assert ig["health"]["state"] == "warning"
    assert tt["status"] == "active" and tt["health"]["recent_error_count"] == 1
    assert "network hiccup" in tt["health"]["recent_errors"][0]["error"]
    assert tt["statistics"]["uploads"] == {"FAILED": 1, "SUCCESS": 1}
    assert tt["last_publication"]["video_id"] == ok


def test_dashboard_shows_what_needs_the_operator(service, db, clock, video, scripts):
    out = service.get_dashboard_data()
    assert out["system"]["status"]["running"] is False
    assert out["channels"]["active"] == 3 and out["statistics"]["overall"]["total"] == 0
    assert out["schedules"]["pending"] == 0 and out["attention"]["total"] == 0

    # one on time (10 s late), one late (5 min), one missed, one unknown outcome, one login needed
    _publish_through_schedule(db, clock, video("on"), "TikTok", clock.now + timedelta(minutes=10),
                              timedelta(seconds=10))
    _publish_through_schedule(db, clock, video("late"), "YouTube", clock.now + timedelta(minutes=10),
                              timedelta(minutes=5))
    sched = SchedulingService(db, clock, settings=Settings())
    gone = sched.create_independent_schedule("Instagram", clock.now + timedelta(minutes=1), video_id=video("gone"))
    clock.advance(hours=2)
    sched.mark_missed()
    pending = sched.create_independent_schedule("Instagram", clock.now + timedelta(hours=1), video_id=video("next"))
    uploads = UploadRepository(db)
    rec, _ = uploads.claim(video("lost"), "TikTok", owner="dead:1:1", now=clock.now)
    uploads.mark_unknown(rec, message="outcome unknown")
    ChannelService(db, clock=clock).update_channel("YouTube", login_state="required")

    out = service.get_dashboard_data()
    att = out["attention"]
    assert [m["schedule_id"] for m in att["missed_schedules"]] == [gone.id]
    assert [(u["video_id"], u["channel_id"]) for u in att["unknown_outcomes"]] == [("lost", "TikTok")]
    assert [c["channel_id"] for c in att["logins_needed"]] == ["YouTube"]
    assert att["total"] == 3
    assert out["schedules"]["pending"] == 1 and out["schedules"]["next"][0]["schedule_id"] == pending.id
    pubs = out["statistics"]["publications"]
    assert (pubs["today"], pubs["week"], pubs["success_rate"], pubs["on_time_rate"]) == (2, 2, 100.0, 50.0)


# -- distribution ------------------------------------------------------------------------------------------------


def test_distribute_videos_by_filters_and_by_schedule(service, db, clock, video):
    svc = ChannelService(db, clock=clock)
    for ch in ("YouTube", "TikTok", "Instagram"):
        svc.pause_channel(ch)
    svc.create_channel("Tall", "TikTok", id="tall", content_filters={"orientation": "vertical"})
    svc.create_channel("Slots", "YouTube", id="slots", content_filters={"orientation": "horizontal"},
                       posting_schedule={"daily": ["18:00"]})
    tall = video("tall-one")
    wide = video("wide-one", width=1920, height=1080)
    out = service.distribute_videos()
    assert (out["by_filters"], out["by_schedule"]) == (2, 1)
    assert out["total_distributed"] == 2  # the slots channel's assignment was then scheduled: counted once
    rows = {(r["video_id"], r["channel_id"]): r["status"] for r in db.query("SELECT * FROM distributions")}
    assert rows == {(tall, "tall"): "assigned", (wide, "slots"): "scheduled"}
    assert db.audit.events("orchestration.distributed")[-1]["details"]["total_distributed"] == 2
