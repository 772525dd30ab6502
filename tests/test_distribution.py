"""VideoDistributionService: seed 001's acceptance criteria 1-8 and the rules around them."""

from __future__ import annotations

import hashlib
import threading
from datetime import date, datetime, timedelta, timezone

import pytest

from database import ChannelNotFoundError, ConflictError, ValidationError, VideoNotFoundError, to_iso
from orchestration import ChannelService, VideoDistributionService
from orchestration.distribution import DistributionNotFoundError, VideoDistribution
from uploaders import UploadResult

UTC = timezone.utc
TABLES = ("videos", "channels", "video_uploads", "distributions", "schedules")


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def snapshot(db) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in db.query(f"SELECT * FROM {t} ORDER BY rowid")] for t in TABLES}


@pytest.fixture
def clock():
    return Clock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))  # a Friday; 13:00 in Berlin (CET)


@pytest.fixture
def channels(db, clock):
    svc = ChannelService(db, clock=clock)
    # The default platform channels accept everything; keep them out of the way unless a test wants them.
    for platform in ("YouTube", "TikTok", "Instagram"):
        svc.deactivate_channel(platform, "not used in this test")
    return svc


@pytest.fixture
def service(db, clock, channels):
    return VideoDistributionService(db, clock=clock)


def add_videos(registry, *rows) -> list[str]:
    out = []
    for i, row in enumerate(rows):
        row = dict(row)
        row.setdefault("file_path", f"/videos/{row.get('id', i)}.mp4")
        row.setdefault("checksum", hashlib.sha256(f"{row.get('id', i)}".encode()).hexdigest())
        row.setdefault("created_at", to_iso(datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=i)))
        out += registry.register_videos([row])
    return out


SHORT = {"width": 1080, "height": 1920, "duration": 30.0, "source_views": 20_000}


# -- AC 1: by configuration, by schedule, by hand -------------------------------------------------------


def test_ac1_filters_assign_matching_videos_with_each_filters_verdict(db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="short"), dict(SHORT, id="long", duration=300.0),
               dict(SHORT, id="wide", width=1920, height=1080))
    verticals = channels.create_channel("Vertical", "TikTok", {"orientation": "vertical", "max_duration": 60})
    anything = channels.create_channel("Anything", "YouTube", {"min_resolution": "1080p"})

    made = service.auto_distribute_by_filters()
    pairs = sorted((d.video_id, d.channel_id) for d in made)
    assert pairs == sorted([("short", verticals.id), ("short", anything.id), ("long", anything.id),
                            ("wide", anything.id)])
    d = next(d for d in made if d.video_id == "short" and d.channel_id == verticals.id)
    assert isinstance(d, VideoDistribution)
    assert (d.distribution_method, d.status, d.forced, d.retry_count, d.max_retries) == (
        "auto_filter", "assigned", False, 0, 3)
    reason = d.assignment_reason
    # the filters the channel sets, each with its verdict in words; the ones it does not set pass
    # by definition and are not listed
    assert set(reason["filters"]) == {"orientation", "max_duration"}
    assert reason["filters"]["orientation"]["passed"] and reason["filters"]["orientation"]["reason"]
    assert reason["score"] == pytest.approx(0.5) and "Vertical" in reason["summary"]
    # the run writes its reasons' JSON itself: what is stored reads back as what it returned
    for made_one in made:
        assert service.distribution_repo.get(made_one.id).assignment_reason == made_one.assignment_reason
    assert {(s["video_id"], s["code"]) for s in made.skipped if s["channel_id"] == verticals.id} == {
        ("long", "no_match"), ("wide", "no_match")}

    # one video, some channels
    assert service.auto_distribute_by_filters(video_id="short") == []
    with pytest.raises(VideoNotFoundError):
        service.auto_distribute_by_filters(video_id="nope")
    with pytest.raises(ChannelNotFoundError):
        service.auto_distribute_by_filters(channel_ids=["nope"])


def test_a_runs_distributions_behave_as_records_read_back_do(db, registry, channels, service):
    """A run by filters hands back its distributions with their reasons parsed only when read; to
    every caller they are the records the registry holds."""
    import copy
    import dataclasses
    import json
    import pickle

    add_videos(registry, dict(SHORT, id="short"))
    channels.create_channel("Vertical", "TikTok", {"orientation": "vertical", "max_duration": 60})
    (made,) = service.auto_distribute_by_filters()
    stored = service.distribution_repo.get(made.id)
    assert pickle.loads(pickle.dumps(made)) == made == stored  # equality reads every field
    assert copy.deepcopy(made).assignment_reason == stored.assignment_reason
    assert made.reason is made.assignment_reason  # parsed once, then the same dict
    assert json.loads(json.dumps(made.to_dict())) == json.loads(json.dumps(stored.to_dict()))
    moved = dataclasses.replace(made, status="scheduled")
    assert (moved.status, moved.assignment_reason) == ("scheduled", stored.assignment_reason)
    assert repr(made).startswith("VideoDistribution(id=") and "'filters'" in repr(made)
    with pytest.raises(AttributeError, match="no_such_field"):
        made.no_such_field
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.status = "published"


