"""The publishing core through a real PlatformUploader subclass with scripted outcomes."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

import uploaders
from database import Database, VideoRegistry
from orchestration.publishing import Publisher, resolve_metadata
from pipeline import run_upload_stage
from tests.scripted_uploader import Script, wait_for_cancel
from uploaders import PlatformUploader, UploadResult


class Clock:
    def __init__(self, start: datetime | None = None):
        self.now = start or datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


def log_lines(db: Database) -> list[dict]:
    return [json.loads(x) for x in db.paths.upload_log.read_text().splitlines()]


@pytest.fixture
def clip(registry, make_clip):
    return registry.register_video(str(make_clip("clip_001.mp4")))


# -- run_upload_stage -----------------------------------------------------------------------------


def test_success_records_post_id_audit_and_log(db, registry, clip, scripts):
    scripts["Instagram"].then(UploadResult(True, "ABC123", post_url="https://instagram.test/p/ABC123"))
    assert run_upload_stage(clip, "Instagram", {"caption": "Check this out!", "hashtags": ["#viral"]}, db=db) is True

    st = registry.get_upload_status(clip, "Instagram")
    assert (st["upload_status"], st["platform_post_id"], st["retry_count"]) == ("SUCCESS", "ABC123", 0)
    assert st["post_url"] == "https://instagram.test/p/ABC123"
    call = scripts["Instagram"].calls[0]
    assert call["path"] == registry.get_video(clip)["file_path"]
    assert call["metadata"]["caption"] == "Check this out!" and call["metadata"]["hashtags"] == ["#viral"]

    assert [e["status"] for e in db.audit.upload_events(video_id=clip)] == ["IN_PROGRESS", "SUCCESS"]
    last = log_lines(db)[-1]
    assert (last["video_id"], last["platform"], last["status"], last["upload_id"]) == (
        clip, "Instagram", "SUCCESS", "ABC123")
    assert last["metadata"]["caption"] == "Check this out!"


def test_default_db_is_the_data_directory(data_dir, make_clip, scripts):
    reg = VideoRegistry()  # the default registry, in ASFS_DATA_DIR
    vid = reg.register_video(str(make_clip("d.mp4")))
    reg.db.close()
    assert run_upload_stage(vid, "TikTok") is True
    with Database.open() as db:
        assert db.path == data_dir / "database" / "videos.db"
        assert VideoRegistry(db).get_upload_status(vid, "TikTok")["upload_status"] == "SUCCESS"


@pytest.mark.parametrize("kind,status,count", [
    ("transient", "FAILED", 1),
    ("permanent", "FAILED_FINAL", 1),
    ("rate_limited", "RATE_LIMITED", 0),
    ("login_required", "LOGIN_REQUIRED", 0),
])
def test_each_error_kind(db, registry, clip, scripts, kind, status, count):
    scripts["TikTok"].then(UploadResult.failed(f"the platform said {kind}", kind))
    assert run_upload_stage(clip, "TikTok", db=db) is False
    st = registry.get_upload_status(clip, "TikTok")
    assert (st["upload_status"], st["error_kind"], st["retry_count"]) == (status, kind, count)
    assert st["error_message"] == f"the platform said {kind}"
    assert log_lines(db)[-1]["status"] == status
    assert log_lines(db)[-1]["error_message"] == f"the platform said {kind}"
    assert db.audit.upload_events(video_id=clip)[-1]["error_kind"] == kind
    channel = db.query_one("SELECT status, rate_limited_until, login_state FROM channels WHERE id = 'TikTok'")
    assert (channel["status"] == "paused") == (kind == "login_required")
    assert (channel["rate_limited_until"] is not None) == (kind == "rate_limited")


def test_transient_failures_retry_to_failed_final_then_manual_upload(db, registry, clip, scripts):
    clock = Clock()
    pub = Publisher(db, clock=clock)
    scripts["YouTube"].then(*[UploadResult.failed("network timeout")] * 4)
    assert not pub.publish(clip, "YouTube").success
    seen = [registry.get_upload_status(clip, "YouTube")["retry_count"]]
    for _ in range(3):
        assert pub.retry_due().total == 0  # not due yet
        nxt = datetime.fromisoformat(registry.get_upload_status(clip, "YouTube")["next_attempt_at"])
        clock.now = nxt + timedelta(seconds=1)
        report = pub.retry_due()
        assert report.total == 1 and report.failed == 1
        seen.append(registry.get_upload_status(clip, "YouTube")["retry_count"])
    st = registry.get_upload_status(clip, "YouTube")
    assert seen == [1, 2, 3, 4] and st["upload_status"] == "FAILED_FINAL"
    clock.advance(days=30)
    assert pub.retry_due().total == 0  # FAILED_FINAL is never retried automatically
    assert pub.pending_pairs(["YouTube"]) == []
    # the operator clicks upload anyway
    outcome = pub.publish(clip, "YouTube")
    assert outcome.success and registry.get_upload_status(clip, "YouTube")["upload_status"] == "SUCCESS"
    assert db.audit.events("upload.override")[-1]["details"]["code"] == "ok_manual_override"


def test_duplicate_blocked_then_allowed(db, registry, clip, scripts):
    assert run_upload_stage(clip, "YouTube", db=db)
    calls = len(scripts["YouTube"].calls)
    assert run_upload_stage(clip, "YouTube", db=db) is False
    assert len(scripts["YouTube"].calls) == calls  # the uploader never ran
    refused = db.audit.events("upload.refused")[-1]
    assert refused["details"]["code"] == "duplicate" and "already published" in refused["message"]
    assert [e["status"] for e in db.audit.upload_events(video_id=clip)][-1] == "BLOCKED"
    assert registry.get_upload_status(clip, "YouTube")["upload_status"] == "SUCCESS"  # the truth stays
    registry.set_duplicate_allowed(clip, True)
    assert run_upload_stage(clip, "YouTube", db=db) is True
    assert len(scripts["YouTube"].calls) == calls + 1


def test_same_content_under_another_id_is_blocked(db, registry, make_clip, tmp_path, scripts):
    a_path = make_clip("a.mp4")
    a = registry.register_video(str(a_path))
    b_path = tmp_path / "b.mp4"
    b_path.write_bytes(a_path.read_bytes())
    b = registry.register_video(str(b_path), duplicate_allowed=True)
    registry.set_duplicate_allowed(b, False)
    assert run_upload_stage(a, "TikTok", db=db)
    assert run_upload_stage(b, "TikTok", db=db) is False
    st = registry.get_upload_status(b, "TikTok")
    assert st["upload_status"] == "BLOCKED" and f"'{a}'" in st["error_message"]
    registry.set_duplicate_allowed(b, True)
    assert run_upload_stage(b, "TikTok", db=db) is True


def test_rate_limit_cools_the_channel_down(db, registry, make_clip, scripts):
    clock = Clock()
    pub = Publisher(db, clock=clock)
    a = registry.register_video(str(make_clip("a.mp4")))
    b = registry.register_video(str(make_clip("b.mp4")))
    until = clock.now + timedelta(minutes=20)
    scripts["TikTok"].then(UploadResult.failed("Too many attempts. Try again later.", "rate_limited",
                                               retry_after=until))
    out = pub.publish(a, "TikTok")
    assert out.status == "RATE_LIMITED"
    calls = len(scripts["TikTok"].calls)
    refused = pub.publish(b, "TikTok")
    assert not refused.success and refused.code == "rate_limited" and "until" in refused.reason
    assert pub.pending_pairs(["TikTok"]) == []
    assert len(scripts["TikTok"].calls) == calls
    assert pub.publish(b, "YouTube").success  # other channels are unaffected
    clock.now = until + timedelta(seconds=1)
    assert set(pub.pending_pairs(["TikTok"])) == {(a, "TikTok"), (b, "TikTok")}
    report = pub.upload_all_pending(channel_ids=["TikTok"])
    assert report.succeeded == 2


def test_rate_limit_without_a_time_uses_the_default_cooldown(db, registry, clip, scripts):
    clock = Clock()
    scripts["TikTok"].then(UploadResult.failed("slow down", "rate_limited"))
    Publisher(db, clock=clock).publish(clip, "TikTok")
    until = datetime.fromisoformat(db.query_one("SELECT rate_limited_until FROM channels WHERE id='TikTok'")[0])
    assert until - clock.now == timedelta(hours=1)


def test_login_check_stops_before_uploading_and_pauses_the_channel(db, registry, clip, scripts):
    scripts["Instagram"].login = False
    assert run_upload_stage(clip, "Instagram", db=db) is False
    assert scripts["Instagram"].calls == []
    st = registry.get_upload_status(clip, "Instagram")
    assert st["upload_status"] == "LOGIN_REQUIRED" and "log in" in st["error_message"]
    assert db.query_one("SELECT status FROM channels WHERE id = 'Instagram'")[0] == "paused"
    assert db.audit.events("channel.paused")[-1]["subject_id"] == "Instagram"
    pub = Publisher(db)
    assert all(c != "Instagram" for _, c in pub.pending_pairs())  # not retried automatically
    assert pub.retry_due().total == 0


@pytest.mark.parametrize("case", ["unknown_video", "unknown_platform", "missing_file", "changed_file"])
def test_operator_fixable_problems_return_false_with_a_reason(db, registry, make_clip, scripts, case):
    path = make_clip("x.mp4")
    vid = registry.register_video(str(path))
    target = "YouTube"
    if case == "unknown_video":
        vid = "nope"
    elif case == "unknown_platform":
        target = "MySpace"
    elif case == "missing_file":
        path.unlink()
    else:
        with open(path, "ab") as f:
            f.write(b"xx")
    uploads_before = db.query("SELECT * FROM video_uploads")
    assert run_upload_stage(vid, target, db=db) is False
    assert [tuple(r) for r in db.query("SELECT * FROM video_uploads")] == [tuple(r) for r in uploads_before]
    assert scripts["YouTube"].calls == []
    reason = db.audit.events("upload.refused")[-1]["message"]
    expected = {"unknown_video": "not in the registry", "unknown_platform": "MySpace",
                "missing_file": "not found", "changed_file": "changed since"}[case]
    assert expected in reason


def test_uploader_crash_is_settled_by_looking_on_the_channel(db, registry, make_clip, scripts):
    a = registry.register_video(str(make_clip("a.mp4")))
    b = registry.register_video(str(make_clip("b.mp4")))
    scripts["YouTube"].then(RuntimeError("browser crashed after clicking Publish"))
    out = Publisher(db).publish(a, "YouTube")
    assert out.status == "UNKNOWN" and "check the channel" in out.reason
    assert not registry.can_upload(a, "YouTube", automatic=True)[0]
    # an uploader that can look finds the post and the upload counts as published
    scripts["YouTube"].existing = lambda video: UploadResult(True, f"found-{video['id']}")
    scripts["YouTube"].then(RuntimeError("crashed again"))
    out = Publisher(db).publish(b, "YouTube")
    assert out.success and out.post_id == f"found-{b}"
    # or proves it is not there: an ordinary retryable failure
    c = registry.register_video(str(make_clip("c.mp4")))
    scripts["YouTube"].existing = lambda video: UploadResult(False, error_message="not on the channel")
    scripts["YouTube"].then(RuntimeError("timeout before upload"))
    out = Publisher(db).publish(c, "YouTube")
    assert out.status == "FAILED" and out.error_kind == "transient"


def test_settle_unknown_by_the_operator(db, registry, clip, scripts):
    scripts["YouTube"].then(RuntimeError("lost"))
    pub = Publisher(db)
    pub.publish(clip, "YouTube")
    rec = pub.settle_unknown(clip, "YouTube", published=False)
    assert rec.upload_status == "PENDING"
    assert pub.publish(clip, "YouTube").success


def test_no_uploader_registered_is_a_permanent_failure(db, registry, clip, monkeypatch):
    monkeypatch.setattr(uploaders, "_load_builtin", lambda: None)
    for key in list(uploaders.registered()):
        uploaders.register(key, None)
    assert run_upload_stage(clip, "YouTube", db=db) is False
    st = registry.get_upload_status(clip, "YouTube")
    assert st["upload_status"] == "FAILED_FINAL" and "No uploader" in st["error_message"]


def test_uploader_registry_prefers_the_channel_and_validates():
    script = Script("chan")
    other = Script("plat")
    old_platform = uploaders.register("YouTube", other.factory)
    try:
        uploaders.register("my-channel", script.factory)
        up = uploaders.get("my-channel", {"id": "my-channel", "platform": "YouTube"})
        assert up.script is script
        assert uploaders.get("youtube").script is other
        with pytest.raises(TypeError):
            uploaders.register("YouTube", "not callable")
        with pytest.raises(ValueError):
            uploaders.register("", other.factory)
        with pytest.raises(LookupError, match="Nowhere"):
            uploaders.get("Nowhere")
    finally:
        uploaders.register("my-channel", None)
        uploaders.register("YouTube", old_platform)
    with pytest.raises(ValueError, match="error_kind"):
        UploadResult(False, error_message="x", error_kind="cosmic rays")
    with pytest.raises(TypeError):
        PlatformUploader()  # abstract


# -- metadata ----------------------------------------------------------------------------------------


def test_metadata_comes_from_call_then_template_then_video():
    video = {"id": "v1", "title": "Cat jumps", "description": "a cat", "tags": ["cats", "funny"]}
    m = resolve_metadata(None, None, video)
    assert m["title"] == "Cat jumps" and m["description"] == "a cat" and m["hashtags"] == ["#cats", "#funny"]
    assert m["visibility"] == "public" and m["made_for_kids"] is False
    tpl = {"title": "{title} #shorts", "hashtags": "#daily #cats", "visibility": "unlisted"}
    m = resolve_metadata(None, tpl, video)
    assert m["title"] == "Cat jumps #shorts" and m["hashtags"] == ["#daily", "#cats"] and m["visibility"] == "unlisted"
    m = resolve_metadata({"title": "Mine", "caption": "cap", "hashtags": ["x"], "made_for_kids": True}, tpl, video)
    assert (m["title"], m["caption"], m["description"], m["hashtags"], m["made_for_kids"]) == (
        "Mine", "cap", "cap", ["#x"], True)
    with pytest.raises(ValueError, match="visibility"):
        resolve_metadata({"visibility": "secret"}, None, video)


def test_channel_template_is_used_by_publish(db, registry, clip, scripts):
    db.execute("UPDATE channels SET metadata_template = ? WHERE id = 'TikTok'",
               (json.dumps({"caption": "{title} — follow for more"}),))
    assert run_upload_stage(clip, "TikTok", db=db)
    assert scripts["TikTok"].calls[0]["metadata"]["caption"] == "clip_001 — follow for more"
    assert run_upload_stage(clip, "YouTube", {"visibility": "secret"}, db=db) is False


# -- upload all pending --------------------------------------------------------------------------------


def _add_channel(db, cid, platform, **cols):
    cols = {"daily_cap": None, "min_spacing_seconds": 0, **cols}
    db.execute(
        "INSERT INTO channels (id, name, platform, daily_cap, min_spacing_seconds, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'x', 'x')", (cid, cid, platform, cols["daily_cap"], cols["min_spacing_seconds"]))


def test_upload_all_pending_covers_every_pair_once_with_bounded_concurrency(db, registry, make_clip, scripts):
    vids = [registry.register_video(str(make_clip(f"v{i}.mp4"))) for i in range(4)]
    gate = threading.Barrier(3, timeout=10)

    def together(up, path, md):  # the first upload on each platform waits for the other two
        try:
            gate.wait()
        except threading.BrokenBarrierError:
            pass
        return UploadResult(True, f"{up.channel['id']}-{path}")

    for s in scripts.values():
        s.then(together)
    events = []
    report = Publisher(db).upload_all_pending(max_parallel=3, progress=events.append)
    assert report.total == 12 and report.succeeded == 12 and report.skipped == []
    assert not gate.broken  # three channels really ran at the same time
    for s in scripts.values():
        assert s.max_active == 1  # one upload at a time per channel
        assert len(s.calls) == 4
    overall = [e for e in events if e["kind"] == "overall"]
    assert overall[0] == {"kind": "overall", "done": 0, "total": 12} and overall[-1]["done"] == 12
    assert sum(1 for e in events if e["kind"] == "upload") == 12  # per-upload progress from the uploader
    assert Publisher(db).pending_pairs() == []
    assert Publisher(db).upload_all_pending().total == 0  # nothing left
    statuses = {(u, c): registry.get_upload_status(u, c)["upload_status"] for u in vids for c in scripts}
    assert set(statuses.values()) == {"SUCCESS"}
    assert [e["details"]["succeeded"] for e in db.audit.events("upload.bulk")] == [12, 0]


def test_daily_cap_and_spacing_are_honoured(db, registry, make_clip, scripts):
    clock = Clock(datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc))
    waits = []

    def sleep(seconds, event):
        waits.append(seconds)
        clock.advance(seconds=seconds)
        return False

    _add_channel(db, "capped", "TikTok", daily_cap=2, min_spacing_seconds=600)
    for i in range(4):
        registry.register_video(str(make_clip(f"v{i}.mp4")))
    pub = Publisher(db, clock=clock, sleep=sleep)
    report = pub.upload_all_pending(channel_ids=["capped"])
    assert report.succeeded == 2
    assert [o.code for o in report.skipped] == ["daily_cap", "daily_cap"]
    assert waits == [pytest.approx(600, abs=1)]  # the second upload waited for the spacing
    assert pub.publish(registry.get_all_videos()[0]["id"], "capped", manual=False).code in ("daily_cap", "duplicate")
    clock.advance(days=1)  # a new day in the channel's zone
    assert pub.upload_all_pending(channel_ids=["capped"]).succeeded == 2


def test_cancel_leaves_nothing_in_progress(db, registry, make_clip, scripts):
    for i in range(3):
        registry.register_video(str(make_clip(f"v{i}.mp4")))
    cancel = threading.Event()
    for s in scripts.values():
        s.then(wait_for_cancel, wait_for_cancel, wait_for_cancel)
    started = threading.Event()
    events = []

    def progress(e):
        events.append(e)
        if e["kind"] == "upload":
            started.set()

    result = {}
    t = threading.Thread(target=lambda: result.setdefault(
        "r", Publisher(db).upload_all_pending(progress=progress, cancel_event=cancel)))
    t.start()
    assert started.wait(10)
    cancel.set()
    t.join(30)
    assert not t.is_alive()
    report = result["r"]
    assert report.cancelled and report.succeeded == 0
    assert db.query("SELECT * FROM video_uploads WHERE upload_status = 'IN_PROGRESS'") == []
    released = db.query("SELECT upload_status FROM video_uploads")
    assert {r[0] for r in released} <= {"PENDING"}
    assert len(report.outcomes) + len(report.skipped) == 9
    # released uploads are pending again and go out on the next run
    for s in scripts.values():
        s.steps.clear()
    assert Publisher(db).upload_all_pending().succeeded == 9


def test_bad_arguments(db):
    with pytest.raises(ValueError):
        Publisher(db).upload_all_pending(max_parallel=0)
