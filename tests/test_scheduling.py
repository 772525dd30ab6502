"""SchedulingService: seed 002's examples, conflicts, pause/resume/cancel, queries, DST and missed schedules."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone

import pytest

from database import ChannelNotFoundError, ConflictError, NotFoundError, ValidationError, VideoNotFoundError
from orchestration import ChannelService, SchedulingService, VideoDistributionService
from orchestration.scheduling import Schedule, ScheduleConflictError, ScheduleNotFoundError
from orchestration.settings import Settings

UTC = timezone.utc
TABLES = ("videos", "channels", "video_uploads", "distributions", "schedules")
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


def snapshot(db) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in db.query(f"SELECT * FROM {t} ORDER BY rowid")] for t in TABLES}


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def channels(db, clock):
    svc = ChannelService(db, clock=clock)
    made = [svc.create_channel(f"channel-{i}", p, id=f"channel-{i}")
            for i, p in enumerate(["TikTok", "YouTube", "Instagram"], 1)]
    return [c.id for c in made]


@pytest.fixture
def service(db, clock, channels):
    return SchedulingService(db, clock=clock, settings=Settings())


def add_videos(registry, *ids: str) -> list[str]:
    rows = [{"id": v, "file_path": f"/videos/{v}.mp4", "checksum": hashlib.sha256(v.encode()).hexdigest()}
            for v in ids]
    return registry.register_videos(rows)


@pytest.fixture
def video(registry):
    return add_videos(registry, "video-uuid")[0]


# -- seed 002, as written (naive datetimes are UTC; "now" is the injected clock) ----------------------------------


def test_seed_simultaneous_publication(service, channels, video, clock):
    schedules = service.create_simultaneous_schedule(
        video_id="video-uuid",
        channel_ids=["channel-1", "channel-2", "channel-3"],
        scheduled_at=clock.now.replace(tzinfo=None) + timedelta(hours=1),
        wave_id="wave-123",
    )
    assert len(schedules) == 3
    assert all(isinstance(s, Schedule) for s in schedules)
    assert [s.channel_id for s in schedules] == channels
    assert {s.scheduled_at for s in schedules} == {NOW + timedelta(hours=1)}
    assert schedules[0].scheduled_at.tzinfo is not None
    assert {(s.schedule_type, s.status, s.wave_id, s.video_id, s.attempts) for s in schedules} == {
        ("simultaneous", "pending", "wave-123", "video-uuid", 0)}
    assert len({s.coordination_group_id for s in schedules}) == 1 and schedules[0].coordination_group_id


def test_seed_staggered_publication_in_the_order_given(service, channels, video, clock):
    order = ["channel-3", "channel-1", "channel-2"]
    schedules = service.create_staggered_schedule(
        video_id="video-uuid", channel_ids=order, start_time=datetime(2026, 3, 20, 13, 0),
        delay_seconds=3600, wave_id="wave-123")
    assert [s.channel_id for s in schedules] == order
    assert [s.scheduled_at for s in schedules] == [datetime(2026, 3, 20, h, 0, tzinfo=UTC) for h in (13, 14, 15)]
    assert {s.schedule_type for s in schedules} == {"staggered"}
    assert len({s.coordination_group_id for s in schedules}) == 1


def test_seed_independent_schedule_with_and_without_a_video(service, channels, video, clock):
    schedule = service.create_independent_schedule(
        channel_id="channel-1", scheduled_at=clock.now + timedelta(hours=2), video_id="video-uuid")
    assert (schedule.schedule_type, schedule.video_id, schedule.coordination_group_id) == (
        "independent", "video-uuid", None)
    slot = service.create_independent_schedule("channel-2", clock.now + timedelta(hours=2))
    assert slot.video_id is None and slot.status == "pending"
    filled = service.assign_video(slot.id, "video-uuid")
    assert filled.video_id == "video-uuid"


def test_seed_validate_schedule(service, channels, video, clock, tmp_path, registry, db):
    f = tmp_path / "real.mp4"
    f.write_bytes(b"x" * 32)
    real = registry.register_videos([{"id": "real", "file_path": str(f), "checksum": "a" * 64, "size_bytes": 32,
                                      "file_mtime_ns": f.stat().st_mtime_ns}])[0]
    s = service.create_independent_schedule("channel-1", clock.now + timedelta(hours=1), video_id=real)
    validation = service.validate_schedule(s.id)
    assert validation["valid"] is True and validation["issues"] == []

    clock.advance(hours=2)  # now it is in the past, and its channel is paused
    ChannelService(db, clock=clock).pause_channel("channel-1", "holiday")
    validation = service.validate_schedule(s.id)
    assert validation["valid"] is False
    assert any("in the past" in i for i in validation["issues"])
    assert any("paused" in i for i in validation["issues"])

    missing = service.create_independent_schedule("channel-2", clock.now + timedelta(hours=1), video_id=video)
    assert any("not found" in i for i in service.validate_schedule(missing.id)["issues"])
    with pytest.raises(ScheduleNotFoundError):
        service.validate_schedule("nope")


def test_seed_pause_resume_and_cancel(service, channels, registry, clock):
    add_videos(registry, "a", "b", "c")
    s = service.create_independent_schedule("channel-1", clock.now + timedelta(hours=1), video_id="a")
    assert service.pause_schedule(s.id).status == "paused"
    assert service.pause_schedule(s.id).status == "paused"  # idempotent
    assert service.resume_schedule(s.id).status == "pending"

    service.create_independent_schedule("channel-1", clock.now + timedelta(hours=2), video_id="b")
    service.create_independent_schedule("channel-1", clock.now + timedelta(hours=3), video_id="c")
    service.create_independent_schedule("channel-2", clock.now + timedelta(hours=3), video_id="c")
    service.pause_schedule(s.id)
    paused_count = service.pause_channel_schedules("channel-1")
    assert paused_count == 2  # the one already paused is not counted again
    assert service.pause_channel_schedules("channel-1") == 0
    assert {x.status for x in service.get_schedules_by_channel("channel-1")} == {"paused"}
    assert service.get_schedules_by_channel("channel-2")[0].status == "pending"
    resumed_count = service.resume_channel_schedules("channel-1")
    assert resumed_count == 3
    assert {x.status for x in service.get_schedules_by_channel("channel-1")} == {"pending"}

    cancelled = service.cancel_schedule(s.id)
    assert cancelled.status == "cancelled"
    with pytest.raises(ConflictError):
        service.pause_schedule(s.id)
    with pytest.raises(ConflictError):
        service.resume_schedule(s.id)
    with pytest.raises(ScheduleNotFoundError):
        service.cancel_schedule("nope")
    with pytest.raises(ChannelNotFoundError):
        service.pause_channel_schedules("nope")
    kinds = [e["kind"] for e in service.db.audit.events("schedule.*")]
    assert "schedule.paused" in kinds and "schedule.cancelled" in kinds and "schedule.channel_paused" in kinds


def test_seed_queries_by_date_range_channel_and_wave(service, channels, registry, clock):
    add_videos(registry, "a", "b")
    start_date = clock.now
    service.create_simultaneous_schedule("a", ["channel-1", "channel-2"], start_date + timedelta(days=1),
                                         wave_id="wave-2026-01-23-001")
    service.create_independent_schedule("channel-1", start_date + timedelta(days=9), video_id="b")
    end_date = start_date + timedelta(days=7)

    schedules = service.get_schedules_by_date_range(start_date=start_date, end_date=end_date, channel_id="channel-1")
    assert [(s.channel_id, s.video_id) for s in schedules] == [("channel-1", "a")]
    assert len(service.get_schedules_by_date_range(start_date, end_date)) == 2
    assert len(service.get_schedules_by_date_range(date(2026, 3, 20), date(2026, 3, 29))) == 3  # whole days
    with pytest.raises(ValidationError):
        service.get_schedules_by_date_range(end_date, start_date)

    assert len(service.get_schedules_by_channel(channel_id="channel-1", status="pending")) == 2
    assert service.get_schedules_by_channel("channel-1", status="failed") == []
    with pytest.raises(ValidationError):
        service.get_schedules_by_channel("channel-1", status="bogus")

    wave_schedules = service.get_schedules_by_wave("wave-2026-01-23-001")
    assert len(wave_schedules) == 2


def test_seed_failed_schedules_retry_through_the_repository(service, channels, video, clock, db):
    s = service.create_independent_schedule("channel-1", clock.now + timedelta(minutes=5), video_id=video)
    db.execute("UPDATE schedules SET status = 'failed', attempts = 1, error_message = 'boom' WHERE id = ?", (s.id,))
    schedules = service.schedule_repo.get_all(status="failed")
    assert [(x.id, x.error_message) for x in schedules] == [(s.id, "boom")]
    for schedule in schedules:
        if schedule.attempts < 3:
            schedule.status = "pending"
            service.schedule_repo.update(schedule)
    assert service.get_schedule(s.id).status == "pending"
    assert schedule.status == "pending" and schedule.updated_at == clock.now  # the record is refreshed
    assert db.audit.events("schedule.updated")[-1]["details"]["changes"]["status"] == {"old": "failed",
                                                                                      "new": "pending"}


# -- conflicts ---------------------------------------------------------------------------------------------------------


def test_same_video_twice_on_one_channel_is_refused(service, channels, video, clock, db):
    service.create_independent_schedule("channel-1", clock.now + timedelta(hours=1), video_id=video)
    before = snapshot(db)
    with pytest.raises(ScheduleConflictError) as err:
        service.create_independent_schedule("channel-1", clock.now + timedelta(days=2), video_id=video)
    assert [c.kind for c in err.value.conflicts] == ["same_video"]
    assert isinstance(err.value, ConflictError) and "already scheduled" in str(err.value)
    assert snapshot(db) == before
    # on another channel it is fine
    service.create_independent_schedule("channel-2", clock.now + timedelta(days=2), video_id=video)


def test_two_schedules_within_a_minute_on_one_channel_conflict(service, channels, registry, clock):
    add_videos(registry, "a", "b", "c")
    at = clock.now + timedelta(hours=1)
    service.create_independent_schedule("channel-1", at, video_id="a")
    with pytest.raises(ScheduleConflictError) as err:
        service.create_independent_schedule("channel-1", at + timedelta(seconds=59), video_id="b")
    assert [c.kind for c in err.value.conflicts] == ["too_close"]
    with pytest.raises(ScheduleConflictError):
        service.create_independent_schedule("channel-1", at - timedelta(seconds=30))  # an empty slot too
    service.create_independent_schedule("channel-1", at + timedelta(seconds=60), video_id="b")  # a minute is enough
    service.create_independent_schedule("channel-2", at, video_id="c")  # another channel is free
    # a cancelled schedule frees its time
    victim = service.get_schedules_by_channel("channel-2")[0]
    service.cancel_schedule(victim.id)
    service.create_independent_schedule("channel-2", at + timedelta(seconds=10), video_id="c")


def test_past_times_are_refused_as_bad_input(service, channels, video, clock, db):
    before = snapshot(db)
    with pytest.raises(ValidationError) as err:
        service.create_independent_schedule("channel-1", clock.now - timedelta(seconds=1), video_id=video)
    assert err.value.field == "scheduled_at" and "in the past" in str(err.value)
    with pytest.raises(ScheduleConflictError):
        service.create_simultaneous_schedule(video, channels, clock.now)  # "now" is already too late
    assert snapshot(db) == before


def test_group_creation_is_all_or_nothing_and_lists_every_conflict(service, channels, registry, clock, db):
    add_videos(registry, "v", "other")
    at = clock.now + timedelta(hours=1)
    service.create_independent_schedule("channel-1", at, video_id="v")  # same video on channel-1
    service.create_independent_schedule("channel-3", at + timedelta(seconds=20), video_id="other")  # too close
    before = snapshot(db)
    with pytest.raises(ScheduleConflictError) as err:
        service.create_simultaneous_schedule("v", channels, at, wave_id="w")
    kinds = sorted((c.channel_id, c.kind) for c in err.value.conflicts)
    assert kinds == [("channel-1", "same_video"), ("channel-3", "too_close")]
    text = str(err.value)
    assert "2 scheduling conflicts" in text and "channel-1" in text and "channel-3" in text
    assert snapshot(db) == before  # channel-2 was free, but nothing was written

    # staggered: the first time is in the past and a channel is listed twice
    with pytest.raises(ScheduleConflictError) as err:
        service.create_staggered_schedule("other", ["channel-2", "channel-2"], clock.now - timedelta(minutes=1), 600)
    assert sorted(c.kind for c in err.value.conflicts) == ["past", "same_video"]
    assert err.value.field == "start_time"
    assert snapshot(db) == before


def test_the_channel_spacing_widens_the_conflict_window(service, db, clock, registry):
    add_videos(registry, "a", "b")
    ch = ChannelService(db, clock=clock).create_channel("Spaced", "TikTok", min_spacing_seconds=600)
    at = clock.now + timedelta(hours=1)
    service.create_independent_schedule(ch.id, at, video_id="a")
    with pytest.raises(ScheduleConflictError) as err:
        service.create_independent_schedule(ch.id, at + timedelta(minutes=5), video_id="b")
    assert "600 s" in str(err.value)


def test_bad_input_gets_typed_errors_and_changes_nothing(service, channels, video, clock, db):
    later = clock.now + timedelta(hours=1)
    before = snapshot(db)
    with pytest.raises(VideoNotFoundError):
        service.create_simultaneous_schedule("nope", channels, later)
    with pytest.raises(ChannelNotFoundError):
        service.create_simultaneous_schedule(video, ["channel-1", "nope"], later)
    with pytest.raises(ValidationError) as err:
        service.create_simultaneous_schedule(video, [], later)
    assert err.value.field == "channel_ids"
    with pytest.raises(ValidationError) as err:
        service.create_staggered_schedule(video, channels, later, delay_seconds=-5)
    assert err.value.field == "delay_seconds"
    with pytest.raises(ValidationError) as err:
        service.create_simultaneous_schedule(video, channels, "tomorrow")
    assert err.value.field == "scheduled_at"
    with pytest.raises(ValidationError) as err:
        service.create_simultaneous_schedule(video, channels, later, wave_id="")
    assert err.value.field == "wave_id"
    assert snapshot(db) == before
    # ISO text and platform names are accepted
    made = service.create_simultaneous_schedule(video, ["TikTok"], "2026-03-21T09:00:00+01:00")
    assert made[0].scheduled_at == datetime(2026, 3, 21, 8, 0, tzinfo=UTC) and made[0].channel_id == "TikTok"


def test_update_applies_the_same_rules(service, channels, registry, clock, db):
    add_videos(registry, "a", "b")
    a = service.create_independent_schedule("channel-1", clock.now + timedelta(hours=1), video_id="a")
    b = service.create_independent_schedule("channel-1", clock.now + timedelta(hours=2), video_id="b")
    b.scheduled_at = a.scheduled_at + timedelta(seconds=30)
    with pytest.raises(ScheduleConflictError):
        service.schedule_repo.update(b)
    b.scheduled_at = clock.now - timedelta(hours=1)
    with pytest.raises(ValidationError):
        service.schedule_repo.update(b)
    b.scheduled_at = clock.now + timedelta(hours=5)
    assert service.schedule_repo.update(b).scheduled_at == clock.now + timedelta(hours=5)
    b.status = "executing"
    with pytest.raises(ValidationError):
        service.schedule_repo.update(b)
    db.execute("UPDATE schedules SET status = 'completed' WHERE id = ?", (a.id,))
    fresh = service.get_schedule(a.id)
    fresh.status = "pending"
    with pytest.raises(ConflictError):
        service.schedule_repo.update(fresh)


def test_scheduling_an_assignment_links_and_advances_the_distribution(service, channels, video, db, clock):
    dist = VideoDistributionService(db, clock=clock)
    (assigned,) = dist.manual_distribute(video, ["channel-1"])
    assert assigned.status == "assigned"
    (s,) = service.create_simultaneous_schedule(video, ["channel-1"], clock.now + timedelta(hours=1))
    assert s.distribution_id == assigned.id
    got = dist.distribution_repo.get(assigned.id)
    assert got.status == "scheduled" and got.schedule_id == s.id
    service.cancel_schedule(s.id)
    assert dist.distribution_repo.get(assigned.id).status == "cancelled"


def test_distribution_writes_through_the_scheduling_rules(service, channels, registry, db, clock):
    """Distribution and scheduling share one conflict rule: each sees the other's schedules."""
    add_videos(registry, "a", "b")
    at = clock.now + timedelta(hours=1)
    service.create_independent_schedule("channel-1", at, video_id="a")
    made = VideoDistributionService(db, clock=clock).manual_distribute("b", ["channel-1"],
                                                                       scheduled_at=at + timedelta(seconds=30))
    assert made == [] and made.skipped[0]["code"] == "schedule_conflict"
    made = VideoDistributionService(db, clock=clock).manual_distribute("b", ["channel-2"], scheduled_at=at)
    with pytest.raises(ScheduleConflictError):
        service.create_independent_schedule("channel-2", at, video_id="a")
    assert made[0].schedule_id in {s.id for s in service.get_schedules_by_channel("channel-2")}