def test_ac1_ranking_by_score_then_priority_with_max_channels_per_video(db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="v", width=1440, height=2560, source_views=3000))
    loose = channels.create_channel("Loose", "TikTok", {}, priority=100)  # score 0
    views = channels.create_channel("Views", "TikTok", {"min_views": 1000})  # 3x the minimum: ~0.16
    res_low = channels.create_channel("Res low", "YouTube", {"min_resolution": "720p"}, priority=1)  # 1.0
    res_top = channels.create_channel("Res top", "YouTube", {"min_resolution": "720p"}, priority=5)  # 1.0
    res_hi = channels.create_channel("Res high", "Instagram", {"min_resolution": "1080p"})  # 0.33

    made = service.auto_distribute_by_filters(max_channels_per_video=3)
    # by score; equal scores by priority; the no-filter channel (score 0) loses despite its priority
    assert [d.channel_id for d in made] == [res_top.id, res_low.id, res_hi.id]
    assert [d.assignment_reason["rank"] for d in made] == [1, 2, 3]
    assert made[0].assignment_reason["score"] == made[1].assignment_reason["score"] == 1.0
    over = {s["channel_id"]: s["code"] for s in made.skipped if s["code"] != "channel_unavailable"}
    assert over == {views.id: "over_limit", loose.id: "over_limit"}

    # the cap counts the channels a video is already on: running again adds nothing
    again = service.auto_distribute_by_filters(max_channels_per_video=3)
    assert again == [] and "already on 3" in next(s for s in again.skipped if s["code"] == "over_limit")["reason"]
    rest = service.auto_distribute_by_filters()  # default: every match
    assert [d.channel_id for d in rest] == [views.id, loose.id]
    with pytest.raises(ValidationError) as err:
        service.auto_distribute_by_filters(max_channels_per_video=0)
    assert err.value.field == "max_channels_per_video"


def test_ac1_schedule_fills_the_next_free_slot_in_the_channels_zone(db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="ok", source_views=5000), dict(SHORT, id="best", source_views=90_000),
               dict(SHORT, id="wide", width=1920, height=1080))
    ch = channels.create_channel("Berlin", "TikTok", {"orientation": "vertical", "min_views": 1000},
                                 {"daily": ["09:00", "18:00"]}, timezone="Europe/Berlin")

    first = service.auto_distribute_by_schedule()
    (d,) = first
    assert (d.video_id, d.channel_id, d.status, d.distribution_method) == ("best", ch.id, "scheduled",
                                                                           "auto_schedule")
    assert d.scheduled_at == datetime(2026, 3, 27, 17, 0, tzinfo=UTC)  # 18:00 CET
    row = db.query_one("SELECT * FROM schedules WHERE id = ?", (d.schedule_id,))
    assert (row["schedule_type"], row["status"], row["distribution_id"], row["video_id"]) == (
        "independent", "pending", d.id, "best")
    assert d.assignment_reason["slot"]["local_time"] == "2026-03-27T18:00+01:00"

    (d2,) = service.auto_distribute_by_schedule()
    assert d2.video_id == "ok" and d2.scheduled_at == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # Sat 09:00 CET
    nothing = service.auto_distribute_by_schedule()
    assert nothing == [] and nothing.skipped[0]["code"] == "no_video"
    assert db.audit.events("distribution.slot_unfilled")


def test_schedule_gives_waiting_assignments_their_slot_first(db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="a"), dict(SHORT, id="b", source_views=10**6))
    ch = channels.create_channel("C", "TikTok", {}, {"daily": ["20:00"]})
    (manual,) = service.manual_distribute("a", [ch.id], actor="alice")
    assert manual.status == "assigned" and manual.scheduled_at is None

    (d,) = service.auto_distribute_by_schedule(slots_per_channel=2)[:1]
    assert d.id == manual.id and d.status == "scheduled" and d.distribution_method == "manual"
    assert d.scheduled_at == datetime(2026, 3, 27, 20, 0, tzinfo=UTC)
    assert "schedule" in d.assignment_reason
    later = service.distribution_repo.get_by_video("b")
    assert later and later[0].scheduled_at == datetime(2026, 3, 28, 20, 0, tzinfo=UTC)


