"""Tests for database.media on real files generated into tmp_path."""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import json
import os
import struct
import tracemalloc
import zlib
from pathlib import Path

import av
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from database import media
from database.errors import VideoFileError
from database.media import (
    VIDEO_EXTENSIONS,
    MediaInfo,
    iter_video_files,
    make_thumbnail,
    probe_video,
    read_info_sidecar,
    sha256_file,
)
from tests.media_factory import (
    DEFAULT_CODEC,
    make_audio_only,
    make_empty,
    make_info_json,
    make_png,
    make_text,
    make_video,
    truncate_copy,
)

H264_ENCODER = DEFAULT_CODEC in av.codecs_available
EXPECTED_H264 = "h264" if H264_ENCODER else "mpeg4"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

fixture_settings = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def png_header(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR, after checking signature and chunk CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    payload = data[16:29]
    (crc,) = struct.unpack(">I", data[29:33])
    assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF
    width, height = struct.unpack(">II", payload[:8])
    assert data.endswith(b"IEND\xaeB`\x82")
    return width, height


def deny_open_for(monkeypatch, target: Path) -> None:
    """Make media's own ``open`` fail with EACCES for one path, as chmod 000 would."""
    target = os.fspath(target)

    def fake_open(file, *args, **kwargs):
        if os.fspath(file) == target:
            raise PermissionError(13, "Permission denied", target)
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(media, "open", fake_open, raising=False)


# --------------------------------------------------------------------------- sha256


def test_sha256_matches_hashlib(tmp_path):
    data = os.urandom(300_000)
    f = tmp_path / "blob.bin"
    f.write_bytes(data)
    assert sha256_file(f) == hashlib.sha256(data).hexdigest()
    assert sha256_file(str(f), chunk_size=4096) == hashlib.sha256(data).hexdigest()


def test_sha256_of_real_video_and_seed_changes_checksum(tmp_path):
    a = make_video(tmp_path / "a.mp4", color_seed=1)
    b = make_video(tmp_path / "b.mp4", color_seed=2)
    assert sha256_file(a) == hashlib.sha256(a.read_bytes()).hexdigest()
    assert sha256_file(a) != sha256_file(b)


def test_sha256_empty_file(tmp_path):
    f = make_empty(tmp_path / "empty.bin")
    calls = []
    assert sha256_file(f, progress=lambda d, t: calls.append((d, t))) == hashlib.sha256(b"").hexdigest()
    assert calls == [(0, 0)]


def test_sha256_progress_reports_every_chunk(tmp_path):
    data = os.urandom(10_000)
    f = tmp_path / "blob.bin"
    f.write_bytes(data)
    calls = []
    sha256_file(f, chunk_size=3000, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(3000, 10_000), (6000, 10_000), (9000, 10_000), (10_000, 10_000)]


@fixture_settings
@given(data=st.binary(max_size=5000), chunk_size=st.integers(min_value=1, max_value=6000))
def test_sha256_any_chunk_size(tmp_path, data, chunk_size):
    f = tmp_path / "h.bin"
    f.write_bytes(data)
    done = []
    assert sha256_file(f, chunk_size=chunk_size, progress=lambda d, t: done.append((d, t))) == (
        hashlib.sha256(data).hexdigest()
    )
    assert done[-1] == (len(data), len(data))
    assert [d for d, _ in done] == sorted(d for d, _ in done)


def test_sha256_big_file_constant_memory(tmp_path):
    size = 64 << 20
    f = tmp_path / "big.bin"
    with open(f, "wb") as fh:
        # A sparse file: 64 MiB of zeros without writing them.
        fh.truncate(size)
    expected = hashlib.sha256(bytes(size)).hexdigest()
    seen = []
    tracemalloc.start()
    try:
        digest = sha256_file(f, progress=lambda d, t: seen.append(d))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest == expected
    assert seen[-1] == size and len(seen) == 64
    # One reused 1 MiB buffer plus small change, however big the file is.
    assert peak < 3 << 20, f"peak allocation {peak / 2**20:.1f} MiB"


def test_sha256_errors(tmp_path, monkeypatch):
    with pytest.raises(VideoFileError, match="file not found") as ei:
        sha256_file(tmp_path / "nope.mp4")
    assert ei.value.reason == "file not found"
    assert ei.value.path == str(tmp_path / "nope.mp4")
    with pytest.raises(VideoFileError, match="is a directory"):
        sha256_file(tmp_path)
    f = tmp_path / "locked.bin"
    f.write_bytes(b"x")
    deny_open_for(monkeypatch, f)
    with pytest.raises(VideoFileError, match="permission denied"):
        sha256_file(f)
    with pytest.raises(ValueError):
        sha256_file(f, chunk_size=0)


@pytest.mark.skipif(IS_ROOT or os.name == "nt", reason="root and Windows ignore chmod 000")
def test_sha256_and_probe_chmod_000(tmp_path):
    f = make_video(tmp_path / "locked.mp4")
    f.chmod(0)
    try:
        with pytest.raises(VideoFileError, match="permission denied"):
            sha256_file(f)
        with pytest.raises(VideoFileError, match="permission denied"):
            probe_video(f)
    finally:
        f.chmod(0o644)


# --------------------------------------------------------------------------- probe


def test_probe_vertical_mp4(tmp_path):
    f = make_video(tmp_path / "short.mp4", width=64, height=112, seconds=1.0, fps=10)
    info = probe_video(f)
    st_ = f.stat()
    assert (info.width, info.height) == (64, 112)
    assert info.fps == pytest.approx(10.0)
    assert info.duration == pytest.approx(1.0, abs=0.1)
    assert info.codec == EXPECTED_H264
    assert info.audio_codec is None
    assert info.size_bytes == st_.st_size
    assert info.mtime_ns == st_.st_mtime_ns
    assert info.container == "mp4"
    assert info.orientation == "vertical"
    assert info.short_side == 64


def test_probe_horizontal_mkv_with_audio(tmp_path):
    f = make_video(tmp_path / "wide.mkv", width=160, height=90, seconds=2.0, fps=25, with_audio=True)
    info = probe_video(f)
    assert (info.width, info.height) == (160, 90)
    assert info.fps == pytest.approx(25.0)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.audio_codec == "aac"
    assert info.container == "matroska"
    assert info.orientation == "horizontal"
    assert info.short_side == 90


@pytest.mark.skipif("libvpx" not in av.codecs_available, reason="no VP8 encoder in this PyAV")
def test_probe_square_webm(tmp_path):
    f = make_video(tmp_path / "sq.webm", width=64, height=64, codec="libvpx", with_audio=True)
    info = probe_video(f)
    assert (info.codec, info.audio_codec, info.container) == ("vp8", "opus", "webm")
    assert info.orientation == "square"
    assert info.short_side == 64


def test_probe_mpeg4_mov(tmp_path):
    f = make_video(tmp_path / "clip.mov", codec="mpeg4", seconds=1.5, fps=20)
    info = probe_video(f)
    assert info.codec == "mpeg4"
    assert info.container == "mov"
    assert info.duration == pytest.approx(1.5, abs=0.1)


@pytest.mark.parametrize("seconds,fps", [(0.5, 10), (2.5, 20), (4.0, 30)])
def test_probe_duration_matches_factory(tmp_path, seconds, fps):
    info = probe_video(make_video(tmp_path / "d.mp4", seconds=seconds, fps=fps))
    assert info.duration == pytest.approx(seconds, abs=1.5 / fps)
    assert info.fps == pytest.approx(fps)


def test_probe_reports_displayed_size_of_rotated_video(tmp_path):
    # Phones store portrait clips as landscape pixels plus a rotation flag.
    f = make_video(tmp_path / "phone.mp4", width=112, height=64, rotation=90)
    info = probe_video(f)
    assert (info.width, info.height) == (64, 112)
    assert info.orientation == "vertical"


def test_media_info_is_frozen_and_orientation():
    info = MediaInfo(
        duration=1.0, width=1080, height=1920, fps=30.0, codec="h264", audio_codec="aac",
        size_bytes=1, mtime_ns=1, container="mp4",
    )
    assert (info.orientation, info.short_side) == ("vertical", 1080)
    assert dataclasses.replace(info, width=1920, height=1080).orientation == "horizontal"
    assert dataclasses.replace(info, width=720, height=720).orientation == "square"
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.width = 3  # type: ignore[misc]


def _long_mkv(tmp_path: Path) -> Path:
    return make_video(tmp_path / "long.mkv", seconds=3.0, fps=30, width=160, height=288)


def _garbage(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 64)
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


# kind -> (builder given tmp_path, words the reason must contain)
BAD_FILES = {
    "missing": (lambda d: d / "missing.mp4", "file not found"),
    "directory": (lambda d: _folder(d / "folder.mp4"), "is a directory"),
    "empty": (lambda d: make_empty(d / "empty.mp4"), "file is empty"),
    "text": (lambda d: make_text(d / "notes.mp4"), "no video stream"),
    "png": (lambda d: make_png(d / "image.mp4"), "no video stream"),
    "audio": (lambda d: make_audio_only(d / "song.mp4"), "no video stream"),
    "garbage": (lambda d: _garbage(d / "garbage.mp4"), "no video stream"),
    # An MP4 written front to back has its index at the end, so any cut loses it.
    "half_mp4": (lambda d: truncate_copy(make_video(d / "g.mp4"), d / "half.mp4", 0.5), "truncated"),
    "head_mp4": (lambda d: truncate_copy(make_video(d / "g.mp4"), d / "head.mp4", 0.05), "truncated"),
    # Matroska opens fine when cut and even decodes its first frames; only the tail
    # check notices the missing seconds.
    "half_mkv": (lambda d: truncate_copy(_long_mkv(d), d / "half.mkv", 0.5), "truncated"),
    "tenth_mkv": (lambda d: truncate_copy(_long_mkv(d), d / "tenth.mkv", 0.1), "truncated"),
}
BAD_KINDS = list(BAD_FILES)


def _bad_file(tmp_path: Path, kind: str) -> tuple[Path, str]:
    build, words = BAD_FILES[kind]
    return build(tmp_path), words


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_probe_rejects_bad_files(tmp_path, kind):
    path, words = _bad_file(tmp_path, kind)
    with pytest.raises(VideoFileError) as ei:
        probe_video(path)
    assert words in ei.value.reason
    assert ei.value.path == str(path)
    assert str(path) in str(ei.value)


def test_probe_audio_only_says_audio(tmp_path):
    with pytest.raises(VideoFileError, match="audio only"):
        probe_video(make_audio_only(tmp_path / "song.m4a"))


def test_probe_png_says_image(tmp_path):
    with pytest.raises(VideoFileError, match="still image"):
        probe_video(make_png(tmp_path / "pic.mp4"))


def test_probe_permission_denied(tmp_path, monkeypatch):
    f = make_video(tmp_path / "locked.mp4")
    deny_open_for(monkeypatch, f)
    with pytest.raises(VideoFileError, match="permission denied"):
        probe_video(f)


def test_probe_wraps_unexpected_av_errors(tmp_path, monkeypatch):
    f = make_video(tmp_path / "ok.mp4")

    def boom(*a, **k):
        raise av.error.MemoryError(12, "Cannot allocate memory")

    monkeypatch.setattr(media, "_first_frame", boom)
    with pytest.raises(VideoFileError, match="corrupt"):
        probe_video(f)


@pytest.fixture(scope="module")
def reference_mp4(tmp_path_factory) -> bytes:
    path = make_video(tmp_path_factory.mktemp("ref") / "ref.mp4", seconds=1.0, with_audio=True)
    return path.read_bytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=16)), max_size=6),
    keep=st.floats(0.02, 1.0),
)
def test_probe_never_leaks_av_errors_on_damaged_files(tmp_path, reference_mp4, edits, keep):
    data = bytearray(reference_mp4[: max(1, int(len(reference_mp4) * keep))])
    for where, junk in edits:
        i = int(where * len(data))
        data[i : i + len(junk)] = junk
    f = tmp_path / "damaged.mp4"
    f.write_bytes(bytes(data))
    try:
        info = probe_video(f)
    except VideoFileError as e:
        assert e.reason
    else:
        assert info.duration > 0 and info.width > 0 and info.height > 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=2000))
