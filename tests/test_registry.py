"""The seed 003 registry API and the upload rules it owns."""

from __future__ import annotations

import json
import os
import random
from datetime import datetime, timedelta, timezone

import pytest

from database import (
    ChannelNotFoundError,
    Database,
    ErrorKind,
    IllegalTransitionError,
    RetryPolicy,
    UploadStatus,
    ValidationError,
    VideoFileError,
    VideoIdConflictError,
    VideoNotFoundError,
    can_transition,
    check_transition,
)

S = UploadStatus


def snapshot(db: Database) -> dict:
    """Everything in the registry, to prove a failed call changed nothing."""
    out = {}
    for table in ("videos", "channels", "video_uploads", "distributions", "schedules", "meta"):
        out[table] = [tuple(r) for r in db.query(f"SELECT * FROM {table} ORDER BY 1")]
    return out


# -- the seed's examples -------------------------------------------------------------------


def test_seed_examples_work_as_written(registry, make_clip):
    clip = make_clip("clip_001.mp4")
    assert registry.register_video(str(clip)) == "clip_001"

    videos = registry.get_all_videos()
    assert [v["id"] for v in videos] == ["clip_001"]
    assert videos[0]["title"] == "clip_001"
    assert videos[0]["uploads"] == {}

    status = registry.get_upload_status("clip_001", "Instagram")
    assert status["upload_status"] is None and status["upload_timestamp"] is None
    assert status["channel_id"] == "Instagram"

    can, reason = registry.can_upload("clip_001", "Instagram")
    assert (can, reason) == (True, "OK")

    registry.set_duplicate_allowed("clip_001", True)
    assert registry.get_video("clip_001")["duplicate_allowed"] is True