def test_schedule_slots_across_daylight_saving_changes(db, registry, channels, clock):
    add_videos(registry, *[dict(SHORT, id=f"v{i}") for i in range(3)])
    ch = channels.create_channel("Night", "TikTok", {}, {"sun": ["02:30"]}, timezone="Europe/Berlin")
    service = VideoDistributionService(db, clock=clock)

    clock.now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    (spring,) = service.auto_distribute_by_schedule()
    # 02:30 does not exist on 29 March: it moves forward to 03:30 CEST
    assert spring.scheduled_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)

    clock.now = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    first, second = service.auto_distribute_by_schedule(slots_per_channel=2)
    # 02:30 happens twice on 25 October: it runs once (the first time); the next slot is a week later
    assert first.scheduled_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert second.scheduled_at == datetime(2026, 11, 1, 1, 30, tzinfo=UTC)  # 02:30 CET
    assert ch.id == first.channel_id == second.channel_id


def test_ac1_manual_assignment_and_scheduling(db, registry, channels, service, clock):
    add_videos(registry, dict(SHORT, id="v"))
    a = channels.create_channel("A", "TikTok", {"min_views": 10**9})  # the operator may ignore filters
    b = channels.create_channel("B", "YouTube", {})
    when = datetime(2026, 3, 27, 14, 0)  # naive: UTC, as in the seeds
    made = service.manual_distribute("v", [a.id, "B"], scheduled_at=when, actor="alice", note="launch")
    assert [(d.channel_id, d.status, d.distribution_method, d.forced) for d in made] == [
        (a.id, "scheduled", "manual", False), (b.id, "scheduled", "manual", False)]
    assert made[0].assignment_reason["filters_matched"] is False
    assert made[0].assignment_reason["failed_filters"] == ["min_views"]
    rows = db.query("SELECT * FROM schedules ORDER BY channel_id")
    assert {r["scheduled_at"] for r in rows} == {to_iso(when)}
    assert {r["schedule_type"] for r in rows} == {"simultaneous"}
    assert len({r["coordination_group_id"] for r in rows}) == 1
    assert db.audit.events("distribution.assigned")[0]["actor"] == "alice"


def test_manual_schedule_for_an_assignment_waiting_reuses_it(db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="v"))
    ch = channels.create_channel("A", "TikTok", {})
    (assigned,) = service.auto_distribute_by_filters()
    (scheduled,) = service.manual_distribute("v", [ch.id], scheduled_at=datetime(2026, 3, 30, 9, 0))
    assert scheduled.id == assigned.id and scheduled.status == "scheduled"
    assert scheduled.distribution_method == "auto_filter" and "time set by hand" in scheduled.reason_text
    assert db.query_one("SELECT COUNT(*) FROM distributions")[0] == 1


# -- AC 2: the same video on several channels -----------------------------------------------------------


def test_ac2_one_video_goes_to_several_channels(db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="v"))
    ids = {channels.create_channel(f"C{i}", p, {}).id for i, p in enumerate(["TikTok", "YouTube", "Instagram"])}
    made = service.auto_distribute_by_filters(video_id="v")
    assert {d.channel_id for d in made} == ids
    assert {d.video_id for d in service.distribution_repo.get_by_video("v")} == {"v"}
    # the rendering per channel is tested in tests/test_transform.py


# -- AC 3: schedules and availability --------------------------------------------------------------------


def test_ac3_unavailable_channels_are_skipped_with_the_reason_logged(db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="v"))
    ok = channels.create_channel("OK", "TikTok", {}, {"daily": ["10:00"]})
    paused = channels.create_channel("Paused", "TikTok", {}, {"daily": ["10:00"]})
    channels.pause_channel(paused.id, "rebranding")
    inactive = channels.create_channel("Inactive", "TikTok", {}, status="inactive")
    login = channels.create_channel("Login", "YouTube", {}, login_state="required")
    later = channels.create_channel("Later", "YouTube", {}, {"availability_windows": [{"start": "2026-04-01"}]})
    over = channels.create_channel("Over", "YouTube", {}, {"windows": [{"end": "2026-03-26"}]})

    made = service.auto_distribute_by_filters()
    assert [d.channel_id for d in made] == [ok.id]
    skipped = {s["channel_id"]: s["reason"] for s in made.skipped if s["code"] == "channel_unavailable"}
    assert skipped[paused.id] == "Paused is paused (rebranding)"
    assert "inactive" in skipped[inactive.id]
    assert "log in" in skipped[login.id]
    assert "outside its availability windows" in skipped[later.id]
    assert "outside its availability windows" in skipped[over.id]
    logged = {e["subject_id"]: e["details"]["reason"] for e in db.audit.events("distribution.channel_skipped")}
    assert {paused.id, inactive.id, login.id, later.id, over.id} <= set(logged)
    assert logged[paused.id] == skipped[paused.id]

    by_schedule = service.auto_distribute_by_schedule()
    assert [d.channel_id for d in by_schedule] == [ok.id]  # the paused one has slots but is skipped
    assert any(s["channel_id"] == paused.id for s in by_schedule.skipped)