def test_probe_random_bytes_is_a_video_file_error(tmp_path, data):
    f = tmp_path / "random.mp4"
    f.write_bytes(data)
    with pytest.raises(VideoFileError):
        probe_video(f)


# --------------------------------------------------------------------------- thumbnails


def test_thumbnail_small_video_is_not_upscaled(tmp_path):
    video = make_video(tmp_path / "v.mp4", width=64, height=112)
    out = make_thumbnail(video, tmp_path / "thumbs" / "deep" / "v.png")
    assert out == tmp_path / "thumbs" / "deep" / "v.png"
    assert png_header(out.read_bytes()) == (64, 112)


def test_thumbnail_scales_to_max_width_keeping_aspect(tmp_path):
    video = make_video(tmp_path / "wide.mp4", width=640, height=360, seconds=1.0)
    out = make_thumbnail(video, tmp_path / "wide.png", max_width=320)
    assert png_header(out.read_bytes()) == (320, 180)
    out2 = make_thumbnail(video, tmp_path / "tiny.png", max_width=50)
    assert png_header(out2.read_bytes()) == (50, 28)


def test_thumbnail_is_decodable_and_shows_the_frame(tmp_path):
    video = make_video(tmp_path / "v.mp4", width=96, height=160, color_seed=5)
    out = make_thumbnail(video, tmp_path / "v.png", at_seconds=0)
    with av.open(str(out)) as c:
        frame = next(c.decode(video=0))
        pixels = frame.to_ndarray(format="rgb24")
    assert pixels.shape == (160, 96, 3)
    with av.open(str(video)) as c:
        first = next(c.decode(video=0)).to_ndarray(format="rgb24")
    # Same picture up to codec noise.
    assert abs(pixels.astype(int) - first.astype(int)).mean() < 8


