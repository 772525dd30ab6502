"""Shared pytest setup: Qt draws offscreen, and each test can have its own data directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Before anything imports Qt: tests never need a display server.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never open a real platform: any non-loopback URL is refused before a browser starts.
os.environ.setdefault("ASFS_OFFLINE", "1")

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:  # e.g. when run as `pytest` rather than `python -m pytest`
    sys.path.insert(0, str(PROJECT_DIR))

from tests.sandbox_fixtures import *  # noqa: E402,F401,F403  (browser and sandbox fixtures)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory, made the default through ASFS_DATA_DIR."""
    path = tmp_path / "asfs-data"
    path.mkdir()
    monkeypatch.setenv("ASFS_DATA_DIR", str(path))
    return path


# -- registry fixtures -------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path):
    """A fresh registry in its own data directory; closed (with its audit log) afterwards."""
    from database import Database

    database = Database.open(tmp_path / "data" / "database" / "videos.db")
    yield database
    database.close()


@pytest.fixture
def registry(db):
    from database import VideoRegistry

    return VideoRegistry(db)


@pytest.fixture
def make_clip(tmp_path: Path):
    """make_clip(name, seed=0, **kw): a small real video under tmp_path/clips (distinct per seed)."""
    from tests.media_factory import make_video

    counter = iter(range(10_000, 20_000))

    def make(name: str = "clip.mp4", *, seed: int | None = None, **kw) -> Path:
        return make_video(tmp_path / "clips" / name, color_seed=next(counter) if seed is None else seed, **kw)

    return make


@pytest.fixture
def scripts():
    """Scripted uploaders registered for the three platforms; the registry is restored after."""
    import uploaders
    from tests.scripted_uploader import Script

    before = uploaders.registered()
    made = {p: Script(p.lower()) for p in ("YouTube", "TikTok", "Instagram")}
    for platform, script in made.items():
        uploaders.register(platform, script.factory)
    yield made
    for key in list(uploaders.registered()):
        uploaders.register(key, None)
    for key, factory in before.items():
        uploaders.register(key, factory)