# -- channel slots across daylight-saving changes ----------------------------------------------------------------------


@pytest.fixture
def paris(db, clock):
    return ChannelService(db, clock=clock).create_channel(
        "Paris", "TikTok", posting_schedule={"daily": ["09:00", "02:30"]}, timezone="Europe/Paris")


def test_slots_keep_their_local_time_when_clocks_go_forward(service, paris, clock):
    clock.now = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    made = service.create_slot_schedules(paris.id, days=3, start=date(2026, 3, 28))
    local = [s.scheduled_at.astimezone(paris.zone).strftime("%m-%d %H:%M %Z") for s in made]
    # 02:30 does not exist on 29 March (02:00 -> 03:00): it moves forward by the gap
    assert local == ["03-28 02:30 CET", "03-28 09:00 CET", "03-29 03:30 CEST", "03-29 09:00 CEST",
                     "03-30 02:30 CEST", "03-30 09:00 CEST"]
    nine = [s.scheduled_at for s in made if s.scheduled_at.astimezone(paris.zone).hour == 9]
    assert nine == [datetime(2026, 3, 28, 8, 0, tzinfo=UTC), datetime(2026, 3, 29, 7, 0, tzinfo=UTC),
                    datetime(2026, 3, 30, 7, 0, tzinfo=UTC)]
    assert {s.schedule_type for s in made} == {"independent"} and {s.video_id for s in made} == {None}
    again = service.create_slot_schedules(paris.id, days=3, start=date(2026, 3, 28))
    assert again == [] and len(again.skipped) == 6  # taken slots are not doubled


