"""The TikTok uploader against the sandbox platform: real headless Chromium on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.sandbox_fixtures import *  # noqa: F401,F403 - fixtures: sandbox, browser_session, clip_file, ...
from tests.sandbox_fixtures import FAST_TIMEOUTS
from uploaders.sandbox import Sandbox

META = {"title": "Morning cat", "description": "Line one\nLine two with #cats", "hashtags": ["#cats", "#fyp"],
        "visibility": "unlisted"}
CAPTION = "Morning cat\nLine one\nLine two with #cats\n#fyp"  # title first, missing hashtags appended


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def published(sandbox) -> list[dict]:
    return [p for p in sandbox.posts("tiktok") if p["status"] in ("published", "scheduled")]


def assert_failure_artifacts(result, uploader) -> None:
    png = Path(result.artifacts)
    assert png.is_file() and png.suffix == ".png" and png.parent == Path(uploader.paths.failures)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = Path(result.details["html"])
    assert html.is_file() and html.parent == png.parent and "<html" in html.read_text()


def seed_post(sandbox, account: str, caption: str = "An older post", n: int = 1) -> str:
    """A post already on the channel before the test's upload."""
    from uploaders.sandbox.tiktok import handle_of

    vid = str(7_000_000_000_000_000_000 + n)
    sandbox.store.create("tiktok", account, vid, handle=handle_of(account), status="published", caption=caption,
                         visibility="PUBLIC_TO_EVERYONE", scheduled_at=None, published_at="2024-01-01T00:00:00+00:00")
    return vid


def slot(delta: timedelta) -> datetime:
    """now + delta, rounded up to TikTok's next 5-minute step."""
    t = (datetime.now(timezone.utc) + delta).replace(second=0, microsecond=0)
    return t + timedelta(minutes=(-t.minute) % 5)


@pytest.fixture
def tiktok(sandbox, browser_session, tmp_path: Path):
    """tiktok(account=None, *, signed_in=True, timezone="UTC", timeouts=None, **switches)."""
    from database.paths import DataPaths
    from uploaders.playwright_base import Timeouts
    from uploaders.tiktok import TikTokUploader

    browser_session.context.clear_cookies()
    paths = DataPaths(tmp_path / "data")

    def make(account: str | None = None, *, signed_in: bool = True, timezone: str = "UTC",
             timeouts: dict | None = None, **switches) -> TikTokUploader:
        account = account or f"tt-{uuid.uuid4().hex[:8]}@example.com"
        channel = {"id": "tt-test", "name": "TikTok test", "platform": "TikTok", "account": account,
                   "base_url": sandbox.base_url("tiktok"), "timezone": timezone}
        if switches:
            sandbox.configure(account, platform="tiktok", **switches)
        if signed_in:
            browser_session.context.add_cookies([sandbox.cookie("tiktok", account)])
        return TikTokUploader(channel, paths, session=browser_session,
                              timeouts=Timeouts(**{**FAST_TIMEOUTS, **(timeouts or {})}))

    return make


# -- publishing --------------------------------------------------------------------------------


def test_publishes_with_the_id_the_sandbox_assigned(tiktok, sandbox, clip_file):
    up = tiktok()
    old = seed_post(sandbox, up.channel["account"])
    progress = []
    up.progress_callback = lambda f, stage: progress.append((f, stage))
    assert up.check_login() is True

    result = up.upload(str(clip_file), META)

    assert result.success, result.error_message
    post = sandbox.posts("tiktok")[0]
    assert result.platform_post_id == post["id"] != old and re.fullmatch(r"\d{19}", post["id"])
    assert result.post_url.endswith(f"/@{post['handle']}/video/{post['id']}")
    assert post["status"] == "published" and post["account"] == up.channel["account"]
    assert post["sha256"] == sha256(clip_file) and post["size"] == clip_file.stat().st_size
    assert Path(post["file"]).read_bytes() == clip_file.read_bytes()
    assert post["caption"] == CAPTION  # the hashtag suggestions picked nothing
    assert post["visibility"] == "MUTUAL_FOLLOW_FRIENDS" and result.details["tiktok_visibility"] == "Friends"
    assert post["allow_comment"] is True and post["scheduled_at"] is None
    assert post["post_ts"] >= post["uploaded_ts"]  # Post was pressed only once the upload was done
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert not list(Path(up.paths.failures).glob("*.png"))  # a success leaves no failure screenshot


