"""`python app.py --demo`: a demo registry that really publishes to the local sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from database import Database, VideoRegistry
from orchestration.demo import DEMO_CHANNELS, Demo
from pipeline import run_upload_stage

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo(tmp_path, builtin_uploaders):
    d = Demo(tmp_path / "demo", processing_seconds=0.2, videos=4).start()
    yield d
    d.stop()


def test_demo_registry_has_videos_and_channels_on_the_sandbox(demo):
    with Database.open(demo.paths.registry) as db:
        videos = VideoRegistry(db).get_all_videos()
        assert len(videos) == 4 and all(v["width"] and v["duration"] for v in videos)
        channels = db.query("SELECT name, platform, base_url FROM channels ORDER BY name")
        assert {c["name"] for c in channels} >= {name for name, *_ in DEMO_CHANNELS}
        assert all(c["base_url"].startswith(demo.sandbox.url) for c in channels)  # never a real site
    # a second start reuses what the first made
    again = Demo(demo.paths.root, videos=4)
    assert again.paths.root == demo.paths.root


def test_a_demo_upload_publishes_to_the_sandbox(demo):
    assert demo.signed_in.wait(120) and demo.error is None
    with Database.open(demo.paths.registry) as db:
        vid = VideoRegistry(db).get_all_videos()[0]["id"]
        assert run_upload_stage(vid, "Quick Recipes", db=db) is True
        st = VideoRegistry(db).get_upload_status(vid, "Quick Recipes")
    posts = demo.sandbox.posts("tiktok", "quick-recipes")
    assert st["upload_status"] == "SUCCESS" and [p["id"] for p in posts] == [st["platform_post_id"]]


def test_demo_flag_without_a_display_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, str(PROJECT / "app.py"), "--demo", "--data-dir", str(tmp_path / "d")],
                            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no display" in result.stderr
    assert not (tmp_path / "d").exists()  # nothing was prepared