def test_ac3_slots_stay_inside_windows_and_under_the_daily_cap(db, registry, channels, service):
    add_videos(registry, *[dict(SHORT, id=f"v{i}") for i in range(4)])
    ch = channels.create_channel(
        "Spring", "TikTok", {},
        {"daily": ["09:00", "12:00", "18:00"], "availability_windows": [{"start": "2026-04-02", "end": "2026-04-03"}],
         "daily_cap": 2}, timezone="America/New_York")
    made = service.auto_distribute_by_schedule(slots_per_channel=10)
    local = [d.scheduled_at.astimezone(ch.zone).strftime("%m-%d %H:%M") for d in made]
    assert local == ["04-02 09:00", "04-02 12:00", "04-03 09:00", "04-03 12:00"]
    assert made.skipped[-1]["code"] == "no_free_slot"


def test_schedule_keeps_clear_of_other_schedules_on_the_channel(db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="a"), dict(SHORT, id="b"))
    ch = channels.create_channel("C", "TikTok", {}, {"daily": ["20:00", "20:01", "21:00"]}, min_spacing_seconds=600)
    service.manual_distribute("a", [ch.id], scheduled_at=datetime(2026, 3, 27, 20, 5))
    (d,) = service.auto_distribute_by_schedule()
    assert d.scheduled_at == datetime(2026, 3, 27, 21, 0, tzinfo=UTC)  # 20:00 and 20:01 are within 10 minutes


# -- AC 4: no duplicates ----------------------------------------------------------------------------------


def test_ac4_running_again_assigns_nothing_twice(db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="a"), dict(SHORT, id="b"))
    ch = channels.create_channel("C", "TikTok", {}, {"daily": ["10:00"]})
    assert len(service.auto_distribute_by_filters()) == 2
    assert service.auto_distribute_by_filters() == []
    assert service.distribution_repo.check_duplicate("a", ch.id)
    assert not service.distribution_repo.check_duplicate("a", "TikTok")
    # scheduling takes the waiting assignments; it never adds a second one for the same pair
    service.auto_distribute_by_schedule(slots_per_channel=5)
    assert db.query_one("SELECT COUNT(*) FROM distributions")[0] == 2
    # cancelled by the operator: automatic runs do not bring it back
    d = service.distribution_repo.get_by_video("b")[0]
    service.cancel_distribution(d.id, reason="not this one")
    assert service.auto_distribute_by_filters() == []
    assert service.distribution_repo.check_duplicate("b", ch.id) is False


def test_ac4_same_content_or_source_under_another_id_is_a_duplicate(db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="orig", checksum="c" * 64, source_url="https://yt.test/shorts/1"))
    copy_id = registry.register_videos([dict(SHORT, id="copy", file_path="/v/copy.mp4", checksum="c" * 64,
                                              duplicate_allowed=True)])[0]
    reupload = add_videos(registry, dict(SHORT, id="reup", source_url="https://yt.test/shorts/1"))[0]
    ch = channels.create_channel("C", "TikTok", {})
    made = service.auto_distribute_by_filters()
    assert [d.video_id for d in made] == ["orig"]
    codes = {s["video_id"]: s["code"] for s in made.skipped if s["video_id"]}
    assert codes == {copy_id: "same_content", reupload: "same_source"}
    dup = service.distribution_repo.find_duplicate(copy_id, ch.id)
    assert dup.other_video_id == "orig" and "same content" in dup.reason


def test_ac4_published_or_uploading_videos_are_duplicates(db, registry, channels, service, clock):
    add_videos(registry, dict(SHORT, id="done"), dict(SHORT, id="busy"))
    ch = channels.create_channel("C", "TikTok", {})
    for vid, status in (("done", "SUCCESS"), ("busy", "IN_PROGRESS")):
        db.execute("INSERT INTO video_uploads (video_id, channel_id, platform, upload_status, updated_at)"
                   " VALUES (?, ?, 'TikTok', ?, ?)", (vid, ch.id, status, to_iso(clock.now)))
    made = service.auto_distribute_by_filters()
    assert made == []
    assert {s["video_id"]: s["code"] for s in made.skipped if s["video_id"]} == {
        "done": "already_published", "busy": "in_progress"}
    assert service.distribution_repo.check_duplicate("done", ch.id)


# -- AC 5: decisions are logged ----------------------------------------------------------------------------


