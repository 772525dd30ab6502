"""The background services the window and --headless share: scheduler, recovery, optional API."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta

import pytest

from database import Database, VideoRegistry, utcnow
from database.paths import DataPaths
from orchestration import ChannelService, SchedulingService
from orchestration.services import BackgroundServices
from orchestration.settings import load_settings


def wait_until(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


@pytest.fixture
def paths(tmp_path):
    return DataPaths(tmp_path / "data")


def write_settings(paths, **values):
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.settings_file.write_text(json.dumps(values))
    return load_settings(paths)


def test_window_services_run_the_scheduler_and_stop_cleanly(paths, make_clip, scripts):
    with Database.open(paths.registry) as db:
        vid = VideoRegistry(db).register_video(str(make_clip("due.mp4")))
        ch = ChannelService(db).create_channel("Window TT", "TikTok")
        clock_now = utcnow()
        sched = SchedulingService(db, clock=lambda: clock_now - timedelta(minutes=2)).create_independent_schedule(
            ch.id, clock_now - timedelta(minutes=1), video_id=vid)  # due a minute ago: inside the grace window
    services = BackgroundServices(paths, write_settings(paths), headless=False)
    done = []
    services.start_in_background(on_done=done.append)
    try:
        wait_until(lambda: done)
        assert services.error is None and services.api is None  # the window serves no API by default
        assert services.runner.status()["state"] in ("running", "paused")
        with Database.open(paths.registry) as db:
            wait_until(lambda: db.query_one("SELECT status FROM schedules WHERE id = ?", (sched.id,))[0]
                       in ("completed", "failed"))
            assert db.query_one("SELECT status FROM schedules WHERE id = ?", (sched.id,))[0] == "completed"
            assert VideoRegistry(db).get_upload_status(vid, ch.id)["upload_status"] == "SUCCESS"
    finally:
        services.stop()
    assert services.executing_left() == 0
    assert services.runner.status()["state"] == "stopped"


def test_window_serves_the_api_when_enabled(paths):
    settings = write_settings(paths, api_enabled=True, api_port=0)
    services = BackgroundServices(paths, settings, headless=False)
    services.start()
    try:
        assert services.api is not None
        req = urllib.request.Request(f"{services.api.url}/api/orchestration/status",
                                     headers={"Authorization": f"Bearer {services.api.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read())["running"] is True
    finally:
        services.stop()
    assert services.api is None


def test_stopping_before_the_start_finished_is_safe(paths):
    services = BackgroundServices(paths, write_settings(paths), headless=False)
    services.start_in_background()
    services.stop(timeout=60)
    assert services.runner.status()["state"] == "stopped"
    assert services.executing_left() == 0
