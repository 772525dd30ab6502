"""The browser manager: finding the system browser, profiles, sessions and login."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tests.sandbox_fixtures import *  # noqa: F401,F403 - fixtures: sandbox, browser_session, ...
from uploaders import browser
from uploaders.browser import BrowserNotFoundError, BrowserSession, find_browser, profile_dir


def fake_browser(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_browsers(monkeypatch, tmp_path):
    """Nothing on PATH, no ASFS_BROWSER, and no browser in the usual places."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("ASFS_BROWSER", raising=False)
    places = [("Brave", [str(tmp_path / "opt/brave/brave")], ["brave-browser"]),
              ("Chrome", [str(tmp_path / "opt/google/chrome")], ["google-chrome"]),
              ("Chromium", [str(tmp_path / "usr/bin/chromium")], ["chromium"])]
    monkeypatch.setattr(browser, "browser_candidates", lambda platform=None: places)
    return places


def test_env_override_wins(monkeypatch, tmp_path, no_browsers):
    exe = fake_browser(tmp_path / "my" / "browser")
    monkeypatch.setenv("ASFS_BROWSER", str(exe))
    assert find_browser() == str(exe)
    other = fake_browser(tmp_path / "settings" / "browser")
    assert find_browser(str(other)) == str(other)  # the settings path comes first


def test_explicit_browser_that_does_not_exist_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("ASFS_BROWSER", str(tmp_path / "nope"))
    with pytest.raises(BrowserNotFoundError, match="ASFS_BROWSER") as err:
        find_browser()
    assert str(tmp_path / "nope") in str(err.value)


def test_not_found_lists_every_place(no_browsers):
    with pytest.raises(BrowserNotFoundError) as err:
        find_browser()
    message = str(err.value)
    for _, paths, commands in no_browsers:
        for p in paths:
            assert p in message
        for c in commands:
            assert f"{c} on PATH" in message
    assert "ASFS_BROWSER" in message
    assert isinstance(err.value, browser.ASFSError)


def test_found_in_the_usual_places_and_on_path(monkeypatch, tmp_path, no_browsers):
    chromium = fake_browser(Path(no_browsers[2][1][0]))
    assert find_browser() == str(chromium)
    brave = fake_browser(tmp_path / "empty-bin" / "brave-browser")  # on PATH, and Brave comes first
    assert find_browser() == str(brave)


def test_candidates_cover_linux_macos_and_windows(monkeypatch):
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\op\AppData\Local")
    linux = [p for _, paths, _ in browser.browser_candidates("linux") for p in paths]
    assert "/usr/bin/chromium" in linux and "/usr/bin/google-chrome" in linux and "/usr/bin/brave-browser" in linux
    mac = [p for _, paths, _ in browser.browser_candidates("darwin") for p in paths]
    assert "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" in mac
    assert "/Applications/Brave Browser.app/Contents/MacOS/Brave Browser" in mac
    win = [p for _, paths, _ in browser.browser_candidates("win32") for p in paths]
    assert any(p.endswith(r"Google\Chrome\Application\chrome.exe") and p.startswith(r"C:\Users") for p in win)
    assert any("BraveSoftware" in p for p in win)
    assert [name for name, _, _ in browser.browser_candidates("linux")] == ["Brave", "Chrome", "Chromium"]


def test_profile_dir_is_private_and_per_account(tmp_path):
    from database.paths import DataPaths

    paths = DataPaths(tmp_path / "data")
    a = profile_dir(paths, {"id": "c1", "platform": "YouTube", "account": "Me@Example.com"})
    again = profile_dir(paths, {"id": "c2", "platform": "YouTube", "account": "Me@Example.com"})
    other = profile_dir(paths, {"id": "c3", "platform": "YouTube", "account": "me-example-com"})
    tiktok = profile_dir(paths, {"id": "c4", "platform": "TikTok", "account": "Me@Example.com"})
    by_id = profile_dir(paths, {"id": "c5", "platform": "Instagram"})
    assert a == again and len({a, other, tiktok, by_id}) == 4
    for p in (a, other, tiktok, by_id):
        assert p.parent == paths.profiles and p.is_dir()
        assert stat.S_IMODE(p.stat().st_mode) == 0o700
    assert stat.S_IMODE(paths.profiles.stat().st_mode) == 0o700
    assert "c5" in by_id.name


def test_headless_default(monkeypatch):
    monkeypatch.delenv("ASFS_HEADLESS", raising=False)
    assert browser.default_headless("http://127.0.0.1:5000/youtube") is True
    assert browser.default_headless("https://www.youtube.com") is False
    monkeypatch.setenv("ASFS_HEADLESS", "1")
    assert browser.default_headless("https://www.youtube.com") is True


def test_launch_args():
    args = BrowserSession.launch_args()
    for flag in ("--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--disable-gpu"):
        assert flag in args
    assert ("--no-sandbox" in args) == (hasattr(os, "geteuid") and os.geteuid() == 0)


# -- real Chromium -------------------------------------------------------------------------------


def test_session_belongs_to_its_thread(browser_session, sandbox):
    page = browser_session.new_page()
    try:
        page.goto(sandbox.url + "/")
        assert "ASFS sandbox" in page.content()
    finally:
        page.close()
    errors = []

    def other_thread():
        try:
            browser_session.new_page()
        except RuntimeError as exc:
            errors.append(str(exc))

    t = threading.Thread(target=other_thread)
    t.start()
    t.join(10)
    assert errors and "belongs to the thread" in errors[0]


def test_login_then_check_login_on_the_profile(tmp_path, sandbox, browser_session):
    from database.paths import DataPaths

    paths = DataPaths(tmp_path / "data")
    channel = {"id": "yt-login", "platform": "YouTube", "account": "login-test@example.com",
               "base_url": sandbox.base_url("youtube")}
    # never logged in: login() gives up after its timeout, check_login() says no
    assert browser.login(channel, paths, headless=True, timeout=0.5) is False
    assert browser.check_login(channel, paths) is False
    # the operator signs in (here: automated on the sandbox's sign-in page)
    assert browser.login(channel, paths, headless=True, timeout=15,
                         on_page=lambda page: sandbox.sign_in(page, "youtube", channel["account"])) is True
    # a new browser on the same profile is still logged in (the cookie persisted)
    assert browser.check_login(channel, paths) is True
    sandbox.sign_out("youtube", channel["account"])
    assert browser.check_login(channel, paths) is False


def test_offline_mode_never_opens_a_real_platform(monkeypatch, tmp_path, clip_file):
    from database.paths import DataPaths
    from uploaders.youtube import YouTubeUploader

    monkeypatch.setenv("ASFS_OFFLINE", "1")
    paths = DataPaths(tmp_path / "data")
    up = YouTubeUploader({"id": "real", "platform": "YouTube", "account": "me"}, paths)  # no base_url: the real site
    assert up.base_url == "https://www.youtube.com" and up.headless is False
    result = up.upload(str(clip_file), {"title": "Never posted"})
    assert (result.success, result.error_kind) == (False, "permanent") and "ASFS_OFFLINE" in result.error_message
    assert up.check_login() is None and up._session is None
    assert not paths.profiles.exists()  # not even a profile folder