def test_ac5_every_decision_and_skip_is_an_audit_event(db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="fits"), dict(SHORT, id="misfit", duration=999.0))
    ch = channels.create_channel("C", "TikTok", {"max_duration": 60})
    made = service.auto_distribute_by_filters()
    (assigned,) = db.audit.events("distribution.assigned")
    assert assigned["subject_id"] == made[0].id
    assert assigned["details"]["video_id"] == "fits" and assigned["details"]["channel_id"] == ch.id
    assert "within the 60 s maximum" in assigned["details"]["reason"]["filters"]["max_duration"]
    assert assigned["details"]["reason"]["summary"] == made[0].assignment_reason["summary"]
    unassigned = {e["subject_id"]: e for e in db.audit.events("distribution.unassigned")}
    why = unassigned["misfit"]["details"]["channels"][ch.id]
    assert why["code"] == "no_match" and why["failed"] == ["max_duration"] and "999 s" in why["reason"]
    assert {e["subject_id"] for e in db.audit.events("distribution.channel_skipped")} == {
        "YouTube", "TikTok", "Instagram"}
    (run,) = db.audit.events("distribution.run")
    assert run["details"]["assigned"] == 1 and run["details"]["no_match"] == 1
    history = service.distribution_repo.get_by_video("fits")
    assert history[0].distribution_method == "auto_filter" and history[0].assignment_reason["summary"]


@pytest.mark.parametrize("writes_in", ["this process", "a writer process"])
def test_a_pair_another_process_assigns_meanwhile_is_skipped_not_written_twice(db, registry, channels, service,
                                                                               monkeypatch, writes_in):
    from database import Database
    from orchestration import distribution
    from orchestration.bulk import wait_for_writers

    monkeypatch.setattr(distribution, "_WRITER_PROCESS_MIN", 1 if writes_in == "a writer process" else 10**9)
    add_videos(registry, dict(SHORT, id="a"), dict(SHORT, id="b"))
    ch = channels.create_channel("C", "TikTok", {})
    real = distribution.failure_matrix

    def and_meanwhile(*args, **kwargs):
        # after the run has read the registry, another process assigns "a" to the channel
        other = Database.open(db.path)
        try:
            VideoDistributionService(other).manual_distribute("a", [ch.id], actor="other process")
        finally:
            other.close()
        return real(*args, **kwargs)

    monkeypatch.setattr(distribution, "failure_matrix", and_meanwhile)
    made = service.auto_distribute_by_filters()
    assert [(d.video_id, d.channel_id) for d in made] == [("b", ch.id)]
    lost = [s for s in made.skipped if s["video_id"] == "a" and s["channel_id"] == ch.id]
    assert [s["code"] for s in lost] == ["already_assigned"] and "meanwhile" in lost[0]["reason"]
    rows = db.query("SELECT video_id, method FROM distributions WHERE channel_id = ? ORDER BY video_id", (ch.id,))
    assert [tuple(r) for r in rows] == [("a", "manual"), ("b", "auto_filter")]
    assigned = db.audit.events("distribution.assigned")
    assert sorted(e["details"]["video_id"] for e in assigned if e["actor"] == "system") == ["b"]
    (run,) = db.audit.events("distribution.run")
    assert run["details"]["assigned"] == 1 and run["details"]["duplicates"] == 1
    assert wait_for_writers(timeout=30)


# -- AC 6: manual override ------------------------------------------------------------------------------------


def test_ac6_duplicates_need_force_and_force_is_recorded(db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="v"))
    ch = channels.create_channel("C", "TikTok", {})
    service.manual_distribute("v", [ch.id])
    again = service.manual_distribute("v", [ch.id])
    assert again == [] and again.skipped[0]["code"] == "already_assigned"
    assert "use force" in again.skipped[0]["reason"]
    assert db.audit.events("distribution.skipped")[0]["details"]["code"] == "already_assigned"

    (forced,) = service.manual_distribute("v", [ch.id], force=True, actor="carol", note="re-post for the contest")
    assert forced.forced is True and forced.distribution_method == "manual"
    reason = forced.assignment_reason
    assert reason["by"] == "carol" and reason["note"] == "re-post for the contest"
    assert reason["overrode"][0]["rule"] == "already_assigned"
    assert "forced by carol" in forced.reason_text
    (event,) = db.audit.events("distribution.forced")
    assert event["actor"] == "carol" and event["details"]["forced"] is True
    assert service.get_distribution_statistics()["forced_count"] == 1


def test_force_also_overrides_an_unavailable_channel(db, registry, channels, service):
    add_videos(registry, dict(SHORT, id="v"))
    ch = channels.create_channel("C", "TikTok", {})
    channels.pause_channel(ch.id, "holiday")
    assert service.manual_distribute("v", [ch.id]).skipped[0]["code"] == "channel_unavailable"
    (d,) = service.manual_distribute("v", [ch.id], force=True)
    assert d.assignment_reason["overrode"][0]["rule"] == "channel_unavailable"


