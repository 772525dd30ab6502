"""The orchestration controls: Start / Pause / Resume / Stop on real background services, and a
red "scheduler not responding" when the heartbeat is stale or the status does not answer."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from database.paths import DataPaths
from orchestration.services import BackgroundServices
from orchestration.settings import load_settings
from tests.test_videos_tab import Answers
from ui import dialogs
from ui.orchestration_bar import OrchestrationBar
from ui.worker import Worker

UTC = timezone.utc


@pytest.fixture
def answers(monkeypatch):
    fake = Answers()
    monkeypatch.setattr(dialogs, "ask", fake)
    yield fake
    assert not fake.unexpected, f"unexpected questions: {fake.unexpected}"


@pytest.fixture
def worker():
    w = Worker()
    yield w
    w.shutdown(wait=True)


@pytest.fixture
def services(tmp_path):
    paths = DataPaths(tmp_path / "data")
    paths.root.mkdir(parents=True)
    paths.settings_file.write_text(json.dumps({"execute_interval_seconds": 1, "distribute_interval_seconds": 3600,
                                               "retry_interval_seconds": 3600}))
    svc = BackgroundServices(paths, load_settings(paths), headless=False)
    yield svc
    svc.stop(timeout=30)


@pytest.fixture
def make_bar(qtbot, worker):
    made = []

    def make(services, **kw) -> OrchestrationBar:
        kw.setdefault("poll_interval_ms", 50)
        bar = OrchestrationBar(worker, services, **kw)
        qtbot.addWidget(bar)
        made.append(bar)
        return bar

    yield make
    for bar in made:
        bar.shutdown()


def test_start_pause_resume_and_stop_from_the_bar(qtbot, services, make_bar, answers):
    bar = make_bar(services)
    qtbot.waitUntil(lambda: bar.state == "stopped")  # the services have not started yet
    assert bar.start_button.isEnabled() and not bar.stop_button.isEnabled()

    bar.start_button.click()
    qtbot.waitUntil(lambda: bar.state == "running", timeout=20_000)
    assert services.service is not None and services.runner.status()["state"] == "running"
    assert bar.pill.text() == "● Running"
    qtbot.waitUntil(lambda: "next run" in bar.detail.text() and "heartbeat" in bar.detail.text())
    assert bar.pause_button.isEnabled() and bar.stop_button.isEnabled() and not bar.start_button.isEnabled()

    bar.pause_button.click()
    qtbot.waitUntil(lambda: bar.state == "paused" and not bar.busy, timeout=20_000)
    assert services.service.get_status()["paused"] is True
    assert bar.resume_button.isEnabled() and not bar.pause_button.isEnabled()

    bar.resume_button.click()
    qtbot.waitUntil(lambda: bar.state == "running" and not bar.busy, timeout=20_000)
    assert services.service.get_status()["paused"] is False

    answers.then("Keep running")
    bar.stop_button.click()
    assert bar.state == "running" and not bar.busy
    answers.then("Stop")
    bar.stop_button.click()
    qtbot.waitUntil(lambda: bar.state == "stopped" and not bar.busy, timeout=20_000)
    assert services.runner.status()["state"] == "stopped"
    assert bar.start_button.isEnabled()

    bar.start_button.click()  # and once more: the same service starts again
    qtbot.waitUntil(lambda: bar.state == "running" and not bar.busy, timeout=20_000)


class FakeService:
    """get_status() as the orchestration service returns it, with a heartbeat of our choosing."""

    def __init__(self, heartbeat_age: float, *, alive: bool | None = None):
        self.age = heartbeat_age
        self.alive = alive
        self.block = threading.Event()
        self.block.set()

    def get_status(self):
        self.block.wait(30)
        beat = datetime.now(UTC) - timedelta(seconds=self.age)
        return {"status": "running", "running": True, "paused": False, "since": beat.isoformat(),
                "heartbeat": beat.isoformat(), "heartbeat_age_seconds": self.age,
                "alive": self.alive if self.alive is not None else self.age < 95,
                "next_schedule_at": None, "jobs": [], "executing": 0}


def test_a_stale_heartbeat_shows_scheduler_not_responding(qtbot, make_bar):
    fake = FakeService(600, alive=False)
    bar = make_bar(SimpleNamespace(service=fake, settings=None))
    with qtbot.waitSignal(bar.stateChanged, timeout=5_000, check_params_cb=lambda s: s == "not_responding"):
        pass
    assert bar.pill.text() == "⚠ Scheduler not responding"
    assert "last heartbeat 10 min ago" in bar.detail.text()
    assert bar.stop_button.isEnabled() and not bar.start_button.isEnabled()

    fake.age, fake.alive = 1, True  # it recovers: the next poll says so
    qtbot.waitUntil(lambda: bar.state == "running", timeout=5_000)
    # the bar's own limit applies even when the service still calls itself alive
    fake.age, fake.alive = 200, None
    qtbot.waitUntil(lambda: bar.state == "not_responding", timeout=5_000)


def test_a_status_request_that_does_not_answer_shows_not_responding(qtbot, make_bar):
    fake = FakeService(1, alive=True)
    bar = make_bar(SimpleNamespace(service=fake, settings=None), hang_seconds=0.2)
    qtbot.waitUntil(lambda: bar.state == "running", timeout=5_000)
    fake.block.clear()  # the next request hangs
    qtbot.waitUntil(lambda: bar.state == "not_responding", timeout=5_000)
    assert "has not answered" in bar.detail.text()
    fake.block.set()
    qtbot.waitUntil(lambda: bar.state == "running", timeout=5_000)


def test_without_services_the_bar_says_so(qtbot, make_bar):
    bar = make_bar(None)
    assert bar.state == "unavailable"
    assert not any(b.isEnabled() for b in (bar.start_button, bar.pause_button, bar.resume_button, bar.stop_button))
    failed = SimpleNamespace(service=None, error="the registry is newer than this program", _thread=None)
    bar.set_services(failed)
    assert bar.state == "failed" and "newer" in bar.detail.text()