def test_thumbnail_of_rotated_video_is_upright(tmp_path):
    video = make_video(tmp_path / "phone.mp4", width=112, height=64, rotation=90)
    out = make_thumbnail(video, tmp_path / "phone.png")
    assert png_header(out.read_bytes()) == (64, 112)


def test_thumbnail_at_seconds_past_end_falls_back(tmp_path):
    video = make_video(tmp_path / "v.mkv", seconds=1.0)
    out = make_thumbnail(video, tmp_path / "v.png", at_seconds=99)
    assert png_header(out.read_bytes()) == (64, 112)


def test_thumbnail_replaces_existing_and_leaves_no_temp_files(tmp_path):
    video = make_video(tmp_path / "v.mp4")
    target = tmp_path / "t" / "v.png"
    target.parent.mkdir()
    target.write_bytes(b"old")
    make_thumbnail(video, target)
    png_header(target.read_bytes())
    assert sorted(p.name for p in target.parent.iterdir()) == ["v.png"]


def test_thumbnail_failed_write_leaves_nothing(tmp_path, monkeypatch):
    video = make_video(tmp_path / "v.mp4")
    out_dir = tmp_path / "t"

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(media.os, "replace", refuse)
    with pytest.raises(VideoFileError, match="cannot write thumbnail"):
        make_thumbnail(video, out_dir / "v.png")
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "text", "audio", "half_mp4"])
def test_thumbnail_of_bad_file_raises(tmp_path, kind):
    path, _ = _bad_file(tmp_path, kind)
    with pytest.raises(VideoFileError):
        make_thumbnail(path, tmp_path / "out.png")
    assert not (tmp_path / "out.png").exists()