def test_duplicate_allowed_videos_pass_the_published_rule_by_hand(db, registry, channels, service, clock):
    add_videos(registry, dict(SHORT, id="v"))
    ch = channels.create_channel("C", "TikTok", {})
    db.execute("INSERT INTO video_uploads (video_id, channel_id, platform, upload_status, updated_at)"
               " VALUES ('v', ?, 'TikTok', 'SUCCESS', ?)", (ch.id, to_iso(clock.now)))
    assert service.manual_distribute("v", [ch.id]).skipped[0]["code"] == "already_published"
    registry.set_duplicate_allowed("v", True)
    (d,) = service.manual_distribute("v", [ch.id])
    assert d.forced is False and d.assignment_reason["duplicate_allowed"][0]["rule"] == "already_published"
    assert service.auto_distribute_by_filters() == []  # automatic runs never re-post


@pytest.mark.parametrize("call,error,field", [
    (lambda s: s.manual_distribute("v", ["C"], scheduled_at=datetime(2026, 3, 27, 11, 59)), ValidationError,
     "scheduled_at"),
    (lambda s: s.manual_distribute("v", ["C"], scheduled_at="tomorrow"), ValidationError, "scheduled_at"),
    (lambda s: s.manual_distribute("v", ["C", "nope"]), ChannelNotFoundError, None),
    (lambda s: s.manual_distribute("nope", ["C"]), VideoNotFoundError, None),
    (lambda s: s.manual_distribute("v", []), ValidationError, "channel_ids"),
    (lambda s: s.manual_distribute("v", [3]), ValidationError, "channel_ids"),
    (lambda s: s.manual_distribute("v", ["C"], force="yes"), ValidationError, "force"),
    (lambda s: s.manual_distribute("gone", ["C"]), ValidationError, "video_id"),
    (lambda s: s.get_distribution_statistics(start_date="soon"), ValidationError, "start_date"),
    (lambda s: s.get_distribution_statistics(start_date=date(2026, 3, 2), end_date=date(2026, 3, 1)),
     ValidationError, "start_date"),
    (lambda s: s.retry_failed_distribution("nope"), DistributionNotFoundError, None),
])
def test_bad_input_gets_a_clear_error_and_changes_nothing(db, registry, channels, service, call, error, field):
    add_videos(registry, dict(SHORT, id="v"), dict(SHORT, id="gone", status="missing"))
    channels.create_channel("C", "TikTok", {})
    before = snapshot(db)
    with pytest.raises(error) as err:
        call(service)
    assert str(err.value)
    if field:
        assert err.value.field == field
    assert snapshot(db) == before


# -- AC 7: errors and retries -------------------------------------------------------------------------------


@pytest.fixture
def clip(registry, make_clip):
    return registry.register_video(str(make_clip("clip.mp4")))


def test_ac7_failed_upload_is_retried_until_it_publishes(db, registry, channels, service, clip, scripts):
    ch = channels.create_channel("C", "TikTok", {})
    (d,) = service.manual_distribute(clip, [ch.id])
    scripts["TikTok"].then(UploadResult.failed("network down", "transient"),
                           UploadResult.failed("still down", "transient"))
    d = service.publish_distribution(d.id)
    assert (d.status, d.error_message, d.retry_count) == ("failed", "network down", 0)
    assert d.can_retry
    d = service.retry_failed_distribution(d.id)
    assert (d.status, d.error_message, d.retry_count) == ("failed", "still down", 1)
    d = service.retry_failed_distribution(d.id)
    assert (d.status, d.error_message, d.retry_count) == ("published", None, 2)
    assert registry.get_upload_status(clip, ch.id)["upload_status"] == "SUCCESS"
    kinds = [e["kind"] for e in db.audit.events("distribution.*")]
    assert kinds.count("distribution.failed") == 2 and kinds.count("distribution.retried") == 2
    assert kinds[-1] == "distribution.published"
    with pytest.raises(ConflictError):
        service.retry_failed_distribution(d.id)  # published: nothing to retry
    stats = service.get_distribution_statistics()
    assert stats["published_count"] == 1 and stats["success_rate"] == 100.0


def test_ac7_retries_stop_at_max_retries_with_a_clear_error(db, registry, channels, service, clip, scripts):
    ch = channels.create_channel("C", "TikTok", {})
    (d,) = service.manual_distribute(clip, [ch.id])
    scripts["TikTok"].then(*[UploadResult.failed(f"fail {i}", "transient") for i in range(4)])
    d = service.publish_distribution(d.id)
    for _ in range(3):
        d = service.retry_failed_distribution(d.id)
    assert (d.status, d.retry_count, d.max_retries) == ("failed", 3, 3) and not d.can_retry
    before = snapshot(db)
    with pytest.raises(ConflictError) as err:
        service.retry_failed_distribution(d.id)
    message = str(err.value)
    assert "retried 3 times" in message and "max_retries=3" in message and "fail 3" in message
    assert snapshot(db) == before
    assert db.audit.events("distribution.retry_refused")


