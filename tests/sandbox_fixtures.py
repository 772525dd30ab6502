"""Fixtures for browser tests: the sandbox platform on 127.0.0.1 and one shared headless browser.

Use them with ``from tests.sandbox_fixtures import *`` (in a test module or in conftest.py).

* ``sandbox`` — a fresh :class:`uploaders.sandbox.Sandbox` per test (any free port, posts in
  ``tmp_path/sandbox``), stopped when the test ends.
* ``browser_session`` — one headless system Chromium per test module (skips the module when no
  browser is installed); tests share it and get fresh cookies.
* ``youtube`` — ``youtube(**switches)`` -> a YouTubeUploader on the shared browser, signed in
  to the sandbox as a fresh account (``signed_in=False`` for none), with short timeouts.
* ``builtin_uploaders`` — the registry's YouTube entry is the built-in factory during the test.
* ``clip_file`` — a small real video file.
* ``offline_by_default`` (autouse) — ``ASFS_OFFLINE=1``: a test can never open a real platform.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

@pytest.fixture(autouse=True)
def offline_by_default(monkeypatch: pytest.MonkeyPatch):
    """Tests never open a real platform: ASFS_OFFLINE=1 (the sandbox on 127.0.0.1 still works).

    Autouse wherever these fixtures are imported; from conftest.py that is the whole suite.
    """
    monkeypatch.setenv("ASFS_OFFLINE", "1")


FAST_TIMEOUTS = dict(step=6.0, action=4.0, navigation=15.0, processing=20.0, confirm=8.0, probe=6.0,
                     launch=30.0, poll=0.1, long_poll=0.2)


@pytest.fixture
def sandbox(tmp_path: Path):
    from uploaders.sandbox import Sandbox

    sb = Sandbox(tmp_path / "sandbox").start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture(scope="module")
def browser_session(tmp_path_factory: pytest.TempPathFactory):
    from uploaders.browser import BrowserNotFoundError, BrowserSession, find_browser

    try:
        find_browser()
    except BrowserNotFoundError as exc:
        pytest.skip(f"no system browser: {exc}")
    session = BrowserSession(tmp_path_factory.mktemp("shared-profile"), headless=True,
                             default_timeout=10, navigation_timeout=15)
    session.start()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def clip_file(tmp_path: Path) -> Path:
    from tests.media_factory import make_video

    return make_video(tmp_path / "clips" / "upload_me.mp4", color_seed=4242)


@pytest.fixture
def youtube(sandbox, browser_session, tmp_path: Path):
    """youtube(account=None, *, signed_in=True, timezone="UTC", timeouts=None, **switches)."""
    from database.paths import DataPaths
    from uploaders.playwright_base import Timeouts
    from uploaders.youtube import YouTubeUploader

    browser_session.context.clear_cookies()
    paths = DataPaths(tmp_path / "data")

    def make(account: str | None = None, *, signed_in: bool = True, timezone: str = "UTC",
             timeouts: dict | None = None, **switches) -> YouTubeUploader:
        account = account or f"acct-{uuid.uuid4().hex[:8]}@example.com"
        channel = {"id": "yt-test", "name": "YouTube test", "platform": "YouTube", "account": account,
                   "base_url": sandbox.base_url("youtube"), "timezone": timezone}
        if switches:
            sandbox.configure(account, platform="youtube", **switches)
        if signed_in:
            browser_session.context.add_cookies([sandbox.cookie("youtube", account)])
        return YouTubeUploader(channel, paths, session=browser_session,
                               timeouts=Timeouts(**{**FAST_TIMEOUTS, **(timeouts or {})}))

    return make


@pytest.fixture
def builtin_uploaders():
    """The built-in uploaders registered for the test; the registry is restored afterwards."""
    import uploaders
    from uploaders import builtin

    before = uploaders.registered()
    builtin.register_builtins(replace=True)
    yield builtin
    for key in list(uploaders.registered()):
        uploaders.register(key, None)
    for key, factory in before.items():
        uploaders.register(key, factory)


__all__ = ["FAST_TIMEOUTS", "browser_session", "builtin_uploaders", "clip_file", "offline_by_default", "sandbox",
           "youtube"]
