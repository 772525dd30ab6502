"""Channel transformations (AC 2): real renders with PyAV, the cache, cleanup, and publishing with them."""

from __future__ import annotations

import os
import time

import av
import pytest

from database import ValidationError
from database.media import probe_video, sha256_file
from orchestration import ChannelService, VideoDistributionService
from orchestration.transform import (
    TransformError,
    Transformer,
    TransformProfile,
    derived_name,
    parse_profile,
    profile_hash,
    render,
)
from tests.media_factory import make_text
from uploaders import UploadResult

SHORTS = {"aspect": "9:16", "width": 1080, "height": 1920, "mode": "crop", "max_duration": 1.5,
          "video_codec": "h264", "audio_codec": "aac", "preset": "ultrafast"}


@pytest.mark.parametrize("value,field", [
    ({"width": 1081, "height": 1920}, "width"),
    ({"width": 1080}, "transformation_profile"),
    ({"aspect": "9:16", "width": 1920, "height": 1080}, "transformation_profile"),
    ({"aspect": "tall"}, "aspect"),
    ({"aspect": "0:16"}, "aspect"),
    ({"mode": "stretch"}, "mode"),
    ({"video_codec": "vp9"}, "video_codec"),
    ({"audio_codec": "mp3"}, "audio_codec"),
    ({"max_duration": -1}, "max_duration"),
    ({"width": "1080", "height": 1920}, "width"),
    ({"pad_color": "red; rm -rf /"}, "pad_color"),
    ({"preset": "warp"}, "preset"),
    ({"sharpen": True}, "sharpen"),
    ("{nope", "transformation_profile"),
    ([1], "transformation_profile"),
])
def test_invalid_profiles_name_the_field(value, field):
    with pytest.raises(ValidationError) as err:
        parse_profile(value)
    assert err.value.field == field


def test_profile_basics():
    assert parse_profile(None) is None and parse_profile({}) is None and parse_profile("") is None
    p = parse_profile(SHORTS)
    assert isinstance(p, TransformProfile) and p.ratio == pytest.approx(9 / 16)
    assert profile_hash(p) == profile_hash(parse_profile(dict(SHORTS))) != profile_hash(parse_profile({"mode": "crop"}))
    # aspect without a size: crop keeps the largest 9:16 box inside, pad the smallest box around
    crop, pad = parse_profile({"aspect": "9:16", "mode": "crop"}), parse_profile({"aspect": "9:16", "mode": "pad"})
    assert crop.target_size(1920, 1080) == (608, 1080)
    assert pad.target_size(1920, 1080) == (1920, 3414)
    assert pad.target_size(720, 1280) == (720, 1280)


def test_render_makes_a_real_1080x1920_file_of_the_right_duration(make_clip, tmp_path):
    src = make_clip("wide.mp4", width=320, height=180, seconds=2.5, fps=10, with_audio=True)
    before = (sha256_file(src), os.stat(src).st_mtime_ns)
    out = render(src, parse_profile(SHORTS), tmp_path / "derived" / "out.mp4")
    info = probe_video(out)
    assert (info.width, info.height) == (1080, 1920)
    assert info.duration == pytest.approx(1.5, abs=0.1)
    assert (info.codec, info.audio_codec, info.container) == ("h264", "aac", "mp4")
    assert (sha256_file(src), os.stat(src).st_mtime_ns) == before  # the original is never modified
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".part")]


def test_pad_mode_keeps_the_whole_picture_on_black(make_clip, tmp_path):
    src = make_clip("wide.mp4", width=320, height=180, seconds=0.5, fps=10)
    out = render(src, parse_profile({"width": 360, "height": 640, "mode": "pad", "preset": "ultrafast"}),
                 tmp_path / "pad.mp4")
    with av.open(str(out)) as c:
        frame = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert frame.shape == (640, 360, 3)
    # a 320x180 picture scaled to 360 wide is ~202 tall: bars of ~219 px above and below
    assert frame[:200].mean() < 20 and frame[-200:].mean() < 20
    assert frame[260:380].mean() > 20


