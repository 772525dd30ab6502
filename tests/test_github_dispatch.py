"""Channels with a GitHub repository: schedules run as repository_dispatch events (against a local fake GitHub)."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from database import ValidationError
from orchestration import ChannelService, SchedulingService, VideoDistributionService
from orchestration.github import GitHubDispatcher, GitHubDispatchError, parse_repo
from orchestration.settings import Settings

UTC = timezone.utc
T0 = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


class FakeGitHub:
    """A tiny stand-in for api.github.com on 127.0.0.1: records requests, answers from a script."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict, dict]] = []  # (status, json body, headers); empty: 204
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "json": json.loads(body or b"{}")})
                status, payload, headers = fake.answers.pop(0) if fake.answers else (204, None, {})
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def github():
    fake = FakeGitHub()
    yield fake
    fake.close()


@pytest.fixture
def clock():
    class Clock:
        now = T0

        def __call__(self):
            return self.now

    return Clock()


@pytest.fixture
def repo_channel(db, clock):
    return ChannelService(db, clock=clock).create_channel(
        "Repo", "TikTok", id="repo-channel", github_repo_url="https://github.com/acme/shorts-channel")


@pytest.fixture
def video(registry):
    return registry.register_videos([{"id": "vid-1", "file_path": "/videos/vid-1.mp4", "checksum": "b" * 64}])[0]


def service(db, clock, github, token="secret-token") -> SchedulingService:
    return SchedulingService(db, clock=clock, settings=Settings(github_token=token, github_api_url=github.url,
                                                                github_timeout_seconds=5))


def due(svc, clock, video, channel="repo-channel"):
    s = svc.create_independent_schedule(channel, clock.now + timedelta(minutes=1), video_id=video)
    clock.now += timedelta(minutes=1)
    return s


def test_a_due_schedule_sends_repository_dispatch(db, clock, github, repo_channel, video, scripts):
    svc = service(db, clock, github)
    s = svc.create_independent_schedule("repo-channel", clock.now + timedelta(minutes=1), video_id=video,
                                        wave_id="wave-9")
    clock.now += timedelta(minutes=1)
    results = svc.execute_pending_schedules()
    assert results == [{"schedule_id": s.id, "status": "completed"}]
    (req,) = github.requests
    assert req["path"] == "/repos/acme/shorts-channel/dispatches"
    assert req["headers"]["Authorization"] == "Bearer secret-token"
    assert req["headers"]["Accept"] == "application/vnd.github+json"
    assert req["json"]["event_type"] == "process-video"
    payload = req["json"]["client_payload"]
    assert (payload["video_id"], payload["schedule_id"], payload["wave_id"]) == (video, s.id, "wave-9")
    assert scripts["TikTok"].calls == []  # GitHub publishes, not a local uploader
    assert "dispatched to GitHub (acme/shorts-channel)" in db.audit.events("schedule.completed")[-1]["message"]
    assert svc.execute_pending_schedules() == [] and len(github.requests) == 1


def test_a_dispatched_distribution_stays_scheduled_until_the_workflow_reports(db, clock, github, repo_channel, video):
    svc = service(db, clock, github)
    (d,) = VideoDistributionService(db, clock=clock).manual_distribute(
        video, ["repo-channel"], scheduled_at=clock.now + timedelta(minutes=1))
    clock.now += timedelta(minutes=1)
    assert svc.execute_pending_schedules()[0]["status"] == "completed"
    assert VideoDistributionService(db).distribution_repo.get(d.id).status == "scheduled"


def test_a_refused_token_fails_without_retry(db, clock, github, repo_channel, video):
    github.answers.append((401, {"message": "Bad credentials"}, {}))
    svc = service(db, clock, github)
    s = due(svc, clock, video)
    (r,) = svc.execute_pending_schedules()
    assert r["status"] == "failed" and "token was refused" in r["error"] and "Bad credentials" in r["error"]
    assert svc.get_schedule(s.id).next_attempt_at is None


def test_server_errors_and_rate_limits_are_retried(db, clock, github, repo_channel, video):
    github.answers += [(502, {"message": "bad gateway"}, {}),
                       (403, {"message": "API rate limit exceeded"}, {"X-RateLimit-Remaining": "0"})]
    svc = service(db, clock, github)
    s = due(svc, clock, video)
    (r,) = svc.execute_pending_schedules()
    assert r["status"] == "failed" and "502" in r["error"]
    clock.now = svc.get_schedule(s.id).next_attempt_at
    (r,) = svc.execute_pending_schedules()
    assert "rate limit" in r["error"] and svc.get_schedule(s.id).next_attempt_at is not None
    clock.now = svc.get_schedule(s.id).next_attempt_at
    assert svc.execute_pending_schedules()[0]["status"] == "completed"
    assert len(github.requests) == 3 and svc.get_schedule(s.id).attempts == 3


def test_no_token_says_how_to_configure_one(db, clock, github, repo_channel, video, monkeypatch):
    monkeypatch.delenv("ASFS_GITHUB_TOKEN", raising=False)
    svc = service(db, clock, github, token=None)
    s = due(svc, clock, video)
    assert any("GitHub token" in i for i in svc.validate_schedule(s.id)["issues"])
    (r,) = svc.execute_pending_schedules()
    assert r["status"] == "failed" and "ASFS_GITHUB_TOKEN" in r["error"]
    assert github.requests == []


def test_an_unreachable_api_is_a_retryable_failure():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dispatcher = GitHubDispatcher("t", f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(GitHubDispatchError) as err:
        dispatcher.dispatch("https://github.com/acme/x", {"video_id": "v", "schedule_id": "s"})
    assert err.value.retryable and err.value.status is None and "Could not reach GitHub" in str(err.value)


@pytest.mark.parametrize("url,expected", [
    ("https://github.com/acme/shorts", ("acme", "shorts")),
    ("https://github.com/acme/shorts.git", ("acme", "shorts")),
    ("https://github.com/acme/shorts/", ("acme", "shorts")),
    ("git@github.com:acme/shorts.git", ("acme", "shorts")),
    ("acme/shorts", ("acme", "shorts")),
])
def test_repository_urls(url, expected):
    assert parse_repo(url) == expected


@pytest.mark.parametrize("url", ["https://github.com/acme", "not a url", "", None])
def test_bad_repository_urls(url):
    with pytest.raises(ValidationError):
        parse_repo(url)