def test_register_video_records_real_metadata(registry, make_clip):
    clip = make_clip("short.mp4", width=64, height=112, seconds=1.0, fps=10)
    vid = registry.register_video(str(clip), title="My short")
    v = registry.get_video(vid)
    assert v["title"] == "My short"
    assert (v["width"], v["height"]) == (64, 112)
    assert v["duration"] == pytest.approx(1.0, abs=0.2)
    assert v["fps"] == pytest.approx(10, abs=0.5)
    import hashlib

    assert v["checksum"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert v["size_bytes"] == clip.stat().st_size
    assert v["status"] == "ready"
    assert v["thumbnail_path"] and open(v["thumbnail_path"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_same_content_is_registered_once(registry, make_clip, tmp_path):
    clip = make_clip("a.mp4")
    copy = tmp_path / "copy_of_a.mp4"
    copy.write_bytes(clip.read_bytes())
    first = registry.register_video(str(clip))
    assert registry.register_video(str(copy)) == first
    assert registry.count() == 1
    # an explicit duplicate is a new row with its own id
    second = registry.register_video(str(copy), duplicate_allowed=True)
    assert second != first and registry.count() == 2


def test_ids_come_from_file_names_and_stay_unique(registry, make_clip, tmp_path):
    a = make_clip("dir1/my clip #1.mp4", seed=1)
    b = make_clip("dir2/my clip #1.mp4", seed=2)
    assert registry.register_video(str(a)) == "my_clip_1"
    assert registry.register_video(str(b)) == "my_clip_1_2"


def test_explicit_id_taken_by_other_content_is_refused(registry, make_clip, db):
    a, b = make_clip("a.mp4", seed=1), make_clip("b.mp4", seed=2)
    registry.register_video(str(a), video_id="clip_001")
    assert registry.register_video(str(a), video_id="clip_001") == "clip_001"  # idempotent
    before = snapshot(db)
    with pytest.raises(VideoIdConflictError, match="clip_001"):
        registry.register_video(str(b), video_id="clip_001")
    assert snapshot(db) == before


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "dir"])
def test_bad_files_are_refused_and_change_nothing(registry, db, tmp_path, kind):
    path = tmp_path / "bad.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("not a video\n" * 50)
    elif kind == "dir":
        path.mkdir()
    before = snapshot(db)
    with pytest.raises(VideoFileError) as info:
        registry.register_video(str(path))
    assert str(path) in str(info.value) and info.value.reason
    assert snapshot(db) == before


def test_unknown_ids_raise_typed_errors(registry):
    with pytest.raises(VideoNotFoundError, match="nope"):
        registry.get_video("nope")
    with pytest.raises(VideoNotFoundError):
        registry.get_upload_status("nope", "YouTube")
    with pytest.raises(VideoNotFoundError):
        registry.set_duplicate_allowed("nope", True)
    registry.register_videos([{"file_path": "/v/x.mp4", "checksum": "1" * 64}])
    with pytest.raises(ChannelNotFoundError, match="MySpace"):
        registry.get_upload_status("x", "MySpace")


def test_platform_names_resolve_to_default_channels(registry, db):
    registry.register_videos([{"file_path": "/v/x.mp4", "checksum": "1" * 64}])
    for ref in ("Instagram", "instagram", " INSTAGRAM "):
        assert registry.get_upload_status("x", ref)["channel_id"] == "Instagram"
    db.execute(
        "INSERT INTO channels (id, name, platform, created_at, updated_at) VALUES ('ch_a', 'Cats TT', 'TikTok', 'x', 'x')"
    )
    assert registry.get_upload_status("x", "ch_a")["channel_id"] == "ch_a"
    assert registry.get_upload_status("x", "cats tt")["channel_id"] == "ch_a"
    assert registry.get_upload_status("x", "TikTok")["channel_id"] == "TikTok"


# -- bulk registration -------------------------------------------------------------------------


def test_register_videos_bulk_in_one_transaction(registry, db):
    rows = [
        {"file_path": f"/v/clip_{i:03}.mp4", "checksum": f"{i:064x}", "duration": 10.0 + i,
         "width": 1080, "height": 1920, "tags": ["cats"]}
        for i in range(500)
    ]
    ids = registry.register_videos(rows)
    assert ids == [f"clip_{i:03}" for i in range(500)]
    assert registry.count() == 500
    v = registry.get_video("clip_042")
    assert v["duration"] == 52.0 and v["tags"] == ["cats"]
    # again: nothing new, same ids back
    assert registry.register_videos(rows) == ids
    assert registry.count() == 500
    # repeated content inside one batch resolves to the first row
    more = registry.register_videos([
        {"file_path": "/v/new.mp4", "checksum": "f" * 64},
        {"file_path": "/v/new_copy.mp4", "checksum": "f" * 64},
    ])
    assert more == ["new", "new"]


@pytest.mark.parametrize("bad,field", [
    ({"checksum": "x"}, "file_path"),
    ({"file_path": "/a.mp4", "duration": -1}, "duration"),
    ({"file_path": "/a.mp4", "width": "wide"}, "width"),
    ({"file_path": "/a.mp4", "tags": [1, 2]}, "tags"),
    ({"file_path": "/a.mp4", "colour": "red"}, "colour"),
    ({"file_path": "/a.mp4", "status": "great"}, "status"),
])
def test_bulk_bad_row_names_the_field_and_writes_nothing(registry, db, bad, field):
    before = snapshot(db)
    with pytest.raises(ValidationError) as info:
        registry.register_videos([{"file_path": "/ok.mp4", "checksum": "a" * 64}, bad])
    assert info.value.field == field and "row 1" in str(info.value)
    assert snapshot(db) == before


def test_bulk_explicit_id_conflict_rolls_back(registry, db):
    registry.register_videos([{"id": "x", "file_path": "/x.mp4", "checksum": "1" * 64}])
    before = snapshot(db)
    with pytest.raises(VideoIdConflictError):
        registry.register_videos([
            {"file_path": "/fine.mp4", "checksum": "2" * 64},
            {"id": "x", "file_path": "/other.mp4", "checksum": "3" * 64},
        ])
    assert snapshot(db) == before


# -- transitions and retry counting --------------------------------------------------------------


def test_transition_table():
    assert can_transition(None, S.IN_PROGRESS)
    assert can_transition(S.IN_PROGRESS, S.SUCCESS)
    assert not can_transition(S.PENDING, S.SUCCESS)  # nothing succeeds without being attempted
    assert not can_transition(S.FAILED_FINAL, S.IN_PROGRESS)
    assert can_transition(S.FAILED_FINAL, S.IN_PROGRESS, manual=True)
    assert not can_transition(S.UNKNOWN, S.IN_PROGRESS)
    assert can_transition(S.UNKNOWN, S.SUCCESS)
    assert not can_transition(S.LOGIN_REQUIRED, S.IN_PROGRESS)
    with pytest.raises(IllegalTransitionError, match="only a manual upload"):
        check_transition("FAILED_FINAL", "IN_PROGRESS")
    with pytest.raises(IllegalTransitionError, match="not uploaded"):
        check_transition(None, "SUCCESS")
    with pytest.raises(ValueError):
        check_transition(None, "DONE")


def test_retry_policy_counts_like_the_seed():
    policy = RetryPolicy(base_delay=60, max_delay=3600, jitter=0.25)
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rng = random.Random(7)
    count, seen = 0, []
    for _ in range(4):
        status, count, nxt = policy.after_failure(count, ErrorKind.TRANSIENT, now, rng=rng)
        seen.append((status, count))
    assert seen == [(S.FAILED, 1), (S.FAILED, 2), (S.FAILED, 3), (S.FAILED_FINAL, 4)]
    assert policy.after_failure(0, "permanent", now)[:2] == (S.FAILED_FINAL, 1)
    until = now + timedelta(minutes=7)
    assert policy.after_failure(2, "rate_limited", now, retry_after=until) == (S.RATE_LIMITED, 2, until)
    assert policy.after_failure(1, "login_required", now) == (S.LOGIN_REQUIRED, 1, None)


def test_backoff_grows_exponentially_with_bounded_jitter():
    policy = RetryPolicy(base_delay=60, max_delay=600, jitter=0.25)
    rng = random.Random(1)
    for n, nominal in ((1, 60), (2, 120), (3, 240), (4, 480), (5, 600), (9, 600)):
        delays = {policy.backoff(n, rng).total_seconds() for _ in range(50)}
        assert min(delays) >= nominal * 0.75 and max(delays) <= nominal * 1.25
        assert len(delays) > 10  # jittered, not lockstep


def _claim(registry, vid, channel="YouTube", manual=False, owner="t", now=None):
    rec, verdict = registry.uploads.claim(vid, channel, owner=owner, manual=manual, now=now)
    return rec, verdict


def test_failures_go_to_failed_final_on_the_fourth(registry, make_clip):
    vid = registry.register_video(str(make_clip("c.mp4")))
    now = datetime.now(timezone.utc)
    statuses = []
    for attempt in range(4):
        rec, verdict = _claim(registry, vid, now=now)
        assert rec is not None, verdict.reason
        rec = registry.uploads.record_failure(rec, kind="transient", message=f"boom {attempt}", owner="t", now=now)
        statuses.append((rec.upload_status, rec.retry_count))
        if rec.next_attempt_at:
            now = datetime.fromisoformat(rec.next_attempt_at) + timedelta(seconds=1)
    assert statuses == [("FAILED", 1), ("FAILED", 2), ("FAILED", 3), ("FAILED_FINAL", 4)]
    # automatic retries stop; a manual upload may still go
    ok, reason = registry.can_upload(vid, "YouTube", automatic=True, now=now)
    assert not ok and "FAILED_FINAL" in reason and "manual" in reason
    assert registry.can_upload(vid, "YouTube", now=now)[0]
    rec, _ = _claim(registry, vid, manual=True, now=now)
    rec = registry.uploads.record_success(rec, post_id="YT123", post_url="https://youtu.be/YT123", owner="t")
    st = registry.get_upload_status(vid, "YouTube")
    assert st["upload_status"] == "SUCCESS" and st["platform_post_id"] == "YT123"


def test_retry_waits_for_next_attempt(registry, make_clip):
    vid = registry.register_video(str(make_clip("c.mp4")))
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    rec, _ = _claim(registry, vid, now=now)
    rec = registry.uploads.record_failure(rec, kind="transient", message="timeout", owner="t", now=now)
    nxt = datetime.fromisoformat(rec.next_attempt_at)
    assert timedelta(seconds=40) <= nxt - now <= timedelta(seconds=80)
    ok, reason = registry.can_upload(vid, "YouTube", automatic=True, now=now)
    assert not ok and "waits for its retry" in reason
    assert registry.uploads.due_retries(now) == []
    assert [r.video_id for r in registry.uploads.due_retries(nxt)] == [vid]
    assert registry.can_upload(vid, "YouTube", automatic=True, now=nxt)[0]


def test_only_the_owner_records_the_outcome(registry, make_clip):
    vid = registry.register_video(str(make_clip("c.mp4")))
    rec, _ = _claim(registry, vid, owner="worker-1")
    with pytest.raises(IllegalTransitionError, match="held by worker-1"):
        registry.uploads.record_success(rec, post_id="x", owner="worker-2")
    assert registry.get_upload_status(vid, "YouTube")["upload_status"] == "IN_PROGRESS"


def test_success_cannot_be_recorded_twice(registry, make_clip):
    vid = registry.register_video(str(make_clip("c.mp4")))
    rec, _ = _claim(registry, vid)
    registry.uploads.record_success(rec, post_id="1", owner="t")
    with pytest.raises(IllegalTransitionError):
        registry.uploads.record_success(rec, post_id="2", owner="t")
    assert registry.get_upload_status(vid, "YouTube")["platform_post_id"] == "1"


# -- every can_upload reason ------------------------------------------------------------------


def test_can_upload_unknown_video(registry):
    ok, reason = registry.can_upload("ghost", "YouTube")
    assert not ok and "not in the registry" in reason


def test_can_upload_missing_file(registry, make_clip):
    clip = make_clip("c.mp4")
    vid = registry.register_video(str(clip))
    clip.unlink()
    ok, reason = registry.can_upload(vid, "TikTok")
    assert not ok and reason.startswith("Video file not found") and str(clip) in reason


def test_can_upload_changed_file(registry, make_clip):
    clip = make_clip("c.mp4")
    vid = registry.register_video(str(clip))
    with open(clip, "ab") as f:
        f.write(b"extra bytes")
    ok, reason = registry.can_upload(vid, "TikTok")
    assert not ok and "changed since it was registered" in reason


def test_touched_but_identical_file_is_fine(registry, make_clip, db):
    clip = make_clip("c.mp4")
    vid = registry.register_video(str(clip))
    st = clip.stat()
    os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert registry.can_upload(vid, "TikTok") == (True, "OK")
    # the new mtime is remembered, so the next check does not hash again
    assert db.query_one("SELECT file_mtime_ns FROM videos WHERE id = ?", (vid,))[0] == clip.stat().st_mtime_ns
    # same size, different bytes, new mtime: detected by the checksum
    data = bytearray(clip.read_bytes())
    data[-1] ^= 0xFF
    clip.write_bytes(bytes(data))
    ok, reason = registry.can_upload(vid, "TikTok")
    assert not ok and "checksum" in reason


def test_can_upload_success_and_in_progress(registry, make_clip):
    vid = registry.register_video(str(make_clip("c.mp4")))
    rec, _ = _claim(registry, vid, channel="Instagram")
    ok, reason = registry.can_upload(vid, "Instagram")
    assert not ok and "in progress" in reason
    registry.uploads.record_success(rec, post_id="IG1", owner="t")
    ok, reason = registry.can_upload(vid, "Instagram")
    assert not ok and reason.startswith("Duplicate") and "IG1" in reason
    # other platforms are unaffected
    assert registry.can_upload(vid, "TikTok") == (True, "OK")
    # allow-duplicates lifts the duplicate rule, not the in-progress one
    registry.set_duplicate_allowed(vid, True)
    assert registry.can_upload(vid, "Instagram")[0]
    _claim(registry, vid, channel="Instagram")
    ok, reason = registry.can_upload(vid, "Instagram")
    assert not ok and "in progress" in reason


@pytest.mark.parametrize("rule", ["checksum", "source_url"])
def test_can_upload_same_content_under_another_id(registry, make_clip, tmp_path, rule):
    url = "https://www.tiktok.com/@someone/video/7300000000000000001"
    a_path = make_clip("a.mp4", seed=1)
    a = registry.register_file(a_path, source_url=url).video_id
    if rule == "checksum":
        b_path = tmp_path / "b.mp4"
        b_path.write_bytes(a_path.read_bytes())
        b = registry.register_file(b_path, duplicate_allowed=True).video_id
        registry.set_duplicate_allowed(b, False)
    else:
        b = registry.register_file(make_clip("b.mp4", seed=2), source_url=url).video_id
    assert a != b
    rec, _ = _claim(registry, a, channel="YouTube")
    ok, reason = registry.can_upload(b, "YouTube")
    assert not ok and f"'{a}'" in reason and "being uploaded" in reason
    registry.uploads.record_success(rec, post_id="YT1", owner="t")
    verdict = registry.check_upload(b, "YouTube")
    assert not verdict.allowed and f"'{a}'" in verdict.reason and "published" in verdict.reason
    assert verdict.code == ("duplicate_content" if rule == "checksum" else "duplicate_source")
    assert registry.can_upload(b, "TikTok") == (True, "OK")
    registry.set_duplicate_allowed(b, True)
    assert registry.can_upload(b, "YouTube")[0]


def _twin_flags_hold(db) -> None:
    """content_twin is 1 exactly on videos whose checksum another video also has."""
    rows = db.query(
        "SELECT v.id, v.content_twin, (SELECT COUNT(*) FROM videos o WHERE o.checksum = v.checksum) > 1"
        " FROM videos v")
    wrong = [(r[0], r[1], r[2]) for r in rows if r[1] != r[2]]
    assert not wrong


def test_the_content_twin_flag_follows_every_write_that_can_make_or_end_a_twin(registry, db):
    rng = random.Random(11)
    sums = [f"{i:064x}" for i in range(6)]
    n = 0
    for step in range(120):
        op = rng.random()
        ids = [r[0] for r in db.query("SELECT id FROM videos")]
        if op < 0.5 or not ids:
            n += 1
            rows = [{"file_path": f"/clips/v{n}_{k}.mp4", "checksum": rng.choice(sums + [None]),
                     "duplicate_allowed": True} for k in range(rng.randint(1, 3))]
            registry.register_videos(rows)
        elif op < 0.8:  # a file re-hashed after an edit, or its checksum cleared
            with db.transaction() as tx:
                tx.execute("UPDATE videos SET checksum = ? WHERE id = ?", (rng.choice(sums + [None]), rng.choice(ids)))
        else:
            with db.transaction() as tx:
                tx.execute("DELETE FROM videos WHERE id = ?", (rng.choice(ids),))
        _twin_flags_hold(db)
    twins = db.query_one("SELECT COUNT(*) FROM videos WHERE content_twin = 1")[0]
    assert 0 < twins < db.query_one("SELECT COUNT(*) FROM videos")[0]  # both kinds were exercised


def test_a_twin_made_by_a_checksum_change_is_still_refused_as_the_same_content(registry, db, make_clip):
    a_path, b_path = make_clip("a.mp4", seed=1), make_clip("b.mp4", seed=2)
    a = registry.register_file(a_path).video_id
    b = registry.register_file(b_path).video_id
    rec, _ = _claim(registry, a, channel="TikTok")
    registry.uploads.record_success(rec, post_id="TT1", owner="t")
    assert registry.can_upload(b, "TikTok") == (True, "OK")
    b_path.write_bytes(a_path.read_bytes())  # b's file now holds a's bytes, and is hashed again
    st = b_path.stat()
    with db.transaction() as tx:
        tx.execute("UPDATE videos SET checksum = (SELECT checksum FROM videos WHERE id = ?), size_bytes = ?,"
                   " file_mtime_ns = ? WHERE id = ?", (a, st.st_size, st.st_mtime_ns, b))
    verdict = registry.check_upload(b, "TikTok")
    assert verdict.code == "duplicate_content" and f"'{a}'" in verdict.reason


def test_opening_an_older_registry_marks_the_twins_it_already_has(tmp_path):
    from database.schema import REGISTRY_MIGRATIONS

    path = tmp_path / "database" / "videos.db"
    with Database(path, REGISTRY_MIGRATIONS[:2]) as old:
        now = "2026-11-01T00:00:00+00:00"
        with old.transaction() as tx:
            tx.executemany(
                "INSERT INTO videos (id, file_path, created_at, updated_at, checksum) VALUES (?, ?, ?, ?, ?)",
                [("a", "/a.mp4", now, now, "1" * 64), ("b", "/b.mp4", now, now, "1" * 64),
                 ("c", "/c.mp4", now, now, "2" * 64), ("d", "/d.mp4", now, now, None)])
    with Database.open(path) as db:
        assert dict(db.query("SELECT id, content_twin FROM videos")) == {"a": 1, "b": 1, "c": 0, "d": 0}
        _twin_flags_hold(db)


def test_can_upload_rate_limited_channel(registry, make_clip):
    a = registry.register_video(str(make_clip("a.mp4", seed=1)))
    b = registry.register_video(str(make_clip("b.mp4", seed=2)))
    now = datetime.now(timezone.utc)
    rec, _ = _claim(registry, a, channel="TikTok", now=now)
    until = now + timedelta(minutes=30)
    rec = registry.uploads.record_failure(rec, kind="rate_limited", message="Too many attempts", owner="t",
                                          retry_after=until, now=now)
    assert rec.upload_status == "RATE_LIMITED" and rec.retry_count == 0
    for vid in (a, b):  # the whole channel cools down, not just that video
        ok, reason = registry.can_upload(vid, "TikTok", now=now)
        assert not ok and "rate limited until" in reason
    assert registry.can_upload(b, "YouTube", now=now)[0]
    assert registry.can_upload(b, "TikTok", now=until + timedelta(seconds=1))[0]


def test_login_required_pauses_channel(registry, make_clip, db):
    vid = registry.register_video(str(make_clip("a.mp4")))
    rec, _ = _claim(registry, vid, channel="Instagram")
    rec = registry.uploads.record_failure(rec, kind="login_required", message="redirected to login", owner="t")
    assert rec.upload_status == "LOGIN_REQUIRED"
    ch = db.query_one("SELECT status, login_state, status_reason FROM channels WHERE id = 'Instagram'")
    assert (ch["status"], ch["login_state"]) == ("paused", "required") and "log in" in ch["status_reason"]
    ok, reason = registry.can_upload(vid, "Instagram", automatic=True)
    assert not ok and "paused" in reason


def test_a_success_says_logged_in_only_when_that_is_news(registry, make_clip, db):
    a = registry.register_video(str(make_clip("a.mp4", seed=1)))
    b = registry.register_video(str(make_clip("b.mp4", seed=2)))
    db.execute("UPDATE channels SET login_state = 'required', updated_at = '2000-01-01T00:00:00+00:00'"
               " WHERE id = 'YouTube'")
    rec, _ = _claim(registry, a)
    registry.uploads.record_success(rec, post_id="YT-a", owner="t")
    ch = db.query_one("SELECT login_state, updated_at FROM channels WHERE id = 'YouTube'")
    assert ch["login_state"] == "ok" and ch["updated_at"] > "2000-01-01"  # news: the row changed
    db.execute("UPDATE channels SET updated_at = '2000-01-02T00:00:00+00:00' WHERE id = 'YouTube'")
    rec, _ = _claim(registry, b)
    registry.uploads.record_success(rec, post_id="YT-b", owner="t")
    ch = db.query_one("SELECT login_state, updated_at FROM channels WHERE id = 'YouTube'")
    assert (ch["login_state"], ch["updated_at"]) == ("ok", "2000-01-02T00:00:00+00:00")  # no news: untouched
    assert registry.get_upload_status(b, "YouTube")["platform_post_id"] == "YT-b"


def test_unknown_outcome_is_never_retried_automatically(registry, make_clip):
    vid = registry.register_video(str(make_clip("a.mp4")))
    rec, _ = _claim(registry, vid)
    rec = registry.uploads.mark_unknown(rec, message="process died mid-upload")
    ok, reason = registry.can_upload(vid, "YouTube", automatic=True)
    assert not ok and "unknown outcome" in reason
    assert registry.uploads.due_retries(datetime.now(timezone.utc) + timedelta(days=9)) == []
    rec = registry.uploads.settle_unknown(rec, published=True, post_id="YT9")
    assert registry.get_upload_status(vid, "YouTube")["upload_status"] == "SUCCESS"


def test_release_returns_to_pending(registry, make_clip):
    vid = registry.register_video(str(make_clip("a.mp4")))
    rec, _ = _claim(registry, vid, owner="w")
    rec = registry.uploads.release(rec, owner="w", reason="cancelled by operator")
    assert rec.upload_status == "PENDING"
    assert registry.can_upload(vid, "YouTube", automatic=True) == (True, "OK")


def test_mark_blocked_keeps_a_success(registry, make_clip):
    vid = registry.register_video(str(make_clip("a.mp4")))
    rec = registry.uploads.mark_blocked(vid, "TikTok", "duplicate")
    assert rec.upload_status == "BLOCKED"
    rec, _ = _claim(registry, vid, channel="TikTok")
    registry.uploads.record_success(rec, post_id="T1", owner="t")
    rec = registry.uploads.mark_blocked(vid, "TikTok", "duplicate")
    assert rec.upload_status == "SUCCESS" and rec.platform_post_id == "T1"


# -- audit trail ------------------------------------------------------------------------------------


def test_every_transition_is_audited_and_logged(registry, make_clip, db):
    vid = registry.register_video(str(make_clip("a.mp4")))
    rec, _ = _claim(registry, vid, channel="Instagram")
    rec = registry.uploads.record_failure(rec, kind="transient", message="net down", owner="t",
                                          metadata={"caption": "hi"})
    events = db.audit.upload_events(video_id=vid)
    assert [e["status"] for e in events] == ["IN_PROGRESS", "FAILED"]
    assert events[1]["error_message"] == "net down" and events[1]["error_kind"] == "transient"
    assert events[1]["retry_count"] == 1 and events[1]["channel_id"] == "Instagram"

    lines = [json.loads(x) for x in db.paths.upload_log.read_text().splitlines()]
    last = lines[-1]
    assert list(last) == ["timestamp", "video_id", "platform", "status", "upload_id", "retry_count",
                          "error_message", "metadata"]
    assert last["status"] == "FAILED" and last["platform"] == "Instagram" and last["metadata"] == {"caption": "hi"}
    datetime.fromisoformat(last["timestamp"])  # the seed's naive ISO format
    assert len(last["timestamp"]) == len("2026-02-11T08:00:00.000000")

    kinds = [e["kind"] for e in db.audit.events()]
    assert "video.registered" in kinds


def test_set_duplicate_allowed_is_logged_with_who_and_why(registry, make_clip, db):
    vid = registry.register_video(str(make_clip("a.mp4")))
    registry.set_duplicate_allowed(vid, True, actor="alice", reason="repost for the contest")
    ev = db.audit.events("video.duplicate_allowed")[-1]
    assert ev["actor"] == "alice" and ev["subject_id"] == vid and "contest" in ev["message"]
    with pytest.raises(ValidationError):
        registry.set_duplicate_allowed(vid, "yes")


def test_audit_tables_are_append_only(db):
    db.audit.record("test.event", "hello")
    import sqlite3

    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.audit.db.execute("UPDATE events SET message = 'rewritten'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.audit.db.execute("DELETE FROM events")
    assert db.audit.events("test.event")[0]["message"] == "hello"


def test_upload_log_rotates_by_size(tmp_path):
    from audit import AuditLog

    log = AuditLog(tmp_path / "rot", max_log_bytes=2000, log_backups=2)
    try:
        for i in range(60):
            log.record_upload(video_id=f"v{i}", platform="TikTok", status="SUCCESS", upload_id=str(i))
        files = sorted(p.name for p in (tmp_path / "rot" / "logs").iterdir())
        assert files == ["uploads.log", "uploads.log.1", "uploads.log.2"]
        assert all(p.stat().st_size <= 2200 for p in (tmp_path / "rot" / "logs").iterdir())
        assert len(log.upload_events()) == 60  # the database keeps everything
    finally:
        log.close()


# -- change tracking for the window ---------------------------------------------------------------


def test_changed_since_returns_exactly_what_changed(registry, make_clip):
    a = registry.register_video(str(make_clip("a.mp4", seed=1)))
    b = registry.register_video(str(make_clip("b.mp4", seed=2)))
    first = registry.changed_since(0)
    assert {v["id"] for v in first["videos"]} == {a, b}
    rev = first["rev"]
    assert registry.changed_since(rev)["videos"] == [] and registry.changed_since(rev)["uploads"] == []
    registry.set_duplicate_allowed(b, True)
    _claim(registry, a, channel="TikTok")
    ch = registry.changed_since(rev)
    assert [v["id"] for v in ch["videos"]] == [b]
    assert [(u.video_id, u.upload_status) for u in ch["uploads"]] == [(a, "IN_PROGRESS")]
    # a writer that forgets to stamp a rev is caught by the triggers
    registry.db.execute("UPDATE videos SET title = 'renamed' WHERE id = ?", (a,))
    assert [v["id"] for v in registry.changed_since(ch["rev"])["videos"]] == [a]


def test_upload_log_lines_from_many_threads_stay_whole(tmp_path):
    import threading

    from audit import AuditLog

    logs = [AuditLog(tmp_path / "shared"), AuditLog(tmp_path / "shared")]  # one file, two objects
    try:
        def write(log, k):
            for i in range(150):
                log.record_upload(video_id=f"v{k}-{i}", platform="YouTube", status="SUCCESS",
                                  metadata={"title": "x" * (50 + i)})

        threads = [threading.Thread(target=write, args=(logs[k % 2], k)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        lines = (tmp_path / "shared" / "logs" / "uploads.log").read_text(encoding="utf-8").splitlines()
        ids = sorted(json.loads(line)["video_id"] for line in lines)
        assert ids == sorted(f"v{k}-{i}" for k in range(4) for i in range(150))
    finally:
        for log in logs:
            log.close()