def test_slots_keep_their_local_time_when_clocks_go_back(service, paris, clock):
    clock.now = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)
    made = service.create_slot_schedules(paris.id, days=3, start=date(2026, 10, 24))
    got = [s.scheduled_at for s in made]
    assert got == [
        datetime(2026, 10, 24, 0, 30, tzinfo=UTC), datetime(2026, 10, 24, 7, 0, tzinfo=UTC),   # CEST
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 happens twice on 25 October: once, the first time
        datetime(2026, 10, 25, 8, 0, tzinfo=UTC),   # 09:00 CET
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC), datetime(2026, 10, 26, 8, 0, tzinfo=UTC),
    ]
    assert {s.scheduled_at.astimezone(paris.zone).strftime("%H:%M") for s in made} == {"02:30", "09:00"}


def test_past_slots_are_left_out(service, paris, clock):
    clock.now = datetime(2026, 3, 28, 5, 0, tzinfo=UTC)  # 06:00 in Paris: 02:30 has passed today
    made = service.create_slot_schedules(paris.id, days=1)
    assert [s.scheduled_at for s in made] == [datetime(2026, 3, 28, 8, 0, tzinfo=UTC)]
    assert made.skipped[0]["code"] == "past"


def test_a_stagger_across_the_change_is_real_elapsed_time(service, channels, video, clock):
    clock.now = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    made = service.create_staggered_schedule(video, channels, datetime(2026, 3, 29, 0, 30), 3600)
    assert [s.scheduled_at - made[0].scheduled_at for s in made] == [timedelta(hours=h) for h in (0, 1, 2)]