# --------------------------------------------------------------------------- sidecar


def test_sidecar_yt_dlp_name(tmp_path):
    video = make_video(tmp_path / "clip.mp4")
    sidecar = make_info_json(video, title="  Funny cat  ", view_count=4321, tags=["cat", "cat", " fun ", 7, ""])
    assert sidecar.name == "clip.info.json"
    info = read_info_sidecar(video)
    assert info == {
        "title": "Funny cat",
        "source_url": "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "views": 4321,
        "tags": ["cat", "fun"],
        "uploader": "Sample Channel",
        "description": "A sample description.\nWith two lines.",
        "duration": 1.0,
    }


def test_sidecar_long_name_and_precedence(tmp_path):
    video = tmp_path / "clip.mp4"
    long_form = make_info_json(video, long_form=True, title="long")
    assert long_form.name == "clip.mp4.info.json"
    assert read_info_sidecar(video)["title"] == "long"
    make_info_json(video, title="short")
    assert read_info_sidecar(video)["title"] == "short"


def test_sidecar_missing_is_none(tmp_path):
    assert read_info_sidecar(tmp_path / "clip.mp4") is None
    (tmp_path / "clip.info.json").mkdir()
    assert read_info_sidecar(tmp_path / "clip.mp4") is None


def test_sidecar_source_url_fallbacks(tmp_path):
    video = tmp_path / "c.mp4"
    make_info_json(video, webpage_url=None)
    assert read_info_sidecar(video)["source_url"] == "https://youtube.com/shorts/dQw4w9WgXcQ?feature=share"
    make_info_json(video, webpage_url=None, original_url=None, url="https://cdn.example/v.mp4")
    assert read_info_sidecar(video)["source_url"] == "https://cdn.example/v.mp4"
    make_info_json(video, webpage_url="", original_url=None)
    assert read_info_sidecar(video)["source_url"] is None


