"""The YouTube uploader against the sandbox platform: real headless Chromium on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.sandbox_fixtures import *  # noqa: F401,F403 - fixtures: sandbox, browser_session, youtube, ...
from uploaders.sandbox import Sandbox, parse_switches

META = {"title": "Morning cat #shorts", "description": "Line one\nLine two with #cats", "visibility": "unlisted",
        "made_for_kids": True, "hashtags": ["#shorts"]}


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def published(sandbox) -> list[dict]:
    return [p for p in sandbox.posts("youtube") if p["status"] in ("published", "scheduled")]


def assert_failure_artifacts(result, uploader) -> None:
    png = Path(result.artifacts)
    assert png.is_file() and png.suffix == ".png" and png.parent == Path(uploader.paths.failures)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = Path(result.details["html"])
    assert html.is_file() and html.parent == png.parent and "<html" in html.read_text()


# -- publishing --------------------------------------------------------------------------------


def test_publishes_with_the_id_the_sandbox_assigned(youtube, sandbox, clip_file):
    up = youtube()
    progress = []
    up.progress_callback = lambda f, stage: progress.append((f, stage))
    assert up.check_login() is True

    result = up.upload(str(clip_file), META)

    assert result.success, result.error_message
    (post,) = sandbox.posts("youtube")
    assert result.platform_post_id == post["id"] and len(post["id"]) == 11
    assert post["id"] in result.post_url and "watch?v=" in result.post_url
    assert post["status"] == "published" and post["account"] == up.channel["account"]
    assert post["sha256"] == sha256(clip_file) and post["size"] == clip_file.stat().st_size
    assert Path(post["file"]).read_bytes() == clip_file.read_bytes()
    assert post["title"] == "Morning cat #shorts"
    assert post["description"] == "Line one\nLine two with #cats\n\n#shorts"  # hashtags appended once
    assert post["visibility"] == "UNLISTED" and post["made_for_kids"] is True
    # the final click came only after processing finished
    assert post["done_ts"] >= post["processed_ts"]
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert not list(Path(up.paths.failures).glob("*.png"))  # a success leaves no failure screenshot


def test_public_and_not_for_kids_then_found_on_the_channel(youtube, sandbox, clip_file):
    up = youtube()
    result = up.upload(str(clip_file), {"title": "Public clip", "visibility": "public", "made_for_kids": False})
    assert result.success, result.error_message
    post = sandbox.post("youtube", result.platform_post_id)
    assert (post["visibility"], post["made_for_kids"], post["description"]) == ("PUBLIC", False, "")

    found = up.find_existing({"id": "v1", "title": "Public clip"})
    assert found.success and found.platform_post_id == result.platform_post_id
    missing = up.find_existing({"id": "v2", "title": "Never uploaded"})
    assert missing is not None and not missing.success


# -- every switch ------------------------------------------------------------------------------------


@pytest.mark.parametrize("switches,kind,message", [
    ({"rate_limit": True}, "rate_limited", "Daily upload limit reached"),
    ({"signed_out": True}, "login_required", "sign-in page"),
    ({"captcha": True}, "login_required", "captcha"),
    ({"fail": "transient"}, "transient", "Network error"),
    ({"fail": "permanent"}, "permanent", "Processing abandoned"),
])
def test_switch_outcomes(youtube, sandbox, clip_file, switches, kind, message):
    up = youtube(**switches)
    result = up.upload(str(clip_file), META)
    assert not result.success
    assert result.error_kind == kind, result.error_message
    assert message in result.error_message
    assert result.platform_post_id is None
    assert published(sandbox) == []
    assert_failure_artifacts(result, up)
    if kind == "rate_limited":
        assert result.retry_after > datetime.now(timezone.utc) + timedelta(hours=23)


def test_per_request_switch_by_cookie(youtube, sandbox, browser_session, clip_file):
    up = youtube()
    browser_session.context.add_cookies([{"name": "sandbox", "value": "rate_limit",
                                          "url": sandbox.base_url("youtube") + "/"}])
    result = up.upload(str(clip_file), META)
    assert (result.success, result.error_kind) == (False, "rate_limited")


def test_signed_out_is_never_success_through_the_publisher(youtube, sandbox, db, registry, make_clip):
    vid = registry.register_video(str(make_clip("logged_out.mp4")))
    up = youtube(signed_in=False)
    assert up.check_login() is False
    from orchestration.publishing import Publisher

    outcome = Publisher(db).publish(vid, "YouTube", uploader=up)
    assert not outcome.success and outcome.error_kind == "login_required"
    assert registry.get_upload_status(vid, "YouTube")["upload_status"] == "LOGIN_REQUIRED"
    assert sandbox.posts("youtube") == []


def test_slow_processing_waits_then_publishes(youtube, sandbox, clip_file):
    up = youtube(slow=2.0)
    result = up.upload(str(clip_file), META)
    assert result.success, result.error_message
    post = sandbox.post("youtube", result.platform_post_id)
    assert post["status"] == "published" and post["processing_seconds"] == 2.0
    assert post["done_ts"] >= post["processed_ts"]


def test_processing_timeout_never_presses_done(youtube, sandbox, clip_file):
    up = youtube(slow=30.0, timeouts={"processing": 1.0})
    result = up.upload(str(clip_file), META)
    assert (result.success, result.error_kind) == (False, "transient")
    assert "still uploading or processing" in result.error_message
    (post,) = sandbox.posts("youtube")
    assert post["status"] == "processing" and post.get("done_clicked_at") is None  # a draft, not stuck
    assert_failure_artifacts(result, up)


def test_overlay_is_dismissed(youtube, sandbox, clip_file, caplog):
    caplog.set_level(logging.INFO, logger="asfs.uploaders")
    result = youtube(overlay=True).upload(str(clip_file), META)
    assert result.success, result.error_message
    assert "dismissed an overlay" in caplog.text
    assert published(sandbox)[0]["id"] == result.platform_post_id


def test_drift_publishes_through_fallbacks(youtube, sandbox, clip_file, caplog):
    caplog.set_level(logging.INFO, logger="asfs.uploaders")
    result = youtube(drift=True).upload(str(clip_file), {**META, "visibility": "private"})
    assert result.success, result.error_message
    post = sandbox.post("youtube", result.platform_post_id)
    assert (post["status"], post["visibility"], post["title"]) == ("published", "PRIVATE", META["title"])
    fallbacks = {r.args[1] for r in caplog.records if "matched fallback selector" in r.getMessage()}
    assert {"title", "description", "made_for_kids", "next", "visibility_private", "done"} <= fallbacks


def test_uploads_in_a_row_act_at_once_and_fall_back_when_the_site_changes(youtube, sandbox, clip_file, caplog):
    caplog.set_level(logging.INFO, logger="asfs.uploaders")
    up = youtube()
    assert up.upload(str(clip_file), {**META, "title": "First of three"}).success

    def looked_up() -> set[str]:
        return {r.args[1] for r in caplog.records if "matched" in r.getMessage() and "selector" in r.getMessage()}

    # the second upload on the same browser: steps that matched their first selector are clicked
    # and filled at once, without looking them up first
    caplog.clear()
    second = up.upload(str(clip_file), {**META, "title": "Second of three"})
    assert second.success, second.error_message
    assert not {"title", "description", "next", "done"} & looked_up()

    # the site changes between two uploads: each of those steps falls back to the full look,
    # finds the fallback selector and says so
    sandbox.configure(up.channel["account"], platform="youtube", drift=True)
    caplog.clear()
    third = up.upload(str(clip_file), {**META, "title": "Third of three", "visibility": "private"})
    assert third.success, third.error_message
    fallbacks = {r.args[1] for r in caplog.records if "matched fallback selector" in r.getMessage()}
    assert {"title", "description", "next", "visibility_private", "done"} <= fallbacks
    posts = {p["id"]: p for p in published(sandbox)}
    assert [posts[r.platform_post_id]["title"] for r in (second, third)] == ["Second of three", "Third of three"]
    assert posts[third.platform_post_id]["visibility"] == "PRIVATE"


def test_a_field_that_changed_kind_between_uploads_is_looked_at_again(youtube, sandbox, clip_file, caplog):
    caplog.set_level(logging.INFO, logger="asfs.uploaders")
    up = youtube()
    assert up.upload(str(clip_file), {**META, "title": "Learns the fields"}).success
    # the uploader now reads the title box as contenteditable text; pretend it had been an <input>
    # (as if the site changed it back): reading its value fails, so it asks the element again
    key = next(k for k in up._field_kinds if k[0] == "title")
    assert up._field_kinds[key] == "text"
    up._field_kinds[key] = "value"
    again = up.upload(str(clip_file), {**META, "title": "Published all the same"})
    assert again.success, again.error_message
    assert sandbox.post("youtube", again.platform_post_id)["title"] == "Published all the same"
    assert up._field_kinds[key] == "text"
    assert "the 'title' field changed kind" in caplog.text


def test_scheduled_in_the_channel_time_zone(youtube, sandbox, clip_file):
    up = youtube(timezone="Europe/Berlin")
    sandbox.configure(up.channel["account"], platform="youtube", timezone="Europe/Berlin")
    at = datetime.now(timezone.utc) + timedelta(days=2, hours=3)
    result = up.upload(str(clip_file), {**META, "visibility": "public", "scheduled_at": at.isoformat()})
    assert result.success, result.error_message
    post = sandbox.post("youtube", result.platform_post_id)
    assert post["status"] == "scheduled" and post["visibility"] == "PUBLIC"
    assert datetime.fromisoformat(post["scheduled_at"]) == at.replace(second=0, microsecond=0)


@pytest.mark.parametrize("meta,text", [
    ({"scheduled_at": "2001-01-01T00:00:00"}, "at least 15 minutes ahead"),
    ({"scheduled_at": (datetime.now(timezone.utc) + timedelta(days=1)).isoformat(), "visibility": "private"},
     "cannot be scheduled"),
    ({"title": "x" * 101}, "at most 100 characters"),
    ({"title": "a <b> title"}, "< or >"),
])
def test_bad_metadata_fails_before_any_browser(tmp_path, sandbox, clip_file, meta, text):
    from database.paths import DataPaths
    from uploaders.youtube import YouTubeUploader

    up = YouTubeUploader({"id": "yt", "platform": "YouTube", "base_url": sandbox.base_url("youtube")},
                         DataPaths(tmp_path / "data"))
    result = up.upload(str(clip_file), {**META, "visibility": "public", **meta})
    assert (result.success, result.error_kind) == (False, "permanent") and text in result.error_message
    assert up._session is None  # never started a browser
    missing = up.upload(str(tmp_path / "gone.mp4"), META)
    assert missing.error_kind == "permanent" and "missing" in missing.error_message


# -- the sandbox itself ---------------------------------------------------------------------------


def test_sandbox_leaves_the_upload_stuck_when_done_is_pressed_early(sandbox, browser_session, clip_file):
    """What a careless uploader does: the sandbox reproduces the real site's stuck upload."""
    browser_session.context.clear_cookies()
    browser_session.context.add_cookies([sandbox.cookie("youtube", "careless")])
    sandbox.configure("careless", platform="youtube", slow=30)
    page = browser_session.new_page()
    try:
        page.goto(sandbox.base_url("youtube") + "/upload")
        page.set_input_files("input[type=file]", str(clip_file))
        page.locator("#title-textarea #textbox").press_sequentially("Typed #")
        assert page.locator("#hashtag-suggestions").is_visible()  # typing opens the popup; fill does not
        page.keyboard.press("Escape")
        page.click("[name=VIDEO_MADE_FOR_KIDS_NOT_MFK]")
        for _ in range(3):
            page.click("#next-button")
        page.click("[name=PUBLIC]")
        page.locator("ytcp-video-info a[href*='watch?v=']").wait_for()
        page.click("#done-button")
        page.locator("ytcp-uploads-still-processing-dialog").wait_for()
    finally:
        page.close()
    (post,) = sandbox.posts("youtube", "careless")
    assert post["status"] == "stuck" and post.get("published_at") is None
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
        assert sb._server.server_address[0] == "127.0.0.1" and sb.url.startswith("http://127.0.0.1:")
        base = sb.base_url("youtube")
        cookie = {"Cookie": f"SID={sb.new_session('youtube', 'api-user')}"}
        status, body = _http(base + "/api/uploads", json.dumps({"filename": "a.mp4"}).encode(),
                             {**cookie, "Content-Type": "application/json"})
        vid = json.loads(body)["id"]
        boundary = "----asfs-test"
        payload = clip_file.read_bytes()
        multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n"
                     f"--{boundary}\r\nContent-Disposition: form-data; name=\"Filedata\"; filename=\"a.mp4\"\r\n"
                     f"Content-Type: video/mp4\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
        status, _ = _http(f"{base}/api/uploads/{vid}/file", multipart,
                          {**cookie, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert status == 200
        post = sb.post("youtube", vid)
        assert post["sha256"] == sha256(clip_file) and Path(post["file"]).read_bytes() == payload
        assert json.loads(Path(post["dir"], "post.json").read_text())["id"] == vid  # stored on disk

        # switches: per account, per request (query); unknown ones are refused by configure()
        status, _ = _http(base + "/api/uploads?sandbox=rate_limit", b"{}", cookie)
        assert status == 429
        sb.configure("api-user", platform="youtube", rate_limit=True)
        assert _http(base + "/api/uploads", b"{}", cookie)[0] == 429
        sb.configure("api-user", platform="youtube", rate_limit=None)
        assert _http(base + "/api/uploads", b"{}", cookie)[0] == 200
        with pytest.raises(ValueError, match="unknown sandbox switch"):
            sb.configure("api-user", explode=True)
        assert parse_switches("drift, slow=2,fail=permanent,bogus") == {"drift": True, "slow": 2.0,
                                                                        "fail": "permanent"}
        # signed out: the upload page redirects to the sign-in page that mimics accounts.google.com
        opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                                  {"redirect_request": lambda *a, **k: None}))
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(base + "/upload", timeout=10)
        assert redirect.value.code == 302 and "/accounts/v3/signin/identifier" in redirect.value.headers["Location"]
        url = sb.url
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)  # stopped: nothing listens any more