def test_public_then_found_on_the_channel(tiktok, sandbox, clip_file):
    up = tiktok()
    result = up.upload(str(clip_file), {"title": "Public clip", "visibility": "public"})
    assert result.success, result.error_message
    post = sandbox.post("tiktok", result.platform_post_id)
    assert (post["visibility"], post["caption"]) == ("PUBLIC_TO_EVERYONE", "Public clip")

    found = up.find_existing({"id": "v1", "title": "Public clip"})
    assert found.success and found.platform_post_id == result.platform_post_id
    assert found.post_url == result.post_url
    missing = up.find_existing({"id": "v2", "title": "Never uploaded"})
    assert missing is not None and not missing.success
    sandbox.configure(up.channel["account"], platform="tiktok", signed_out=True)
    assert up.find_existing({"id": "v1", "title": "Public clip"}) is None  # logged out: cannot tell


# -- every switch ------------------------------------------------------------------------------------


@pytest.mark.parametrize("switches,kind,message", [
    ({"rate_limit": True}, "rate_limited", "posting too fast"),
    ({"signed_out": True}, "login_required", "sign-in page"),
    ({"captcha": True}, "login_required", "captcha"),
    ({"fail": "transient"}, "transient", "Upload failed"),
    ({"fail": "permanent"}, "permanent", "can't be uploaded"),
    ({"fail": "permanent", "iframe": True}, "permanent", "can't be uploaded"),
])
def test_switch_outcomes(tiktok, sandbox, clip_file, switches, kind, message):
    up = tiktok(**switches)
    result = up.upload(str(clip_file), META)
    assert not result.success
    assert result.error_kind == kind, result.error_message
    assert message in result.error_message
    assert result.platform_post_id is None
    assert published(sandbox) == []
    assert_failure_artifacts(result, up)
    if kind == "rate_limited":
        assert result.retry_after > datetime.now(timezone.utc) + timedelta(hours=3)


def test_signed_out_is_never_success_through_the_publisher(tiktok, sandbox, db, registry, make_clip):
    vid = registry.register_video(str(make_clip("logged_out.mp4")))
    up = tiktok(signed_in=False)
    assert up.check_login() is False
    from orchestration.publishing import Publisher

    outcome = Publisher(db).publish(vid, "TikTok", uploader=up)
    assert not outcome.success and outcome.error_kind == "login_required"
    assert registry.get_upload_status(vid, "TikTok")["upload_status"] == "LOGIN_REQUIRED"
    assert sandbox.posts("tiktok") == []


def test_slow_processing_waits_then_posts(tiktok, sandbox, clip_file):
    result = tiktok(slow=1.5).upload(str(clip_file), META)
    assert result.success, result.error_message
    post = sandbox.post("tiktok", result.platform_post_id)
    assert post["status"] == "published" and post["processing_seconds"] == 1.5
    assert post["post_ts"] >= post["uploaded_ts"]


def test_upload_timeout_never_presses_post(tiktok, sandbox, clip_file):
    up = tiktok(slow=30.0, timeouts={"processing": 1.0})
    result = up.upload(str(clip_file), META)
    assert (result.success, result.error_kind) == (False, "transient")
    assert "still uploading" in result.error_message
    (post,) = sandbox.posts("tiktok")
    assert post["status"] == "processing" and post.get("post_ts") is None
    assert_failure_artifacts(result, up)


