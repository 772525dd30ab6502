"""ChannelService: typed channel records, validation that changes nothing, pause/resume, delete."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from database import ChannelNotFoundError, ConflictError, ValidationError, to_iso
from orchestration import ChannelService, ContentFilters
from orchestration.channels import Channel
from orchestration.filters import PostingSchedule
from orchestration.transform import TransformProfile

TABLES = ("videos", "channels", "video_uploads", "distributions", "schedules")


def snapshot(db) -> dict[str, list[tuple]]:
    """Every registry row, to prove a refused call changed nothing."""
    return {t: [tuple(r) for r in db.query(f"SELECT * FROM {t} ORDER BY rowid")] for t in TABLES}


@pytest.fixture
def channels(db):
    return ChannelService(db)


def make(channels, name="Cats Daily", platform="TikTok", **kw):
    kw.setdefault("content_filters", {"min_resolution": "720p", "max_duration": 60})
    kw.setdefault("posting_schedule", {"mon": ["09:00"], "fri": ["18:00"]})
    return channels.create_channel(name, platform, **kw)


def test_create_returns_a_typed_channel_with_parsed_settings(db, channels):
    ch = make(channels, timezone="Europe/Berlin", account="cats@example.test", daily_cap=3, priority=7,
              metadata_template={"title": "{title} #shorts"}, github_repo_url="https://github.com/me/cats",
              transformation_profile={"aspect": "9:16", "width": 1080, "height": 1920, "mode": "crop"})
    assert isinstance(ch, Channel)
    assert isinstance(ch.content_filters, ContentFilters) and ch.content_filters.min_resolution == "720p"
    assert isinstance(ch.posting_schedule, PostingSchedule) and ch.posting_schedule.slots == {
        "mon": ["09:00"], "fri": ["18:00"]}
    assert isinstance(ch.transformation_profile, TransformProfile) and ch.transformation_profile.width == 1080
    assert (ch.platform, ch.timezone, ch.status, ch.daily_cap, ch.priority) == ("TikTok", "Europe/Berlin", "active",
                                                                                3, 7)
    assert ch.posting_schedule.daily_cap == 3  # the columns show through the schedule
    assert ch.metadata_template == {"title": "{title} #shorts"}
    assert ch.is_default is False and isinstance(ch.created_at, datetime)
    assert channels.get_channel(ch.id) == ch
    assert channels.get_channel("cats daily") == ch  # by name, case-insensitively
    row = ch.as_row()
    assert row["id"] == ch.id and isinstance(row["content_filters"], str)
    (event,) = db.audit.events("channel.created")
    assert event["subject_id"] == ch.id and event["details"]["content_filters"]["min_resolution"] == "720p"


def test_platform_names_resolve_to_the_default_channels(channels):
    assert channels.get_channel("tiktok").id == "TikTok"
    assert {c.id for c in channels.list_channels()} == {"YouTube", "TikTok", "Instagram"}
    with pytest.raises(ChannelNotFoundError):
        channels.get_channel("nope")


def test_list_channels_by_status_and_priority(channels):
    a = make(channels, "A", priority=1)
    b = make(channels, "B", priority=9)
    channels.pause_channel(a.id, "holiday")
    active = channels.list_channels(status="active")
    assert active[0].id == b.id and a.id not in {c.id for c in active}
    assert [c.id for c in channels.list_channels(status="paused")] == [a.id]
    assert {c.id for c in channels.list_channels(platform="tiktok")} == {"TikTok", a.id, b.id}
    with pytest.raises(ValidationError) as err:
        channels.list_channels(status="sleeping")
    assert err.value.field == "status"


@pytest.mark.parametrize("kw,field", [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "../etc/passwd"}, "timezone"),
    ({"timezone": ""}, "timezone"),
    ({"content_filters": {"min_resolution": "9000p"}}, "min_resolution"),
    ({"content_filters": {"colour": "blue"}}, "colour"),
    ({"content_filters": "{oops"}, "content_filters"),
    ({"posting_schedule": {"mon": ["24:61"]}}, "slots"),
    ({"platform": "MySpace"}, "platform"),
    ({"name": "  "}, "name"),
    ({"name": "YouTube"}, "name"),
    ({"daily_cap": -1}, "daily_cap"),
    ({"daily_cap": "3"}, "daily_cap"),
    ({"priority": 1.5}, "priority"),
    ({"status": "sleeping"}, "status"),
    ({"login_state": "maybe"}, "login_state"),
    ({"github_repo_url": "ftp://x"}, "github_repo_url"),
    ({"metadata_template": [1]}, "metadata_template"),
    ({"transformation_profile": {"width": 1081, "height": 1920}}, "width"),
    ({"favourite_colour": "blue"}, "favourite_colour"),
    ({"id": "TikTok"}, "id"),
    ({"id": "has space"}, "id"),
    ({"daily_cap": 2, "posting_schedule": {"daily_cap": 3}}, "daily_cap"),
])
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(db, channels, kw, field):
    before = snapshot(db)
    events = len(db.audit.events())
    args = {"name": kw.pop("name", "Fresh"), "platform": kw.pop("platform", "YouTube")}
    with pytest.raises(ValidationError) as err:
        channels.create_channel(**args, **kw)
    assert err.value.field == field
    assert str(err.value)
    assert snapshot(db) == before
    assert len(db.audit.events()) == events


def test_names_are_unique_case_insensitively(db, channels):
    make(channels, "Cats")
    before = snapshot(db)
    with pytest.raises(ConflictError):
        make(channels, "CATS")
    assert snapshot(db) == before


def test_schedule_cap_and_priority_become_columns(channels):
    ch = make(channels, posting_schedule={"daily": ["10:00"], "daily_cap": 2, "priority": 4})
    assert (ch.daily_cap, ch.priority) == (2, 4)
    ch = channels.update_channel(ch.id, daily_cap=5)
    assert ch.daily_cap == 5 and ch.posting_schedule.daily_cap == 5


def test_update_validates_everything_first_and_audits_the_diff(db, channels):
    ch = make(channels)
    before = snapshot(db)
    with pytest.raises(ValidationError) as err:
        channels.update_channel(ch.id, priority=3, timezone="Nowhere/Land")
    assert err.value.field == "timezone"
    with pytest.raises(ValidationError):
        channels.update_channel(ch.id, created_at="yesterday")
    assert snapshot(db) == before

    updated = channels.update_channel(ch.id, timezone="America/New_York", content_filters={"min_views": 10},
                                      name="Cats Nightly", actor="alice")
    assert updated.timezone == "America/New_York" and updated.content_filters.to_dict() == {"min_views": 10}
    assert updated.name == "Cats Nightly" and updated.updated_at >= ch.updated_at
    (event,) = db.audit.events("channel.updated")
    assert event["actor"] == "alice"
    assert set(event["details"]["changes"]) == {"timezone", "content_filters", "name"}
    assert event["details"]["changes"]["timezone"] == {"old": "UTC", "new": "America/New_York"}
    # nothing changed: nothing written, nothing audited
    channels.update_channel(ch.id, timezone="America/New_York")
    assert len(db.audit.events("channel.updated")) == 1


def test_default_channel_keeps_its_platform(channels):
    with pytest.raises(ValidationError) as err:
        channels.update_channel("TikTok", platform="YouTube")
    assert err.value.field == "platform"


def test_pause_and_resume(db, channels):
    ch = make(channels)
    paused = channels.pause_channel(ch.id, "holiday", actor="bob")
    assert (paused.status, paused.status_reason) == ("paused", "holiday")
    assert paused.availability() == (False, "Cats Daily is paused (holiday)")
    resumed = channels.resume_channel(ch.id)
    assert (resumed.status, resumed.status_reason) == ("active", None)
    kinds = [e["kind"] for e in db.audit.events("channel.*")]
    assert kinds == ["channel.created", "channel.paused", "channel.resumed"]
    assert db.audit.events("channel.paused")[0]["actor"] == "bob"


def test_resume_after_login_expired_resets_login_state(db, channels):
    ch = make(channels)
    db.execute("UPDATE channels SET status = 'paused', login_state = 'required', status_reason = 'login required'"
               " WHERE id = ?", (ch.id,))
    assert channels.get_channel(ch.id).availability()[0] is False
    ch = channels.resume_channel(ch.id)
    assert (ch.status, ch.login_state) == ("active", "unknown")


def test_availability_windows(channels):
    ch = make(channels, timezone="Pacific/Auckland",
              posting_schedule={"daily": ["10:00"], "availability_windows": [{"start": "2026-03-01",
                                                                               "end": "2026-03-31"}]})
    # 2026-02-28 11:30 UTC is already 2026-03-01 in Auckland
    assert ch.availability(datetime(2026, 2, 28, 11, 30, tzinfo=timezone.utc))[0] is True
    ok, why = ch.availability(datetime(2026, 2, 28, 10, 0, tzinfo=timezone.utc))
    assert not ok and "outside its availability windows" in why


def _schedule(db, channel_id, status, minutes=60):
    now = datetime.now(timezone.utc)
    db.execute(
        "INSERT INTO schedules (id, channel_id, scheduled_at, schedule_type, status, created_at, updated_at)"
        " VALUES (?, ?, ?, 'independent', ?, ?, ?)",
        (f"s-{status}-{minutes}", channel_id, to_iso(now + timedelta(minutes=minutes)), status, to_iso(now),
         to_iso(now)),
    )


def test_delete_refused_while_live_schedules_unless_cancelled(db, channels):
    ch = make(channels)
    _schedule(db, ch.id, "pending")
    _schedule(db, ch.id, "completed", 5)
    before = snapshot(db)
    with pytest.raises(ConflictError) as err:
        channels.delete_channel(ch.id)
    assert "1 live schedule" in str(err.value) and "cancel" in str(err.value)
    assert snapshot(db) == before
    db.execute("UPDATE schedules SET status = 'cancelled' WHERE id = 's-pending-60'")
    channels.delete_channel(ch.id)
    assert channels.find_channel(ch.id) is None
    assert db.audit.events("channel.deleted")[0]["subject_id"] == ch.id


def test_delete_can_cancel_schedules_but_never_while_executing(db, channels):
    ch = make(channels)
    _schedule(db, ch.id, "scheduled")
    _schedule(db, ch.id, "executing", 1)
    with pytest.raises(ConflictError) as err:
        channels.delete_channel(ch.id, cancel_schedules=True)
    assert "publishing right now" in str(err.value)
    db.execute("UPDATE schedules SET status = 'completed' WHERE status = 'executing'")
    channels.delete_channel(ch.id, cancel_schedules=True)
    assert db.audit.events("channel.deleted")[0]["details"]["schedules_cancelled"] == 1


def test_default_channels_cannot_be_deleted(db, channels):
    before = snapshot(db)
    with pytest.raises(ConflictError):
        channels.delete_channel("Instagram")
    assert snapshot(db) == before