# -- missed schedules --------------------------------------------------------------------------------------------------


@pytest.fixture
def wave(service, channels, registry, clock):
    add_videos(registry, "w")
    return service.create_staggered_schedule("w", channels, clock.now + timedelta(minutes=10), 600, wave_id="wave-1")


def test_start_up_runs_late_ones_and_marks_old_ones_missed(service, wave, clock, db):
    # the app was closed; it starts 25 minutes after the first: 10:00, 10:10, 10:20 -> +15 min grace
    clock.now = wave[0].scheduled_at + timedelta(minutes=25)
    report = service.recover()
    assert report["missed"] == [wave[0].id]  # 25 min late, beyond the 15 min grace
    assert sorted(report["late"]) == sorted([wave[1].id, wave[2].id])
    assert [service.get_schedule(s.id).status for s in wave] == ["missed", "pending", "pending"]
    event = db.audit.events("schedule.missed")[-1]
    assert event["subject_id"] == wave[0].id and "waits for a decision" in event["message"]
    # never run silently: executing the due schedules leaves the missed one alone
    assert service.get_schedule(wave[0].id).status == "missed"
    assert service.recover()["missed"] == []  # idempotent


def test_the_grace_window_is_a_setting(db, wave, clock):
    clock.now = wave[0].scheduled_at + timedelta(minutes=25)
    svc = SchedulingService(db, clock=clock, settings=Settings(missed_grace_seconds=3600))
    assert svc.recover()["missed"] == []
    svc = SchedulingService(db, clock=clock, settings=Settings(missed_grace_seconds=0))
    assert len(svc.recover()["missed"]) == 3