def test_overlays_are_dismissed(tiktok, sandbox, clip_file, caplog):
    caplog.set_level(logging.INFO, logger="asfs.uploaders")
    result = tiktok(overlay=True).upload(str(clip_file), META)
    assert result.success, result.error_message
    # the cookie banner (shadow DOM) and the "automatic content checks" modal
    assert caplog.text.count("dismissed an overlay") >= 2
    assert published(sandbox)[0]["id"] == result.platform_post_id


def test_drift_publishes_through_fallbacks(tiktok, sandbox, clip_file, caplog):
    caplog.set_level(logging.INFO, logger="asfs.uploaders")
    up = tiktok(drift=True)
    old = seed_post(sandbox, up.channel["account"])  # drift lists it first: the new one is found by the diff
    result = up.upload(str(clip_file), {**META, "visibility": "private"})
    assert result.success, result.error_message
    assert result.platform_post_id != old
    post = sandbox.post("tiktok", result.platform_post_id)
    assert (post["status"], post["visibility"], post["caption"]) == ("published", "SELF_ONLY", CAPTION)
    matched = [(r.args[1], "fallback" in r.getMessage()) for r in caplog.records
               if r.getMessage().startswith(up.label + ": step ")]
    fallbacks = {step for step, fb in matched if fb}
    assert {"caption", "visibility_trigger", "visibility_only_you", "content_row"} <= fallbacks
    assert ("post", False) in matched and "post" not in fallbacks  # data-e2e survives a redesign


def test_iframe_variant_with_overlays(tiktok, sandbox, browser_session, clip_file, caplog):
    caplog.set_level(logging.INFO, logger="asfs.uploaders")
    up = tiktok(overlay=True)
    # a per-browser switch (the sandbox cookie) this time
    browser_session.context.add_cookies([{"name": "sandbox", "value": "iframe",
                                          "url": sandbox.base_url("tiktok") + "/"}])
    result = up.upload(str(clip_file), META)
    assert result.success, result.error_message
    assert "upload UI is inside an iframe" in caplog.text
    assert "dismissed an overlay with its close button (in the upload iframe)" in caplog.text
    post = sandbox.post("tiktok", result.platform_post_id)
    assert post["caption"] == CAPTION and post["sha256"] == sha256(clip_file)


# -- scheduling -----------------------------------------------------------------------------------


def test_scheduled_in_the_channel_time_zone(tiktok, sandbox, clip_file):
    up = tiktok(timezone="Asia/Kathmandu")  # UTC+05:45: the local minutes still fall on 5-minute steps
    sandbox.configure(up.channel["account"], platform="tiktok", timezone="Asia/Kathmandu")
    at = slot(timedelta(days=2, hours=3))
    result = up.upload(str(clip_file), {**META, "visibility": "public", "scheduled_at": at.isoformat()})
    assert result.success, result.error_message
    post = sandbox.post("tiktok", result.platform_post_id)
    assert post["status"] == "scheduled" and post["visibility"] == "PUBLIC_TO_EVERYONE"
    assert datetime.fromisoformat(post["scheduled_at"]) == at
    assert result.details["scheduled_at"] == at.isoformat()


@pytest.mark.parametrize("when,text", [
    (lambda: slot(timedelta(minutes=15)), "at least 20 minutes ahead"),        # 15-19 minutes ahead
    (lambda: slot(timedelta(days=10, minutes=1)), "at most 10 days ahead"),   # 10 days + up to 5 minutes
    (lambda: slot(timedelta(days=2)).replace(minute=7), "5-minute steps"),
    (lambda: "next tuesday", "not a date and time"),
])
def test_schedule_window_is_checked_before_any_browser(tmp_path, sandbox, clip_file, when, text):
    from database.paths import DataPaths
    from uploaders.tiktok import TikTokUploader

    up = TikTokUploader({"id": "tt", "platform": "TikTok", "base_url": sandbox.base_url("tiktok")},
                        DataPaths(tmp_path / "data"))
    value = when()
    result = up.upload(str(clip_file), {**META, "scheduled_at": value.isoformat() if isinstance(value, datetime)
                                        else value})
    assert (result.success, result.error_kind) == (False, "permanent") and text in result.error_message
    assert up._session is None  # never started a browser
    assert sandbox.posts("tiktok") == []


