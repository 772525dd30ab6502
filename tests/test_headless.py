"""``python app.py --headless``: the scheduler with no window, stopped cleanly by a signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from database import Database, VideoRegistry, utcnow
from orchestration import ChannelService, SchedulingService
from orchestration.headless import run
from orchestration.settings import Settings
from tests.test_github_dispatch import FakeGitHub

PROJECT = Path(__file__).resolve().parent.parent


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


@pytest.fixture
def github():
    fake = FakeGitHub()
    yield fake
    fake.close()


def start_headless(data: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("ASFS_GITHUB_TOKEN", "ASFS_DATA_DIR")}
    return subprocess.Popen([sys.executable, str(PROJECT / "app.py"), "--headless", "--data-dir", str(data)],
                            cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen, sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, err


def test_headless_executes_a_due_schedule_and_stops_on_sigterm(tmp_path, github):
    data = tmp_path / "data"
    data.mkdir()
    # default intervals (30 s): only the one-shot at the schedule's time can run it this soon
    (data / "settings.json").write_text(json.dumps({"github_token": "headless-token", "github_api_url": github.url}))
    with Database.open(data / "database" / "videos.db") as db:
        ChannelService(db).create_channel("Repo", "TikTok", id="repo", github_repo_url="https://github.com/acme/r")
        video = VideoRegistry(db).register_videos([{"id": "hv", "file_path": "/v/hv.mp4", "checksum": "c" * 64}])[0]
        s = SchedulingService(db, settings=Settings()).create_independent_schedule(
            "repo", utcnow() + timedelta(seconds=2), video_id=video)

    proc = start_headless(data)
    try:
        wait_until(lambda: github.requests or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()[1]
        (req,) = github.requests
        assert req["headers"]["Authorization"] == "Bearer headless-token"
        assert req["json"]["event_type"] == "process-video"
        assert (req["json"]["client_payload"]["video_id"], req["json"]["client_payload"]["schedule_id"]) == (
            "hv", s.id)
        with Database.open(data / "database" / "videos.db") as db:
            wait_until(lambda: db.query_one("SELECT status FROM schedules WHERE id = ?", (s.id,))[0] == "completed")
    finally:
        code, err = stop(proc, signal.SIGTERM)
    assert code == 0, err
    assert "received SIGTERM" in err and "ASFS headless stopped" in err and "Traceback" not in err
    log = (data / "logs" / "asfs.log").read_text()
    assert "scheduler started" in log and f"schedule {s.id}: completed" in log and "scheduler stopped" in log
    with Database.open(data / "database" / "videos.db") as db:
        assert db.query_one("SELECT COUNT(*) FROM schedules WHERE status = 'executing'")[0] == 0


def test_headless_stops_on_ctrl_c(tmp_path):
    data = tmp_path / "data"
    proc = start_headless(data)
    log = data / "logs" / "asfs.log"
    try:
        wait_until(lambda: (log.exists() and "scheduler started" in log.read_text()) or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()[1]
    finally:
        code, err = stop(proc, signal.SIGINT)
    assert code == 0, err
    assert "received SIGINT" in err and "Traceback" not in err


def test_headless_refuses_bad_settings(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text(json.dumps({"execute_interval_seconds": "often"}))
    assert run(data, install_signal_handlers=False) == 2
    err = capsys.readouterr().err
    assert "execute_interval_seconds" in err
