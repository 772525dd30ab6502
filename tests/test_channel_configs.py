"""Channel configuration files (<data dir>/channels/) synced with the registry both ways, and
pushed to each channel's repository (against a fake GitHub contents API on 127.0.0.1)."""

from __future__ import annotations

import base64
import json
import os
import threading
import tomllib
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from orchestration import CentralOrchestrationService, ChannelService
from orchestration.channel_configs import dump_toml, read_file, registry_config, render, sync_channel_configs
from orchestration.settings import Settings

UTC = timezone.utc
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
TABLES = ("videos", "channels", "video_uploads", "distributions", "schedules")


def snapshot(db):
    return {t: [tuple(r) for r in db.query(f"SELECT * FROM {t} ORDER BY rowid")] for t in TABLES}


def set_mtime(path, when: datetime) -> None:
    ts = when.timestamp()
    os.utime(path, (ts, ts))


class FakeContents:
    """The GitHub contents endpoint on 127.0.0.1: GET answers what was PUT (404 before)."""

    def __init__(self):
        self.files: dict[str, tuple[bytes, str]] = {}  # path -> (content, sha)
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                fake.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
                if self.path not in fake.files:
                    return self._answer(404, {"message": "Not Found"})
                content, sha = fake.files[self.path]
                self._answer(200, {"sha": sha, "content": base64.encodebytes(content).decode()})

            def do_PUT(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                fake.requests.append({"method": "PUT", "path": self.path, "headers": dict(self.headers), "json": body})
                old = fake.files.get(self.path)
                if old is not None and body.get("sha") != old[1]:
                    return self._answer(409, {"message": "sha does not match"})
                sha = f"sha{len(fake.requests)}"
                fake.files[self.path] = (base64.b64decode(body["content"]), sha)
                self._answer(201 if old is None else 200, {"content": {"sha": sha}})

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def github():
    fake = FakeContents()
    yield fake
    fake.close()


@pytest.fixture
def clock():
    class Clock:
        now = NOW

        def __call__(self):
            return self.now

    return Clock()


@pytest.fixture
def sync(db, clock):
    def run(**settings):
        return sync_channel_configs(db, settings=Settings(**settings), clock=clock)

    return run


@pytest.fixture
def folder(db):
    return db.paths.root / "channels"


def test_first_sync_writes_one_file_per_channel(db, sync, folder, clock):
    ChannelService(db, clock=clock).create_channel(
        "Fitness", "TikTok", id="fit", timezone="Europe/Berlin", daily_cap=3, priority=5,
        content_filters={"min_resolution": "1080p", "include_tags": ["Fitness", "gym"], "max_duration": 60},
        posting_schedule={"mon": ["09:00", "18:00"], "availability_windows": [{"start": "2026-01-01"}]},
        metadata_template={"title": "{title} #fit", "hashtags": ["a", "b"], "nested": {"x": 1}},
        transformation_profile={"aspect": "9:16", "width": 1080, "height": 1920})
    out = sync()
    assert out["errors"] == [] and out["synced"] == 4
    assert sorted(out["written"]) == ["Instagram", "TikTok", "YouTube", "fit"]
    data = tomllib.loads((folder / "fit.toml").read_text())
    assert data["name"] == "Fitness" and data["daily_cap"] == 3 and data["timezone"] == "Europe/Berlin"
    assert data["content_filters"]["include_tags"] == ["fitness", "gym"]
    assert data["posting_schedule"]["slots"]["mon"] == ["09:00", "18:00"]
    assert data["metadata_template"]["nested"] == {"x": 1}
    # the file says exactly what the registry holds: a second sync changes nothing
    assert read_file(folder / "fit.toml") == registry_config(db.query_one("SELECT * FROM channels WHERE id = 'fit'"))
    again = sync()
    assert again["written"] == [] and sorted(again["unchanged"]) == ["Instagram", "TikTok", "YouTube", "fit"]


def test_a_new_file_creates_its_channel(db, sync, folder):
    folder.mkdir()
    (folder / "travel.toml").write_text(
        'name = "Travel"\nplatform = "instagram"\ntimezone = "Asia/Tokyo"\n\n[content_filters]\norientation = '
        '"vertical"\n\n[posting_schedule]\ndaily = ["20:00"]\n')
    out = sync()
    assert out["created"] == ["travel"] and out["errors"] == []
    ch = ChannelService(db).get_channel("travel")
    assert (ch.name, ch.platform, ch.timezone) == ("Travel", "Instagram", "Asia/Tokyo")
    assert ch.content_filters.orientation == "vertical" and ch.posting_schedule.slots["sun"] == ["20:00"]
    assert db.audit.events("config.channel_created")[-1]["subject_id"] == "travel"


def test_an_edited_file_updates_the_registry(db, sync, folder, clock):
    ChannelService(db, clock=clock).create_channel("Cats", "YouTube", id="cats", daily_cap=2)
    sync()
    path = folder / "cats.toml"
    data = tomllib.loads(path.read_text())
    data["daily_cap"] = 7
    data["content_filters"] = {"min_views": 1000}
    path.write_text(dump_toml(data))  # an edit after the last sync: the file wins
    out = sync()
    assert out["updated"] == ["cats"] and out["errors"] == []
    ch = ChannelService(db).get_channel("cats")
    assert ch.daily_cap == 7 and ch.content_filters.min_views == 1000
    event = db.audit.events("config.registry_updated")[-1]
    assert set(event["details"]["changes"]) == {"daily_cap", "content_filters"}
    assert sync()["unchanged"].count("cats") == 1


def test_a_registry_change_rewrites_the_file(db, sync, folder, clock):
    svc = ChannelService(db, clock=clock)
    svc.create_channel("Dogs", "TikTok", id="dogs")
    sync()
    set_mtime(folder / "dogs.toml", datetime(2030, 1, 1, tzinfo=UTC))  # a newer file that did not change
    svc.update_channel("dogs", priority=9, posting_schedule={"daily": ["07:30"]})
    out = sync()
    assert out["written"] == ["dogs"]  # changed only in the registry since the last sync: the registry wins
    data = tomllib.loads((folder / "dogs.toml").read_text())
    assert data["priority"] == 9 and data["posting_schedule"]["slots"]["tue"] == ["07:30"]


def test_when_both_changed_the_newer_wins(db, sync, folder, clock):
    svc = ChannelService(db, clock=clock)
    svc.create_channel("Both", "TikTok", id="both")
    sync()
    path = folder / "both.toml"

    # the registry changed at NOW + 1 h, the file at NOW + 2 h: the file wins
    clock.now = NOW + timedelta(hours=1)
    svc.update_channel("both", priority=1)
    path.write_text(path.read_text().replace("priority = 0", "priority = 2"))
    set_mtime(path, NOW + timedelta(hours=2))
    assert sync()["updated"] == ["both"]
    assert svc.get_channel("both").priority == 2

    # now the file changed first (NOW + 3 h) and the registry later (NOW + 4 h): the registry wins
    path.write_text(path.read_text().replace("priority = 2", "priority = 3"))
    set_mtime(path, NOW + timedelta(hours=3))
    clock.now = NOW + timedelta(hours=4)
    svc.update_channel("both", priority=4)
    out = sync()
    assert out["written"] == ["both"]
    assert svc.get_channel("both").priority == 4 and tomllib.loads(path.read_text())["priority"] == 4


@pytest.mark.parametrize("content, field", [
    ('name = "Broken"\nplatform = "TikTok"\n[content_filters\n', "file"),  # not TOML
    ('name = "Broken"\nplatform = "TikTok"\ncolour = "red"\n', "colour"),  # unknown key
    ('name = "Broken"\nplatform = "TikTok"\n[content_filters]\nmin_resolution = "8K"\n', "min_resolution"),
    ('name = "Broken"\nplatform = "TikTok"\ntimezone = "Mars/Olympus"\n', "timezone"),
    ('name = "Broken"\nplatform = "Vine"\n', "platform"),
    ('name = "Broken"\nplatform = "TikTok"\ndaily_cap = -1\n', "daily_cap"),
])
def test_a_bad_file_is_reported_and_changes_nothing(db, sync, folder, clock, content, field):
    ChannelService(db, clock=clock).create_channel("Broken", "TikTok", id="broken", priority=1)
    sync()
    path = folder / "broken.toml"
    path.write_text(content)
    before = snapshot(db)
    out = sync()
    (err,) = out["errors"]
    assert (err["file"], err["channel_id"], err["field"]) == ("broken.toml", "broken", field)
    assert snapshot(db) == before
    assert path.read_text() == content  # the operator's file is not overwritten either
    assert "broken" not in out["written"] and out["synced"] == 3
    assert db.audit.events("config.error")[-1]["details"]["field"] == field


def test_json_files_are_read_and_stay_json(db, sync, folder):
    folder.mkdir()
    (folder / "news.json").write_text(json.dumps({"id": "news", "name": "News", "platform": "YouTube",
                                                  "daily_cap": 4}))
    assert sync()["created"] == ["news"]
    ChannelService(db).update_channel("news", daily_cap=5)
    set_mtime(folder / "news.json", NOW - timedelta(days=1))
    assert sync()["written"] == ["news"]
    assert json.loads((folder / "news.json").read_text())["daily_cap"] == 5
    assert not (folder / "news.toml").exists()


def test_two_files_for_one_channel_are_an_error(db, sync, folder):
    folder.mkdir()
    (folder / "a.toml").write_text('id = "twin"\nname = "Twin"\nplatform = "TikTok"\n')
    (folder / "b.json").write_text(json.dumps({"id": "twin", "name": "Twin", "platform": "TikTok"}))
    out = sync()
    assert {e["file"] for e in out["errors"]} == {"a.toml", "b.json"}
    assert ChannelService(db).find_channel("twin") is None


def test_a_deleted_channels_file_is_retired_not_resurrected(db, sync, folder, clock):
    svc = ChannelService(db, clock=clock)
    svc.create_channel("Gone", "TikTok", id="gone")
    sync()
    svc.delete_channel("gone")
    out = sync()
    assert out["removed"] == ["gone.toml"] and out["created"] == []
    assert not (folder / "gone.toml").exists()
    assert list((folder / ".deleted").iterdir())
    assert svc.find_channel("gone") is None


def test_the_config_is_pushed_to_the_channels_repository(db, sync, clock, github):
    svc = ChannelService(db, clock=clock)
    svc.create_channel("Repo", "TikTok", id="repo", github_repo_url="https://github.com/acme/repo-channel")
    out = sync(github_token="push-token", github_api_url=github.url)
    assert out["pushed"] == ["repo"] and out["errors"] == []
    get, put = github.requests
    path = "/repos/acme/repo-channel/contents/asfs/channel.toml"
    assert (get["method"], get["path"], put["method"], put["path"]) == ("GET", path, "PUT", path)
    assert put["headers"]["Authorization"] == "Bearer push-token"
    assert put["headers"]["Accept"] == "application/vnd.github+json"
    assert "sha" not in put["json"] and "Repo" in put["json"]["message"]
    pushed = base64.b64decode(put["json"]["content"]).decode()
    assert pushed == render(registry_config(db.query_one("SELECT * FROM channels WHERE id = 'repo'")))
    assert tomllib.loads(pushed)["github_repo_url"] == "https://github.com/acme/repo-channel"

    github.requests.clear()
    assert sync(github_token="push-token", github_api_url=github.url)["pushed"] == []  # same content: no PUT
    assert [r["method"] for r in github.requests] == ["GET"]

    svc.update_channel("repo", priority=3)
    github.requests.clear()
    assert sync(github_token="push-token", github_api_url=github.url)["pushed"] == ["repo"]
    put = github.requests[-1]
    assert put["json"]["sha"] == "sha2" and "priority = 3" in base64.b64decode(put["json"]["content"]).decode()


def test_a_failed_push_is_an_error_for_that_channel_only(db, sync, clock, github):
    ChannelService(db, clock=clock).create_channel("Repo", "TikTok", id="repo",
                                                   github_repo_url="https://github.com/acme/r")
    out = sync(github_api_url=github.url)  # no token
    (err,) = out["errors"]
    assert err["channel_id"] == "repo" and "token" in err["error"]
    assert out["synced"] == 3 and github.requests == []


def test_service_sync_is_audited(db, clock, github):
    ChannelService(db, clock=clock).create_channel("Repo", "TikTok", id="repo",
                                                   github_repo_url="https://github.com/acme/r")
    svc = CentralOrchestrationService(db, clock, settings=Settings(github_token="t", github_api_url=github.url))
    out = svc.sync_channel_configs()
    assert out["synced"] == 4 and out["pushed"] == ["repo"]
    event = db.audit.events("orchestration.configs_synced")[-1]
    assert event["details"]["synced"] == 4


def test_toml_writer_round_trips_awkward_values():
    data = {"id": "x", "name": 'Quote " and \\ back\nslash', "n": 1.5, "flag": True, "none": None,
            "list": ["a", "ü"], "table": {"key with space": {"deep": [1, 2]}, "windows": [{"start": "2026-01-01"}]},
            "empty": {}}
    back = tomllib.loads(dump_toml(data, "header\nline"))
    assert back == {k: v for k, v in data.items() if v is not None}