def test_check_schedule_boundaries():
    from uploaders.tiktok import ScheduleWindowError, check_schedule

    now = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert check_schedule(now + timedelta(minutes=20), now) == now + timedelta(minutes=20)
    assert check_schedule("2030-01-11T12:00:00", now) == now + timedelta(days=10)  # naive = UTC
    for bad in (now + timedelta(minutes=15), now + timedelta(days=10, minutes=5), now + timedelta(hours=1, minutes=7),
                now + timedelta(hours=1, seconds=30)):
        with pytest.raises(ScheduleWindowError) as err:
            check_schedule(bad, now)
        assert err.value.kind == "permanent"


def test_bad_metadata_fails_before_any_browser(tmp_path, sandbox, clip_file):
    from database.paths import DataPaths
    from uploaders.tiktok import TikTokUploader

    up = TikTokUploader({"id": "tt", "platform": "TikTok", "base_url": sandbox.base_url("tiktok")},
                        DataPaths(tmp_path / "data"))
    assert "at most 4000" in up.upload(str(clip_file), {"title": "x", "description": "y" * 4000}).error_message
    assert "Unknown visibility" in up.upload(str(clip_file), {"title": "x", "visibility": "secret"}).error_message
    assert "needs a caption" in up.upload(str(clip_file), {}).error_message
    missing = up.upload(str(tmp_path / "gone.mp4"), META)
    assert missing.error_kind == "permanent" and "missing" in missing.error_message
    assert up._session is None
    assert up.prepare({"title": "T", "visibility": "only_you"})["tiktok_visibility"] == "Only you"


# -- the sandbox itself ---------------------------------------------------------------------------


def test_sandbox_post_waits_for_the_upload_and_typing_picks_suggestions(sandbox, browser_session, clip_file):
    """What a careless uploader meets: a disabled Post button, and typed hashtags get replaced."""
    browser_session.context.clear_cookies()
    browser_session.context.add_cookies([sandbox.cookie("tiktok", "careless")])
    sandbox.configure("careless", platform="tiktok", slow=30)
    page = browser_session.new_page()
    try:
        page.goto(sandbox.base_url("tiktok") + "/tiktokstudio/upload")
        page.set_input_files("input[type=file]", str(clip_file))
        post = page.locator("button[data-e2e=post_video_button]")
        assert post.get_attribute("aria-disabled") == "true" and post.is_disabled()
        editor = page.locator(".public-DraftEditor-content")
        assert editor.inner_text() == "upload_me"  # pre-filled with the file name, as TikTok does
        editor.click()
        page.keyboard.press("ControlOrMeta+A")
        page.keyboard.press("Backspace")
        editor.press_sequentially("Hi #ca")
        assert page.locator(".mention-list-popover").is_visible()
        page.keyboard.press("Enter")  # picks the first suggestion instead of a new line
        assert editor.inner_text().strip() == "Hi #fyp"
        post.click(force=True)  # a disabled button does nothing
        page.wait_for_timeout(300)
    finally:
        page.close()
    (stored,) = sandbox.posts("tiktok", "careless")
    assert stored["status"] == "processing" and stored.get("post_ts") is None
    assert published(sandbox) == []