@pytest.mark.parametrize(
    "raw,views",
    [(None, None), ("1200", 1200), (12.0, 12), (12.5, None), (-3, None), (True, None), ("many", None)],
)
def test_sidecar_view_count_normalisation(tmp_path, raw, views):
    video = tmp_path / "c.mp4"
    (tmp_path / "c.info.json").write_text(json.dumps({"view_count": raw}), encoding="utf-8")
    assert read_info_sidecar(video)["views"] == views


def test_sidecar_minimal_object(tmp_path):
    (tmp_path / "c.info.json").write_text("{}", encoding="utf-8")
    assert read_info_sidecar(tmp_path / "c.mp4") == {
        "title": None, "source_url": None, "views": None, "tags": [],
        "uploader": None, "description": None, "duration": None,
    }


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2, 3]", b'"just a string"', b"null", b"\xff\xfe\x00garbage", b""],
)
def test_sidecar_bad_content(tmp_path, content):
    sidecar = tmp_path / "c.info.json"
    sidecar.write_bytes(content)
    with pytest.raises(VideoFileError) as ei:
        read_info_sidecar(tmp_path / "c.mp4")
    assert ei.value.reason.startswith("sidecar is not valid yt-dlp JSON")
    assert ei.value.path == str(sidecar)


def test_sidecar_utf8_bom_is_accepted(tmp_path):
    (tmp_path / "c.info.json").write_bytes(b"\xef\xbb\xbf" + json.dumps({"title": "Ünïcode ✓"}).encode())
    assert read_info_sidecar(tmp_path / "c.mp4")["title"] == "Ünïcode ✓"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
sidecar_keys = st.sampled_from(
    ["title", "webpage_url", "original_url", "url", "view_count", "tags", "uploader", "description", "duration"]
)