# -- end to end: run_upload_stage -------------------------------------------------------------------


def test_run_upload_stage_end_to_end(db, registry, make_clip, sandbox, builtin_uploaders, monkeypatch):
    from pipeline import run_upload_stage
    from uploaders import browser, get
    from uploaders.youtube import YouTubeUploader

    vid = registry.register_video(str(make_clip("e2e.mp4")), title="End to end clip")
    account = "e2e-channel@example.com"
    with db.transaction() as conn:
        conn.execute("UPDATE channels SET base_url = ?, account = ? WHERE id = 'YouTube'",
                     (sandbox.base_url("youtube"), account))
    channel = dict(db.query_one("SELECT * FROM channels WHERE id = 'YouTube'"))
    # the builtin factory finds the data directory the way the app does
    monkeypatch.setenv("ASFS_DATA_DIR", str(db.paths.root))
    assert isinstance(get("YouTube", channel), YouTubeUploader)

    # the operator logs the channel's profile in once, through the sandbox's sign-in page
    assert browser.login(channel, db.paths, headless=True, timeout=20,
                         on_page=lambda page: sandbox.sign_in(page, "youtube", account)) is True

    assert run_upload_stage(vid, "YouTube", {"description": "Seen end to end", "visibility": "public"}, db=db)

    (post,) = sandbox.posts("youtube", account)
    st = registry.get_upload_status(vid, "YouTube")
    assert (st["upload_status"], st["platform_post_id"]) == ("SUCCESS", post["id"])
    assert st["post_url"].endswith(f"watch?v={post['id']}")
    assert post["sha256"] == registry.get_video(vid)["checksum"]
    assert (post["title"], post["description"], post["visibility"]) == ("End to end clip", "Seen end to end", "PUBLIC")
    assert [e["status"] for e in db.audit.upload_events(video_id=vid)] == ["IN_PROGRESS", "SUCCESS"]
    last = json.loads(db.paths.upload_log.read_text().splitlines()[-1])
    assert (last["video_id"], last["status"], last["upload_id"]) == (vid, "SUCCESS", post["id"])
    profile = browser.profile_dir(db.paths, channel)
    assert profile.parent == db.paths.profiles and (profile.stat().st_mode & 0o777) == 0o700

    # the scheduler's path: a publishing thread opens its own Playwright and browser
    from orchestration.publishing import Publisher

    second = registry.register_video(str(make_clip("e2e_2.mp4")), title="Second clip")
    report = Publisher(db).upload_all_pending(channel_ids=["YouTube"])
    assert (report.total, report.succeeded) == (1, 1)
    newest = sandbox.posts("youtube", account)[0]
    assert registry.get_upload_status(second, "YouTube")["platform_post_id"] == newest["id"] != post["id"]