def test_ac7_channel_unavailable(db, registry, channels, service, clip, scripts):
    ch = channels.create_channel("C", "TikTok", {})
    (d,) = service.manual_distribute(clip, [ch.id])
    channels.pause_channel(ch.id, "account review")
    d = service.publish_distribution(d.id)
    assert d.status == "failed" and "account review" in d.error_message
    assert scripts["TikTok"].calls == []
    before = snapshot(db)
    with pytest.raises(ConflictError) as err:
        service.retry_failed_distribution(d.id)
    assert "Resume the channel first" in str(err.value)
    assert snapshot(db) == before
    channels.resume_channel(ch.id)
    assert service.retry_failed_distribution(d.id).status == "published"


def test_publishing_a_scheduled_distribution_early_completes_its_schedule(db, registry, channels, service, clip,
                                                                         scripts):
    ch = channels.create_channel("C", "TikTok", {})
    (d,) = service.manual_distribute(clip, [ch.id], scheduled_at=datetime(2026, 3, 28, 9, 0))
    d = service.publish_distribution(d.id)
    assert d.status == "published"
    assert db.query_one("SELECT status FROM schedules WHERE id = ?", (d.schedule_id,))[0] == "completed"
    with pytest.raises(ConflictError):
        service.publish_distribution(d.id)


def test_login_expiry_during_publish_pauses_the_channel(db, registry, channels, service, clip, scripts):
    ch = channels.create_channel("C", "TikTok", {})
    (d,) = service.manual_distribute(clip, [ch.id])
    scripts["TikTok"].then(UploadResult.failed("please log in", "login_required"))
    d = service.publish_distribution(d.id)
    assert d.status == "failed"
    ch = channels.get_channel(ch.id)
    assert (ch.status, ch.login_state) == ("paused", "required")
    assert service.auto_distribute_by_filters() == []  # skipped while the login is needed


def test_cancel_cancels_the_schedule_and_sync_marks_published(db, registry, channels, service, clock):
    add_videos(registry, dict(SHORT, id="a"), dict(SHORT, id="b"))
    ch = channels.create_channel("C", "TikTok", {})
    a, = service.manual_distribute("a", [ch.id], scheduled_at=datetime(2026, 3, 28, 10, 0))
    b, = service.manual_distribute("b", [ch.id], scheduled_at=datetime(2026, 3, 28, 11, 0))
    a = service.cancel_distribution(a.id, reason="changed my mind")
    assert a.status == "cancelled"
    assert db.query_one("SELECT status FROM schedules WHERE id = ?", (a.schedule_id,))[0] == "cancelled"
    with pytest.raises(ConflictError):
        service.cancel_distribution(a.id)
    db.execute("INSERT INTO video_uploads (video_id, channel_id, platform, upload_status, updated_at)"
               " VALUES ('b', ?, 'TikTok', 'SUCCESS', ?)", (ch.id, to_iso(clock.now)))
    assert service.sync_with_uploads() == 1
    assert service.distribution_repo.get(b.id).status == "published"


# -- AC 8: statistics ---------------------------------------------------------------------------------------


def test_ac8_statistics_by_status_method_channel_and_period(db, registry, channels, service, clock):
    add_videos(registry, *[dict(SHORT, id=f"v{i}") for i in range(4)])
    a = channels.create_channel("A", "TikTok", {}, {"daily": ["23:00"]})
    b = channels.create_channel("B", "YouTube", {"max_duration": 1})
    clock.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    service.auto_distribute_by_filters(video_id="v0")  # v0 -> A
    clock.now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    (m1,) = service.manual_distribute("v1", [b.id])
    (m2,) = service.manual_distribute("v2", [b.id])
    (s1,) = service.auto_distribute_by_schedule(channel_ids=[a.id])  # picks the waiting v0 first
    clock.now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    (s2,) = service.auto_distribute_by_schedule(channel_ids=[a.id])  # a new one: v1
    repo = service.distribution_repo
    repo.set_status(m1.id, "published")
    repo.set_status(m2.id, "failed", error_message="boom")
    repo.set_status(s2.id, "published")

    stats = service.get_distribution_statistics()
    assert stats["total"] == 4
    assert stats["by_status"] == {"assigned": 0, "scheduled": 1, "published": 2, "failed": 1, "cancelled": 0}
    assert stats["by_method"] == {"auto_filter": 1, "auto_schedule": 1, "manual": 2}
    assert stats["success_rate"] == 50.0 and stats["published_count"] == 2 and stats["error_rate"] == 25.0
    assert stats["by_channel"][a.id]["videos"] == 2 and stats["by_channel"][a.id]["success_rate"] == 50.0
    assert stats["by_channel"][b.id] == {
        "channel_id": b.id, "name": "B", "platform": "YouTube", "total": 2, "videos": 2, "videos_published": 1,
        "published": 1, "failed": 1, "success_rate": 50.0}
    assert stats["videos_per_channel"] == {a.id: 2, b.id: 2}

    march_10 = service.get_distribution_statistics(start_date=datetime(2026, 3, 5), end_date=date(2026, 3, 10))
    assert march_10["total"] == 2 and march_10["by_method"]["manual"] == 2
    since = service.get_distribution_statistics(start_date=datetime(2026, 3, 15, tzinfo=UTC))
    assert since["total"] == 1 and since["success_rate"] == 100.0
    only_a = service.get_distribution_statistics(channel_id="A", start_date=datetime(2026, 3, 1),
                                                 end_date=datetime(2026, 3, 1, 12, 0))
    assert only_a["total"] == 1 and only_a["period"]["channel_id"] == a.id
    empty = service.get_distribution_statistics(start_date=datetime(2027, 1, 1))
    assert empty["total"] == 0 and empty["success_rate"] == 0.0
    assert repo.get_statistics()["total"] == 4
    assert [d.id for d in repo.get_by_status("failed")] == [m2.id]
    assert len(repo.get_by_method("manual")) == 2
    assert {d.video_id for d in repo.get_by_channel("B")} == {"v1", "v2"}