@fixture_settings
@given(doc=json_values | st.dictionaries(sidecar_keys, json_values, max_size=9))
def test_sidecar_any_json_normalises_or_raises_video_file_error(tmp_path, doc):
    (tmp_path / "c.info.json").write_text(json.dumps(doc), encoding="utf-8")
    try:
        info = read_info_sidecar(tmp_path / "c.mp4")
    except VideoFileError as e:
        assert not isinstance(doc, dict)
        assert "sidecar is not valid yt-dlp JSON" in e.reason
        return
    assert isinstance(doc, dict)
    assert set(info) == {"title", "source_url", "views", "tags", "uploader", "description", "duration"}
    for key in ("title", "source_url", "uploader", "description"):
        assert info[key] is None or isinstance(info[key], str)
    assert info["views"] is None or (type(info["views"]) is int and info["views"] >= 0)
    assert isinstance(info["tags"], list) and all(isinstance(t, str) and t for t in info["tags"])
    assert info["duration"] is None or (isinstance(info["duration"], float) and info["duration"] >= 0)


@fixture_settings
@given(text=st.text(max_size=200))
def test_sidecar_any_text_never_raises_other_errors(tmp_path, text):
    (tmp_path / "c.info.json").write_text(text, encoding="utf-8")
    try:
        result = read_info_sidecar(tmp_path / "c.mp4")
    except VideoFileError:
        return
    assert isinstance(result, dict)


# --------------------------------------------------------------------------- discovery


def test_video_extensions():
    assert {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".3gp"} == set(
        VIDEO_EXTENSIONS
    )
    assert isinstance(VIDEO_EXTENSIONS, frozenset)


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_iter_video_files_recursion_sorting_hidden(tmp_path):
    root = tmp_path / "in"
    _touch(root / "b.mp4")
    _touch(root / "A.MKV")
    _touch(root / "notes.txt")
    _touch(root / "clip.info.json")
    _touch(root / ".partial.mp4")
    _touch(root / ".cache" / "hidden.mp4")
    _touch(root / "sub" / "c.webm")
    _touch(root / "sub" / "deeper" / "d.mov")
    _touch(root / "sub" / "e.TS")
    _touch(root / "z.3gp")
    explicit_txt = _touch(tmp_path / "listed.txt")
    missing = tmp_path / "gone.mp4"

    found = list(iter_video_files([root, explicit_txt, missing]))
    assert found == [
        root / "A.MKV",
        root / "b.mp4",
        root / "z.3gp",
        root / "sub" / "c.webm",
        root / "sub" / "e.TS",
        root / "sub" / "deeper" / "d.mov",
        explicit_txt,
        missing,
    ]
    assert all(isinstance(p, Path) for p in found)
    # Deterministic across calls.
    assert list(iter_video_files([root, explicit_txt, missing])) == found


def test_iter_video_files_single_path_and_duplicates(tmp_path):
    f = _touch(tmp_path / "one.mp4")
    assert list(iter_video_files(str(f))) == [f]
    assert list(iter_video_files(tmp_path)) == [f]
    assert list(iter_video_files([tmp_path, f, str(f)])) == [f]
    assert list(iter_video_files([])) == []


def test_iter_video_files_explicit_hidden_folder_is_walked(tmp_path):
    hidden = tmp_path / ".stash"
    v = _touch(hidden / "v.mp4")
    assert list(iter_video_files([hidden])) == [v]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_iter_video_files_does_not_follow_symlink_loops(tmp_path):
    v = _touch(tmp_path / "a" / "v.mp4")
    try:
        os.symlink(tmp_path / "a", tmp_path / "a" / "loop")
    except OSError:
        pytest.skip("cannot create symlinks here")
    assert list(iter_video_files([tmp_path])) == [v]


def test_iter_then_probe_reports_each_bad_file(tmp_path):
    """The importer's loop: good files probe, bad ones give a readable reason."""
    make_video(tmp_path / "in" / "good.mp4")
    make_text(tmp_path / "in" / "fake.mp4")
    make_empty(tmp_path / "in" / "sub" / "empty.mkv")
    results = {}
    for path in iter_video_files([tmp_path / "in", tmp_path / "missing.mov"]):
        try:
            results[path.name] = probe_video(path).orientation
        except VideoFileError as e:
            results[path.name] = e.reason
    assert results == {
        "fake.mp4": "not a video file (no video stream; the format is not recognised)",
        "good.mp4": "vertical",
        "empty.mkv": "file is empty",
        "missing.mov": "file not found",
    }