def test_render_refuses_a_file_that_is_not_a_video(tmp_path):
    bad = make_text(tmp_path / "fake.mp4")
    with pytest.raises(TransformError):
        render(bad, parse_profile(SHORTS), tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


@pytest.fixture
def tiktok_shorts(db):
    svc = ChannelService(db)
    return svc.create_channel("Shorts", "TikTok", {}, transformation_profile=SHORTS)


def test_derived_files_are_cached_by_content_and_profile(db, registry, make_clip, tiktok_shorts):
    clip = make_clip("a.mp4", width=160, height=90, seconds=1.0)
    vid = registry.register_video(str(clip))
    twin = registry.register_video(str(clip), video_id="twin", duplicate_allowed=True)
    t = Transformer(db)
    first = t.prepare(vid, tiktok_shorts.id)
    assert first.parent == db.paths.root / "derived"
    assert first.name == derived_name(registry.get_video(vid)["checksum"], parse_profile(SHORTS))
    stamp = first.stat().st_mtime_ns
    assert t.prepare(vid, tiktok_shorts.id) == first
    assert t.prepare(twin, tiktok_shorts.id) == first  # same content under another id: same file
    assert first.stat().st_mtime_ns == stamp
    assert len(db.audit.events("transform.rendered")) == 1
    assert t.prepare(vid, "YouTube") == clip  # no profile: the original


def test_cleanup_removes_what_nothing_needs(db, registry, make_clip, tiktok_shorts):
    keep_id = registry.register_video(str(make_clip("keep.mp4", width=160, height=90)))
    drop_id = registry.register_video(str(make_clip("drop.mp4", width=160, height=90)))
    svc = VideoDistributionService(db)
    (keep,) = svc.manual_distribute(keep_id, [tiktok_shorts.id])
    (drop,) = svc.manual_distribute(drop_id, [tiktok_shorts.id])
    t = Transformer(db)
    kept, dropped = t.prepare(keep_id, tiktok_shorts.id), t.prepare(drop_id, tiktok_shorts.id)
    stale = t.directory / ".x.mp4.1.abcd.part"
    fresh = t.directory / ".y.mp4.2.abcd.part"
    for p in (stale, fresh):
        p.write_bytes(b"partial")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    (t.directory / "unrelated.mp4").write_bytes(b"x")

    assert t.cleanup() == sorted(t.directory / n for n in (stale.name, "unrelated.mp4"))
    svc.cancel_distribution(drop.id)
    assert t.cleanup() == [dropped]
    assert kept.exists() and fresh.exists() and not dropped.exists()
    assert db.audit.events("transform.cleaned")[-1]["details"]["removed"] == [dropped.name]
    assert keep.status == "assigned"


def test_ac2_same_video_on_two_channels_each_in_its_own_form(db, registry, make_clip, scripts, tiktok_shorts):
    src = make_clip("wide.mp4", width=320, height=180, seconds=2.5, fps=10, with_audio=True)
    vid = registry.register_video(str(src))
    checksum = sha256_file(src)
    seen = {}

    def look(uploader, path, metadata):  # what the TikTok uploader is handed, while it has it
        seen["info"] = probe_video(path)
        return UploadResult(True, "tt-1")

    scripts["TikTok"].then(look)
    svc = VideoDistributionService(db)
    made = svc.manual_distribute(vid, [tiktok_shorts.id, "YouTube"])
    assert len(made) == 2
    for d in made:
        assert svc.publish_distribution(d.id).status == "published"
    (tiktok_call,) = scripts["TikTok"].calls
    (youtube_call,) = scripts["YouTube"].calls
    assert youtube_call["path"] == str(src.resolve())  # no profile: the original file
    derived = seen["info"]
    assert (derived.width, derived.height) == (1080, 1920)
    assert derived.duration == pytest.approx(1.5, abs=0.1)
    assert tiktok_call["path"].startswith(str(db.paths.root / "derived"))
    assert sha256_file(src) == checksum
    # published: the derived file is no longer needed, and went away with the publication
    assert not os.path.exists(tiktok_call["path"])
    assert db.audit.events("transform.cleaned")[-1]["details"]["removed"] == [os.path.basename(tiktok_call["path"])]


def test_a_render_failure_fails_the_distribution_not_the_app(db, registry, make_clip, scripts, tiktok_shorts):
    vid = registry.register_video(str(make_clip("a.mp4", width=160, height=90)))
    db.execute("UPDATE channels SET transformation_profile = ? WHERE id = ?",
               ('{"width": 320, "height": 240, "video_codec": "h264", "pad_color": "notacolour"}', tiktok_shorts.id))
    svc = VideoDistributionService(db)
    (d,) = svc.manual_distribute(vid, [tiktok_shorts.id])
    d = svc.publish_distribution(d.id)
    assert d.status == "failed" and "prepare the video for this channel" in d.error_message
    assert scripts["TikTok"].calls == []
    assert registry.get_upload_status(vid, tiktok_shorts.id)["upload_status"] == "FAILED_FINAL"