def _http(url: str, data: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_sandbox_api_without_a_browser(tmp_path, clip_file):
    with Sandbox(tmp_path / "sb", processing_seconds=0) as sb:
        base = sb.base_url("tiktok")
        cookie = {"Cookie": f"sessionid={sb.new_session('tiktok', 'api-user')}"}
        json_headers = {**cookie, "Content-Type": "application/json"}
        status, body = _http(base + "/api/v1/upload/create", json.dumps({"filename": "a.mp4"}).encode(), json_headers)
        token = json.loads(body)["upload_id"]
        (post,) = sb.posts("tiktok")
        assert re.fullmatch(r"\d{19}", post["id"]) and post["id"] not in body.decode()  # the page never sees it
        # Post before the file arrived: refused
        status, body = _http(f"{base}/api/v1/upload/{token}/post",
                             json.dumps({"caption": "x", "visibility": "SELF_ONLY"}).encode(), json_headers)
        assert status == 409 and "still uploading" in json.loads(body)["error"]
        boundary = "----asfs-test"
        payload = clip_file.read_bytes()
        multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"video\"; filename=\"a.mp4\"\r\n"
                     f"Content-Type: video/mp4\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
        assert _http(f"{base}/api/v1/upload/{token}/file", multipart,
                     {**cookie, "Content-Type": f"multipart/form-data; boundary={boundary}"})[0] == 200
        assert json.loads(_http(f"{base}/api/v1/upload/{token}", None, cookie)[1])["state"] == "uploaded"
        bad_time = {"caption": "x", "visibility": "SELF_ONLY", "schedule": {"date": "2001-01-01", "time": "10:00"}}
        status, body = _http(f"{base}/api/v1/upload/{token}/post", json.dumps(bad_time).encode(), json_headers)
        assert status == 400 and "at least 20 minutes" in json.loads(body)["error"]
        status, _ = _http(f"{base}/api/v1/upload/{token}/post",
                          json.dumps({"caption": "Hello", "visibility": "SELF_ONLY"}).encode(), json_headers)
        assert status == 200 and sb.post("tiktok", post["id"])["status"] == "published"
        _, page = _http(base + "/tiktokstudio/content", None, cookie)
        assert f"/tiktok/@apiuser/video/{post['id']}" in page.decode()  # handles: letters, digits, . and _
        assert _http(base + "/api/v1/upload/create?sandbox=rate_limit", b"{}", json_headers)[0] == 429

        opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                                  {"redirect_request": lambda *a, **k: None}))
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(base + "/tiktokstudio/upload", timeout=10)
        assert redirect.value.code == 302 and "/tiktok/login?redirect_url=" in redirect.value.headers["Location"]


# -- end to end: run_upload_stage -------------------------------------------------------------------


def test_run_upload_stage_end_to_end(db, registry, make_clip, sandbox, builtin_uploaders, monkeypatch):
    from pipeline import run_upload_stage
    from uploaders import browser, get
    from uploaders.tiktok import TikTokUploader

    vid = registry.register_video(str(make_clip("e2e.mp4")), title="End to end clip")
    account = "e2e-tiktok@example.com"
    with db.transaction() as conn:
        conn.execute("UPDATE channels SET base_url = ?, account = ? WHERE id = 'TikTok'",
                     (sandbox.base_url("tiktok"), account))
    channel = dict(db.query_one("SELECT * FROM channels WHERE id = 'TikTok'"))
    monkeypatch.setenv("ASFS_DATA_DIR", str(db.paths.root))
    assert isinstance(get("TikTok", channel), TikTokUploader)

    # the operator logs the channel's profile in once, through the sandbox's log-in page
    assert browser.login(channel, db.paths, headless=True, timeout=20,
                         on_page=lambda page: sandbox.sign_in(page, "tiktok", account)) is True

    assert run_upload_stage(vid, "TikTok", {"description": "Seen end to end", "hashtags": ["e2e"]}, db=db)

    (post,) = sandbox.posts("tiktok", account)
    st = registry.get_upload_status(vid, "TikTok")
    assert (st["upload_status"], st["platform_post_id"]) == ("SUCCESS", post["id"])
    assert st["post_url"].endswith(f"/video/{post['id']}")
    assert post["sha256"] == registry.get_video(vid)["checksum"]
    assert (post["caption"], post["visibility"]) == ("End to end clip\nSeen end to end\n#e2e", "PUBLIC_TO_EVERYONE")
    assert [e["status"] for e in db.audit.upload_events(video_id=vid)] == ["IN_PROGRESS", "SUCCESS"]
    last = json.loads(db.paths.upload_log.read_text().splitlines()[-1])
    assert (last["video_id"], last["status"], last["upload_id"]) == (vid, "SUCCESS", post["id"])
