"""`python pipeline.py PATH...`: real small videos, yt-dlp sidecars, and every kind of bad file."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pipeline
from database import Database, VideoRegistry
from tests.media_factory import (
    make_audio_only,
    make_empty,
    make_info_json,
    make_png,
    make_text,
    make_video,
    truncate_copy,
)

PROJECT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, ASFS_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, str(PROJECT / "pipeline.py"), *args],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120,
    )


def open_registry(data_dir: Path) -> tuple[Database, VideoRegistry]:
    db = Database.open(data_dir / "database" / "videos.db")
    return db, VideoRegistry(db)


def test_folder_is_registered_with_real_metadata(tmp_path):
    media = tmp_path / "incoming"
    make_video(media / "a.mp4", width=64, height=112, seconds=1.0, fps=10, color_seed=1)
    make_video(media / "sub" / "b.mkv", width=96, height=64, seconds=2.0, fps=5, color_seed=2)
    (media / "notes.txt").write_text("ignored: not a video extension")
    data = tmp_path / "data"

    result = run_cli(str(media), data_dir=data)
    assert result.returncode == 0, result.stderr
    assert "2 registered" in result.stdout and "0 failed" in result.stdout

    db, reg = open_registry(data)
    try:
        videos = {v["id"]: v for v in reg.get_all_videos()}
        assert set(videos) == {"a", "b"}
        a, b = videos["a"], videos["b"]
        assert (a["width"], a["height"]) == (64, 112) and a["duration"] == pytest.approx(1.0, abs=0.15)
        assert (b["width"], b["height"]) == (96, 64) and b["duration"] == pytest.approx(2.0, abs=0.25)
        assert a["checksum"] == hashlib.sha256((media / "a.mp4").read_bytes()).hexdigest()
        assert Path(a["thumbnail_path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert Path(a["thumbnail_path"]).parent == data / "thumbnails"
        assert [e["kind"] for e in db.audit.events("video.registered")] == ["video.registered"] * 2
        assert all(e["actor"] == "pipeline" for e in db.audit.events("video.registered"))
    finally:
        db.close()


def test_sidecar_and_options_fill_the_record(tmp_path, registry):
    clip = make_video(tmp_path / "dl" / "Funny cat.mp4", color_seed=3)
    make_info_json(clip, title="Funny cat compilation", webpage_url="https://www.youtube.com/watch?v=abc123",
                   view_count=123456, tags=["cats", "funny"], description="best cats")
    report = pipeline.ingest([clip], registry, tags=["pets", "cats"], watermarked=True)
    assert report.ok and report.registered == 1
    v = registry.get_video(report.items[0].video_id)
    assert v["title"] == "Funny cat compilation"
    assert v["source_url"] == "https://www.youtube.com/watch?v=abc123"
    assert v["source_views"] == 123456
    assert v["tags"] == ["cats", "funny", "pets"]
    assert v["watermarked"] is True and v["description"] == "best cats"


def test_title_option_wins_over_sidecar(tmp_path, registry):
    clip = make_video(tmp_path / "x.mp4", color_seed=4)
    make_info_json(clip, title="From sidecar")
    report = pipeline.ingest([clip], registry, title="Operator title")
    assert registry.get_video(report.items[0].video_id)["title"] == "Operator title"


def test_reingest_reports_the_existing_video(tmp_path):
    media = tmp_path / "in"
    make_video(media / "a.mp4", color_seed=5)
    data = tmp_path / "data"
    assert run_cli(str(media), data_dir=data).returncode == 0
    # the same file again, and a copy of it under another name
    (media / "copy.mp4").write_bytes((media / "a.mp4").read_bytes())
    result = run_cli(str(media), data_dir=data)
    assert result.returncode == 0, result.stderr
    assert "0 registered" in result.stdout and "2 already in the registry" in result.stdout
    assert "known       a" in result.stdout
    db, reg = open_registry(data)
    try:
        assert reg.count() == 1
    finally:
        db.close()


def test_allow_duplicates_registers_a_second_row(tmp_path, registry):
    clip = make_video(tmp_path / "a.mp4", color_seed=6)
    copy = tmp_path / "b.mp4"
    copy.write_bytes(clip.read_bytes())
    pipeline.ingest([clip], registry)
    report = pipeline.ingest([copy], registry, duplicate_allowed=True)
    assert report.registered == 1
    assert registry.get_video("b")["duplicate_allowed"] is True
    assert registry.count() == 2


def test_bad_files_are_reported_and_the_rest_still_register(tmp_path):
    media = tmp_path / "in"
    good = make_video(media / "good.mp4", color_seed=7, seconds=2.0)
    make_empty(media / "empty.mp4")
    make_text(media / "notes.mp4")
    make_png(media / "picture.mp4")
    make_audio_only(media / "song.mp4")
    big = make_video(tmp_path / "big.mp4", color_seed=8, seconds=3.0, width=160, height=288)
    truncate_copy(big, media / "truncated.mp4", 0.4)
    data = tmp_path / "data"

    result = run_cli(str(media), str(tmp_path / "vanished.mp4"), data_dir=data)
    assert result.returncode == 1
    out = result.stdout
    assert "1 registered" in out and "6 failed" in out
    failed = {line.split(":")[0].split("/")[-1]: line for line in out.splitlines() if line.startswith("FAILED")}
    assert set(failed) == {"empty.mp4", "notes.mp4", "picture.mp4", "song.mp4", "truncated.mp4", "vanished.mp4"}
    assert "empty" in failed["empty.mp4"]
    assert "not found" in failed["vanished.mp4"]
    assert "no video stream" in failed["song.mp4"]
    db, reg = open_registry(data)
    try:
        assert [v["id"] for v in reg.get_all_videos()] == ["good"]
        assert reg.get_video("good")["file_path"] == str(good.resolve())
    finally:
        db.close()


def test_file_vanishing_mid_run_is_reported(tmp_path, registry):
    media = tmp_path / "in"
    first = make_video(media / "1.mp4", color_seed=9)
    second = make_video(media / "2.mp4", color_seed=10)

    def progress(event, path, done, total):
        if event == "file" and path.endswith("1.mp4"):
            second.unlink()  # another program moves the next file away while we work

    report = pipeline.ingest([media], registry, progress=progress)
    outcomes = {Path(i.path).name: (i.outcome, i.reason) for i in report.items}
    assert outcomes["1.mp4"][0] == "registered"
    assert outcomes["2.mp4"][0] == "failed" and "not found" in outcomes["2.mp4"][1]
    assert registry.count() == 1 and first.exists()


def test_unreadable_file_is_reported(tmp_path, registry, monkeypatch):
    clip = make_video(tmp_path / "locked.mp4", color_seed=11)
    real_open = open

    def deny(path, *a, **kw):  # root ignores chmod, so deny the read the way the OS would
        if str(path) == str(clip.resolve()) or str(path) == str(clip):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *a, **kw)

    import builtins

    monkeypatch.setattr(builtins, "open", deny)
    monkeypatch.setattr("av.open", lambda p, *a, **k: deny(p))
    report = pipeline.ingest([clip], registry)
    assert report.failed == 1 and "permission" in report.items[0].reason.lower()
    assert registry.count() == 0


def test_empty_folder_and_usage(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_cli(str(tmp_path / "empty"), data_dir=tmp_path / "data")
    assert result.returncode == 1 and "no video files found" in result.stdout
    result = run_cli(data_dir=tmp_path / "data")
    assert result.returncode == 2 and "PATH" in result.stderr


def test_data_dir_option_moves_everything(tmp_path):
    clip = make_video(tmp_path / "a.mp4", color_seed=12)
    target = tmp_path / "elsewhere"
    env_dir = tmp_path / "env-dir"
    result = run_cli("--data-dir", str(target), str(clip), data_dir=env_dir)
    assert result.returncode == 0, result.stderr
    assert (target / "database" / "videos.db").exists()
    assert (target / "audit" / "events.db").exists()
    assert (target / "thumbnails" / "a.png").exists()
    assert not env_dir.exists()