def test_two_runs_racing_never_assign_a_pair_twice(db, registry, channels, clock):
    add_videos(registry, *[dict(SHORT, id=f"v{i}") for i in range(60)])
    for i in range(3):
        channels.create_channel(f"C{i}", "TikTok", {})
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            svc = VideoDistributionService(db, clock=clock)
            barrier.wait()
            results.append(len(svc.auto_distribute_by_filters()))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(results) == 180
    assert db.query_one("SELECT COUNT(*), COUNT(DISTINCT video_id || '@' || channel_id) FROM distributions")[:] == (
        180, 180)


def test_schedule_runs_honour_max_channels_per_video(db, registry, channels, clock):
    add_videos(registry, dict(SHORT, id="only"))
    a = channels.create_channel("A", "TikTok", {}, {"daily": ["10:00"]}, priority=2)
    channels.create_channel("B", "YouTube", {}, {"daily": ["10:00"]})
    service = VideoDistributionService(db, clock=clock, max_channels_per_video=1)
    made = service.auto_distribute_by_schedule()
    assert [d.channel_id for d in made] == [a.id]  # channels go by priority; B finds nothing left
    assert [s["code"] for s in made.skipped if s["code"] != "channel_unavailable"] == ["no_video"]


def test_schedules_written_by_distribution_wake_the_scheduler(db, registry, make_clip):
    from datetime import datetime, timedelta, timezone

    from orchestration import ChannelService, VideoDistributionService
    from orchestration.scheduling import add_change_listener, remove_change_listener

    for p in ("YouTube", "TikTok", "Instagram"):
        ChannelService(db).deactivate_channel(p)
    ch = ChannelService(db).create_channel("Wake", "TikTok")
    vid = registry.register_video(str(make_clip("wake.mp4")))
    calls = []
    listener = lambda: calls.append(1)  # noqa: E731
    add_change_listener(listener)
    try:
        VideoDistributionService(db).manual_distribute(vid, [ch.id])
        assert calls == []  # an assignment with no time does not concern the scheduler
        VideoDistributionService(db).manual_distribute(
            vid, [ch.id], scheduled_at=datetime.now(timezone.utc) + timedelta(hours=1))
        assert calls == [1]
    finally:
        remove_change_listener(listener)


def test_every_way_of_making_a_distribution_stamps_it_with_a_new_rev(db, registry, channels, service):
    """The window reads "what changed since rev N"; distributions have no insert trigger to stamp a
    forgotten rev (schema migration 4), so each way of making one must do it."""
    rev = lambda: db.query_one("SELECT value FROM meta WHERE key = 'rev'")[0]  # noqa: E731
    add_videos(registry, dict(SHORT, id="a"), dict(SHORT, id="b"), dict(SHORT, id="c"))
    ch = channels.create_channel("Any", "TikTok", {}, {"daily": ["09:00"]})
    seen = rev()
    for make in (lambda: service.auto_distribute_by_filters(video_id="a"),
                 lambda: service.auto_distribute_by_schedule(),
                 lambda: service.manual_distribute("c", [ch.id], actor="alice")):
        made = make()
        assert made
        revs = {d.id: db.query_one("SELECT rev FROM distributions WHERE id = ?", (d.id,))[0] for d in made}
        assert all(seen < r <= rev() for r in revs.values()), revs
        seen = rev()
    assert not [r[0] for r in db.query(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'distributions' AND sql LIKE '%INSERT%'")]
