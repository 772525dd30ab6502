"""The local HTTP API over real HTTP on 127.0.0.1: every endpoint, every error status, the token,
and a bounded schemathesis run against the OpenAPI document that must find no server error."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone

import httpx
import pytest

from database import Database, VideoRegistry
from orchestration import ChannelService, start_api_server
from orchestration.api import PREFIX, TOKEN_FILE, ensure_api_token
from orchestration.settings import Settings
from tests.test_github_dispatch import FakeGitHub

UTC = timezone.utc
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
QUIET = dict(execute_interval_seconds=3600, distribute_interval_seconds=3600, retry_interval_seconds=3600)

ENDPOINTS = [
    ("POST", "start"), ("POST", "stop"), ("POST", "pause"), ("POST", "resume"), ("GET", "status"),
    ("POST", "coordinate-publication"), ("POST", "schedule-wave"), ("POST", "trigger-pipeline"),
    ("GET", "monitor-channels"), ("GET", "dashboard"), ("POST", "distribute-videos"), ("POST", "sync-configs"),
]


class Clock:
    now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def github():
    fake = FakeGitHub()
    yield fake
    fake.close()


@pytest.fixture
def server(tmp_path, github):
    db = Database.open(tmp_path / "data" / "database" / "videos.db")
    settings = Settings(**QUIET, github_token="gh-token", github_api_url=github.url)
    srv = start_api_server(db, settings, host="127.0.0.1", port=0, clock=Clock())
    yield srv
    srv.stop()
    srv.service.stop()
    db.close()


@pytest.fixture
def client(server):
    with httpx.Client(base_url=f"{server.url}{PREFIX}", headers={"Authorization": f"Bearer {server.token}"},
                      timeout=30) as c:
        yield c


@pytest.fixture
def db(server):
    return server.service.db


def a_video(db, name="v1") -> str:
    folder = db.paths.root / "media"
    folder.mkdir(exist_ok=True)
    f = folder / f"{name}.mp4"
    f.write_bytes(os.urandom(64))
    st = f.stat()
    return VideoRegistry(db).register_videos([{"id": name, "file_path": str(f), "checksum": os.urandom(32).hex(),
                                               "size_bytes": st.st_size, "file_mtime_ns": st.st_mtime_ns}])[0]


# -- the token ----------------------------------------------------------------------------------------------------


def test_it_listens_on_loopback_with_a_private_token_file(server):
    assert server.host == "127.0.0.1" and server.port > 0
    path = server.service.db.paths.root / TOKEN_FILE
    assert path == server.token_path and path.read_text().strip() == server.token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_api_token(path.parent) == server.token  # made once, reused at the next start


@pytest.mark.parametrize("method, name", ENDPOINTS)
def test_every_endpoint_needs_the_token(server, method, name):
    url = f"{server.url}{PREFIX}/{name}"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {server.token}"}):
        # a malformed body too: the token is checked first
        r = httpx.request(method, url, headers={**headers, "Content-Type": "application/json"},
                          content=b"{not json" if method == "POST" else None)
        assert r.status_code == 401, (name, headers, r.text)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "token" in r.json()["detail"]


def test_the_docs_and_openapi_document_every_endpoint(server):
    doc = httpx.get(f"{server.url}/openapi.json").json()
    for method, name in ENDPOINTS:
        assert method.lower() in doc["paths"][f"{PREFIX}/{name}"], name
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    assert httpx.get(f"{server.url}/docs").status_code == 200


# -- system control --------------------------------------------------------------------------------------------


def test_start_pause_resume_status_stop(client, db):
    assert client.get("/status").json()["status"] == "stopped"
    r = client.post("/start")
    assert r.status_code == 200 and r.json()["status"] == "running"
    st = client.get("/status").json()
    assert st["running"] and {j["id"] for j in st["jobs"]} >= {"execute", "distribute", "retry"}
    assert all(j["next_run_time"] for j in st["jobs"]) and st["heartbeat"]
    assert client.post("/pause").json()["status"] == "paused"
    assert client.get("/status").json()["paused"] is True
    r = client.post("/distribute-videos")
    assert r.status_code == 409 and "paused" in r.json()["detail"]
    assert client.post("/resume").json()["status"] == "running"
    r = client.post("/stop").json()
    assert (r["status"], r["executing"]) == ("stopped", 0)
    assert [e["actor"] for e in db.audit.events("orchestration.*")] == ["api"] * 4


# -- coordination --------------------------------------------------------------------------------------------------


def test_coordinate_publication(client, db):
    vid = a_video(db)
    ChannelService(db).create_channel("Second", "TikTok", id="second")
    body = {"video_id": vid, "channel_ids": ["TikTok", "second"], "timing": "staggered",
            "scheduled_at": "2026-03-20T15:00:00Z", "delay_seconds": 900}
    r = client.post("/coordinate-publication", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert [s["scheduled_at"] for s in out["schedules"]] == ["2026-03-20T15:00:00.000000+00:00",
                                                             "2026-03-20T15:15:00.000000+00:00"]
    # the same again: a conflict, 409 with every conflict listed
    r = client.post("/coordinate-publication", json=body)
    assert r.status_code == 409
    assert [c["kind"] for c in r.json()["conflicts"]] == ["same_video", "same_video"]


def test_coordinate_publication_errors(client, db):
    vid = a_video(db)
    r = client.post("/coordinate-publication", json={"video_id": "ghost", "channel_ids": ["TikTok"]})
    assert r.status_code == 404 and "ghost" in r.json()["detail"]
    r = client.post("/coordinate-publication", json={"video_id": vid, "channel_ids": ["Nowhere"]})
    assert r.status_code == 404
    r = client.post("/coordinate-publication", json={"video_id": vid, "channel_ids": ["TikTok"],
                                                     "scheduled_at": "2026-03-19T12:00:00Z"})
    assert r.status_code == 409 and "past" in r.json()["detail"] and r.json()["conflicts"][0]["kind"] == "past"
    for body, field in [
        ({"channel_ids": ["TikTok"]}, "video_id"),
        ({"video_id": vid, "channel_ids": "TikTok"}, "channel_ids"),
        ({"video_id": vid, "channel_ids": []}, "channel_ids"),
        ({"video_id": vid, "channel_ids": ["TikTok"], "timing": "whenever"}, "timing"),
        ({"video_id": vid, "channel_ids": ["TikTok"], "scheduled_at": "soon"}, "scheduled_at"),
        ({"video_id": vid, "channel_ids": ["TikTok"], "delay_seconds": -1}, "delay_seconds"),
        ({"video_id": vid, "channel_ids": ["TikTok"], "colour": "red"}, "colour"),
        ({"video_id": vid, "channel_ids": ["TikTok"], "scheduled_at": "9999-12-31T23:59:59Z"}, "scheduled_at"),
        ({"video_id": vid, "channel_ids": ["TikTok"], "scheduled_at": "0001-01-01T00:00:00+05:00"}, "scheduled_at"),
        ({"video_id": vid, "channel_ids": ["TikTok", "YouTube"], "timing": "staggered",
          "scheduled_at": "2035-12-01T00:00:00Z", "delay_seconds": 31_000_000}, "delay_seconds"),
        ({"video_id": vid, "channel_ids": ["TikTok"], "scheduled_at": 1e18}, "scheduled_at"),
    ]:
        r = client.post("/coordinate-publication", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == field, (body, r.json())
    r = client.post("/coordinate-publication", content=b'{"video_id": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"]


def test_schedule_wave(client, db):
    vids = [a_video(db, f"w{i}") for i in range(2)]
    body = {"video_ids": vids, "channel_ids": ["TikTok", "YouTube"],
            "wave_config": {"timing": "simultaneous", "scheduled_at": "2026-03-21T12:00:00Z", "delay_seconds": 3600}}
    r = client.post("/schedule-wave", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["schedule_count"] == 4 and {s["wave_id"] for s in out["schedules"]} == {out["wave_id"]}
    assert client.post("/schedule-wave", json=body).status_code == 409  # the same videos again
    r = client.post("/schedule-wave", json={**body, "video_ids": ["ghost"]})
    assert r.status_code == 404
    r = client.post("/schedule-wave", json={**body, "wave_config": {"timing": "sometimes"}})
    assert r.status_code == 422 and r.json()["field"] == "wave_config.timing"
    r = client.post("/schedule-wave", json={**body, "wave_config": {"wave_id": "   "}})
    assert r.status_code == 422 and r.json()["field"] == "wave_config.wave_id"
    r = client.post("/schedule-wave", json={**body, "video_ids": [vids[0], vids[0]]})
    assert r.status_code == 422 and r.json()["field"] == "video_ids"
    r = client.post("/schedule-wave", json={"video_ids": vids, "channel_ids": ["TikTok"], "wave_config": {
        "scheduled_at": "2020-01-01T00:00:00Z"}})
    assert r.status_code == 409 and "past" in r.json()["detail"]


def test_trigger_pipeline_github_and_local(client, db, github):
    ChannelService(db).create_channel("Repo", "TikTok", id="repo", github_repo_url="https://github.com/acme/shorts")
    vid = a_video(db)
    r = client.post("/trigger-pipeline", json={"channel_id": "repo", "video_id": vid})
    assert r.status_code == 200 and r.json()["method"] == "github_actions"
    assert github.requests[0]["json"]["client_payload"]["video_id"] == vid
    assert github.requests[0]["headers"]["Authorization"] == "Bearer gh-token"
    r = client.post("/trigger-pipeline", json={"channel_id": "TikTok"})
    assert r.status_code == 200 and r.json()["status"] == "idle"
    assert client.post("/trigger-pipeline", json={"channel_id": "nope"}).status_code == 404
    assert client.post("/trigger-pipeline", json={"channel_id": "TikTok", "video_id": "nope"}).status_code == 404
    r = client.post("/trigger-pipeline", json={"video_id": vid})
    assert r.status_code == 422 and r.json()["field"] == "channel_id"
    github.answers.append((401, {"message": "Bad credentials"}, {}))
    r = client.post("/trigger-pipeline", json={"channel_id": "repo"})
    assert r.status_code == 502 and "refused" in r.json()["detail"]


def test_trigger_pipeline_local_queue_job(client, db, scripts):
    vid = a_video(db)
    r = client.post("/trigger-pipeline", json={"channel_id": "Instagram", "video_id": vid})
    assert r.status_code == 200 and r.json()["status"] == "queued"
    job_id = r.json()["job_id"]
    from tests.test_orchestrator import wait_until

    wait_until(lambda: client.get(f"/pipeline-jobs/{job_id}").json()["status"] == "completed")
    r = client.post("/trigger-pipeline", json={"channel_id": "Instagram", "video_id": vid})
    assert r.status_code == 409 and "already published" in r.json()["detail"]
    assert client.get("/pipeline-jobs/unknown").status_code == 404


# -- monitoring, distribution, configs ------------------------------------------------------------------------------


def test_monitor_dashboard_distribute_and_sync(client, db):
    a_video(db)
    r = client.get("/monitor-channels")
    assert r.status_code == 200
    assert {c["name"] for c in r.json()} == {"YouTube", "TikTok", "Instagram"}
    assert {"name", "health", "status", "statistics", "last_publication"} <= set(r.json()[0])
    r = client.get("/dashboard")
    assert r.status_code == 200
    d = r.json()
    assert d["system"]["status"]["running"] is False and d["channels"]["active"] == 3
    assert d["statistics"]["overall"]["total"] == 0 and d["schedules"]["pending"] == 0
    r = client.post("/distribute-videos")
    assert r.status_code == 200 and r.json() == {**r.json(), "total_distributed": 3, "by_filters": 3,
                                                 "by_schedule": 0}
    assert client.get("/dashboard").json()["statistics"]["overall"]["total"] == 3
    r = client.post("/sync-configs")
    assert r.status_code == 200 and r.json()["synced"] == 3 and r.json()["errors"] == []
    assert (db.paths.root / "channels" / "TikTok.toml").is_file()


# -- fuzzing the OpenAPI document ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_schemathesis_finds_no_server_error(server, db):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode

    # something to find: a video and a channel, so some generated requests get past 404
    a_video(db, "video-1")
    ChannelService(db).create_channel("channel-1", "TikTok", id="channel-1")
    auth = {"Authorization": f"Bearer {server.token}"}
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", timeout=10)

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        @given(case=schema.as_strategy(generation_mode=mode))
        @settings(max_examples=100, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(base_url=server.url, headers=auth, checks=[not_a_server_error], timeout=30)

        check()
    server.service.stop()


# -- served by the headless service ----------------------------------------------------------------------------------


def test_headless_serves_the_api(tmp_path):
    import json
    import socket
    import threading

    from orchestration.headless import EXIT_OK, run
    from tests.test_orchestrator import wait_until

    with socket.socket() as s:  # a free port (the headless service reads it from settings.json)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "headless"
    data.mkdir()
    (data / "settings.json").write_text(json.dumps({**QUIET, "api_port": port}))
    stop = threading.Event()
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("code", run(data, stop_event=stop,
                                                                            install_signal_handlers=False)))
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}{PREFIX}/status"

        def answers() -> bool:
            if not (data / TOKEN_FILE).exists():
                return False
            try:
                return httpx.get(url, headers={"Authorization": f"Bearer {(data / TOKEN_FILE).read_text().strip()}"}
                                 ).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, timeout=30)
        token = (data / TOKEN_FILE).read_text().strip()
        st = httpx.get(url, headers={"Authorization": f"Bearer {token}"}).json()
        assert st["running"] and {j["id"] for j in st["jobs"]} >= {"execute", "distribute", "retry"}
        assert httpx.get(url).status_code == 401
    finally:
        stop.set()
        thread.join(60)
    assert result["code"] == EXIT_OK
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=2)