def test_missed_choice_shift_the_wave_keeping_its_stagger(service, wave, clock, db):
    clock.now = wave[-1].scheduled_at + timedelta(hours=2)
    assert len(service.recover()["missed"]) == 3
    new_start = clock.now + timedelta(hours=1)
    shifted = service.shift_wave("wave-1", new_start)
    assert [s.scheduled_at for s in shifted] == [new_start + timedelta(minutes=m) for m in (0, 10, 20)]
    assert {s.status for s in shifted} == {"pending"}
    assert db.audit.events("schedule.wave_shifted")
    # by coordination group too, refused into the past, and all or nothing
    with pytest.raises(ValidationError):
        service.shift_wave(shifted[0].coordination_group_id, clock.now - timedelta(minutes=1))
    with pytest.raises(NotFoundError):
        service.shift_wave("no-such-wave", new_start)


def test_missed_choice_skip(service, wave, clock, db):
    clock.now = wave[-1].scheduled_at + timedelta(hours=2)
    service.recover()
    skipped = service.skip_missed(wave[0].id, reason="too old")
    assert skipped.status == "cancelled" and "skipped" in skipped.error_message
    assert db.audit.events("schedule.skipped")[-1]["subject_id"] == wave[0].id
    with pytest.raises(ConflictError):
        service.skip_missed(wave[0].id)  # not missed any more
    # shifting what is left moves only the two still missed
    assert len(service.shift_wave("wave-1", clock.now + timedelta(hours=1))) == 2


def test_resuming_long_after_the_time_makes_it_missed(service, channels, video, clock):
    s = service.create_independent_schedule("channel-1", clock.now + timedelta(minutes=5), video_id=video)
    service.pause_schedule(s.id)
    clock.advance(hours=3)
    assert service.resume_schedule(s.id).status == "missed"
